"""The wiring plan of an actor phenotype: which elements to start, with which arguments, and
every link between them (pure; computed from a :class:`NetworkSpec` and a morphology).

Element ids: ``cortex``, ``scape``, ``sensor:<name>``, ``neuron:<id>``, ``actuator:<name>``.
A link ``(target element, slot, recurrent)`` from a source element goes to a neuron's input
``slot`` (its input index) or to an actuator's source position ``slot``; ``recurrent`` links
are primed with a zero signal at start and after every reset (DXNN's ``ro_pids``). A neuron
fed only by recurrent links also gets a link from the clock sensor to its clock slot (one past
its last input; see :class:`~actors.phenotype.elements_core.NeuronCore`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.neural.plasticity import HEREDITY_TYPES
from actors.neural.spec import NetworkSpec
from actors.phenotype.elements_core import clock_source
from actors.phenotype.errors import PhenotypeUsageError
from morphologies.base import Morphology, MorphologyError
from morphologies.registry import get_morphology

__all__ = ["Element", "Plan", "make_plan"]


@dataclass(frozen=True, slots=True)
class Element:
    """One element to start: ``kind`` (cortex, scape, sensor, neuron, actuator), its id and
    the args of its actor's ``on_start``."""

    kind: str
    id: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Plan:
    elements: tuple[Element, ...]
    cortex_id: str
    scape_id: str | None
    sensor_ids: tuple[str, ...]
    neuron_ids: tuple[str, ...]
    actuator_ids: tuple[str, ...]
    links: dict[str, tuple[tuple[str, int, bool], ...]]
    neuron_element: dict[str, str]
    morphology: Morphology | None = field(default=None)

    @property
    def signals_per_cycle(self) -> int:
        """Messages of one hand-stepped cycle: step request and reply, one sync per sensor,
        every link, one sync per actuator."""
        links = sum(len(v) for v in self.links.values())
        return 2 + len(self.sensor_ids) + links + len(self.actuator_ids)


def make_plan(spec: NetworkSpec, morphology: str | None, heredity: str = "darwinian") -> Plan:
    """The plan for ``spec``; with ``morphology``, check that the spec's sensors exist in it
    with the same vector lengths and that its actuators are the morphology's."""
    if heredity not in HEREDITY_TYPES:
        raise PhenotypeUsageError(f"heredity must be one of {HEREDITY_TYPES}, got {heredity!r}")
    morph = None
    scape_index: dict[str, int] = {}
    if morphology is not None:
        try:
            morph = get_morphology(morphology)
        except MorphologyError as exc:
            raise PhenotypeUsageError(str(exc)) from None
        vls = {s.name: s.vl for s in morph.sensors}
        for s in spec.sensors:
            if vls.get(s.name) != s.vl:
                raise PhenotypeUsageError(
                    f"sensor {s.name!r} (vl {s.vl}) is not a sensor of {morph.name!r}"
                )
        names = [a.name for a in morph.actuators]
        if sorted(a.name for a in spec.actuators) != sorted(names):
            raise PhenotypeUsageError(f"the spec's actuators must be those of {morph.name!r}")
        scape_index = {n: i for i, n in enumerate(names)}
    sid = {s.name: f"sensor:{s.name}" for s in spec.sensors}
    nid = {n.id: f"neuron:{n.id}" for n in spec.neurons}
    aid = [f"actuator:{a.name}" for a in spec.actuators]
    links: dict[str, list[tuple[str, int, bool]]] = {}
    for n in spec.neurons:
        for slot, inp in enumerate(n.inputs):
            src = sid.get(inp.source) or nid[inp.source]
            links.setdefault(src, []).append((nid[n.id], slot, inp.recurrent))
        if all(inp.recurrent for inp in n.inputs):  # the clock slot (NeuronCore.clock_slot)
            links.setdefault(sid[clock_source(spec)], []).append((nid[n.id], len(n.inputs), False))
    for a, el in zip(spec.actuators, aid, strict=True):
        for slot, src in enumerate(a.sources):
            links.setdefault(nid[src], []).append((el, slot, False))
    elements = [Element("cortex", "cortex", (len(spec.actuators),))]
    if morph is not None:
        elements.append(Element("scape", "scape", (morph.name, len(spec.actuators))))
    elements += [Element("sensor", sid[s.name], (s.name,)) for s in spec.sensors]
    elements += [Element("neuron", nid[n.id], (n, heredity)) for n in spec.neurons]
    elements += [
        Element("actuator", el, (a.name, i, len(a.sources), scape_index.get(a.name, -1)))
        for i, (a, el) in enumerate(zip(spec.actuators, aid, strict=True))
    ]
    return Plan(
        elements=tuple(elements),
        cortex_id="cortex",
        scape_id="scape" if morph is not None else None,
        sensor_ids=tuple(sid[s.name] for s in spec.sensors),
        neuron_ids=tuple(nid[n.id] for n in spec.neurons),
        actuator_ids=tuple(aid),
        links={k: tuple(v) for k, v in links.items()},
        neuron_element=nid,
        morphology=morph,
    )
