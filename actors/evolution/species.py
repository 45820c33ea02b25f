"""Species: grouping by fingerprint, diversity, per-species statistics.

DXNN2 counts a specie's diversity as the number of distinct agent fingerprints in it
(``calculate_SpecieDiversity``); here diversity is the number of distinct fingerprints in any
collection of candidates. Grouping by fingerprint gives species ids that are stable for a
run: :func:`assign_species` extends a known fingerprint -> id mapping with fresh ids in the
order fingerprints first appear. DXNN2's *innovation factor* (generations since a specie's
best fitness last improved) is :class:`Innovation`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from actors.evolution.candidate import Candidate

__all__ = [
    "Innovation",
    "SpeciesStats",
    "assign_species",
    "diversity",
    "group_by_fingerprint",
    "mean_std",
    "species_stats",
    "update_innovation",
]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population standard deviation (DXNN's ``functions:std``); ``(0, 0)`` when
    empty."""
    if not values:
        return 0.0, 0.0
    m = math.fsum(values) / len(values)
    var = math.fsum((v - m) ** 2 for v in values) / len(values)
    return m, math.sqrt(var)


def group_by_fingerprint(candidates: Iterable[Candidate]) -> dict[Hashable, tuple[Candidate, ...]]:
    """Candidates grouped by fingerprint, groups and members in first-seen order."""
    groups: dict[Hashable, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.fingerprint, []).append(c)
    return {k: tuple(v) for k, v in groups.items()}


def diversity(candidates: Iterable[Candidate]) -> int:
    """Number of distinct fingerprints."""
    return len({c.fingerprint for c in candidates})


def assign_species(
    fingerprints: Iterable[Hashable], known: Mapping[Hashable, str], prefix: str = "s"
) -> dict[Hashable, str]:
    """Extend ``known`` (fingerprint -> species id) with ids for new fingerprints.

    New ids are ``f"{prefix}{n}"`` with ``n`` counting on from ``len(known) + 1``, skipping
    ids already used, in the order fingerprints first appear: same inputs, same ids.
    """
    out = dict(known)
    used = set(out.values())
    n = len(out)
    for fp in fingerprints:
        if fp in out:
            continue
        n += 1
        while f"{prefix}{n}" in used:
            n += 1
        out[fp] = f"{prefix}{n}"
        used.add(out[fp])
    return out


@dataclass(frozen=True, slots=True)
class SpeciesStats:
    """One species' statistics for one generation (main fitness, neuron counts)."""

    specie_id: str
    size: int
    fitness_avg: float
    fitness_std: float
    fitness_max: float
    fitness_min: float
    neurons_avg: float
    neurons_std: float
    diversity: int
    best_agent_id: str

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def species_stats(candidates: Iterable[Candidate]) -> tuple[SpeciesStats, ...]:
    """Per-species statistics, species in first-seen order."""
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.specie_id, []).append(c)
    out = []
    for sid, members in groups.items():
        fit = [c.main_fitness for c in members]
        f_avg, f_std = mean_std(fit)
        n_avg, n_std = mean_std([float(c.size) for c in members])
        best = max(range(len(members)), key=lambda i: (fit[i], -i))
        out.append(
            SpeciesStats(
                specie_id=sid,
                size=len(members),
                fitness_avg=f_avg,
                fitness_std=f_std,
                fitness_max=max(fit),
                fitness_min=min(fit),
                neurons_avg=n_avg,
                neurons_std=n_std,
                diversity=diversity(members),
                best_agent_id=members[best].agent_id,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Innovation:
    """DXNN2's ``innovation_factor``: ``factor`` is 0 right after the best fitness improved
    and decreases by one every generation it does not (so ``-factor`` is the stagnation
    age); ``best`` is the best main fitness seen."""

    factor: int = 0
    best: float | None = None


def update_innovation(prev: Innovation, max_fitness: float) -> Innovation:
    """Next generation's innovation factor given this generation's best main fitness."""
    if prev.best is None or max_fitness > prev.best:
        return Innovation(0, max_fitness)
    return Innovation(prev.factor - 1, prev.best)
