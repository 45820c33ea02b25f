"""Mutating agents (DXNN2 ``genome_mutator:mutate/1``) and making offspring.

:func:`mutate` works on a copy: with probability
``constraint.search_parameters_mutation_probability`` it first applies 1..5 search-parameter
mutators (each attempt counts, applied or not, as in DXNN2), then draws the number of
neural mutations from the agent's ``tot_topological_mutations_f`` and applies that many
operators chosen by roulette over ``agent.mutation_operators``. An operator that does not
apply is rolled back and another one is drawn. Every applied operator is recorded in
``evo_hist``; the fingerprint is recomputed. The input agent is never changed.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

from actors.genotype import mutate_params as params
from actors.genotype import mutate_search as search
from actors.genotype import mutate_topology as topo
from actors.genotype.constraint import MUTATION_OPERATOR_NAMES, SEARCH_PARAMETER_MUTATORS
from actors.genotype.construct import all_ids, clone_agent
from actors.genotype.edit import NetEdit
from actors.genotype.errors import MutationNotApplicable
from actors.genotype.ids import IdFactory
from actors.genotype.records import Agent

__all__ = [
    "OPERATORS",
    "SEARCH_OPERATORS",
    "apply_operator",
    "mutate",
    "mutation_count",
    "offspring",
]

Operator = Callable[[NetEdit], None]

#: Neural mutation operators by name (every name of ``MUTATION_OPERATOR_NAMES``).
OPERATORS: dict[str, Operator] = {
    "mutate_weights": params.mutate_weights,
    "add_bias": params.add_bias,
    "remove_bias": params.remove_bias,
    "mutate_af": params.mutate_af,
    "mutate_pf": params.mutate_pf,
    "mutate_plasticity_parameters": params.mutate_plasticity_parameters,
    "mutate_aggrf": params.mutate_aggrf,
    "add_outlink": topo.add_outlink,
    "add_inlink": topo.add_inlink,
    "add_neuron": topo.add_neuron,
    "outsplice": topo.outsplice,
    "insplice": topo.insplice,
    "add_sensorlink": topo.add_sensorlink,
    "add_actuatorlink": topo.add_actuatorlink,
    "add_sensor": topo.add_sensor,
    "add_actuator": topo.add_actuator,
    "remove_neuron": topo.remove_neuron,
    "remove_link": topo.remove_link,
}

#: Search-parameter mutators by name.
SEARCH_OPERATORS: dict[str, Operator] = {
    "mutate_tuning_selection": search.mutate_tuning_selection,
    "mutate_tuning_annealing": search.mutate_tuning_annealing,
    "mutate_tot_topological_mutations": search.mutate_tot_topological_mutations,
    "mutate_heredity_type": search.mutate_heredity_type,
    "mutate_perturbation_range": search.mutate_perturbation_range,
}

assert tuple(OPERATORS) == MUTATION_OPERATOR_NAMES
assert tuple(SEARCH_OPERATORS) == SEARCH_PARAMETER_MUTATORS

#: Draws per requested mutation before :func:`mutate` gives up on finding one that applies.
ATTEMPTS_PER_MUTATION = 50


def mutation_count(agent: Agent, rng: random.Random) -> int:
    """How many neural operators to apply (DXNN2 ``tot_topological_mutations``):
    ``ncount_exponential`` p → uniform in 1..max(1, round(N**p)) (p = 0.5: 1..round(√N));
    ``ncount_linear`` p → max(1, round(N·p)); N = number of neurons."""
    name, p = agent.tot_topological_mutations_f
    n = len(agent.neurons)
    if name == "ncount_exponential":
        return rng.randint(1, max(1, round(n**p)))
    return max(1, round(n * p))


def _try(edit: NetEdit, op: Operator) -> bool:
    snap = edit.snapshot()
    try:
        op(edit)
    except MutationNotApplicable:
        edit.restore(snap)
        return False
    return True


def _roulette(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for name, w in weighted:
        x -= w
        if x < 0.0:
            return name
    return weighted[-1][0]


def _ids_for(agent: Agent, rng: random.Random, ids: IdFactory | None) -> IdFactory:
    if ids is None:
        return IdFactory(rng, all_ids(agent))
    ids.reserve(all_ids(agent))
    return ids


def mutate(agent: Agent, rng: random.Random, *, ids: IdFactory | None = None) -> Agent:
    """A mutated copy of ``agent`` one generation on (see the module docstring).

    Elements that are created or changed carry the new generation. Raises
    :class:`MutationNotApplicable` only if no operator of the agent's list applies
    within ``ATTEMPTS_PER_MUTATION`` draws per requested mutation.
    """
    ids = _ids_for(agent, rng, ids)
    generation = agent.generation + 1
    edit = NetEdit(agent, rng, ids, generation)
    edit.agent_changes["generation"] = generation
    if rng.random() < agent.constraint.search_parameters_mutation_probability:
        names = list(SEARCH_OPERATORS)
        for _ in range(rng.randint(1, len(names))):
            _try(edit, SEARCH_OPERATORS[names[rng.randrange(len(names))]])
    wanted = mutation_count(agent, rng)
    applied = attempts = 0
    while applied < wanted and attempts < wanted * ATTEMPTS_PER_MUTATION:
        attempts += 1
        if _try(edit, OPERATORS[_roulette(rng, agent.mutation_operators)]):
            applied += 1
    if applied == 0:
        raise MutationNotApplicable("no mutation operator of the agent applies")
    return edit.freeze()


def apply_operator(
    agent: Agent, name: str, rng: random.Random, *, ids: IdFactory | None = None
) -> Agent:
    """``agent`` with the one operator ``name`` (neural or search-parameter) applied, in
    the agent's current generation; raises :class:`MutationNotApplicable` if it does not
    apply (``agent`` is unchanged either way)."""
    op = OPERATORS.get(name) or SEARCH_OPERATORS.get(name)
    if op is None:
        raise KeyError(f"unknown mutation operator {name!r}")
    edit = NetEdit(agent, rng, _ids_for(agent, rng, ids), agent.generation)
    op(edit)
    return edit.freeze()


def offspring(parent: Agent, rng: random.Random, *, ids: IdFactory | None = None) -> Agent:
    """A child of ``parent`` (DXNN2 population monitor: clone, then mutate): fresh ids,
    ``parent_ids == (parent.id,)``, fitness reset, one generation on, mutated."""
    ids = _ids_for(parent, rng, ids)
    child = clone_agent(parent, rng, ids)
    child = dataclasses.replace(child, parent_ids=(parent.id,), fitness=None)
    return mutate(child, rng, ids=ids)
