"""Seed agents and clones (DXNN2 ``genotype:construct_Agent`` and ``clone_Agent``)."""

from __future__ import annotations

import dataclasses
import random

from actors.genotype.constraint import Constraint, MorphologySpec
from actors.genotype.edit import NetEdit
from actors.genotype.graph import compute_fingerprint
from actors.genotype.ids import IdFactory
from actors.genotype.records import (
    Actuator,
    Agent,
    EvoEvent,
    EvoRef,
    Fingerprint,
    InputLink,
    Sensor,
    TopologySummary,
)

__all__ = ["all_ids", "clone_agent", "construct_agent"]

_EMPTY_FP = Fingerprint((), (), (), (), TopologySummary("neural", 0, 0, 0, 0, ()))


def _choice(rng: random.Random, seq: tuple[object, ...]) -> object:
    return seq[rng.randrange(len(seq))]


def construct_agent(
    morphology: MorphologySpec,
    constraint: Constraint,
    rng: random.Random,
    *,
    population_id: str | None = None,
    specie_id: str | None = None,
    ids: IdFactory | None = None,
) -> Agent:
    """A generation-0 seed agent, as DXNN2 ``construct_SeedNN`` builds it.

    One layer of neurons at layer index 0, one neuron per actuator vector element
    (``sum(actuator.vl)`` neurons); every neuron takes an input from every initial sensor
    (weights uniform in ±0.5) and feeds one element of one actuator, in order. Functions
    and search parameters are drawn from ``constraint``. Everything random comes from
    ``rng``: the same seed gives the same agent, byte for byte once encoded.
    """
    ids = ids if ids is not None else IdFactory(rng)
    tsf = constraint.tuning_selection_fs
    base = Agent(
        id=ids.new("agent"),
        encoding_type="neural",
        generation=0,
        population_id=population_id,
        specie_id=specie_id,
        parent_ids=(),
        cortex_id=ids.new("cortex"),
        morphology=morphology,
        constraint=constraint,
        sensors=(),
        neurons=(),
        actuators=(),
        evo_hist=(),
        fitness=None,
        innovation_factor=0,
        tuning_selection_f=tsf[rng.randrange(len(tsf))],
        annealing_parameter=constraint.annealing_parameters[
            rng.randrange(len(constraint.annealing_parameters))
        ],
        tuning_duration_f=constraint.tuning_duration_f,
        perturbation_range=constraint.perturbation_ranges[
            rng.randrange(len(constraint.perturbation_ranges))
        ],
        mutation_operators=constraint.mutation_operators,
        tot_topological_mutations_f=constraint.tot_topological_mutations_fs[
            rng.randrange(len(constraint.tot_topological_mutations_fs))
        ],
        heredity_type=constraint.heredity_types[rng.randrange(len(constraint.heredity_types))],
        fingerprint=_EMPTY_FP,
    )
    edit = NetEdit(base, rng, ids, generation=0)
    for spec in morphology.sensors:
        sid = ids.new("sensor")
        edit.sensors[sid] = Sensor(sid, spec.name, spec.vl, spec.params, 0, ())
    for aspec in morphology.actuators:
        aid = ids.new("actuator")
        edit.actuators[aid] = Actuator(aid, aspec.name, aspec.vl, aspec.params, 0, ())
    for aid, act in list(edit.actuators.items()):
        for _ in range(act.vl):
            n = edit.new_neuron(0.0)
            for sid in edit.sensors:
                edit.link(sid, n.id)
            edit.link(n.id, aid)
    return edit.freeze()


def all_ids(agent: Agent) -> set[str]:
    """Every id the agent holds (itself, cortex, sensors, neurons, actuators)."""
    out = {agent.id, agent.cortex_id}
    out.update(s.id for s in agent.sensors)
    out.update(n.id for n in agent.neurons)
    out.update(a.id for a in agent.actuators)
    return out


def clone_agent(agent: Agent, rng: random.Random, ids: IdFactory | None = None) -> Agent:
    """The same genotype under fresh ids (DXNN2 ``clone_Agent``), consistently renamed:
    every reference, ``ro_ids`` and the evolution history follow the new ids (history
    entries naming elements that no longer exist get fresh ids too, one per old id).
    Lineage, generation, fitness and search parameters are kept; use it to adopt a
    genotype that came from another node, or as the first step of making an offspring."""
    ids = ids if ids is not None else IdFactory(rng)
    ids.reserve(all_ids(agent))
    table: dict[str, str] = {}

    def m(old: str) -> str:
        new = table.get(old)
        if new is None:
            kind = {"g": "agent", "c": "cortex", "s": "sensor", "n": "neuron", "a": "actuator"}
            new = table[old] = ids.new(kind[old[0]])
        return new

    m(agent.id)
    m(agent.cortex_id)
    for s in agent.sensors:
        m(s.id)
    for n in agent.neurons:
        m(n.id)
    for a in agent.actuators:
        m(a.id)

    def ml(links: tuple[InputLink, ...]) -> tuple[InputLink, ...]:
        return tuple(InputLink(m(i.source), i.weights) for i in links)

    neurons = tuple(
        sorted(
            (
                dataclasses.replace(
                    n,
                    id=m(n.id),
                    inputs=ml(n.inputs),
                    mod_inputs=ml(n.mod_inputs),
                    outputs=tuple(m(o) for o in n.outputs),
                    ro_ids=tuple(m(o) for o in n.ro_ids),
                )
                for n in agent.neurons
            ),
            key=lambda n: (n.layer, n.id),
        )
    )
    sensors = tuple(
        dataclasses.replace(s, id=m(s.id), fanout_ids=tuple(m(x) for x in s.fanout_ids))
        for s in agent.sensors
    )
    actuators = tuple(
        dataclasses.replace(a, id=m(a.id), fanin_ids=tuple(m(x) for x in a.fanin_ids))
        for a in agent.actuators
    )
    history = tuple(
        EvoEvent(e.op, tuple(EvoRef(m(r.id), r.kind, r.layer) for r in e.refs))
        for e in agent.evo_hist
    )
    clone = dataclasses.replace(
        agent,
        id=m(agent.id),
        cortex_id=m(agent.cortex_id),
        sensors=sensors,
        neurons=neurons,
        actuators=actuators,
        evo_hist=history,
    )
    return dataclasses.replace(clone, fingerprint=compute_fingerprint(clone))
