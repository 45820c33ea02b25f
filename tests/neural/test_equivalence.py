"""Compiled evaluators against the message-passing reference, on random specs."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.neural.batch import BatchNetwork
from actors.neural.compiled import CompiledNetwork
from actors.neural.reference import ReferenceNetwork
from actors.neural.spec import NetworkSpec
from tests.neural.strategies import CONTINUOUS_ACTIVATIONS, network_specs

STEPS = 60


def _inputs(spec: NetworkSpec, seed: int, steps: int = STEPS) -> list[dict[str, list[float]]]:
    rng = random.Random(seed)
    return [
        {s.name: [rng.uniform(-1.5, 1.5) for _ in range(s.vl)] for s in spec.sensors}
        for _ in range(steps)
    ]


def _flat(outs: dict[str, list[float]], spec: NetworkSpec) -> list[float]:
    return [v for a in spec.actuators for v in outs[a.name]]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=network_specs(), seed=st.integers(0, 2**32 - 1), random_order=st.booleans())
def test_compiled_equals_reference(spec: NetworkSpec, seed: int, random_order: bool) -> None:
    """Over 60 steps, recurrent and plastic networks included; the reference fires ready
    neurons in reverse spec order or in a random order."""
    ref = ReferenceNetwork(spec, random.Random(seed) if random_order else None)
    comp = CompiledNetwork(spec)
    for t, x in enumerate(_inputs(spec, seed)):
        r = _flat(ref.step(x), spec)
        c = _flat(comp.step(x), spec)
        assert np.allclose(c, r, rtol=0, atol=1e-9), (t, c, r)
    assert np.allclose(comp.get_weights(), ref.weights(), rtol=0, atol=1e-9)


def _batch_vs_reference(spec: NetworkSpec, seed: int, exact: bool) -> None:
    """Each row of a batch is an independent network fed its own input sequence."""
    rows = 3
    seqs = [_inputs(spec, seed + r) for r in range(rows)]
    refs = [ReferenceNetwork(spec) for _ in range(rows)]
    batch = BatchNetwork(spec, rows, exact=exact)
    for t in range(STEPS):
        x = np.array([[v for s in spec.sensors for v in seqs[r][t][s.name]] for r in range(rows)])
        got = batch.step(x)
        for r in range(rows):
            want = _flat(refs[r].step(seqs[r][t]), spec)
            assert np.allclose(got[r], want, rtol=0, atol=1e-9), (t, r, got[r], want)
    for r in range(rows):
        assert np.allclose(batch.get_weights()[r], refs[r].weights(), rtol=0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(spec=network_specs(), seed=st.integers(0, 2**32 - 1))
def test_reset_replays_the_same_outputs(spec: NetworkSpec, seed: int) -> None:
    comp = CompiledNetwork(spec)
    xs = _inputs(spec, seed, 20)
    start = comp.get_weights()
    first = [_flat(comp.step(x), spec) for x in xs]
    comp.reset()
    comp.set_weights(start)  # plasticity moved the weights: restore the baseline
    second = [_flat(comp.step(x), spec) for x in xs]
    assert first == second


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=network_specs(), seed=st.integers(0, 2**32 - 1))
def test_exact_batch_rows_equal_reference(spec: NetworkSpec, seed: int) -> None:
    _batch_vs_reference(spec, seed, exact=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=network_specs(activations=CONTINUOUS_ACTIVATIONS, recurrent=False, plastic=False),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_batch_rows_equal_reference_without_feedback(spec: NetworkSpec, seed: int) -> None:
    """numpy's tanh/power/log may differ from math's in the last bit; without recurrence or
    plasticity nothing amplifies that (step activations would turn it into a jump)."""
    _batch_vs_reference(spec, seed, exact=False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=network_specs(activations=CONTINUOUS_ACTIVATIONS),
    seed=st.integers(0, 2**32 - 1),
    population=st.booleans(),
)
def test_fast_batch_close_to_exact_over_a_few_steps(
    spec: NetworkSpec, seed: int, population: bool
) -> None:
    """The fast path (layer matrices, numpy ufuncs) on recurrent and plastic networks: over a
    few steps last-bit differences cannot grow far, so it must stay close to the exact path."""
    rows = 4
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-2, 2, (rows, spec.weight_count)) if population else spec.flat_weights()
    fast = BatchNetwork(spec, rows, weights)
    exact = BatchNetwork(spec, rows, weights, exact=True)
    for _ in range(5):
        x = rng.uniform(-1.5, 1.5, (rows, spec.input_size))
        assert np.allclose(fast.step(x), exact.step(x), rtol=0, atol=1e-7)
