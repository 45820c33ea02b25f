from __future__ import annotations

import random

import pytest

from actors.genotype import (
    ActuatorSpec,
    Constraint,
    ConstraintError,
    MorphologySpec,
    SensorSpec,
    clone_agent,
    construct_agent,
    encode_agent,
    network_view,
    validate_agent,
)
from tests.genotype.conftest import MULTI, XOR, seed_agent


def test_seed_is_one_layer_from_every_sensor_to_actuator_elements() -> None:
    agent = seed_agent(3)
    validate_agent(agent)
    assert len(agent.neurons) == 3  # force vl 2 + turn vl 1
    assert {n.layer for n in agent.neurons} == {0.0}
    sensor_ids = [s.id for s in agent.sensors]
    for n in agent.neurons:
        assert [i.source for i in n.inputs] == sensor_ids
        assert [len(i.weights) for i in n.inputs] == [3, 2]
        assert all(-0.5 <= w.w < 0.5 for i in n.inputs for w in i.weights)
        assert len(n.outputs) == 1 and n.ro_ids == ()
    assert [len(a.fanin_ids) for a in agent.actuators] == [2, 1]
    assert agent.generation == 0 and agent.evo_hist == () and agent.parent_ids == ()
    assert agent.size() == (3, 6 + 3)


def test_same_seed_same_bytes_and_different_seed_differs() -> None:
    assert encode_agent(seed_agent(5)) == encode_agent(seed_agent(5))
    assert encode_agent(seed_agent(5)) != encode_agent(seed_agent(6))


def test_search_parameters_drawn_from_constraint() -> None:
    c = Constraint(
        tuning_selection_fs=("all", "current"),
        annealing_parameters=(0.5, 0.9),
        heredity_types=("darwinian", "lamarckian"),
        neural_afs=("sin",),
        neural_pfns=("hebbian_w",),
    )
    a = construct_agent(XOR, c, random.Random(0))
    assert a.tuning_selection_f in c.tuning_selection_fs
    assert a.annealing_parameter in c.annealing_parameters
    assert a.heredity_type in c.heredity_types
    n = a.neurons[0]
    assert n.af == "sin" and n.pf == "hebbian_w" and n.pf_params == ()
    assert all(len(w.params) == 1 for i in n.inputs for w in i.weights)


def test_clone_renames_everything_consistently() -> None:
    agent = seed_agent(9)
    clone = clone_agent(agent, random.Random(1))
    validate_agent(clone)
    old = (
        {agent.id, agent.cortex_id} | {n.id for n in agent.neurons} | {s.id for s in agent.sensors}
    )
    new = (
        {clone.id, clone.cortex_id} | {n.id for n in clone.neurons} | {s.id for s in clone.sensors}
    )
    assert not old & new
    assert clone.fingerprint == agent.fingerprint
    assert sorted(w.w for n in clone.neurons for i in n.inputs for w in i.weights) == sorted(
        w.w for n in agent.neurons for i in n.inputs for w in i.weights
    )
    assert clone_agent(agent, random.Random(1)) == clone


def test_network_view_orders_and_flags_inputs() -> None:
    view = network_view(seed_agent(2))
    assert [n.layer for n in view.neurons] == sorted(n.layer for n in view.neurons)
    assert all(not i.recurrent and i.kind == "sensor" for n in view.neurons for i in n.inputs)
    assert [a.vl for a in view.actuators] == [2, 1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"connection_architecture": "sideways"},
        {"neural_afs": ("tanh", "nope")},
        {"neural_afs": ()},
        {"neural_pfns": ("hebbian", "hebbian")},
        {"annealing_parameters": (1.5,)},
        {"perturbation_ranges": (0,)},
        {"perturbation_ranges": (True,)},
        {"mutation_operators": (("add_neuron", 1.0), ("add_neuron", 2.0))},
        {"mutation_operators": (("fly", 1.0),)},
        {"tot_topological_mutations_fs": (("ncount_exponential", -0.5),)},
        {"search_parameters_mutation_probability": 2.0},
    ],
)
def test_bad_constraints_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConstraintError):
        Constraint(**kwargs)  # type: ignore[arg-type]


def test_bad_morphologies_rejected() -> None:
    with pytest.raises(ConstraintError):
        SensorSpec("x", 0)
    with pytest.raises(ConstraintError):
        ActuatorSpec("y", 1, (float("nan"),))
    with pytest.raises(ConstraintError):
        MorphologySpec("m", (), (ActuatorSpec("y", 1),))
    with pytest.raises(ConstraintError):
        MorphologySpec("m", (SensorSpec("x", 1),) * 2, (ActuatorSpec("y", 1),))
    assert MULTI.all_sensors[-1].name == "touch"


def test_constraint_numbers_may_be_ints() -> None:
    c = Constraint(
        perturbation_ranges=(1, 2),
        annealing_parameters=(1,),
        mutation_operators=(("add_neuron", 2),),
        tot_topological_mutations_fs=(("ncount_linear", 1),),
        tuning_duration_f=("const", 20),
        search_parameters_mutation_probability=0,
    )
    assert c.perturbation_ranges == (1.0, 2.0) and type(c.perturbation_ranges[0]) is float
    assert c.mutation_operators == (("add_neuron", 2.0),)
    assert type(c.tuning_duration_f[1]) is float
    assert type(c.search_parameters_mutation_probability) is float
    assert c == Constraint(
        perturbation_ranges=(1.0, 2.0),
        annealing_parameters=(1.0,),
        mutation_operators=(("add_neuron", 2.0),),
        tot_topological_mutations_fs=(("ncount_linear", 1.0),),
        tuning_duration_f=("const", 20.0),
        search_parameters_mutation_probability=0.0,
    )
