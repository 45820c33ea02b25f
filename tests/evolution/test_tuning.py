from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.evolution.errors import TuningError
from actors.evolution.tuning import (
    DURATIONS,
    SAT_LIMIT,
    SELECTIONS,
    TunableNeuron,
    observe,
    perturb_parameters,
    perturb_weights,
    select_for_tuning,
    spread,
    start_tuning,
    tuning_attempts,
)

NAMES = [
    "dynamic",
    "dynamic_random",
    "active",
    "active_random",
    "current",
    "current_random",
    "all",
    "all_random",
]


def neurons(*gens: int, weights: int = 3) -> list[TunableNeuron]:
    return [TunableNeuron(f"n{i}", g, weights) for i, g in enumerate(gens)]


def test_registries() -> None:
    assert list(SELECTIONS.names()) == NAMES
    assert set(DURATIONS.names()) == {"const", "wsize_proportional", "nsize_proportional"}
    with pytest.raises(TuningError, match="unknown tuning selection"):
        select_for_tuning("nope", neurons(0), 0, 1.0, 0.5, random.Random(0))


def test_spread_anneals_with_age() -> None:
    assert spread(1.0, 0.5, 0) == pytest.approx(math.pi)
    assert spread(2.0, 0.5, 2) == pytest.approx(2 * math.pi / 4)
    assert spread(1.0, 1.0, 7) == pytest.approx(math.pi)


def test_current_active_all() -> None:
    ns = neurons(10, 9, 7, 6, 0)
    rng = random.Random(0)
    cur = select_for_tuning("current", ns, 10, 1.0, 0.5, rng)
    assert cur == (("n0", pytest.approx(math.pi)),)
    act = dict(select_for_tuning("active", ns, 10, 1.0, 0.5, rng))
    assert set(act) == {"n0", "n1", "n2"}  # ages 0, 1, 3
    assert act["n2"] == pytest.approx(math.pi * 0.5**3)
    every = dict(select_for_tuning("all", ns, 10, 1.0, 0.5, rng))
    assert set(every) == {"n0", "n1", "n2", "n3", "n4"}
    assert every["n4"] == pytest.approx(math.pi * 0.5**10)


def test_fallback_to_first_neuron_with_full_spread() -> None:
    ns = neurons(0, 1)
    for name in ("current", "active", "dynamic", "current_random"):
        assert select_for_tuning(name, ns, 50, 2.0, 0.5, random.Random(1)) == (
            ("n0", pytest.approx(2 * math.pi)),
        )


def test_dynamic_age_limit_distribution() -> None:
    # neuron ages 0, 1, 2, 3: P(age <= limit) with limit = sqrt(1/U): 1, 1, 1/4, 1/9
    ns = neurons(3, 2, 1, 0)
    rng = random.Random(42)
    picks = {n.neuron_id: 0 for n in ns}
    runs = 4000
    for _ in range(runs):
        for nid, _s in select_for_tuning("dynamic", ns, 3, 1.0, 0.5, rng):
            picks[nid] += 1
    assert picks["n0"] == runs and picks["n1"] == runs
    assert abs(picks["n2"] / runs - 0.25) < 0.03
    assert abs(picks["n3"] / runs - 1 / 9) < 0.03


def test_random_variants_subsample() -> None:
    ns = neurons(*([5] * 16))
    rng = random.Random(3)
    sizes = [len(select_for_tuning("all_random", ns, 5, 1.0, 0.5, rng)) for _ in range(500)]
    assert min(sizes) >= 1
    assert abs(sum(sizes) / len(sizes) - 16 / math.sqrt(16)) < 0.4  # 4 expected


def test_select_rejects_bad_inputs() -> None:
    with pytest.raises(TuningError, match="no neurons"):
        select_for_tuning("all", [], 0, 1.0, 0.5, random.Random(0))
    with pytest.raises(TuningError, match="duplicate"):
        select_for_tuning("all", [TunableNeuron("a", 0)] * 2, 0, 1.0, 0.5, random.Random(0))
    with pytest.raises(TuningError, match="annealing"):
        select_for_tuning("all", neurons(0), 0, 1.0, 0.0, random.Random(0))
    with pytest.raises(TuningError, match="generation"):
        TunableNeuron("a", -1)
    with pytest.raises(TuningError, match="weight_count"):
        TunableNeuron("a", 0, True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=20),
    st.integers(0, 30),
    st.sampled_from(NAMES),
    st.floats(0.1, 5.0),
    st.floats(0.05, 1.0),
    st.integers(0, 2**32),
)
def test_tuning_selection_respects_the_age_window(
    gens: list[int], agent_gen: int, name: str, pr: float, ap: float, seed: int
) -> None:
    ns = neurons(*gens)
    chosen = select_for_tuning(name, ns, agent_gen, pr, ap, random.Random(seed))
    assert chosen and len({c[0] for c in chosen}) == len(chosen)
    by_id = {n.neuron_id: n for n in ns}
    window = {"current": 0, "active": 3}.get(name.replace("_random", ""))
    for nid, spr in chosen:
        age = max(0, agent_gen - by_id[nid].generation)
        fallback = nid == "n0" and spr == pytest.approx(pr * math.pi)
        if window is not None and not fallback:
            assert age <= window
        if not fallback:
            assert spr == pytest.approx(pr * math.pi * ap**age)
        assert 0 < spr <= pr * math.pi + 1e-12


