"""Per-species halls of fame, as DXNN2's ``population_monitor`` keeps them.

A hall of fame holds the species' *champions*: agents that, when they were evaluated, no
earlier champion with the same hall-of-fame fingerprint dominated. The fingerprint is made
of *distinguishers* (DXNN2's ``hof_distinguishers``, default ``[tot_n]``): here ``size``
(the neuron count) and/or ``fingerprint`` (the candidate's structural fingerprint).
Dominance is Pareto dominance of fitness vectors (DXNN2's ``vec1_dominates_vec2`` with no
minimum improvement), so with scalar fitness each fingerprint keeps its single best agent
and with vector fitness its Pareto front. DXNN2's halls grow without bound; these are cut to
``size_limit`` champions, dropping the lowest scores first (the oldest among equal scores).

The same records serve as the steady-state *dead pool* of ``competition``/``top3``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from actors.evolution.candidate import Candidate, Fitness, Scored, dominance
from actors.evolution.errors import SelectionError

__all__ = [
    "DEFAULT_DISTINGUISHERS",
    "DEFAULT_SIZE_LIMIT",
    "HOF_DISTINGUISHERS",
    "Champion",
    "HallOfFame",
    "hof_key",
    "update_hof",
]

#: What a hall-of-fame fingerprint can be made of.
HOF_DISTINGUISHERS = ("size", "fingerprint")
#: DXNN2's default ``hof_distinguishers = [tot_n]``.
DEFAULT_DISTINGUISHERS: tuple[str, ...] = ("size",)
DEFAULT_SIZE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Champion:
    """A hall-of-fame (or steady-state dead-pool) entry: DXNN2's ``#champion`` record."""

    agent_id: str
    fitness: Fitness
    score: float
    size: int
    specie_id: str
    key: Hashable
    generation: int = 0
    fs: float = 1.0

    @classmethod
    def of(cls, scored: Scored, distinguishers: Sequence[str]) -> Champion:
        c = scored.candidate
        return cls(
            c.agent_id,
            c.fitness,
            scored.score,
            c.size,
            c.specie_id,
            hof_key(c, distinguishers),
            c.generation,
        )


@dataclass(frozen=True, slots=True)
class HallOfFame:
    """A species' hall of fame: an immutable tuple of champions in order of entry."""

    specie_id: str
    champions: tuple[Champion, ...] = ()

    def ids(self) -> tuple[str, ...]:
        return tuple(c.agent_id for c in self.champions)

    def __len__(self) -> int:
        return len(self.champions)


def hof_key(candidate: Candidate, distinguishers: Sequence[str]) -> Hashable:
    """The hall-of-fame fingerprint of a candidate: a tuple of the named distinguishers."""
    parts: list[Hashable] = []
    for d in distinguishers:
        if d == "size":
            parts.append(candidate.size)
        elif d == "fingerprint":
            parts.append(candidate.fingerprint)
        else:
            raise SelectionError(f"unknown hof distinguisher {d!r}")
    return tuple(parts)


def update_hof(
    hall: HallOfFame,
    scored: Sequence[Scored],
    *,
    distinguishers: Sequence[str] = DEFAULT_DISTINGUISHERS,
    size_limit: int = DEFAULT_SIZE_LIMIT,
) -> tuple[HallOfFame, tuple[str, ...], tuple[str, ...]]:
    """Enter agents into a hall of fame as DXNN2's ``update_SHOF`` does.

    For each agent in order: with no champion of the same key it enters; if a champion of
    its key dominates or equals it (Pareto, :func:`dominance`) it is a *loser*; otherwise it
    enters and the same-key champions it dominates leave. Finally the hall is cut to
    ``size_limit`` by dropping the lowest scores (oldest first among equals).

    Returns ``(hall, losers, evicted)``: agent ids that did not enter, and ids that left
    (dominated or cut). An agent already in the hall is skipped.
    """
    if size_limit < 1:
        raise SelectionError("size_limit must be >= 1")
    champs = list(hall.champions)
    losers: list[str] = []
    evicted: list[str] = []
    for s in scored:
        if s.candidate.specie_id != hall.specie_id:
            raise SelectionError(
                f"{s.agent_id} belongs to species {s.candidate.specie_id!r}, not {hall.specie_id!r}"
            )
        if any(c.agent_id == s.agent_id for c in champs):
            continue
        agent = Champion.of(s, distinguishers)
        same = [c for c in champs if c.key == agent.key]
        relations = [dominance(agent.fitness, c.fitness) for c in same]
        if any(r < 0 for r in relations):
            losers.append(agent.agent_id)
            continue
        beaten = {c.agent_id for c, r in zip(same, relations, strict=True) if r > 0}
        evicted.extend(c.agent_id for c in champs if c.agent_id in beaten)
        champs = [c for c in champs if c.agent_id not in beaten]
        champs.append(agent)
    if len(champs) > size_limit:
        order = sorted(range(len(champs)), key=lambda i: (champs[i].score, i))
        drop = set(order[: len(champs) - size_limit])
        evicted.extend(champs[i].agent_id for i in sorted(drop))
        champs = [c for i, c in enumerate(champs) if i not in drop]
    return HallOfFame(hall.specie_id, tuple(champs)), tuple(losers), tuple(evicted)
