"""Selection: who survives, who breeds and how many offspring, per DXNN and DXNN2.

Inputs are :class:`~actors.evolution.candidate.Scored` candidates (the fitness
postprocessor's output, best first), a population target, a ``random.Random`` and, for the
hall-of-fame algorithms, the per-species halls of fame. Output is a
:class:`GenerationSelection`: the agents that go on unchanged (``survivors``), the parents
with their offspring counts (``allotments``; the caller clones and mutates), the current
agents nobody needs any more (``removed``), the generation's top three (``champions``) and
the updated halls of fame. ``len(survivors) + sum(offspring) == target`` always holds.

Algorithms (sources: DXNN2 ``selection_algorithm.erl`` and ``population_monitor.erl``):

* ``competition`` (the book's): keep the best ``round(n * survival_percentage)``; each keeper
  gets an allotment ``(F / neural_energy_cost) / tot_n`` where the neural energy cost is
  total fitness over total neurons of the population; allotments are normalised to the
  target; an allotment ``a >= 1`` means the agent survives and has ``a - 1`` offspring,
  ``a = 0`` means it is removed. DXNN rounds each normalised allotment separately, so the
  next generation only approximates the target; here largest-remainder rounding makes the
  integers sum to the target exactly.
* ``top3`` (the book's): the best three survive; the rest of the target are offspring of
  parents drawn uniformly from the three.
* ``hof_competition``, ``hof_efficiency``, ``hof_rank``, ``hof_top3``, ``hof_random``
  (DXNN2's): each species keeps a hall of fame; an agent enters it when no champion with
  the same hall-of-fame fingerprint (DXNN2's ``hof_distinguishers``, default the neuron
  count) dominates it (Pareto dominance of fitness vectors; champions it dominates leave).
  The next generation consists only of offspring, drawn by roulette from the hall of fame
  with weights ``fs * F / tot_n ** efficiency`` (competition, efficiency 1 by default as in
  DXNN2), ``fs * F / tot_n`` (efficiency), rank of ``fs * F`` (rank), ``fs * F`` among the
  best three (top3) or ``fs`` (random). With ``shof_ratio < 1`` a share of the offspring
  come from this generation's agents that did not enter the hall (DXNN2's "actives").
  ``fs`` (DXNN2's fitness-stagnation factor) is 1: DXNN2 ships with it switched off.

Deviations, all documented in ``docs/evolution.md``: exact-target rounding (above); the
roulette draws a continuous point (DXNN2: ``random:uniform(100)/100``); zero or negative
scores are shifted positive before any roulette or allotment (:func:`roulette_weights`);
halls of fame are bounded (``hof_size_limit``, the lowest score leaves first) where DXNN2's
grow without bound; re-entry (``REENTRY_PROBABILITY``, 0 in DXNN2) is not implemented.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from actors.evolution.candidate import Registry, Scored, erl_round, roulette_weights
from actors.evolution.errors import SelectionError
from actors.evolution.hall_of_fame import (
    HOF_DISTINGUISHERS,
    Champion,
    HallOfFame,
    hof_key,
    update_hof,
)

__all__ = [
    "HOF_DISTINGUISHERS",
    "SELECTION_ALGORITHMS",
    "SPECIES_SHARES",
    "Allotment",
    "Champion",
    "GenerationSelection",
    "GroupSelection",
    "HallOfFame",
    "SelectionParams",
    "SteadyStateChoice",
    "choose_winners",
    "hof_key",
    "is_hof_algorithm",
    "neural_energy_cost",
    "register_selection",
    "select_generation",
    "steady_state_select",
    "update_hof",
]

#: How the target is shared among species.
SPECIES_SHARES = ("pooled", "equal")


@dataclass(frozen=True, slots=True)
class SelectionParams:
    """Knobs of selection, with DXNN2's defaults where DXNN2 has them.

    Attributes:
        survival_percentage: share of a generation kept by ``competition`` (DXNN: 0.5).
        shof_ratio: share of hof offspring drawn from the hall of fame (DXNN2: 1.0);
            the rest come from this generation's agents that did not enter it.
        efficiency: exponent of ``tot_n`` in ``hof_competition``'s weights (DXNN2: 1).
        hof_size_limit: a species' hall of fame holds at most this many champions.
        hof_distinguishers: what makes up a hall-of-fame fingerprint (DXNN2: tot_n).
        species_shares: ``pooled`` selects over the whole population at once (the halls
            of all species form one pool); ``equal`` gives every species the same share of
            the target, as DXNN2 gives every specie the same ``specie_size_limit``.
        reevaluate_probability: steady state with a dead pool (``competition``/``top3``):
            chance that the chosen parent is itself re-evaluated instead of cloned (DXNN2:
            0.1).
    """

    survival_percentage: float = 0.5
    shof_ratio: float = 1.0
    efficiency: float = 1.0
    hof_size_limit: int = 100
    hof_distinguishers: tuple[str, ...] = ("size",)
    species_shares: str = "pooled"
    reevaluate_probability: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.survival_percentage <= 1.0:
            raise SelectionError("survival_percentage must be in (0, 1]")
        if not 0.0 <= self.shof_ratio <= 1.0:
            raise SelectionError("shof_ratio must be in [0, 1]")
        if not 0.0 <= self.efficiency <= 10.0:
            raise SelectionError("efficiency must be in [0, 10]")
        if self.hof_size_limit < 1:
            raise SelectionError("hof_size_limit must be >= 1")
        bad = [d for d in self.hof_distinguishers if d not in HOF_DISTINGUISHERS]
        if bad or not self.hof_distinguishers:
            raise SelectionError(f"hof_distinguishers must be drawn from {HOF_DISTINGUISHERS}")
        if self.species_shares not in SPECIES_SHARES:
            raise SelectionError(f"species_shares must be one of {SPECIES_SHARES}")
        if not 0.0 <= self.reevaluate_probability <= 1.0:
            raise SelectionError("reevaluate_probability must be in [0, 1]")


@dataclass(frozen=True, slots=True)
class Allotment:
    """``parent_id`` gets ``offspring`` mutant clones in the next generation."""

    parent_id: str
    offspring: int
    specie_id: str


@dataclass(frozen=True, slots=True)
class GroupSelection:
    """One algorithm run's answer for one group (a species, or the pooled population)."""

    survivors: tuple[str, ...]
    allotments: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class GenerationSelection:
    """The next generation's plan; see the module docstring."""

    survivors: tuple[str, ...]
    allotments: tuple[Allotment, ...]
    removed: tuple[str, ...]
    champions: tuple[str, ...]
    halls: Mapping[str, HallOfFame] = field(default_factory=dict)

    @property
    def offspring_total(self) -> int:
        return sum(a.offspring for a in self.allotments)

    @property
    def next_size(self) -> int:
        return len(self.survivors) + self.offspring_total


