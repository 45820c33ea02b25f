from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.evolution.candidate import Candidate, Scored
from actors.evolution.errors import SelectionError
from actors.evolution.fitness import postprocess
from actors.evolution.selection import (
    SELECTION_ALGORITHMS,
    HallOfFame,
    SelectionParams,
    choose_winners,
    is_hof_algorithm,
    select_generation,
    steady_state_select,
    update_hof,
)

ALGORITHMS = [
    "competition",
    "top3",
    "hof_competition",
    "hof_rank",
    "hof_top3",
    "hof_efficiency",
    "hof_random",
]


def scored(*rows: tuple[str, float, int], specie: str = "s") -> list[Scored]:
    cands = [Candidate(a, (f,), n, specie_id=specie, fingerprint=n) for a, f, n in rows]
    return list(postprocess("none", cands).scored)


def test_all_algorithms_registered() -> None:
    assert set(ALGORITHMS) <= set(SELECTION_ALGORITHMS.names())
    assert is_hof_algorithm("hof_rank") and not is_hof_algorithm("top3")
    with pytest.raises(SelectionError, match="unknown selection algorithm"):
        select_generation("nope", scored(("a", 1.0, 1)), 2, random.Random(0))


def test_competition_keeps_top_half_and_allots_by_fitness_per_neuron() -> None:
    s = scored(("a", 3.0, 1), ("b", 1.0, 1), ("c", 0.5, 1), ("d", 0.1, 1))
    r = select_generation("competition", s, 4, random.Random(0))
    # survivors a, b (top half); quotas 3 : 1 -> a survives with 2 offspring, b survives
    assert r.survivors == ("a", "b")
    assert [(x.parent_id, x.offspring) for x in r.allotments] == [("a", 2)]
    assert set(r.removed) == {"c", "d"}
    assert r.next_size == 4
    assert r.champions == ("a", "b", "c")


def test_competition_penalises_size() -> None:
    # equal fitness, b four times as big: allotments 4 : 1
    s = scored(("a", 2.0, 1), ("b", 2.0, 4))
    r = select_generation(
        "competition", s, 10, random.Random(0), params=SelectionParams(survival_percentage=1.0)
    )
    counts = {x.parent_id: x.offspring for x in r.allotments}
    assert counts == {"a": 7, "b": 1}  # 8 + 2 slots, each keeps one as survivor
    assert r.next_size == 10


def test_competition_is_deterministic_and_handles_negative_fitness() -> None:
    s = scored(("a", -1.0, 1), ("b", -2.0, 1), ("c", -5.0, 2), ("d", -9.0, 3))
    r1 = select_generation("competition", s, 7, random.Random(1))
    r2 = select_generation("competition", s, 7, random.Random(2))
    assert r1 == r2 and r1.next_size == 7
    assert "a" in r1.survivors


def test_top3_breeds_from_the_best_three() -> None:
    s = scored(*[(f"a{i}", float(10 - i), 1) for i in range(8)])
    r = select_generation("top3", s, 10, random.Random(3))
    assert r.survivors == ("a0", "a1", "a2")
    assert {x.parent_id for x in r.allotments} <= {"a0", "a1", "a2"}
    assert r.offspring_total == 7
    assert set(r.removed) == {f"a{i}" for i in range(3, 8)}


@pytest.mark.parametrize("alg", [a for a in ALGORITHMS if a.startswith("hof_")])
def test_hof_generation_is_all_offspring_of_hall_members(alg: str) -> None:
    old = scored(("old", 9.0, 5))
    halls = {"s": update_hof(HallOfFame("s"), old)[0]}
    s = scored(("a", 3.0, 1), ("b", 1.0, 2), ("c", 0.5, 1))
    r = select_generation(alg, s, 12, random.Random(5), halls=halls)
    assert r.survivors == () and r.offspring_total == 12
    assert {x.parent_id for x in r.allotments} <= set(r.halls["s"].ids())
    # c has the same size as a and is worse: it did not enter the hall and goes
    assert "c" in r.removed and "c" not in r.halls["s"].ids()


