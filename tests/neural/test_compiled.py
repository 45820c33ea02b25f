"""Compiled and batch evaluators: hand-checked semantics, weights API, batching."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actors.neural.batch import BatchNetwork
from actors.neural.compiled import CompiledNetwork
from actors.neural.errors import SpecError
from actors.neural.reference import ReferenceNetwork
from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec


def recurrent_pair() -> NetworkSpec:
    """a: linear(x + 0.5 * b[t-1]); b: linear(a) in a later layer."""
    return NetworkSpec(
        (SensorSpec("x", 1),),
        (
            NeuronSpec(
                "a", 0, (InputSpec("x", (1.0,)), InputSpec("b", (0.5,), recurrent=True)),
                activation="linear",
            ),
            NeuronSpec("b", 1, (InputSpec("a", (1.0,)),), activation="linear"),
        ),
        (ActuatorSpec("out", 2, ("a", "b")),),
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["reference", "compiled", "batch"])
def test_one_step_delay_on_recurrent_links(kind: str) -> None:
    spec = recurrent_pair()
    xs = [0.4, 0.2, -0.2]
    # by hand: a0 = 0.4 + 0.5*0 ; b0 = a0 ; a1 = 0.2 + 0.5*b0 ; ...
    want = []
    b_prev = 0.0
    for x in xs:
        a = x + 0.5 * b_prev
        want.append([a, a])
        b_prev = a
    if kind == "batch":
        net = BatchNetwork(spec, 1)
        got = [net.step(np.array([[x]]))[0].tolist() for x in xs]
    else:
        ev = ReferenceNetwork(spec) if kind == "reference" else CompiledNetwork(spec)
        got = [ev.step({"x": [x]})["out"] for x in xs]
    assert np.allclose(got, want, rtol=0, atol=1e-12)


def test_output_saturated_and_reset() -> None:
    spec = recurrent_pair()
    net = CompiledNetwork(spec)
    assert net.step_flat([3.0]) == [1.0, 1.0]  # linear output clipped to 1
    assert net.step_flat([0.0]) == [0.5, 0.5]  # reads b's previous (saturated) output
    net.reset()
    assert net.step_flat([0.0]) == [0.0, 0.0]


def test_weights_get_set_and_validation() -> None:
    spec = recurrent_pair()
    net = CompiledNetwork(spec)
    assert net.get_weights() == [1.0, 0.5, 1.0]
    net.set_weights([0.5, 0.0, -1.0])
    assert net.step_flat([0.5]) == [0.25, -0.25]
    with pytest.raises(SpecError):
        net.set_weights([1.0])
    with pytest.raises(SpecError):
        net.set_weights([1.0, math.inf, 0.0])
    with pytest.raises(SpecError):
        net.step({"x": [1.0, 2.0]})


def test_plastic_weights_drift_and_restore() -> None:
    spec = NetworkSpec(
        (SensorSpec("x", 1),),
        (
            NeuronSpec(
                "h", 0, (InputSpec("x", (0.5,)),), plasticity="hebbian", neural_params=(0.2,)
            ),
        ),
        (ActuatorSpec("out", 1, ("h",)),),
    )
    net = CompiledNetwork(spec)
    base = net.get_weights()
    o = net.step_flat([1.0])[0]
    assert o == pytest.approx(math.tanh(0.5))
    assert net.get_weights() == pytest.approx([0.5 + 0.2 * 1.0 * o])
    net.set_weights(base)
    net.reset()
    assert net.step_flat([1.0])[0] == o


def xor_net() -> NetworkSpec:
    return NetworkSpec(
        (SensorSpec("in", 2),),
        (
            NeuronSpec("h1", 0, (InputSpec("in", (2.0, 2.0)),), bias=2.0),  # ~ OR
            NeuronSpec("h2", 0, (InputSpec("in", (2.0, 2.0)),), bias=-2.0),  # ~ AND
            NeuronSpec("o", 1, (InputSpec("h1", (2.0,)), InputSpec("h2", (-2.0,))), bias=-2.0),
        ),
        (ActuatorSpec("out", 1, ("o",)),),
    )


def test_batch_of_cases_equals_sequential_for_stateless_net() -> None:
    spec = xor_net()
    assert spec.is_stateless
    cases = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], dtype=float)
    comp = CompiledNetwork(spec)
    seq = [comp.step_flat(c.tolist())[0] for c in cases]
    batch = BatchNetwork(spec, 4).step(cases)[:, 0]
    assert batch.tolist() == pytest.approx(seq, abs=1e-12)
    assert np.sign(batch).tolist() == [-1, 1, 1, -1]


def test_population_batch_rows_use_their_own_weights() -> None:
    spec = xor_net()
    rng = np.random.default_rng(3)
    pop = rng.uniform(-2, 2, (5, spec.weight_count))
    cases = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], dtype=float)
    batch = BatchNetwork.population(spec, pop, copies=4)
    got = batch.step(np.tile(cases, (5, 1)))[:, 0].reshape(5, 4)
    for p in range(5):
        comp = CompiledNetwork(spec)
        comp.set_weights(pop[p].tolist())
        want = [comp.step_flat(c.tolist())[0] for c in cases]
        assert got[p].tolist() == pytest.approx(want, abs=1e-12)
    with pytest.raises(SpecError):
        batch.step(np.zeros((3, 2)))
    with pytest.raises(SpecError):
        batch.set_weights(np.zeros(4))


def test_user_plugins_run_in_every_evaluator() -> None:
    from actors.neural.activations import register_activation

    register_activation("test_halve", lambda v: v / 2, replace=True)
    spec = NetworkSpec(
        (SensorSpec("x", 1),),
        (NeuronSpec("n", 0, (InputSpec("x", (1.0,)),), activation="test_halve"),),
        (ActuatorSpec("out", 1, ("n",)),),
    )
    assert CompiledNetwork(spec).step_flat([0.5]) == [0.25]
    assert ReferenceNetwork(spec).step({"x": [0.5]})["out"] == [0.25]
    assert BatchNetwork(spec, 2).step(np.array([[0.5], [4.0]]))[:, 0].tolist() == [0.25, 1.0]


def test_modulation_bias_drives_neuromodulation() -> None:
    """m = tanh(modulation bias) feeds neuromodulation (plasticity.erl scale_dzone); it sits
    after the bias in the flat layout."""
    from actors.neural.plasticity import scale_dzone

    spec = NetworkSpec(
        (SensorSpec("x", 1),),
        (
            NeuronSpec(
                "n", 0, (InputSpec("x", (0.5,)),), plasticity="neuromodulation",
                neural_params=(1.0, 0.5, 0.0, 0.0, 0.0), bias=0.1, modulation_bias=2.0,
            ),
        ),
        (ActuatorSpec("out", 1, ("n",)),),
    )  # fmt: skip
    assert spec.flat_weights() == [0.5, 0.1, 2.0]
    h = scale_dzone(math.tanh(2.0)) * 1.0
    for ev in (CompiledNetwork(spec), BatchNetwork(spec, 1)):
        o = math.tanh(0.5 * 0.8 + 0.1)
        got = ev.step_flat([0.8]) if isinstance(ev, CompiledNetwork) else ev.step([[0.8]])[0]
        assert got[0] == pytest.approx(o)
        w = ev.get_weights() if isinstance(ev, CompiledNetwork) else ev.get_weights()[0].tolist()
        assert w == pytest.approx([0.5 + h * 0.5 * 0.8 * o, 0.1 + h * 0.5 * 1 * o, 2.0])
    inert = CompiledNetwork(spec.with_weights([0.5, 0.1, 0.2]))  # tanh(0.2) < 0.33: no change
    inert.step_flat([0.8])
    assert inert.get_weights() == [0.5, 0.1, 0.2]
