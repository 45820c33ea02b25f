"""NetworkSpec validation and the flat weight layout."""

from __future__ import annotations

import pytest

from actors.neural.errors import SpecError
from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec

S = (SensorSpec("s", 2),)
A = (ActuatorSpec("a", 1, ("n",)),)


def net(*neurons: NeuronSpec, actuators: tuple[ActuatorSpec, ...] = A) -> NetworkSpec:
    return NetworkSpec(S, neurons, actuators)


def test_valid_spec_and_layout() -> None:
    spec = net(
        NeuronSpec("m", 0, (InputSpec("s", (1.0, 2.0)),), bias=3.0),
        NeuronSpec("n", 1, (InputSpec("m", (4.0,)), InputSpec("n", (5.0,), recurrent=True))),
    )
    assert spec.weight_count == 5
    assert spec.flat_weights() == [1.0, 2.0, 3.0, 4.0, 5.0]
    again = spec.with_weights([5.0, 4.0, 3.0, 2.0, 1.0])
    assert again.neurons[0].bias == 3.0 and again.neurons[1].inputs[1].weights == (1.0,)
    assert spec.input_size == 2 and spec.output_size == 1
    assert not spec.is_stateless
    assert spec.weight_groups() == [(((0, 1), (2,)), ()), (((3,), (4,)), ())]
    with pytest.raises(SpecError):
        spec.with_weights([1.0])


@pytest.mark.parametrize(
    ("neurons", "message"),
    [
        ((NeuronSpec("n", 0, (InputSpec("s", (1.0,)),)),), "needs 2 weights"),
        ((NeuronSpec("n", 0, (InputSpec("x", (1.0,)),)),), "unknown input source"),
        ((NeuronSpec("n", 0, (InputSpec("n", (1.0,)),)),), "must be recurrent"),
        ((NeuronSpec("n", 0, (InputSpec("s", (1.0, 1.0), recurrent=True),)),), "must not be"),
        ((NeuronSpec("n", 0, (InputSpec("s", (1.0, 1.0)),), activation="nope"),), "unknown"),
        (
            (NeuronSpec("n", 0, (InputSpec("s", (1.0, 1.0)),), plasticity="hebbian"),),
            "neural parameters",
        ),
        (
            (NeuronSpec("n", 0, (InputSpec("s", (1.0, 1.0)),), plasticity="hebbian_w"),),
            "per weight",
        ),
        (
            (
                NeuronSpec(
                    "n", 0, (InputSpec("s", (1.0, 1.0), ((0.1,), (0.2,))),),
                    plasticity="hebbian_w", bias=0.5,
                ),
            ),
            "bias needs",
        ),
        ((NeuronSpec("n", 0, (InputSpec("s", (float("nan"), 1.0)),)),), "finite"),
        (
            (
                NeuronSpec("n", 1, (InputSpec("s", (1.0, 1.0)),)),
                NeuronSpec("m", 0, (InputSpec("s", (1.0, 1.0)),)),
            ),
            "non-decreasing",
        ),
        ((NeuronSpec("s", 0, (InputSpec("s", (1.0, 1.0)),)),), "duplicate"),
        (
            (NeuronSpec("n", 0, (InputSpec("s", (1.0, 1.0)), InputSpec("s", (1.0, 1.0)))),),
            "twice",
        ),
    ],
)  # fmt: skip
def test_invalid_specs(neurons: tuple[NeuronSpec, ...], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        net(*neurons)


def test_actuator_must_read_neurons() -> None:
    with pytest.raises(SpecError, match="not a neuron"):
        net(
            NeuronSpec("n", 0, (InputSpec("s", (1.0, 1.0)),)),
            actuators=(ActuatorSpec("a", 1, ("s",)),),
        )
    with pytest.raises(SpecError):
        ActuatorSpec("a", 1, ())
    with pytest.raises(SpecError):
        SensorSpec("s", 0)


def test_a_neuron_fed_only_by_recurrent_links_fires_once_per_step() -> None:
    """Accepted (DXNN allows it): it fires on the primed zeros, then on the previous step's
    outputs, identically in every evaluator."""
    from actors.neural.batch import BatchNetwork
    from actors.neural.compiled import CompiledNetwork
    from actors.neural.reference import ReferenceNetwork

    spec = NetworkSpec(
        S,
        (
            NeuronSpec("m", 0, (InputSpec("s", (1.0, -1.0)),), activation="linear"),
            NeuronSpec(
                "n",
                0,
                (InputSpec("m", (2.0,), recurrent=True), InputSpec("n", (0.5,), recurrent=True)),
                activation="linear",
                bias=0.25,
            ),
        ),
        (ActuatorSpec("a", 2, ("m", "n")),),
    )
    xs = [(0.5, 0.25), (0.25, 0.0), (-0.5, 0.0)]
    # m_t = x0 - x1; n_t = 2 m_{t-1} + 0.5 n_{t-1} + 0.25 (zeros before the first step),
    # saturated to [-1, 1]
    want = [[0.25, 0.25], [0.25, 0.875], [-0.5, 1.0]]
    ref, comp = ReferenceNetwork(spec), CompiledNetwork(spec)
    batch = BatchNetwork(spec, 1, exact=True)
    for x, w in zip(xs, want, strict=True):
        assert ref.step({"s": list(x)})["a"] == w
        assert comp.step_flat(list(x)) == w
        assert batch.step([list(x)])[0].tolist() == w
