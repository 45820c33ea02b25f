from __future__ import annotations

import random

import pytest

from actors.genotype import (
    MUTATION_OPERATOR_NAMES,
    PLASTICITY_RULES,
    SEARCH_PARAMETER_MUTATORS,
    Agent,
    MutationNotApplicable,
    encode_agent,
    validate_agent,
)
from actors.genotype.mutate import apply_operator, mutate, mutation_count, offspring
from tests.genotype.conftest import XOR, seed_agent

RICH = {
    "neural_afs": ("tanh", "sin", "cos"),
    "neural_pfns": tuple(PLASTICITY_RULES),
    "neural_aggr_fs": ("dot_product", "mult_product", "diff_product"),
    "tuning_selection_fs": ("all", "dynamic", "current"),
    "annealing_parameters": (0.5, 0.9),
    "perturbation_ranges": (0.5, 1.0, 2.0),
    "heredity_types": ("darwinian", "lamarckian"),
    "tot_topological_mutations_fs": (("ncount_exponential", 0.5), ("ncount_linear", 1.0)),
}


def grown(seed: int, steps: int, **kw: object) -> Agent:
    rng = random.Random(seed)
    agent = seed_agent(seed, **{**RICH, **kw})
    for _ in range(steps):
        agent = mutate(agent, rng)
    return agent


def test_mutate_leaves_input_alone_and_records_history() -> None:
    agent = seed_agent(1)
    before = encode_agent(agent)
    child = mutate(agent, random.Random(4))
    assert encode_agent(agent) == before
    assert child.generation == 1 and child.evo_hist and child.id == agent.id
    validate_agent(child)


def test_offspring_has_fresh_ids_and_lineage() -> None:
    parent = grown(2, 5)
    child = offspring(parent, random.Random(8))
    validate_agent(child)
    assert child.parent_ids == (parent.id,)
    assert child.generation == parent.generation + 1
    assert not {n.id for n in child.neurons} & {n.id for n in parent.neurons}


@pytest.mark.parametrize("name", MUTATION_OPERATOR_NAMES + SEARCH_PARAMETER_MUTATORS)
@pytest.mark.parametrize("arch", ["recurrent", "feedforward"])
def test_every_operator_applies_somewhere_and_keeps_invariants(name: str, arch: str) -> None:
    applied = 0
    for seed in range(40):
        agent = grown(seed, 3, connection_architecture=arch)
        try:
            after = apply_operator(agent, name, random.Random(seed))
        except MutationNotApplicable:
            continue
        validate_agent(after)
        assert after.evo_hist[-1].op == name
        assert after != agent
        applied += 1
    assert applied > 0, f"{name} never applied"


def test_perturbations_always_change_something() -> None:
    for seed in range(30):
        agent = grown(seed, 2)
        after = apply_operator(agent, "mutate_weights", random.Random(seed))
        nid = after.evo_hist[-1].refs[0].id
        old = next(n for n in agent.neurons if n.id == nid)
        new = next(n for n in after.neurons if n.id == nid)
        assert old.inputs != new.inputs or old.bias != new.bias


def test_tot_topological_mutations_mutates_its_own_field() -> None:
    agent = seed_agent(1, **RICH)
    after = apply_operator(agent, "mutate_tot_topological_mutations", random.Random(0))
    assert after.tot_topological_mutations_f != agent.tot_topological_mutations_f
    assert after.tuning_selection_f == agent.tuning_selection_f


def test_plasticity_parameters_stay_within_bounds_and_change() -> None:
    agent = seed_agent(3, neural_pfns=("neuromodulation",))
    for seed in range(20):
        after = apply_operator(agent, "mutate_plasticity_parameters", random.Random(seed))
        nid = after.evo_hist[-1].refs[0].id
        n = next(x for x in after.neurons if x.id == nid)
        old = next(x for x in agent.neurons if x.id == nid)
        assert n.pf_params != old.pf_params
        assert all(abs(p) <= 2 * 3.141592653589793 * 10 for p in n.pf_params)
        assert len({p for p in n.pf_params}) > 1  # not all pinned to one bound


