"""Hypothesis strategies and an independent invariant checker for genotypes."""

from __future__ import annotations

import math
import random

from hypothesis import strategies as st

from actors.genotype import (
    MUTATION_OPERATOR_NAMES,
    PLASTICITY_RULES,
    SEARCH_PARAMETER_MUTATORS,
    ActuatorSpec,
    Agent,
    Constraint,
    MorphologySpec,
    SensorSpec,
    construct_agent,
)

ALL_OPS = MUTATION_OPERATOR_NAMES + SEARCH_PARAMETER_MUTATORS


@st.composite
def morphologies(draw: st.DrawFn) -> MorphologySpec:
    n_s = draw(st.integers(1, 3))
    n_a = draw(st.integers(1, 3))
    sensors = tuple(SensorSpec(f"s{i}", draw(st.integers(1, 4))) for i in range(n_s))
    actuators = tuple(ActuatorSpec(f"a{i}", draw(st.integers(1, 3))) for i in range(n_a))
    extra_s = tuple(
        SensorSpec(f"xs{i}", draw(st.integers(1, 3))) for i in range(draw(st.integers(0, 2)))
    )
    extra_a = tuple(
        ActuatorSpec(f"xa{i}", draw(st.integers(1, 2))) for i in range(draw(st.integers(0, 2)))
    )
    return MorphologySpec("m", sensors, actuators, extra_s, extra_a)


@st.composite
def constraints(draw: st.DrawFn) -> Constraint:
    pfns = draw(
        st.lists(st.sampled_from(sorted(PLASTICITY_RULES)), min_size=1, max_size=4, unique=True)
    )
    afs = draw(
        st.lists(
            st.sampled_from(["tanh", "sin", "cos", "gaussian", "relu"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    return Constraint(
        connection_architecture=draw(st.sampled_from(["recurrent", "feedforward"])),
        neural_afs=tuple(afs),
        neural_pfns=tuple(pfns),
        neural_aggr_fs=("dot_product", "mult_product"),
        tuning_selection_fs=("all", "dynamic"),
        annealing_parameters=(0.5, 1.0),
        heredity_types=("darwinian", "lamarckian"),
        tot_topological_mutations_fs=(("ncount_exponential", 0.5), ("ncount_linear", 0.5)),
        search_parameters_mutation_probability=0.3,
    )


@st.composite
def seed_agents(draw: st.DrawFn) -> tuple[Agent, int]:
    seed = draw(st.integers(0, 2**32 - 1))
    return construct_agent(draw(morphologies()), draw(constraints()), random.Random(seed)), seed


def check_invariants(agent: Agent) -> None:
    """The issue's invariants, written independently of ``validate_agent``."""
    sensors = {s.id: s for s in agent.sensors}
    neurons = {n.id: n for n in agent.neurons}
    actuators = {a.id: a for a in agent.actuators}
    ids = [*sensors, *neurons, *actuators, agent.id, agent.cortex_id]
    assert len(ids) == len(set(ids)), "ids unique"
    ff = agent.constraint.connection_architecture == "feedforward"
    # every referenced id exists; inputs and outputs mutually consistent
    for s in agent.sensors:
        assert s.fanout_ids, "sensor connected"
        for t in s.fanout_ids:
            assert any(i.source == s.id for i in neurons[t].inputs + neurons[t].mod_inputs)
    for a in agent.actuators:
        assert 1 <= len(a.fanin_ids) <= a.vl, "actuator connected"
        for f in a.fanin_ids:
            assert a.id in neurons[f].outputs
    for n in agent.neurons:
        assert n.inputs and n.outputs
        assert -1.0 < n.layer < 1.0
        for link in n.inputs + n.mod_inputs:
            src = link.source
            if src in sensors:
                assert n.id in sensors[src].fanout_ids
                assert len(link.weights) == sensors[src].vl
            else:
                assert n.id in neurons[src].outputs
                assert len(link.weights) == 1
            rule = PLASTICITY_RULES[n.pf]
            for w in link.weights:
                assert math.isfinite(w.w) and len(w.params) == rule.weight_len
        for o in n.outputs:
            if o in actuators:
                assert n.id in actuators[o].fanin_ids
            else:
                assert any(i.source == n.id for i in neurons[o].inputs + neurons[o].mod_inputs)
        # ro_ids are exactly the links to the same or an earlier layer
        expected = [o for o in n.outputs if o in neurons and neurons[o].layer <= n.layer]
        assert list(n.ro_ids) == expected
        if ff:
            assert not n.ro_ids, "feedforward agent with a recurrent link"
            for link in n.inputs + n.mod_inputs:
                assert link.source in sensors or neurons[link.source].layer < n.layer
