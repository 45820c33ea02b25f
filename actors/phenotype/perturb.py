"""DXNN2's weight perturbation with momentum and saturation (``neuron.erl``
``perturb_IPIdPs``), as the neuron actors apply it on ``weight_perturb``.

The rule is the exoself's tuning core's (:func:`actors.evolution.tuning.perturb_weights`,
which this module calls), so both backends perturb identically from the same seed
(``tests/phenotype/test_tuning.py`` checks it draw for draw):

* each block (one per input link, then one for the bias) is chosen with probability
  ``1/sqrt(blocks)``;
* each weight of a chosen block with probability ``1/sqrt(block length)``;
* a chosen weight moves by ``dw = (u - 0.5) * spread + momentum * previous_dw`` (``u`` uniform
  in [0, 1), momentum 0.5) and is saturated to ``[-pi, pi]``; ``dw`` becomes its new previous
  delta; an unchosen weight keeps its previous delta;
* if no weight was chosen and ``spread > 0``, one weight of a uniformly chosen non-empty block
  is moved (so a perturbation always changes something).

Pure: the caller passes the ``random.Random``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from actors.evolution.errors import TuningError
from actors.evolution.tuning import MOMENTUM, SAT_LIMIT, perturb_weights
from actors.phenotype.errors import PhenotypeUsageError

if TYPE_CHECKING:
    from actors.neural.spec import NetworkSpec

__all__ = ["MOMENTUM", "SAT_LIMIT", "perturb_blocks", "perturb_network"]

Block = tuple[list[float], list[float]]


def perturb_blocks(
    blocks: Sequence[tuple[Sequence[float], Sequence[float]]],
    spread: float,
    rng: random.Random,
    *,
    sat_limit: float = SAT_LIMIT,
    momentum: float = MOMENTUM,
) -> list[Block]:
    """Perturb ``(weights, previous_deltas)`` blocks; returns new lists (inputs untouched).

    Raises :class:`PhenotypeUsageError` for a negative or non-finite spread or mismatched
    block lengths.
    """
    if not (isinstance(spread, int | float) and math.isfinite(spread) and spread >= 0):
        raise PhenotypeUsageError(f"spread must be a finite number >= 0, got {spread!r}")
    try:
        arrays = [
            (np.asarray(w, dtype=np.float64), np.asarray(d, dtype=np.float64)) for w, d in blocks
        ]
        new = perturb_weights(arrays, spread, rng, sat_limit=sat_limit, momentum=momentum)
    except TuningError as exc:
        raise PhenotypeUsageError(str(exc)) from exc
    return [(wa.tolist(), da.tolist()) for wa, da in new]


def perturb_network(
    spec: NetworkSpec,
    weights: Sequence[float],
    deltas: Sequence[float],
    perturbations: Mapping[str, tuple[float, int]],
) -> tuple[list[float], list[float]]:
    """What the actor neurons do on ``weight_perturb``, on flat vectors (spec layout), so a
    compiled backend can replay an actor perturbation exactly (and the other way round).

    ``weights``/``deltas`` are the backed-up weights and their momentum deltas;
    ``perturbations`` maps a neuron id to ``(spread, seed)`` (the seeds
    :meth:`ActorPhenotype.perturb <actors.phenotype.handle.ActorPhenotype.perturb>` returns).
    Per neuron: its signal blocks (inputs, then the bias), then its modulation block, each a
    :func:`perturb_blocks` call with ``random.Random(seed)``. Returns new lists.
    """
    n = spec.weight_count
    if len(weights) != n or len(deltas) != n:
        raise PhenotypeUsageError(f"expected {n} weights and deltas")
    unknown = set(perturbations) - {nr.id for nr in spec.neurons}
    if unknown:
        raise PhenotypeUsageError(f"no neurons {sorted(unknown)} in the spec")
    w, d = [float(v) for v in weights], [float(v) for v in deltas]
    for neuron, (signal_groups, mod_group) in zip(spec.neurons, spec.weight_groups(), strict=True):
        if neuron.id not in perturbations:
            continue
        spread, seed = perturbations[neuron.id]
        rng = random.Random(seed)
        for groups in (signal_groups, (mod_group,) if mod_group else ()):
            new = perturb_blocks(
                [([w[i] for i in g], [d[i] for i in g]) for g in groups], spread, rng
            )
            for g, (nw, nd) in zip(groups, new, strict=True):
                for i, wv, dv in zip(g, nw, nd, strict=True):
                    w[i], d[i] = wv, dv
    return w, d
