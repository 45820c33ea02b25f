"""``agent.network()``: the agent's compiled network with a documented call signature,
equal to the compiled evaluator on the episodes evolution runs (including the resets
between a Gymnasium evaluation's episodes)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from actors.evolution.config import loads_config
from actors.evolution.exoself_core import run_episode_flat
from actors.evolution.run import EvolveOptions, evolve
from actors.evolution.setup import morphology_spec
from actors.genotype import Agent, Constraint, construct_agent, offspring
from actors.genotype.network import AgentNetwork, spec_from_agent
from actors.neural.compiled import CompiledNetwork
from actors.neural.errors import SpecError
from morphologies import get_morphology, run_episode
from tests.morphologies.gym_envs import needs_gym

XOR = """
[monitor]
population_size = 6
[stopping]
max_evaluations = 4000
[constraint]
neural_afs = ["tanh"]
"""


class Recording:
    """The compiled evaluator as the exoself drives it, logging every step and reset."""

    def __init__(self, agent: Agent) -> None:
        self.net = CompiledNetwork(spec_from_agent(agent))
        self.log: list[tuple[str, list[float], list[float]]] = []

    def step_flat(self, x: list[float]) -> list[float]:
        out = self.net.step_flat(x)
        self.log.append(("step", list(x), list(out)))
        return out

    def step(self, inputs: Any) -> Any:  # present for the Phenotype interface; unused
        raise AssertionError("the flat path is used")

    def reset(self) -> None:
        self.net.reset()
        self.log.append(("reset", [], []))


def _padded(agent: Agent, out: list[float]) -> list[float]:
    res: list[float] = []
    pos = 0
    for a in agent.actuators:
        fed = len(a.fanin_ids)
        res.extend(out[pos : pos + fed] + [0.0] * (a.vl - fed))
        pos += fed
    return res


def _replay(agent: Agent, log: list[tuple[str, list[float], list[float]]]) -> int:
    """Drive ``agent.network()`` (flat and named forms) through the log; count the steps."""
    flat, named = agent.network(), agent.network()
    ((sensor, _),) = flat.sensors
    steps = 0
    for kind, x, out in log:
        if kind == "reset":
            flat.reset()
            named.reset()
            continue
        want = _padded(agent, out)
        assert flat.flat(x) == want
        got = named({sensor: x})
        assert [v for a, _ in named.actuators for v in got[a]] == want
        steps += 1
    return steps


def test_xor_champion_network_equals_the_compiled_evaluator() -> None:
    result = evolve(EvolveOptions("xor", seed=3, config=loads_config(XOR)))
    champion = result.champion
    assert result.solved and champion is not None and champion.fitness is not None
    morph = get_morphology("xor")
    rec = Recording(champion)
    sensors = [s.name for s in champion.sensors]
    actuators = [(a.name, len(a.fanin_ids)) for a in champion.actuators]
    ep = run_episode_flat(morph, rec, sensors, actuators, random.Random(0))
    assert ep.result.fitness == champion.fitness  # the episode evolution scored
    assert _replay(champion, rec.log) == 4
    net = champion.network()
    assert run_episode(morph, net, random.Random(0), reset=net.reset) == ep.result


@needs_gym
def test_recurrent_network_equals_the_compiled_evaluator_across_resets() -> None:
    name = "gym:CartPole-v1,episodes=4"
    morph = get_morphology(name)
    rng = random.Random(2)
    agent = construct_agent(morphology_spec(morph), Constraint(morphology=name), rng)
    while not any(i.recurrent for n in spec_from_agent(agent).neurons for i in n.inputs):
        agent = offspring(agent, rng)
    rec = Recording(agent)
    actuators = [(a.name, len(a.fanin_ids)) for a in agent.actuators]
    ep = run_episode_flat(morph, rec, ["observation"], actuators, random.Random(9))
    assert sum(1 for kind, _, _ in rec.log if kind == "reset") == 3
    assert _replay(agent, rec.log) == ep.result.cycles


def test_call_signature_and_bad_input() -> None:
    morph = get_morphology("single_pole")
    agent = construct_agent(morphology_spec(morph), Constraint(morphology="single_pole"),
                            random.Random(4))  # fmt: skip
    net = agent.network()
    assert isinstance(net, AgentNetwork) and net.agent_id == agent.id
    assert net.sensors == (("cart_pole_state", 4),) and net.actuators == (("cart_force", 1),)
    out = net({"cart_pole_state": [0.1, 0.0, -0.2, 0.0]})
    assert set(out) == {"cart_force"} and len(out["cart_force"]) == 1
    assert -1.0 <= out["cart_force"][0] <= 1.0
    with pytest.raises(SpecError, match="no vector"):
        net({"other": [0.0] * 4})
    with pytest.raises(SpecError, match="expects 4"):
        net({"cart_pole_state": [0.0] * 3})
    with pytest.raises(SpecError, match="expected 4"):
        net.flat([0.0] * 5)


@needs_gym
def test_an_actuator_fed_by_fewer_neurons_than_its_vl_gets_zeros() -> None:
    name = "gym:CartPole-v1"
    morph = get_morphology(name)
    for n in range(100):
        rng = random.Random(n)
        agent = construct_agent(morphology_spec(morph), Constraint(morphology=name), rng)
        for _ in range(5):
            if len(agent.actuators[0].fanin_ids) < 2:
                break
            agent = offspring(agent, rng)
        else:
            continue
        break
    else:
        pytest.fail("no agent with a short actuator in 100")
    x = [0.3, -0.1, 0.2, 0.5]
    compiled = CompiledNetwork(spec_from_agent(agent)).step_flat(x)
    net = agent.network()
    assert len(compiled) == 1
    assert net.flat(x) == [*compiled, 0.0]
    net.reset()
    assert net({"observation": x}) == {"action": [*compiled, 0.0]}
