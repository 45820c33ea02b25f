"""DXNN2's weight perturbation with momentum and saturation (``neuron.erl``'s
``perturb_IPIdPs``): the rule both phenotype backends apply when the exoself tunes a neuron.

* each block (one per input link, then one for the bias) is chosen with probability
  ``1/sqrt(blocks)``;
* each weight of a chosen block with probability ``1/sqrt(block length)``;
* a chosen weight moves by ``dw = (u - 0.5) * spread + momentum * previous_dw`` (``u`` uniform
  in [0, 1), momentum 0.5) and is saturated to ``[-pi, pi]``; ``dw`` becomes its new previous
  delta; an unchosen weight keeps its previous delta;
* if no weight was chosen and ``spread > 0``, one weight of a uniformly chosen non-empty block
  is moved (so a perturbation always changes something; DXNN2 may change nothing).

Pure: the caller passes the ``random.Random``. The exoself's tuning core
(:func:`actors.evolution.tuning.perturb_weights`) and the neuron actors
(:func:`actors.phenotype.perturb.perturb_blocks`) call :func:`perturb_weights`, so both
backends perturb identically from the same seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

from actors.neural.errors import PerturbError

__all__ = ["MOMENTUM", "SAT_LIMIT", "WeightBlock", "perturb_weights"]

#: DXNN2 ``neuron.erl``'s ``?SAT_LIMIT``: a perturbed weight stays within [-pi, pi].
SAT_LIMIT = math.pi
#: DXNN2 ``neuron.erl``: the previous delta's share in the next one.
MOMENTUM = 0.5

WeightBlock = tuple[np.ndarray, np.ndarray]


def perturb_weights(
    blocks: Sequence[tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray]],
    spread: float,
    rng: random.Random,
    *,
    sat_limit: float = SAT_LIMIT,
    momentum: float = MOMENTUM,
) -> list[WeightBlock]:
    """Perturb a neuron's input weight blocks (see the module docstring).

    ``blocks`` holds one ``(weights, previous_deltas)`` pair of equal-length 1-D sequences
    per input (the bias is one more block). Returns new float arrays; the inputs are not
    modified. With ``spread > 0`` at least one weight is always perturbed. Raises
    :class:`~actors.neural.errors.PerturbError` on mismatched shapes or a bad spread.
    """
    try:
        usable = math.isfinite(spread) and spread >= 0
    except TypeError:
        usable = False
    if not usable:
        raise PerturbError(f"spread must be a finite number >= 0, got {spread!r}")
    if not sat_limit > 0:
        raise PerturbError("sat_limit must be > 0")
    out: list[WeightBlock] = []
    for w, d in blocks:
        wa = np.array(w, dtype=np.float64, copy=True)
        da = np.array(d, dtype=np.float64, copy=True)
        if wa.ndim != 1 or wa.shape != da.shape:
            raise PerturbError(f"weights {wa.shape} and deltas {da.shape} must be equal 1-D")
        out.append((wa, da))
    if not out:
        return out
    touched = False
    block_p = 1 / math.sqrt(len(out))
    for wa, da in out:
        if rng.random() >= block_p or wa.size == 0:
            continue
        weight_p = 1 / math.sqrt(wa.size)
        for i in range(wa.size):
            if rng.random() < weight_p:
                _move(wa, da, i, spread, rng, sat_limit, momentum)
                touched = True
    if not touched and spread > 0:
        nonempty = [b for b in out if b[0].size]
        if nonempty:
            wa, da = nonempty[rng.randrange(len(nonempty))]
            _move(wa, da, rng.randrange(wa.size), spread, rng, sat_limit, momentum)
    return out


def _move(
    wa: np.ndarray,
    da: np.ndarray,
    i: int,
    spread: float,
    rng: random.Random,
    sat_limit: float,
    momentum: float,
) -> None:
    dw = (rng.random() - 0.5) * spread + float(da[i]) * momentum
    wa[i] = min(sat_limit, max(-sat_limit, float(wa[i]) + dw))
    da[i] = dw
