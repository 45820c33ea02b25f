"""Topological mutation operators (DXNN2 ``genome_mutator.erl``), plus ``insplice``,
``remove_neuron`` and ``remove_link``.

Every operator respects the ``feedforward`` constraint (links only to strictly later
layers) and keeps every sensor, actuator and neuron connected; one that cannot do so
raises :class:`~actors.genotype.errors.MutationNotApplicable` before changing anything.
"""

from __future__ import annotations

from actors.genotype.edit import NetEdit
from actors.genotype.errors import MutationNotApplicable
from actors.genotype.records import Actuator, Neuron, Sensor

__all__ = [
    "add_actuator",
    "add_actuatorlink",
    "add_inlink",
    "add_neuron",
    "add_outlink",
    "add_sensor",
    "add_sensorlink",
    "insplice",
    "outsplice",
    "remove_link",
    "remove_neuron",
]


def _feedforward(edit: NetEdit) -> bool:
    return edit.base.constraint.connection_architecture == "feedforward"


def _random_neuron(edit: NetEdit) -> Neuron:
    return edit.neurons[edit.pick(list(edit.neurons), "neuron")]


def _targets_after(edit: NetEdit, layer: float) -> list[str]:
    """Neurons a neuron in ``layer`` may feed (DXNN2 ``filter_OutlinkIdPool``)."""
    ff = _feedforward(edit)
    return [nid for nid, n in edit.neurons.items() if not ff or n.layer > layer]


def _sources_before(edit: NetEdit, layer: float) -> list[str]:
    """Neurons a neuron in ``layer`` may take input from (``filter_InlinkIdPool``)."""
    ff = _feedforward(edit)
    return [nid for nid, n in edit.neurons.items() if not ff or n.layer < layer]


def add_outlink(edit: NetEdit) -> None:
    """Link a random neuron to a neuron it does not feed yet."""
    n = _random_neuron(edit)
    taken = set(n.outputs)
    to = edit.pick([t for t in _targets_after(edit, n.layer) if t not in taken], "target")
    edit.link(n.id, to)
    edit.record("add_outlink", n.id, to)


def add_inlink(edit: NetEdit) -> None:
    """Link a random neuron from a sensor or neuron it does not take input from yet."""
    n = _random_neuron(edit)
    taken = set(edit.input_sources(n))
    pool = [*edit.sensors, *_sources_before(edit, n.layer)]
    src = edit.pick([s for s in pool if s not in taken], "source")
    edit.link(src, n.id)
    edit.record("add_inlink", src, n.id)


def add_neuron(edit: NetEdit) -> None:
    """A new neuron in a random existing layer, fed by a random sensor or allowed neuron
    and feeding a random allowed neuron (DXNN2 ``add_neuron``)."""
    layers = edit.layers()
    layer = layers[edit.rng.randrange(len(layers))]
    sources = [*_sources_before(edit, layer), *edit.sensors]
    targets = _targets_after(edit, layer)
    if not sources or not targets:
        raise MutationNotApplicable("no neuron to connect a new neuron in this layer to")
    src = sources[edit.rng.randrange(len(sources))]
    dst = targets[edit.rng.randrange(len(targets))]
    new = edit.new_neuron(layer)
    edit.link(src, new.id)
    edit.link(new.id, dst)
    edit.record("add_neuron", src, new.id, dst)


def _between(edit: NetEdit, low: float, high: float, from_low: bool) -> float:
    """DXNN2 ``get_NewLI``: the existing layer next to ``low`` (``from_low``) or to
    ``high`` if it lies strictly between them, else the midpoint (a new layer)."""
    inner = [li for li in edit.layers() if low < li < high]
    if inner:
        return inner[0] if from_low else inner[-1]
    mid = (low + high) / 2.0
    if not low < mid < high:
        raise MutationNotApplicable("no room for a layer between two adjacent layers")
    return mid


def outsplice(edit: NetEdit) -> None:
    """Put a new neuron on a random forward output link of a random neuron, in the layer
    after the neuron's (a new midpoint layer if the target's layer comes next)."""
    n = _random_neuron(edit)
    forward = [o for o in n.outputs if edit.layer(o) > n.layer]
    o = edit.pick(forward, "forward output")
    mid = edit.new_neuron(_between(edit, n.layer, edit.layer(o), from_low=True))
    edit.splice(n.id, o, mid)
    edit.record("outsplice", n.id, mid.id, o)


def insplice(edit: NetEdit) -> None:
    """Put a new neuron on a random forward input link of a random neuron, in the layer
    before the neuron's (a new midpoint layer if the source's layer comes right before)."""
    n = _random_neuron(edit)
    backward = [s for s in edit.input_sources(n) if edit.layer(s) < n.layer]
    s = edit.pick(backward, "forward input")
    mid = edit.new_neuron(_between(edit, edit.layer(s), n.layer, from_low=False))
    edit.splice(s, n.id, mid)
    edit.record("insplice", s, mid.id, n.id)