def neural_energy_cost(scores: Sequence[float], sizes: Sequence[int]) -> float:
    """DXNN's ``calculate_EnergyCost``: total fitness over total neurons."""
    total_neurons = sum(sizes)
    if total_neurons <= 0:
        raise SelectionError("no neurons to price")
    return sum(scores) / total_neurons


def choose_winners(
    weighted: Sequence[tuple[str, float]], n: int, rng: random.Random
) -> list[tuple[str, int]]:
    """DXNN2's ``choose_Winners``: ``n`` roulette draws with the given (positive) weights.

    Returns ``(id, count)`` for every id drawn at least once, in the order of ``weighted``.
    """
    if n <= 0:
        return []
    if not weighted:
        raise SelectionError("no parents to choose from")
    total = sum(w for _, w in weighted)
    if not total > 0:
        raise SelectionError("roulette weights must sum to a positive number")
    counts = [0] * len(weighted)
    for _ in range(n):
        point = rng.random() * total
        acc = 0.0
        chosen = len(weighted) - 1
        for i, (_, w) in enumerate(weighted):
            acc += w
            if point < acc:
                chosen = i
                break
        counts[chosen] += 1
    return [(weighted[i][0], k) for i, k in enumerate(counts) if k]


def _largest_remainder(quotas: Sequence[float], total: int) -> list[int]:
    """Integers with ``sum == total`` closest to ``quotas`` (ties to the earlier index)."""
    floors = [int(q) for q in quotas]
    short = total - sum(floors)
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:short]:
        floors[i] += 1
    return floors


