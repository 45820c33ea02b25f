"""Genotype → NetworkSpec adapter: an independent forward pass over the JSON export
(``docs/genotype.md``) agrees with the compiled network; weights map back onto the genotype."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from actors.genotype import (
    ActuatorSpec,
    Agent,
    Constraint,
    MorphologySpec,
    SensorSpec,
    agent_to_json,
    construct_agent,
    encode_agent,
    mutate,
)
from actors.genotype.errors import MutationNotApplicable
from actors.genotype.network import (
    agent_with_weights,
    flat_deltas,
    spec_from_agent,
    weight_slots,
)
from actors.neural.compiled import CompiledNetwork
from actors.neural.errors import SpecError

MORPH = MorphologySpec(
    "test",
    sensors=(SensorSpec("eyes", 3), SensorSpec("ears", 1)),
    actuators=(ActuatorSpec("motor", 2), ActuatorSpec("voice", 1)),
)

_AF = {
    "tanh": math.tanh,
    "cos": math.cos,
    "sin": math.sin,
    "gaussian": lambda v: math.exp(-(max(-10.0, min(10.0, v)) ** 2)),
    "absolute": abs,
    "linear": lambda v: v,
}


def grow(seed: int, arch: str, gens: int = 10) -> Agent:
    rng = random.Random(seed)
    c = Constraint(
        connection_architecture=arch,
        neural_afs=tuple(_AF),
        neural_aggr_fs=("dot_product", "mult_product", "diff_product"),
    )
    agent = construct_agent(MORPH, c, rng)
    for _ in range(gens):
        try:
            agent = mutate(agent, rng)
        except MutationNotApplicable:
            continue
    return agent


def buildable(seed: int, arch: str) -> Agent:
    """The agent grown from ``seed``: every grown agent has a spec (neurons fed only by
    recurrent links included)."""
    agent = grow(seed, arch)
    spec_from_agent(agent)
    return agent


def json_forward(doc: dict[str, Any], inputs: list[dict[str, list[float]]]) -> list[list[float]]:
    """The forward pass exactly as docs/genotype.md describes it, over the JSON body."""
    body = doc["body"]
    sensors = {s["id"]: s for s in body["sensors"]}
    layer = {n["id"]: n["layer"] for n in body["neurons"]}
    prev_out = {n["id"]: 0.0 for n in body["neurons"]}
    prev_x: dict[str, list[list[float]] | None] = {n["id"]: None for n in body["neurons"]}
    outs = []
    for step in inputs:
        cur: dict[str, float] = {}
        for n in body["neurons"]:
            xs = []
            for src, _ in n["inputs"]:
                if src in sensors:
                    xs.append(list(step[sensors[src]["name"]]))
                elif layer[src] < n["layer"]:
                    xs.append([cur[src]])
                else:
                    xs.append([prev_out[src]])
            ws = [[w[0] for w in weights] for _, weights in n["inputs"]]
            bias = n["bias"][0] if n["bias"] is not None else None
            if n["aggr"] == "mult_product":
                total = 1.0
                for x, w in zip(xs, ws, strict=True):
                    for xk, wk in zip(x, w, strict=True):
                        total *= xk * wk
                if bias is not None:
                    total *= bias
            else:
                if n["aggr"] == "diff_product":
                    px = prev_x[n["id"]]
                    use = xs
                    if px is not None:
                        use = [
                            [a - b for a, b in zip(x, p, strict=True)]
                            for x, p in zip(xs, px, strict=True)
                        ]
                    prev_x[n["id"]] = xs
                else:
                    use = xs
                total = 0.0
                for x, w in zip(use, ws, strict=True):
                    total += sum(xk * wk for xk, wk in zip(x, w, strict=True))
                if bias is not None:
                    total += bias
            cur[n["id"]] = max(-1.0, min(1.0, _AF[n["af"]](total)))
        prev_out.update(cur)
        row = []
        for a in body["actuators"]:
            vec = [cur[f] for f in a["fanin_ids"]]
            row.extend(vec + [0.0] * (a["vl"] - len(vec)))
        outs.append(row)
    return outs


@pytest.mark.parametrize("arch", ["feedforward", "recurrent"])
@pytest.mark.parametrize("seed", range(8))
def test_json_forward_pass_agrees_with_compiled(seed: int, arch: str) -> None:
    agent = buildable(seed, arch)
    spec = spec_from_agent(agent)
    net = CompiledNetwork(spec)
    rng = random.Random(seed)
    seq = [{"eyes": [rng.uniform(-1, 1) for _ in range(3)], "ears": [rng.uniform(-1, 1)]}
           for _ in range(25)]  # fmt: skip
    want = json_forward(json.loads(agent_to_json(agent)), seq)
    for x, w in zip(seq, want, strict=True):
        out = net.step(x)
        got = []
        for a in agent.actuators:
            got.extend(out[a.name] + [0.0] * (a.vl - len(out[a.name])))
        assert got == pytest.approx(w, abs=1e-9)


def test_spec_names_follow_the_morphology() -> None:
    agent = buildable(3, "recurrent")
    spec = spec_from_agent(agent)
    assert [s.name for s in spec.sensors] == [s.name for s in agent.sensors]
    assert [a.name for a in spec.actuators] == [a.name for a in agent.actuators]
    assert [n.id for n in spec.neurons] == [n.id for n in agent.neurons]
    assert spec.weight_count == sum(s.weight_count for s in weight_slots(agent))


def test_weights_round_trip_through_the_genotype() -> None:
    agent = buildable(5, "recurrent")
    spec = spec_from_agent(agent)
    flat = spec.flat_weights()
    new = [w * 0.5 + 0.01 for w in flat]
    deltas = [0.1 * k for k in range(len(flat))]
    changed = agent_with_weights(agent, new, deltas)
    assert spec_from_agent(changed).flat_weights() == pytest.approx(new, abs=0)
    assert flat_deltas(changed) == pytest.approx(deltas, abs=0)
    assert changed.fingerprint == agent.fingerprint
    encode_agent(changed)  # still a valid genotype
    assert agent_with_weights(agent, flat, flat_deltas(agent)) == agent
    with pytest.raises(SpecError):
        agent_with_weights(agent, new[:-1])
    with pytest.raises(SpecError):
        agent_with_weights(agent, [math.nan] * len(new))


def test_seed_agent_spec() -> None:
    agent = construct_agent(MORPH, Constraint(), random.Random(1))
    spec = spec_from_agent(agent)
    assert spec.input_size == 4 and len(spec.neurons) == 3
    net = CompiledNetwork(spec)
    out = net.step({"eyes": [0.1, 0.2, 0.3], "ears": [0.4]})
    assert set(out) == {"motor", "voice"}


def test_modulation_biases_are_part_of_the_layout() -> None:
    rng = random.Random(7)
    c = Constraint(
        neural_pfns=("neuromodulation",),
        neural_afs=("tanh",),
        connection_architecture="feedforward",
    )
    agent = construct_agent(MORPH, c, rng)
    for _ in range(40):
        try:
            agent = mutate(agent, rng)
        except MutationNotApplicable:
            continue
    with_mod = [n for n in agent.neurons if n.mod_bias is not None]
    assert with_mod, "40 mutations should have added a modulation bias somewhere"
    if any(n.mod_inputs for n in agent.neurons):
        with pytest.raises(SpecError):
            spec_from_agent(agent, strict=True)
    spec = spec_from_agent(agent)
    assert spec.weight_count == sum(s.weight_count for s in weight_slots(agent))
    flat = [0.25] * spec.weight_count
    back = agent_with_weights(agent, flat)
    assert all(n.mod_bias.w == 0.25 for n in back.neurons if n.mod_bias is not None)
    assert spec_from_agent(back).flat_weights() == flat


def test_recurrent_genotypes_with_neurons_fed_only_by_recurrent_links_have_specs() -> None:
    """Common in recurrent genotypes (DXNN allows them); the evaluators agree on them."""
    from actors.neural.reference import ReferenceNetwork

    found = 0
    for seed in range(6):
        spec = spec_from_agent(grow(seed, "recurrent"))
        found += any(all(i.recurrent for i in n.inputs) for n in spec.neurons)
        ref, comp = ReferenceNetwork(spec), CompiledNetwork(spec)
        rng = random.Random(seed)
        for _ in range(15):
            x = {s.name: [rng.uniform(-1, 1) for _ in range(s.vl)] for s in spec.sensors}
            out = ref.step(x)
            want = [v for a in spec.actuators for v in out[a.name]]
            got = comp.step_flat([v for s in spec.sensors for v in x[s.name]])
            assert got == pytest.approx(want, abs=1e-9)
    assert found >= 2