def test_durations() -> None:
    ns = [TunableNeuron("a", 10, 9), TunableNeuron("b", 8, 16), TunableNeuron("c", 1, 100)]
    assert tuning_attempts("const", 15, ns, 10) == 15
    # recent (gen >= 7): a, b -> 25 weights; 10 + round(25 ** 0.5) = 15
    assert tuning_attempts("wsize_proportional", 0.5, ns, 10) == 15
    # 2 recent neurons: 20 + round(2 ** 1) = 22
    assert tuning_attempts("nsize_proportional", 1.0, ns, 10) == 22
    big = [TunableNeuron(f"n{i}", 0, 1000) for i in range(50)]
    assert tuning_attempts("wsize_proportional", 1.0, big, 0) == 110  # saturated at 100
    with pytest.raises(TuningError):
        tuning_attempts("const", 0, ns, 10)


def blocks(*sizes: int, value: float = 0.0) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.full(n, value), np.zeros(n)) for n in sizes]


def test_perturb_follows_dxnn2_formula_with_momentum() -> None:
    rng = random.Random(0)
    w = np.array([0.3])
    d = np.array([0.2])
    ((nw, nd),) = perturb_weights([(w, d)], 1.0, rng)
    # one block of one weight: always chosen; reproduce the draws
    ref = random.Random(0)
    ref.random()  # block choice
    ref.random()  # weight choice
    dw = (ref.random() - 0.5) * 1.0 + 0.2 * 0.5
    assert nd[0] == pytest.approx(dw) and nw[0] == pytest.approx(0.3 + dw)
    assert w[0] == 0.3 and d[0] == 0.2  # inputs untouched


def test_unchosen_weights_keep_their_previous_delta() -> None:
    rng = random.Random(5)
    w = np.zeros(400)
    d = np.full(400, 0.7)
    ((nw, nd),) = perturb_weights([(w, d)], 0.5, rng)
    unchanged = nw == 0.0
    assert unchanged.any() and (~unchanged).any()
    assert np.all(nd[unchanged] == 0.7)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-SAT_LIMIT, SAT_LIMIT), min_size=1, max_size=8),
        min_size=1,
        max_size=6,
    ),
    st.floats(0.01, 50.0),
    st.integers(0, 2**32),
)
def test_perturbation_saturates_and_changes_something(
    ws: list[list[float]], spr: float, seed: int
) -> None:
    bl = [(np.array(w), np.zeros(len(w))) for w in ws]
    out = perturb_weights(bl, spr, random.Random(seed))
    assert len(out) == len(bl)
    changed = 0
    for (w0, _), (w1, d1) in zip(bl, out, strict=True):
        assert w1.shape == w0.shape and d1.shape == w0.shape
        assert np.all(np.abs(w1) <= SAT_LIMIT)
        changed += int(np.count_nonzero(d1))
    assert changed >= 1  # with zero previous deltas, a non-zero delta marks a perturbed weight


def test_perturb_zero_spread_and_errors() -> None:
    bl = blocks(3, value=0.5)
    out = perturb_weights(bl, 0.0, random.Random(0))
    assert all(np.all(w == 0.5) for w, _ in out)
    with pytest.raises(TuningError):
        perturb_weights([(np.zeros(2), np.zeros(3))], 1.0, random.Random(0))
    with pytest.raises(TuningError):
        perturb_weights(bl, -1.0, random.Random(0))
    assert perturb_weights([], 1.0, random.Random(0)) == []


def test_perturb_parameters() -> None:
    out = perturb_parameters([0.0, 3.1], 100.0, random.Random(1))
    assert len(out) == 2 and all(abs(p) <= SAT_LIMIT for p in out) and out != (0.0, 3.1)


def test_tuning_loop_bookkeeping() -> None:
    st0 = start_tuning(2)
    s1 = observe(st0, 1.0)
    assert s1.improved and not s1.done and s1.state.best == (1.0,)
    s2 = observe(s1.state, 0.5)
    assert not s2.improved and not s2.done and s2.state.attempt == 1
    s3 = observe(s2.state, 1.5)
    assert s3.improved and s3.state.attempt == 0 and s3.state.best == (1.5,)
    s4 = observe(observe(s3.state, 1.5).state, 1.0)  # equal is no improvement
    assert s4.done and s4.state.evaluations == 5
    assert observe(st0, 0.0, goal_reached=True).done
    assert not observe(s1.state, 1.05, min_improvement=0.1).improved
    with pytest.raises(TuningError):
        observe(s1.state, (1.0, 2.0))
    with pytest.raises(TuningError):
        start_tuning(0)