# --- the algorithms -------------------------------------------------------------------

SelectionFn = Callable[
    [Sequence[Scored], HallOfFame | None, int, random.Random, SelectionParams], GroupSelection
]

#: Registry of selection algorithms by name.
SELECTION_ALGORITHMS: Registry[SelectionFn] = Registry(
    "selection algorithm", ("scored", "hall", "target", "rng", "params")
)
_HOF_ALGORITHMS: set[str] = set()


def register_selection(name: str, fn: SelectionFn, *, uses_hall_of_fame: bool) -> SelectionFn:
    """Register a selection algorithm. A hall-of-fame algorithm receives the species' updated
    hall and, as ``scored``, this generation's agents that did not enter it; any other
    receives the group's scored candidates, best first, and ``hall=None``."""
    SELECTION_ALGORITHMS.register(name, fn)
    if uses_hall_of_fame:
        _HOF_ALGORITHMS.add(name)
    return fn


def is_hof_algorithm(name: str) -> bool:
    SELECTION_ALGORITHMS.get(name)
    return name in _HOF_ALGORITHMS


def competition(
    scored: Sequence[Scored],
    hall: HallOfFame | None,
    target: int,
    rng: random.Random,
    params: SelectionParams,
) -> GroupSelection:
    """DXNN's ``competition/3`` with exact-target rounding (see module docstring)."""
    keep = max(1, erl_round(len(scored) * params.survival_percentage))
    valid = list(scored[:keep])
    weights = roulette_weights([s.score for s in valid])
    cost = neural_energy_cost(weights, [s.candidate.size for s in valid])
    alloc = [w / cost / s.candidate.size for w, s in zip(weights, valid, strict=True)]
    normalizer = sum(alloc) / target
    counts = _largest_remainder([a / normalizer for a in alloc], target)
    survivors = tuple(s.agent_id for s, k in zip(valid, counts, strict=True) if k >= 1)
    allot = tuple((s.agent_id, k - 1) for s, k in zip(valid, counts, strict=True) if k >= 2)
    return GroupSelection(survivors, allot)


def top3(
    scored: Sequence[Scored],
    hall: HallOfFame | None,
    target: int,
    rng: random.Random,
    params: SelectionParams,
) -> GroupSelection:
    """DXNN's ``top3``: the best three survive and breed the rest, parents uniform."""
    valid = [s.agent_id for s in scored[: min(3, target)]]
    counts = [0] * len(valid)
    for _ in range(target - len(valid)):
        counts[rng.randrange(len(valid))] += 1
    return GroupSelection(
        tuple(valid), tuple((a, k) for a, k in zip(valid, counts, strict=True) if k)
    )


def _hof_weighted(
    name: str, champs: Sequence[Champion], params: SelectionParams
) -> list[tuple[str, float]]:
    scores = roulette_weights([c.fs * c.score for c in champs])
    if name == "hof_competition":
        return [
            (c.agent_id, s / c.size**params.efficiency) for c, s in zip(champs, scores, strict=True)
        ]
    if name == "hof_efficiency":
        return [(c.agent_id, s / c.size) for c, s in zip(champs, scores, strict=True)]
    if name == "hof_rank":
        order = sorted(range(len(champs)), key=lambda i: (scores[i], -i))
        rank = {i: r + 1 for r, i in enumerate(order)}
        return [(c.agent_id, float(rank[i])) for i, c in enumerate(champs)]
    if name == "hof_top3":
        order = sorted(range(len(champs)), key=lambda i: (-scores[i], i))[:3]
        return [(champs[i].agent_id, scores[i]) for i in sorted(order)]
    if name == "hof_random":
        return [(c.agent_id, c.fs) for c in champs]
    raise SelectionError(f"unknown hall-of-fame algorithm {name!r}")