def test_hof_top3_draws_only_from_the_best_three() -> None:
    s = scored(*[(f"a{i}", float(10 - i), i + 1) for i in range(6)])
    r = select_generation("hof_top3", s, 200, random.Random(7))
    assert {x.parent_id for x in r.allotments} <= {"a0", "a1", "a2"}


def test_hof_competition_prefers_efficient_parents() -> None:
    s = scored(("small", 4.0, 1), ("big", 4.0, 8))
    r = select_generation("hof_competition", s, 900, random.Random(11))
    counts = {x.parent_id: x.offspring for x in r.allotments}
    assert counts["small"] > 5 * counts["big"]  # expected ratio 8 : 1


def test_hof_random_is_uniform() -> None:
    s = scored(("a", 100.0, 1), ("b", 1.0, 2))
    r = select_generation("hof_random", s, 2000, random.Random(13))
    counts = {x.parent_id: x.offspring for x in r.allotments}
    assert abs(counts["a"] - 1000) < 150


def test_shof_ratio_takes_some_offspring_from_actives() -> None:
    halls = {"s": update_hof(HallOfFame("s"), scored(("champ", 9.0, 1)))[0]}
    s = scored(("loser", 1.0, 1))  # same key as champ, worse: an active
    r = select_generation(
        "hof_competition",
        s,
        10,
        random.Random(0),
        halls=halls,
        params=SelectionParams(shof_ratio=0.7),
    )
    counts = {x.parent_id: x.offspring for x in r.allotments}
    assert counts == {"champ": 7, "loser": 3}
    assert "loser" not in r.removed


def test_equal_species_shares() -> None:
    s = scored(("a", 9.0, 1), ("b", 8.0, 2), specie="x") + scored(("c", 1.0, 1), specie="y")
    s.sort(key=lambda q: -q.score)
    r = select_generation(
        "hof_competition", s, 10, random.Random(0), params=SelectionParams(species_shares="equal")
    )
    per = Counter()
    for a in r.allotments:
        per[a.specie_id] += a.offspring
    assert per == {"x": 5, "y": 5}
    pooled = select_generation("hof_competition", s, 10, random.Random(0))
    assert pooled.next_size == 10


def test_selection_rejects_bad_inputs() -> None:
    with pytest.raises(SelectionError):
        select_generation("competition", [], 3, random.Random(0))
    with pytest.raises(SelectionError):
        select_generation("competition", scored(("a", 1.0, 1)), 0, random.Random(0))
    with pytest.raises(SelectionError, match="duplicate"):
        select_generation("top3", scored(("a", 1.0, 1)) * 2, 3, random.Random(0))
    with pytest.raises(SelectionError):
        choose_winners([], 1, random.Random(0))


def test_steady_state_hof_and_dead_pool() -> None:
    rng = random.Random(0)
    hall = HallOfFame("s")
    for sc in scored(("a", 1.0, 1), ("b", 3.0, 2), ("c", 0.5, 1)):
        ch = steady_state_select("hof_efficiency", sc, hall, rng, pool_limit=5)
        hall = ch.pool
        assert ch.parent_id in hall.ids() and not ch.reevaluate
    assert set(hall.ids()) == {"a", "b"}  # c lost to a (same size)
    pool = HallOfFame("s")
    seen = []
    for sc in scored(*[(f"p{i}", float(i), 1) for i in range(12)]):
        ch = steady_state_select(
            "competition",
            sc,
            pool,
            rng,
            pool_limit=4,
            params=SelectionParams(reevaluate_probability=0.0),
        )
        pool = ch.pool
        seen.append(ch.parent_id)
        assert len(pool) <= 4 and ch.parent_id in pool.ids()
    assert set(pool.ids()) == {"p8", "p9", "p10", "p11"}


def test_steady_state_reevaluation_removes_parent_from_pool() -> None:
    pool = HallOfFame("s")
    ch = steady_state_select(
        "top3",
        scored(("a", 1.0, 1))[0],
        pool,
        random.Random(0),
        pool_limit=3,
        params=SelectionParams(reevaluate_probability=1.0),
    )
    assert ch.reevaluate and ch.parent_id == "a" and len(ch.pool) == 0


