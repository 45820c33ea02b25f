"""Episodes through sensor, actuator and scape actors score what the compiled backend scores."""

from __future__ import annotations

import random

import numpy as np
import pytest

from actors.neural.compiled import CompiledNetwork
from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec
from actors.phenotype import ActorPhenotype
from actors.runtime import RuntimeSystem, SupFlags
from morphologies import get_morphology, run_episode


def morph_spec(morphology: str, seed: int, hidden: int = 3, plastic: bool = True) -> NetworkSpec:
    """A random recurrent (and optionally plastic) network shaped for ``morphology``."""
    rng = random.Random(seed)
    m = get_morphology(morphology)
    sensors = tuple(SensorSpec(s.name, s.vl) for s in m.sensors)

    def w(n: int) -> tuple[float, ...]:
        return tuple(rng.uniform(-2, 2) for _ in range(n))

    neurons = []
    for k in range(hidden):
        inputs = [InputSpec(s.name, w(s.vl)) for s in sensors]
        inputs.append(InputSpec(f"h{(k + 1) % hidden}", w(1), recurrent=True))
        rule = "hebbian" if plastic and k == 0 else "none"
        neurons.append(
            NeuronSpec(f"h{k}", 0, tuple(inputs), plasticity=rule,
                       neural_params=(0.05,) if rule != "none" else (), bias=rng.uniform(-1, 1))
        )  # fmt: skip
    actuators = []
    for a in m.actuators:
        outs = [f"o_{a.name}_{j}" for j in range(a.vl)]
        for o in outs:
            neurons.append(NeuronSpec(o, 1, tuple(InputSpec(f"h{k}", w(1)) for k in range(hidden))))
        actuators.append(ActuatorSpec(a.name, a.vl, tuple(outs)))
    return NetworkSpec(sensors, tuple(neurons), tuple(actuators))


@pytest.mark.parametrize(
    ("morphology", "max_cycles"),
    [("xor", None), ("single_pole", 300), ("single_pole", 3), ("dpnv", None)],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_episode_fitness_equals_compiled(
    simple_rt: RuntimeSystem, morphology: str, max_cycles: int | None, seed: int
) -> None:
    spec = morph_spec(morphology, seed)
    m = get_morphology(morphology)
    with ActorPhenotype.build(simple_rt, spec, morphology=morphology) as net:
        for episode in range(2):  # a second episode after a reset, as the exoself runs them
            comp = CompiledNetwork(spec.with_weights(net.get_weights()))
            want = run_episode(m, comp.step, random.Random(episode), max_cycles=max_cycles)
            got = net.run_episode(episode, max_cycles=max_cycles)
            assert got == want
            assert net.get_weights() == pytest.approx(comp.get_weights(), abs=1e-9)
            net.reset()


@pytest.mark.multiproc
def test_xor_episode_in_local(local_rt: RuntimeSystem) -> None:
    spec = morph_spec("xor", 4)
    comp = CompiledNetwork(spec)
    want = run_episode(get_morphology("xor"), comp.step, random.Random(0))
    with ActorPhenotype.build(local_rt, spec, morphology="xor") as net:
        assert net.run_episode(0) == want


def test_steps_after_an_episode_continue_like_compiled(simple_rt: RuntimeSystem) -> None:
    spec = morph_spec("single_pole", 3)
    comp = CompiledNetwork(spec)
    with ActorPhenotype.build(simple_rt, spec, morphology="single_pole") as net:
        want = run_episode(get_morphology("single_pole"), comp.step, random.Random(0))
        assert net.run_episode(0) == want
        x = {"cart_pole_state": [0.1, -0.2, 0.05, 0.3]}
        for _ in range(5):  # the cortex leaves scape mode; state carries on from the episode
            got, want_out = net.step(x), comp.step(x)
            assert got.keys() == want_out.keys()
            assert np.allclose(got["cart_force"], want_out["cart_force"], rtol=0, atol=1e-9)


def test_phenotype_under_a_parent_supervisor(simple_rt: RuntimeSystem) -> None:
    parent = simple_rt.start_supervisor(SupFlags(), [], id="exoself-like")
    spec = morph_spec("xor", 6)
    net = ActorPhenotype.build(simple_rt, spec, morphology="xor", parent=parent)
    assert simple_rt.count_children(parent).active == 1
    want = run_episode(get_morphology("xor"), CompiledNetwork(spec).step, random.Random(1))
    assert net.run_episode(1) == want
    net.terminate()
    assert simple_rt.count_children(parent).active == 0