def _make_hof(name: str) -> SelectionFn:
    def algorithm(
        scored: Sequence[Scored],
        hall: HallOfFame | None,
        target: int,
        rng: random.Random,
        params: SelectionParams,
    ) -> GroupSelection:
        champs = hall.champions if hall is not None else ()
        actives = [Champion.of(s, params.hof_distinguishers) for s in scored]
        n_hof = erl_round(params.shof_ratio * target) if actives else target
        if not champs:
            n_hof = 0
        n_act = target - n_hof
        drawn = choose_winners(_hof_weighted(name, champs, params), n_hof, rng) if n_hof else []
        if n_act:
            drawn += choose_winners(_hof_weighted(name, actives, params), n_act, rng)
        merged: dict[str, int] = {}
        for aid, k in drawn:
            merged[aid] = merged.get(aid, 0) + k
        return GroupSelection((), tuple(merged.items()))

    algorithm.__name__ = name
    algorithm.__doc__ = f"DXNN2's ``{name}``: every offspring drawn from the hall of fame."
    return algorithm


register_selection("competition", competition, uses_hall_of_fame=False)
register_selection("top3", top3, uses_hall_of_fame=False)
for _name in ("hof_competition", "hof_rank", "hof_top3", "hof_efficiency", "hof_random"):
    register_selection(_name, _make_hof(_name), uses_hall_of_fame=True)


# --- driving a generation -----------------------------------------------------------------


def select_generation(
    algorithm: str,
    scored: Sequence[Scored],
    target: int,
    rng: random.Random,
    *,
    halls: Mapping[str, HallOfFame] | None = None,
    params: SelectionParams | None = None,
) -> GenerationSelection:
    """Plan the next generation of a whole population (generational evolution).

    ``scored`` is the postprocessor's output for the generation (best first, unique ids);
    ``halls`` maps species ids to their halls of fame (missing species start empty). Raises
    :class:`SelectionError` on an unknown algorithm, no candidates or ``target < 1``.
    """
    params = params or SelectionParams()
    fn = SELECTION_ALGORITHMS.get(algorithm)
    if target < 1:
        raise SelectionError(f"target must be >= 1, got {target}")
    if not scored:
        raise SelectionError("no candidates to select from")
    ids = [s.agent_id for s in scored]
    if len(set(ids)) != len(ids):
        raise SelectionError("duplicate agent ids among candidates")
    by_species: dict[str, list[Scored]] = {}
    for s in scored:
        by_species.setdefault(s.candidate.specie_id, []).append(s)

    hof = algorithm in _HOF_ALGORITHMS
    new_halls: dict[str, HallOfFame] = dict(halls or {})
    actives: dict[str, list[Scored]] = {}
    evicted: list[str] = []
    if hof:
        for sid, members in by_species.items():
            hall = new_halls.get(sid, HallOfFame(sid))
            hall, losers, gone = update_hof(
                hall,
                members,
                distinguishers=params.hof_distinguishers,
                size_limit=params.hof_size_limit,
            )
            new_halls[sid] = hall
            lost = set(losers)
            actives[sid] = [s for s in members if s.agent_id in lost]
            evicted.extend(gone)

    groups: list[tuple[str, list[Scored], HallOfFame | None]] = []
    if params.species_shares == "pooled":
        if hof:
            pooled = tuple(c for h in new_halls.values() for c in h.champions)
            act = [s for sid in by_species for s in actives[sid]]
            groups.append(("*", act, HallOfFame("*", pooled)))
        else:
            groups.append(("*", list(scored), None))
    else:
        sids = list(by_species)
        if hof:
            sids += [sid for sid, h in new_halls.items() if sid not in by_species and len(h)]
        for sid in sids:
            if hof:
                groups.append((sid, actives.get(sid, []), new_halls[sid]))
            else:
                groups.append((sid, by_species[sid], None))
    shares = _largest_remainder([target / len(groups)] * len(groups), target)

    owner = {s.agent_id: s.candidate.specie_id for s in scored}
    for h in new_halls.values():
        for c in h.champions:
            owner.setdefault(c.agent_id, c.specie_id)
    survivors: list[str] = []
    allotments: list[Allotment] = []
    for (_, members, group_hall), share in zip(groups, shares, strict=True):
        if share == 0:
            continue
        result = fn(members, group_hall, share, rng, params)
        survivors.extend(result.survivors)
        allotments.extend(Allotment(a, k, owner[a]) for a, k in result.allotments if k > 0)

    kept = set(survivors) | {a.parent_id for a in allotments}
    for h in new_halls.values():
        kept.update(h.ids())
    removed = dict.fromkeys(i for i in (*ids, *evicted) if i not in kept)
    return GenerationSelection(
        survivors=tuple(survivors),
        allotments=tuple(allotments),
        removed=tuple(removed),
        champions=tuple(ids[:3]),
        halls=new_halls if hof else dict(halls or {}),
    )