def add_sensorlink(edit: NetEdit) -> None:
    """Link a random sensor to a neuron it does not feed yet."""
    s = edit.sensors[edit.pick(list(edit.sensors), "sensor")]
    taken = set(s.fanout_ids)
    to = edit.pick([n for n in edit.neurons if n not in taken], "neuron")
    edit.link(s.id, to)
    edit.record("add_sensorlink", s.id, to)


def add_actuatorlink(edit: NetEdit) -> None:
    """Link a random neuron to a random actuator that still has a free vector element."""
    open_ = [a.id for a in edit.actuators.values() if len(a.fanin_ids) < a.vl]
    a = edit.actuators[edit.pick(open_, "actuator with room")]
    taken = set(a.fanin_ids)
    n = edit.pick([x for x in edit.neurons if x not in taken], "neuron")
    edit.link(n, a.id)
    edit.record("add_actuatorlink", n, a.id)


def add_sensor(edit: NetEdit) -> None:
    """Add a sensor of the morphology the agent does not use yet, feeding a random neuron."""
    used = {(s.name, s.vl, s.params) for s in edit.sensors.values()}
    free = [x for x in edit.base.morphology.all_sensors if (x.name, x.vl, x.params) not in used]
    if not free:
        raise MutationNotApplicable("the agent uses every sensor of its morphology")
    spec = free[edit.rng.randrange(len(free))]
    sid = edit.ids.new("sensor")
    edit.sensors[sid] = Sensor(sid, spec.name, spec.vl, spec.params, edit.generation, ())
    to = edit.pick(list(edit.neurons), "neuron")
    edit.link(sid, to)
    edit.record("add_sensor", sid, to)


def add_actuator(edit: NetEdit) -> None:
    """Add an actuator of the morphology the agent does not use yet, fed by a random neuron."""
    used = {(a.name, a.vl, a.params) for a in edit.actuators.values()}
    morph = edit.base.morphology
    free = [x for x in morph.all_actuators if (x.name, x.vl, x.params) not in used]
    if not free:
        raise MutationNotApplicable("the agent uses every actuator of its morphology")
    spec = free[edit.rng.randrange(len(free))]
    aid = edit.ids.new("actuator")
    edit.actuators[aid] = Actuator(aid, spec.name, spec.vl, spec.params, edit.generation, ())
    src = edit.pick(list(edit.neurons), "neuron")
    edit.link(src, aid)
    edit.record("add_actuator", src, aid)


def _out_count(edit: NetEdit, src: str) -> int:
    if src in edit.sensors:
        return len(edit.sensors[src].fanout_ids)
    return len(edit.neurons[src].outputs)


def _removable(edit: NetEdit, src: str, dst: str) -> bool:
    """Whether cutting ``src`` → ``dst`` leaves both ends connected."""
    if _out_count(edit, src) < 2:
        return False
    if dst in edit.actuators:
        return len(edit.actuators[dst].fanin_ids) >= 2
    t = edit.neurons[dst]
    synaptic = any(i.source == src for i in t.inputs)
    return not synaptic or len(t.inputs) >= 2


def remove_link(edit: NetEdit) -> None:
    """Cut a random link whose removal leaves every element connected (new; DXNN2 only
    sketched ``remove_inlink``/``remove_outlink``)."""
    links = [(s.id, t) for s in edit.sensors.values() for t in s.fanout_ids]
    links += [(n.id, t) for n in edit.neurons.values() for t in n.outputs]
    candidates = [(s, t) for s, t in links if _removable(edit, s, t)]
    if not candidates:
        raise MutationNotApplicable("every link is needed to keep the network connected")
    src, dst = candidates[edit.rng.randrange(len(candidates))]
    edit.record("remove_link", src, dst)
    edit.cutlink(src, dst)


def _neuron_removable(edit: NetEdit, n: Neuron) -> bool:
    for src in edit.input_sources(n):
        if src != n.id and _out_count(edit, src) < 2:
            return False
    for dst in n.outputs:
        if dst == n.id:
            continue
        if dst in edit.actuators:
            if len(edit.actuators[dst].fanin_ids) < 2:
                return False
        else:
            t = edit.neurons[dst]
            if any(i.source == n.id for i in t.inputs) and len(t.inputs) < 2:
                return False
    return True


def remove_neuron(edit: NetEdit) -> None:
    """Delete a random neuron whose removal leaves every other element connected, with
    all its links (new; DXNN2 never implemented it)."""
    if len(edit.neurons) < 2:
        raise MutationNotApplicable("cannot remove the only neuron")
    candidates = [nid for nid, n in edit.neurons.items() if _neuron_removable(edit, n)]
    nid = edit.pick(candidates, "removable neuron")
    n = edit.neurons[nid]
    edit.record("remove_neuron", nid)
    for src in edit.input_sources(n):
        if src != nid:
            edit.cutlink(src, nid)
    for dst in n.outputs:
        if dst != nid:
            edit.cutlink(nid, dst)
    del edit.neurons[nid]