@st.composite
def generations(draw: st.DrawFn) -> tuple[list[list[Scored]], str, int, int, SelectionParams]:
    alg = draw(st.sampled_from(ALGORITHMS))
    target = draw(st.integers(1, 40))
    dims = draw(st.integers(1, 2))
    gens = []
    counter = 0
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 25))
        cands = []
        for _ in range(n):
            counter += 1
            cands.append(
                Candidate(
                    f"g{counter}",
                    tuple(draw(st.floats(-50, 50, allow_nan=False)) for _ in range(dims)),
                    draw(st.integers(1, 6)),
                    specie_id=draw(st.sampled_from(["s1", "s2", "s3"])),
                    fingerprint=draw(st.integers(0, 3)),
                )
            )
        pp = draw(st.sampled_from(["none", "size_proportional"]))
        gens.append(list(postprocess(pp, cands).scored))
    params = SelectionParams(
        hof_size_limit=draw(st.integers(1, 6)),
        shof_ratio=draw(st.sampled_from([1.0, 0.5, 0.0])),
        species_shares=draw(st.sampled_from(["pooled", "equal"])),
        hof_distinguishers=draw(
            st.sampled_from([("size",), ("fingerprint",), ("size", "fingerprint")])
        ),
    )
    return gens, alg, target, draw(st.integers(0, 2**32)), params


def _run(case: tuple, seed: int) -> list:
    gens, alg, target, _, params = case
    rng = random.Random(seed)
    halls: dict[str, HallOfFame] = {}
    results = []
    for gen in gens:
        known = {s.agent_id for s in gen} | {i for h in halls.values() for i in h.ids()}
        r = select_generation(alg, gen, target, rng, halls=halls, params=params)
        results.append((r, known))
        halls = dict(r.halls)
    return results


@settings(max_examples=150, deadline=None)
@given(generations())
def test_selection_invariants(case: tuple) -> None:
    gens, _, target, seed, params = case
    results = _run(case, seed)
    for gen, (r, known) in zip(gens, results, strict=True):
        parents = [a.parent_id for a in r.allotments]
        assert r.next_size == target
        assert all(a.offspring > 0 for a in r.allotments)
        assert set(r.survivors) | set(parents) | set(r.removed) <= known
        assert set(r.survivors) <= {s.agent_id for s in gen}
        assert len(set(r.survivors)) == len(r.survivors)
        assert not (set(r.removed) & (set(r.survivors) | set(parents)))
        assert all(len(h) <= params.hof_size_limit for h in r.halls.values())
    # same seed, same plan
    assert [r for r, _ in _run(case, seed)] == [r for r, _ in results]


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(ALGORITHMS),
    st.lists(st.tuples(st.floats(-10, 10), st.integers(1, 5)), min_size=1, max_size=30),
    st.integers(1, 6),
    st.integers(0, 2**32),
)
def test_steady_state_invariants(
    alg: str, rows: list[tuple[float, int]], limit: int, seed: int
) -> None:
    rng = random.Random(seed)
    params = SelectionParams(hof_size_limit=limit)
    pool = HallOfFame("s")
    seen: set[str] = set()
    for i, (f, n) in enumerate(rows):
        finished = scored((f"a{i}", f, n))[0]
        seen.add(finished.agent_id)
        ch = steady_state_select(alg, finished, pool, rng, pool_limit=limit, params=params)
        assert ch.parent_id in seen
        assert len(ch.pool) <= limit
        assert set(ch.pool.ids()) <= seen and set(ch.removed) <= seen
        assert ch.parent_id not in ch.removed
        assert not (set(ch.removed) & set(ch.pool.ids()))
        if ch.reevaluate:
            assert ch.parent_id not in ch.pool.ids()
        else:
            assert ch.parent_id in ch.pool.ids()
        pool = ch.pool
