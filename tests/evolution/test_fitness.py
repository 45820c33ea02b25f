from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.evolution import fitness as fitness_module
from actors.evolution.candidate import Candidate
from actors.evolution.errors import SelectionError
from actors.evolution.fitness import (
    POSTPROCESSORS,
    NoveltyArchive,
    NoveltyParams,
    PostprocessContext,
    novelty_scores,
    postprocess,
    update_archive,
)


def cands(*rows: tuple[str, float, int]) -> list[Candidate]:
    return [Candidate(a, (f,), n) for a, f, n in rows]


def test_registered_names() -> None:
    assert set(POSTPROCESSORS.names()) == {"none", "size_proportional", "novelty_proportional"}
    with pytest.raises(SelectionError, match="unknown fitness postprocessor"):
        postprocess("nope", cands(("a", 1.0, 1)))


def test_none_sorts_by_main_fitness_smaller_first_on_ties() -> None:
    out = postprocess("none", cands(("a", 1.0, 3), ("b", 2.0, 1), ("c", 1.0, 2))).scored
    assert [s.agent_id for s in out] == ["b", "c", "a"]
    assert [s.score for s in out] == [2.0, 1.0, 1.0]


def test_size_proportional_is_dxnn2s_formula() -> None:
    out = postprocess("size_proportional", cands(("a", 1.0, 1), ("b", 1.02, 2))).scored
    # 1.02 / 2**0.05 = 0.9853 < 1.0
    assert [s.agent_id for s in out] == ["a", "b"]
    assert out[1].score == pytest.approx(1.02 / 2**0.05)
    neg = postprocess("size_proportional", cands(("a", -1.0, 1), ("b", -1.0, 4))).scored
    assert [s.agent_id for s in neg] == ["a", "b"]  # bigger never looks better


def test_novelty_scores_nearest_neighbours() -> None:
    # 1-D behaviours 0, 0, 10: the duplicates have a neighbour at distance 0
    nov = novelty_scores([(0.0,), (0.0,), (10.0,)], [], k=1)
    assert nov == [0.0, 0.0, 10.0]
    nov = novelty_scores([(0.0,), (10.0,)], [(1.0,)], k=2)
    assert nov == pytest.approx([(1.0 + 10.0) / 2, (9.0 + 10.0) / 2])
    assert novelty_scores([(3.0,)], [], k=5) == [0.0]
    with pytest.raises(SelectionError):
        novelty_scores([(0.0,), (1.0, 2.0)], [], k=1)


def test_novelty_proportional_prefers_novel_and_updates_archive() -> None:
    cs = cands(("dup1", 1.0, 1), ("dup2", 1.0, 1), ("far", 1.0, 1))
    beh = {"dup1": (0.0, 0.0), "dup2": (0.0, 0.0), "far": (5.0, 5.0)}
    ctx = PostprocessContext(behaviours=beh, novelty=NoveltyParams(k=1, threshold=2.0))
    out = postprocess("novelty_proportional", cs, ctx)
    assert out.scored[0].agent_id == "far"
    assert out.novelty["dup1"] < out.novelty["far"]
    assert out.archive is not None and out.archive.behaviours == ((5.0, 5.0),)
    # the next generation sees the archive: a behaviour at the archived point is not novel
    ctx2 = PostprocessContext(
        behaviours={"x": (5.0, 5.0), "y": (-5.0, -5.0)},
        archive=out.archive,
        novelty=NoveltyParams(k=1, threshold=2.0),
    )
    out2 = postprocess("novelty_proportional", cands(("x", 1.0, 1), ("y", 1.0, 1)), ctx2)
    assert out2.novelty["x"] == 0.0 and out2.novelty["y"] > 0
    assert [s.agent_id for s in out2.scored] == ["y", "x"]


def test_novelty_needs_behaviours() -> None:
    with pytest.raises(SelectionError, match="needs behaviour"):
        postprocess("novelty_proportional", cands(("a", 1.0, 1)))
    with pytest.raises(SelectionError, match="no behaviour vector for: b"):
        postprocess(
            "novelty_proportional",
            cands(("a", 1.0, 1), ("b", 1.0, 1)),
            PostprocessContext(behaviours={"a": (1.0,)}),
        )


def test_archive_cap_and_adaptive_threshold() -> None:
    p = NoveltyParams(threshold=1.0, archive_limit=3)
    arch = NoveltyArchive((), 1.0)
    beh = [(float(i),) for i in range(6)]
    arch2 = update_archive(arch, beh, [5.0] * 6, p)
    assert arch2.behaviours == ((3.0,), (4.0,), (5.0,))  # newest kept
    assert arch2.threshold == pytest.approx(1.2)  # > 4 added
    arch3 = update_archive(arch2, [(9.0,)], [0.1], p)
    assert arch3.behaviours == arch2.behaviours and arch3.threshold == pytest.approx(1.14)
    fixed = update_archive(arch, beh, [5.0] * 6, NoveltyParams(adaptive=False))
    assert fixed.threshold == 1.0 and len(fixed) == 6


def test_novelty_params_validate() -> None:
    for bad in ({"k": 0}, {"threshold": 0.0}, {"weight": 1.5}, {"archive_limit": -1}):
        with pytest.raises(SelectionError):
            NoveltyParams(**bad)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=2),
        min_size=2,
        max_size=12,
    ),
    st.integers(1, 5),
    st.floats(1.0, 50.0),
)
def test_duplicate_behaviour_is_less_novel_than_a_far_one(
    behs: list[list[float]], k: int, offset: float
) -> None:
    # append a duplicate of behaviour 0 and a point far outside the others' hull
    far = (1000.0 + offset, -1000.0 - offset)
    pop = [tuple(b) for b in behs] + [tuple(behs[0]), far]
    nov = novelty_scores(pop, [], k)
    dup_idx, far_idx = len(pop) - 2, len(pop) - 1
    assert nov[dup_idx] < nov[far_idx]
    assert all(n >= 0 for n in nov)


@pytest.mark.parametrize("block", [1, 7, 2_000_000])
def test_novelty_matches_brute_force(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(fitness_module, "_BLOCK_ELEMENTS", block)
    rng = random.Random(9)
    pop = [tuple(rng.uniform(-3, 3) for _ in range(3)) for _ in range(23)]
    arch = [tuple(rng.uniform(-3, 3) for _ in range(3)) for _ in range(11)]
    got = novelty_scores(pop, arch, k=4)
    for i, b in enumerate(pop):
        others = [o for j, o in enumerate(pop) if j != i] + arch
        d = sorted(math.dist(b, o) for o in others)[:4]
        assert got[i] == pytest.approx(sum(d) / 4)
