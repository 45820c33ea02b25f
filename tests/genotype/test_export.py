from __future__ import annotations

import json
import math
import random
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.genotype import (
    ActuatorSpec,
    Agent,
    GenotypeDecodeError,
    MorphologySpec,
    SensorSpec,
    encode_agent,
    mutate,
    network_view,
)
from actors.genotype.export import (
    ACTUATOR_LINK_COLOR,
    MIXED_COLOR,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    agent_from_json,
    agent_to_dot,
    agent_to_json,
    connections,
    weight_scale,
    weight_width,
)
from tests.genotype.conftest import seed_agent
from tests.genotype.picture_strategies import grown_agents


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


EDGE = re.compile(r'^  "(?P<s>[gcsna]-[0-9a-f]{16})" -> "(?P<t>[gcsna]-[0-9a-f]{16})" '
                  r"\[(?P<attrs>.*)\];$")  # fmt: skip
ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]]+)')


def dot_edges(dot: str) -> list[tuple[str, str, dict[str, str]]]:
    out = []
    for line in dot.splitlines():
        m = EDGE.match(line)
        if m:
            attrs = {k: v.strip('"') for k, v in ATTR.findall(m["attrs"])}
            out.append((m["s"], m["t"], attrs))
    return out


def check_dot(agent: Agent) -> None:
    dot = agent_to_dot(agent)
    assert dot.startswith(f'digraph "{agent.id}" {{') and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    assert "rankdir=LR" in dot and "dir=forward" in dot
    links = connections(agent)
    scale = weight_scale(links)
    edges = dot_edges(dot)
    # one edge per link, self-loops included, nothing else between agent elements
    assert Counter((s, t) for s, t, _ in edges) == Counter((c.source, c.target) for c in links)
    assert sum(1 for s, t, _ in edges if s == t) == sum(1 for c in links if c.source == c.target)
    by_pair = {(c.source, c.target): c for c in links}
    for s, t, attrs in edges:
        c = by_pair[(s, t)]
        assert (attrs["style"] == "dashed") == c.recurrent
        assert (attrs.get("constraint") == "false") == c.recurrent
        assert (attrs["arrowhead"] == "onormal") == (c.kind == "modulatory")
        if c.kind == "actuator":
            assert attrs["label"] == f"[{c.index}]" and attrs["color"] == ACTUATOR_LINK_COLOR
            continue
        ws = c.weights
        sign = (POSITIVE_COLOR if min(ws) >= 0 else NEGATIVE_COLOR if max(ws) < 0
                else MIXED_COLOR)  # fmt: skip
        assert attrs["color"] == sign
        assert float(attrs["penwidth"]) == pytest.approx(
            weight_width(max(abs(w) for w in ws), scale), abs=0.006
        )
        label = attrs["label"]
        if len(ws) == 1:
            assert float(label) == pytest.approx(ws[0], rel=5e-3, abs=1e-12)
        elif len(ws) <= 8:
            count, _, values = label.partition(" w: ")
            assert int(count) == len(ws)
            assert [float(v) for v in values.split()] == pytest.approx(
                list(ws), rel=5e-3, abs=1e-12
            )
        else:
            assert label.startswith(f"{len(ws)} w, max |w| ")
    # columns in layer order, each holding its elements
    columns = [[s.id for s in agent.sensors], *([*ids] for _, ids in agent.pattern),
               [a.id for a in agent.actuators]]  # fmt: skip
    for i, ids in enumerate(columns):
        group = "  { rank=same; " + " ".join([f"column_{i}", *(f'"{x}"' for x in ids)]) + " }"
        assert group in dot.splitlines()
    chain = "  " + " -> ".join(f"column_{i}" for i in range(len(columns))) + " [style=invis];"
    assert chain in dot.splitlines()
    for element in (*agent.sensors, *agent.neurons, *agent.actuators):
        assert dot.count(f'  "{element.id}" [shape=') == 1
    for n in agent.neurons:
        line = next(x for x in dot.splitlines() if x.startswith(f'  "{n.id}" [shape='))
        assert n.af in line and f"L={n.layer:g}" in line
        assert ("\\nb " in line) == (n.bias is not None)
        assert (f"\\n{n.pf}" in line) == (n.pf != "none")
        assert (f"\\n{n.aggr}" in line) == (n.aggr != "dot_product")
    neurons, n_links = agent.size()
    assert f'label="{agent.id}: {neurons} neurons, {n_links} links"; labelloc=t;' in dot
    # the legend: one sample edge per style
    legend = dot[dot.index("subgraph cluster_legend") :]
    for words in ("w >= 0", "w < 0", "mixed signs", "recurrent", "modulatory", "actuator"):
        assert words in legend
    assert "style=dashed" in legend and "arrowhead=onormal" in legend
    assert legend.count(" -> ") == 8


def test_dot_lists_every_node_and_link() -> None:
    check_dot(AGENT)
    assert any(c.recurrent for c in connections(AGENT))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grown_agents())
def test_dot_of_random_genotypes(agent: Agent) -> None:
    check_dot(agent)


def test_dot_labels_a_long_sensor_vector_by_count() -> None:
    agent = seed_agent(2, MorphologySpec("wide", (SensorSpec("eye", 12),),
                                         (ActuatorSpec("out", 1),)))  # fmt: skip
    check_dot(agent)
    labels = [a["label"] for s, _, a in dot_edges(agent_to_dot(agent)) if s.startswith("s-")]
    assert labels and all(x.startswith("12 w, max |w| ") for x in labels)


def test_dot_escapes_names() -> None:
    agent = seed_agent(1, MorphologySpec('we"ird\\', (SensorSpec('s"1', 2),),
                                         (ActuatorSpec("a\\b", 1),)))  # fmt: skip
    dot = agent_to_dot(agent)
    assert '"s\\"1 [2]"' in dot and '"a\\\\b [1]"' in dot
    check_dot(agent)


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
