"""The actor backend computes exactly what the compiled and reference evaluators compute."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.neural.compiled import CompiledNetwork
from actors.neural.reference import ReferenceNetwork
from actors.neural.spec import (
    ActuatorSpec,
    InputSpec,
    NetworkSpec,
    NeuronSpec,
    SensorSpec,
)
from actors.phenotype import ActorPhenotype
from actors.runtime import RuntimeSystem
from tests.neural.strategies import network_specs
from tests.phenotype.conftest import inputs_for

STEPS = 55


def _flat(outs: dict[str, list[float]], spec: NetworkSpec) -> list[float]:
    return [v for a in spec.actuators for v in outs[a.name]]


def _check(rt: RuntimeSystem, spec: NetworkSpec, seed: int, steps: int) -> None:
    ref = ReferenceNetwork(spec)
    comp = CompiledNetwork(spec)
    xs = inputs_for(spec, seed, steps)
    with ActorPhenotype.build(rt, spec) as net:
        for t, x in enumerate(xs):
            got = net.step_flat(x)
            want = _flat(ref.step({s.name: x[i : i + s.vl] for s, i in _offsets(spec)}), spec)
            fast = comp.step_flat(x)
            assert got == want, (t, got, want)  # same functions, same order: bit for bit
            assert np.allclose(got, fast, rtol=0, atol=1e-9), (t, got, fast)
        assert np.allclose(net.get_weights(), comp.get_weights(), rtol=0, atol=1e-9)
        assert net.get_weights() == ref.weights()
        # after a reset both replay the same outputs from the learned weights
        net.reset()
        comp.reset()
        for x in xs[:5]:
            assert np.allclose(net.step_flat(x), comp.step_flat(x), rtol=0, atol=1e-9)


def _offsets(spec: NetworkSpec) -> list[tuple[object, int]]:
    out, pos = [], 0
    for s in spec.sensors:
        out.append((s, pos))
        pos += s.vl
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=network_specs(), seed=st.integers(0, 2**32 - 1))
def test_actor_outputs_equal_compiled_in_simple(
    simple_rt: RuntimeSystem, spec: NetworkSpec, seed: int
) -> None:
    _check(simple_rt, spec, seed, STEPS)


@pytest.mark.multiproc
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=network_specs(max_neurons=4), seed=st.integers(0, 2**32 - 1))
def test_actor_outputs_equal_compiled_in_local(
    local_rt: RuntimeSystem, spec: NetworkSpec, seed: int
) -> None:
    _check(local_rt, spec, seed, 12)


def lagging_spec() -> NetworkSpec:
    """``lag`` feeds nothing the actuators wait for: it may fire after a cycle has ended."""
    return NetworkSpec(
        (SensorSpec("s", 2),),
        (
            NeuronSpec("o", 0, (InputSpec("s", (0.5, -0.4)),), bias=0.1),
            NeuronSpec(
                "lag", 0, (InputSpec("s", (0.3, 0.8)), InputSpec("lag", (0.2,), recurrent=True)),
                plasticity="hebbian", neural_params=(0.3,),
            ),
        ),
        (ActuatorSpec("a", 1, ("o",)),),
    )  # fmt: skip


@pytest.mark.multiproc
def test_control_waits_for_lagging_neurons_in_local(local_rt: RuntimeSystem) -> None:
    """Weights read, and resets done, right after a cycle see every neuron's last firing."""
    spec = lagging_spec()
    comp = CompiledNetwork(spec)
    xs = inputs_for(spec, 8, 10)
    with ActorPhenotype.build(local_rt, spec) as net:
        for round_ in range(2):
            for x in xs:
                assert net.step_flat(x) == comp.step_flat(x)
                assert net.get_weights() == comp.get_weights(), round_
            net.reset()
            comp.reset()


def test_neurons_fed_only_by_recurrent_links_in_simple(simple_rt: RuntimeSystem) -> None:
    """Plastic and stateful ones too: they fire once per cycle (clocked by a sensor), so
    the weights read after each cycle and after a reset match the other evaluators."""
    spec = NetworkSpec(
        (SensorSpec("s", 2),),
        (
            NeuronSpec("o", 0, (InputSpec("s", (0.5, -0.4)),), bias=0.1),
            NeuronSpec(
                "r", 0,
                (InputSpec("o", (0.7,), recurrent=True), InputSpec("r", (0.2,), recurrent=True)),
                plasticity="hebbian", neural_params=(0.3,), aggregation="diff_product",
            ),
            NeuronSpec("q", 1, (InputSpec("r", (0.9,)),)),
        ),
        (ActuatorSpec("a", 2, ("q", "r")),),
    )  # fmt: skip
    _check(simple_rt, spec, 3, 12)
    comp = CompiledNetwork(spec)
    with ActorPhenotype.build(simple_rt, spec) as net:
        for x in inputs_for(spec, 4, 6):
            assert net.step_flat(x) == comp.step_flat(x)
            assert net.get_weights() == comp.get_weights()