def test_plasticity_none_has_nothing_to_mutate() -> None:
    with pytest.raises(MutationNotApplicable):
        apply_operator(seed_agent(1), "mutate_plasticity_parameters", random.Random(0))


def test_mutation_count_functions() -> None:
    agent = grown(5, 6)
    n = len(agent.neurons)
    rng = random.Random(0)
    import dataclasses

    exp = dataclasses.replace(agent, tot_topological_mutations_f=("ncount_exponential", 0.5))
    counts = {mutation_count(exp, rng) for _ in range(300)}
    assert min(counts) == 1 and max(counts) == max(1, round(n**0.5))
    lin = dataclasses.replace(agent, tot_topological_mutations_f=("ncount_linear", 1.0))
    assert mutation_count(lin, rng) == n


def test_mutate_raises_when_nothing_applies() -> None:
    agent = construct_only_add_sensor()
    with pytest.raises(MutationNotApplicable):
        mutate(agent, random.Random(0))


def construct_only_add_sensor() -> Agent:
    from actors.genotype import Constraint, construct_agent

    c = Constraint(
        mutation_operators=(("add_sensor", 1.0),), search_parameters_mutation_probability=0.0
    )
    return construct_agent(XOR, c, random.Random(0))


def test_same_seed_same_mutation_bytes() -> None:
    assert encode_agent(grown(11, 8)) == encode_agent(grown(11, 8))


def test_working_copy_restores_a_snapshot_exactly() -> None:
    from actors.genotype.construct import all_ids
    from actors.genotype.edit import NetEdit
    from actors.genotype.ids import IdFactory

    agent = grown(3, 4)
    rng = random.Random(0)
    edit = NetEdit(agent, rng, IdFactory(rng, all_ids(agent)), agent.generation)
    snap = edit.snapshot()
    for name in ("add_neuron", "outsplice", "remove_link", "mutate_weights"):
        try:
            from actors.genotype.mutate import OPERATORS

            OPERATORS[name](edit)
        except MutationNotApplicable:
            pass
    assert edit.freeze() != agent
    edit.restore(snap)
    assert edit.freeze() == agent


def test_operators_are_drawn_by_roulette_weight() -> None:
    from collections import Counter

    agent = seed_agent(
        1,
        neural_afs=("tanh", "sin", "cos"),
        mutation_operators=(("mutate_af", 3.0), ("mutate_weights", 1.0)),
        search_parameters_mutation_probability=0.0,
        tot_topological_mutations_fs=(("ncount_linear", 1.0),),
    )
    rng = random.Random(0)
    counts: Counter[str] = Counter()
    for _ in range(300):
        counts.update(e.op for e in mutate(agent, rng).evo_hist)
    share = counts["mutate_af"] / sum(counts.values())
    assert 0.68 < share < 0.82, counts  # 3:1 roulette -> 0.75


def test_offspring_ids_unique_across_a_population() -> None:
    from actors.genotype.construct import all_ids

    parent = grown(4, 5)
    rng = random.Random(9)
    seen = all_ids(parent)
    total = len(seen)
    for _ in range(40):
        child = offspring(parent, rng)
        ids = all_ids(child)
        total += len(ids)
        seen |= ids
    assert len(seen) == total


def test_the_operator_table_of_the_docs_lists_exactly_the_operators() -> None:
    import re
    from pathlib import Path

    from actors.genotype.constraint import MUTATION_OPERATOR_NAMES, SEARCH_PARAMETER_MUTATORS

    text = (Path(__file__).resolve().parents[2] / "docs" / "genotype.md").read_text()
    table = text.split("| operator | what it does |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines()[2:]]
    documented = {name for cell in rows for name in re.findall(r"`(\w+)`", cell)}
    assert documented == set(MUTATION_OPERATOR_NAMES) | set(SEARCH_PARAMETER_MUTATORS)
    assert len(MUTATION_OPERATOR_NAMES) == 15 + 3  # DXNN2's neural operators + three more
    assert not {"add_cpp", "add_cep"} & set(MUTATION_OPERATOR_NAMES)
