from __future__ import annotations

import json
import math
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.genotype import Agent, GenotypeDecodeError, encode_agent, mutate, network_view
from actors.genotype.export import agent_from_json, agent_to_dot, agent_to_json
from tests.genotype.conftest import seed_agent


def grown(seed: int = 4, gens: int = 8) -> Agent:
    rng = random.Random(seed)
    agent = seed_agent(seed, neural_pfns=("none", "neuromodulation", "hebbian_w"))
    for _ in range(gens):
        agent = mutate(agent, rng)
    return agent


AGENT = grown()


def test_json_round_trip() -> None:
    text = agent_to_json(AGENT, indent=2)
    back = agent_from_json(text)
    assert back == AGENT
    assert encode_agent(back) == encode_agent(AGENT)
    assert agent_from_json(agent_to_json(AGENT).encode()) == AGENT


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"schema": "megabrain.genotype"}',
        "NaN",
        '{"a": Infinity}',
        "[" * 100_000,
    ],
)
def test_json_garbage_raises_decode_error(text: str) -> None:
    with pytest.raises(GenotypeDecodeError):
        agent_from_json(text)


def test_json_with_nan_weight_rejected() -> None:
    doc = json.loads(agent_to_json(AGENT))
    doc["body"]["neurons"][0]["inputs"][0][1][0][0] = 1e400  # parses as inf
    with pytest.raises(GenotypeDecodeError):
        agent_from_json(json.dumps(doc))


def _forward(agent: Agent, inputs: dict[str, list[float]], steps: int) -> list[list[float]]:
    """A forward pass written from the JSON document alone, as docs/genotype.md describes
    it (dot_product aggregation and tanh/cos/gaussian; plasticity ignored)."""
    body = json.loads(agent_to_json(agent))["body"]
    afs = {
        "tanh": math.tanh,
        "cos": math.cos,
        "gaussian": lambda x: math.exp(-(max(-10.0, min(10.0, x)) ** 2)),
    }
    layer = {n["id"]: n["layer"] for n in body["neurons"]}
    prev = {nid: 0.0 for nid in layer}
    outs = []
    for _ in range(steps):
        cur: dict[str, float] = {}
        for n in body["neurons"]:  # already in evaluation order
            acc = 0.0
            for source, weights in n["inputs"]:
                if source in layer:
                    value = [prev[source] if layer[source] >= n["layer"] else cur[source]]
                else:
                    value = inputs[source]
                acc += sum(x * w[0] for x, w in zip(value, weights, strict=True))
            if n["bias"] is not None:
                acc += n["bias"][0]
            cur[n["id"]] = afs[n["af"]](acc)
        outs.append([cur[f] for a in body["actuators"] for f in a["fanin_ids"]])
        prev = cur
    return outs


def test_json_document_is_enough_for_a_forward_pass() -> None:
    agent = AGENT
    view = network_view(agent)
    inputs = {s.id: [0.1 * (i + 1) for i in range(s.vl)] for s in agent.sensors}
    from_json = _forward(agent, inputs, steps=3)
    # the same pass over the typed evaluation view
    prev = {n.id: 0.0 for n in view.neurons}
    afs = {
        "tanh": math.tanh,
        "cos": math.cos,
        "gaussian": lambda x: math.exp(-(max(-10.0, min(10.0, x)) ** 2)),
    }
    for step in range(3):
        cur: dict[str, float] = {}
        for n in view.neurons:
            acc = n.bias or 0.0
            for i in n.inputs:
                if i.kind == "sensor":
                    value = inputs[i.source]
                else:
                    value = [prev[i.source] if i.recurrent else cur[i.source]]
                acc += sum(x * w for x, w in zip(value, i.weights, strict=True))
            cur[n.id] = afs[n.af](acc)
        assert [cur[f] for a in view.actuators for f in a.fanin_ids] == from_json[step]
        prev = cur


def test_dot_lists_every_node_and_link() -> None:
    dot = agent_to_dot(AGENT)
    assert dot.startswith("digraph ") and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    edges = set(re.findall(r'"([gcsna]-[0-9a-f]{16})" -> "([gcsna]-[0-9a-f]{16})"', dot))
    expected = {(i.source, n.id) for n in AGENT.neurons for i in n.inputs + n.mod_inputs}
    expected |= {(f, a.id) for a in AGENT.actuators for f in a.fanin_ids}
    assert edges == expected
    for element in (*AGENT.sensors, *AGENT.neurons, *AGENT.actuators):
        assert f'"{element.id}" [shape=' in dot
    assert ("style=dashed" in dot) == any(n.ro_ids for n in AGENT.neurons)


TEXT = agent_to_json(AGENT)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(TEXT) - 1), st.characters()), min_size=1, max_size=6))
def test_mutated_json_only_raises_decode_error(edits: list[tuple[int, str]]) -> None:
    chars = list(TEXT)
    for pos, ch in edits:
        chars[pos] = ch
    try:
        agent = agent_from_json("".join(chars))
    except GenotypeDecodeError:
        return
    assert agent_from_json(agent_to_json(agent)) == agent
