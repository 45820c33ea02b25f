"""DXNN2's weight perturbation (``neuron.erl``'s ``perturb_IPIdPs``) as the neuron actors
apply it on ``weight_perturb``, on plain lists.

The rule is :func:`actors.neural.perturb.perturb_weights` (momentum, saturation to
``[-pi, pi]``, at least one weight moved), the one the exoself's tuning core applies on the
compiled backend, so both backends perturb identically from the same seed
(``tests/phenotype/test_tuning.py`` checks it draw for draw). Bad input raises
:class:`~actors.phenotype.errors.PhenotypeUsageError`.

Pure: the caller passes the ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from actors.neural.errors import PerturbError
from actors.neural.perturb import MOMENTUM, SAT_LIMIT, perturb_weights
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
    try:
        new = perturb_weights(blocks, spread, rng, sat_limit=sat_limit, momentum=momentum)
    except PerturbError as exc:
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