@dataclass(frozen=True, slots=True)
class SteadyStateChoice:
    """Steady state: the parent of the one agent to start next.

    ``reevaluate`` means the parent itself runs again (it has left the pool) instead of a
    mutant clone of it. ``pool`` is the species' updated hall of fame (hof algorithms) or
    dead pool (``competition``/``top3``); ``removed`` lists ids nobody needs any more.
    """

    parent_id: str
    reevaluate: bool
    pool: HallOfFame
    removed: tuple[str, ...]


def steady_state_select(
    algorithm: str,
    finished: Scored,
    pool: HallOfFame,
    rng: random.Random,
    *,
    pool_limit: int,
    params: SelectionParams | None = None,
) -> SteadyStateChoice:
    """One steady-state step after ``finished`` completed its evaluation (DXNN2).

    Hall-of-fame algorithms: ``finished`` is entered into its species' hall (as in DXNN2's
    steady-state clause) and one parent is drawn from it with the algorithm's weights.
    ``competition``/``top3``: ``finished`` joins the species' dead pool, which is kept
    sorted by score and cut to ``pool_limit`` (DXNN2's ``specie_size_limit``); the parent is
    drawn by roulette over ``score / tot_n`` (DXNN2's ``competition/1``) or uniformly among
    the best three, and with ``params.reevaluate_probability`` re-runs itself.
    """
    params = params or SelectionParams()
    SELECTION_ALGORITHMS.get(algorithm)
    if pool_limit < 1:
        raise SelectionError("pool_limit must be >= 1")
    if algorithm in _HOF_ALGORITHMS:
        hall, losers, evicted = update_hof(
            pool,
            [finished],
            distinguishers=params.hof_distinguishers,
            size_limit=params.hof_size_limit,
        )
        parent = choose_winners(_hof_weighted(algorithm, hall.champions, params), 1, rng)[0][0]
        gone = tuple(i for i in (*losers, *evicted) if i != parent)
        return SteadyStateChoice(parent, False, hall, gone)
    if finished.candidate.specie_id != pool.specie_id:
        raise SelectionError(f"{finished.agent_id} does not belong to {pool.specie_id!r}")
    entry = Champion.of(finished, params.hof_distinguishers)
    champs = [c for c in pool.champions if c.agent_id != entry.agent_id] + [entry]
    champs.sort(key=lambda c: -c.score)
    removed: tuple[str, ...] = ()
    if len(champs) > pool_limit:
        removed = tuple(c.agent_id for c in champs[pool_limit:])
        champs = champs[:pool_limit]
    if algorithm == "competition":
        weights = roulette_weights([c.score for c in champs])
        weighted = [(c.agent_id, w / c.size) for c, w in zip(champs, weights, strict=True)]
        parent = choose_winners(weighted, 1, rng)[0][0]
    elif algorithm == "top3":
        parent = champs[rng.randrange(min(3, len(champs)))].agent_id
    else:
        raise SelectionError(f"{algorithm!r} has no steady-state form")
    reevaluate = rng.random() < params.reevaluate_probability
    if reevaluate:
        champs = [c for c in champs if c.agent_id != parent]
    return SteadyStateChoice(parent, reevaluate, HallOfFame(pool.specie_id, tuple(champs)), removed)
