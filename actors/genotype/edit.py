"""A mutable working copy of a genotype, with DXNN's link primitives.

Mutation operators and the constructor edit a :class:`NetEdit` and freeze it into a new
:class:`~actors.genotype.records.Agent`. The records inside stay immutable; the edit only
swaps records in its dictionaries, so :meth:`NetEdit.snapshot` / :meth:`NetEdit.restore`
are cheap and an operator that turns out not to apply leaves no trace.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from actors.genotype.errors import MutationNotApplicable
from actors.genotype.functions import PLASTICITY_RULES
from actors.genotype.graph import compute_fingerprint
from actors.genotype.ids import IdFactory
from actors.genotype.records import (
    ACTUATOR_LAYER,
    SENSOR_LAYER,
    Actuator,
    Agent,
    EvoEvent,
    EvoRef,
    InputLink,
    Neuron,
    Sensor,
    Weight,
)

__all__ = ["NetEdit", "new_weight"]

_Snapshot = tuple[dict[str, Sensor], dict[str, Neuron], dict[str, Actuator], int, dict[str, Any]]


def new_weight(rng: random.Random, pf: str) -> Weight:
    """A fresh weight, uniform in [-0.5, 0.5), with plasticity parameters for rule ``pf``.

    (DXNN2's ``create_NeuralWeightsP`` draws ``random:uniform()/2``, i.e. only [0, 0.5),
    while its documentation says -0.5..0.5; this follows the documentation.)
    """
    return Weight(w=rng.random() - 0.5, params=PLASTICITY_RULES[pf].weight_parameters(rng))


class NetEdit:
    """Working copy of ``agent``; ``generation`` stamps every element it modifies."""

    def __init__(self, agent: Agent, rng: random.Random, ids: IdFactory, generation: int) -> None:
        self.base = agent
        self.rng = rng
        self.ids = ids
        self.generation = generation
        self.sensors: dict[str, Sensor] = {s.id: s for s in agent.sensors}
        self.neurons: dict[str, Neuron] = {n.id: n for n in agent.neurons}
        self.actuators: dict[str, Actuator] = {a.id: a for a in agent.actuators}
        self.history: list[EvoEvent] = list(agent.evo_hist)
        self.agent_changes: dict[str, Any] = {}

    # -- transactions -------------------------------------------------------------------
    def snapshot(self) -> _Snapshot:
        return (
            dict(self.sensors),
            dict(self.neurons),
            dict(self.actuators),
            len(self.history),
            dict(self.agent_changes),
        )

    def restore(self, snap: _Snapshot) -> None:
        self.sensors, self.neurons, self.actuators = dict(snap[0]), dict(snap[1]), dict(snap[2])
        del self.history[snap[3] :]
        self.agent_changes = dict(snap[4])

    def freeze(self) -> Agent:
        """The edited genotype as a new :class:`Agent` with its fingerprint recomputed."""
        neurons = tuple(sorted(self.neurons.values(), key=lambda n: (n.layer, n.id)))
        agent = dataclasses.replace(
            self.base,
            sensors=tuple(self.sensors.values()),
            neurons=neurons,
            actuators=tuple(self.actuators.values()),
            evo_hist=tuple(self.history),
            **self.agent_changes,
        )
        return dataclasses.replace(agent, fingerprint=compute_fingerprint(agent))

    # -- queries ------------------------------------------------------------------------
    def layer(self, element_id: str) -> float:
        if element_id in self.neurons:
            return self.neurons[element_id].layer
        if element_id in self.sensors:
            return SENSOR_LAYER
        if element_id in self.actuators:
            return ACTUATOR_LAYER
        raise KeyError(element_id)

    def kind(self, element_id: str) -> str:
        if element_id in self.neurons:
            return "neuron"
        if element_id in self.sensors:
            return "sensor"
        return "actuator"

    def ref(self, element_id: str) -> EvoRef:
        return EvoRef(id=element_id, kind=self.kind(element_id), layer=self.layer(element_id))

    def record(self, op: str, *element_ids: str) -> None:
        self.history.append(EvoEvent(op=op, refs=tuple(self.ref(e) for e in element_ids)))

    def layers(self) -> list[float]:
        """Occupied neuron layers, ascending (DXNN2 ``pattern`` keys)."""
        return sorted({n.layer for n in self.neurons.values()})

    def pick(self, seq: list[str] | tuple[str, ...], what: str) -> str:
        if not seq:
            raise MutationNotApplicable(f"no {what} to choose from")
        return seq[self.rng.randrange(len(seq))]

    def source_vl(self, source: str) -> int:
        return self.sensors[source].vl if source in self.sensors else 1

    def input_sources(self, n: Neuron) -> list[str]:
        return [i.source for i in n.inputs] + [i.source for i in n.mod_inputs]

    def fresh_link(self, source: str, pf: str) -> InputLink:
        return InputLink(
            source=source,
            weights=tuple(new_weight(self.rng, pf) for _ in range(self.source_vl(source))),
        )

    # -- record updates -----------------------------------------------------------------
    def set_neuron(self, n: Neuron, **changes: Any) -> Neuron:
        """Replace neuron ``n`` with ``changes`` applied; recomputes ``ro_ids`` if the
        outputs change and stamps the generation."""
        if "outputs" in changes:
            outputs = changes["outputs"]
            changes["ro_ids"] = tuple(
                o for o in outputs if o in self.neurons and self.neurons[o].layer <= n.layer
            )
        new = dataclasses.replace(n, generation=self.generation, **changes)
        self.neurons[n.id] = new
        return new

    def new_neuron(self, layer: float) -> Neuron:
        """An unconnected neuron in ``layer`` with functions drawn from the constraint
        (DXNN2 ``construct_Neuron``); it must be linked before the edit is frozen."""
        c = self.base.constraint
        rng = self.rng
        pf = c.neural_pfns[rng.randrange(len(c.neural_pfns))]
        n = Neuron(
            id=self.ids.new("neuron"),
            layer=layer,
            generation=self.generation,
            af=c.neural_afs[rng.randrange(len(c.neural_afs))],
            pf=pf,
            pf_params=PLASTICITY_RULES[pf].neural_parameters(rng),
            aggr=c.neural_aggr_fs[rng.randrange(len(c.neural_aggr_fs))],
            inputs=(),
            mod_inputs=(),
            bias=None,
            mod_bias=None,
            outputs=(),
            ro_ids=(),
        )
        self.neurons[n.id] = n
        return n

    # -- links (DXNN2 link_FromElementToElement / cutlink_FromElementToElement) ---------
    def link(self, src: str, dst: str) -> None:
        """Connect ``src`` → ``dst``: sensor→neuron, neuron→neuron or neuron→actuator.

        A neuron target takes the link on its modulatory inputs with probability 1/2 when
        its rule is ``neuromodulation`` and it already has a synaptic input (DXNN2
        ``link_ToNeuron``); fresh weights are uniform in ±0.5.
        """
        if dst in self.actuators:
            a = self.actuators[dst]
            if src not in self.neurons or src in a.fanin_ids or len(a.fanin_ids) >= a.vl:
                raise MutationNotApplicable(f"cannot link {src} to actuator {dst}")
            self._add_output(src, dst)
            self.actuators[dst] = dataclasses.replace(
                a, fanin_ids=(*a.fanin_ids, src), generation=self.generation
            )
            return
        target = self.neurons.get(dst)
        if target is None or src in self.input_sources(target):
            raise MutationNotApplicable(f"cannot link {src} to {dst}")
        if src in self.sensors:
            s = self.sensors[src]
            self.sensors[src] = dataclasses.replace(
                s, fanout_ids=(*s.fanout_ids, dst), generation=self.generation
            )
        elif src in self.neurons:
            self._add_output(src, dst)
        else:
            raise MutationNotApplicable(f"cannot link from {src}")
        target = self.neurons[dst]  # re-read: src may be dst (a self-loop)
        link = self.fresh_link(src, target.pf)
        if target.inputs and target.pf == "neuromodulation" and self.rng.randrange(2) == 1:
            self.set_neuron(target, mod_inputs=(*target.mod_inputs, link))
        else:
            self.set_neuron(target, inputs=(*target.inputs, link))

    def _add_output(self, src: str, dst: str) -> None:
        n = self.neurons[src]
        if dst in n.outputs:
            raise MutationNotApplicable(f"{src} already feeds {dst}")
        self.set_neuron(n, outputs=(*n.outputs, dst))

    def cutlink(self, src: str, dst: str) -> None:
        """Remove the link ``src`` → ``dst`` from both ends."""
        if src in self.sensors:
            s = self.sensors[src]
            self.sensors[src] = dataclasses.replace(
                s, fanout_ids=tuple(x for x in s.fanout_ids if x != dst), generation=self.generation
            )
        else:
            n = self.neurons[src]
            self.set_neuron(n, outputs=tuple(x for x in n.outputs if x != dst))
        if dst in self.actuators:
            a = self.actuators[dst]
            self.actuators[dst] = dataclasses.replace(
                a, fanin_ids=tuple(x for x in a.fanin_ids if x != src), generation=self.generation
            )
        else:
            t = self.neurons[dst]
            self.set_neuron(
                t,
                inputs=tuple(i for i in t.inputs if i.source != src),
                mod_inputs=tuple(i for i in t.mod_inputs if i.source != src),
            )

    def splice(self, src: str, dst: str, mid: Neuron) -> None:
        """Replace the link ``src`` → ``dst`` by ``src`` → ``mid`` → ``dst``, keeping the
        positions: ``mid`` takes ``dst``'s place among ``src``'s outputs and ``src``'s place
        among ``dst``'s inputs (so an actuator's vector order is kept). ``mid`` must be new
        and unconnected; both new links get fresh weights."""
        g = self.generation
        if src in self.sensors:
            s = self.sensors[src]
            fan = tuple(mid.id if x == dst else x for x in s.fanout_ids)
            self.sensors[src] = dataclasses.replace(s, fanout_ids=fan, generation=g)
        else:
            n = self.neurons[src]
            self.set_neuron(n, outputs=tuple(mid.id if x == dst else x for x in n.outputs))
        mid = self.neurons[mid.id]
        self.set_neuron(mid, inputs=(self.fresh_link(src, mid.pf),), outputs=(dst,))
        if dst in self.actuators:
            a = self.actuators[dst]
            fanin = tuple(mid.id if x == src else x for x in a.fanin_ids)
            self.actuators[dst] = dataclasses.replace(a, fanin_ids=fanin, generation=g)
        else:
            t = self.neurons[dst]
            new = self.fresh_link(mid.id, t.pf)
            self.set_neuron(
                t,
                inputs=tuple(new if i.source == src else i for i in t.inputs),
                mod_inputs=tuple(new if i.source == src else i for i in t.mod_inputs),
            )
