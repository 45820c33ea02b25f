"""Whole-genotype functions: invariant checking, fingerprint, and the evaluation view.

:func:`validate_agent` is the single definition of a well-formed genotype (the codec runs
it on every decode; the property tests run it after every mutation).
:func:`network_view` is what a compiler of the phenotype walks.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from actors.genotype.constraint import (
    MUTATION_OPERATOR_NAMES,
    SEARCH_PARAMETER_MUTATORS,
    ParamValue,
)
from actors.genotype.errors import InvalidGenotypeError
from actors.genotype.functions import (
    ACTIVATION_FUNCTIONS,
    AGGREGATION_FUNCTIONS,
    HEREDITY_TYPES,
    PLASTICITY_RULES,
    TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS,
    TUNING_DURATION_FUNCTIONS,
    TUNING_SELECTION_FUNCTIONS,
)
from actors.genotype.ids import ID_PATTERN
from actors.genotype.records import (
    ACTUATOR_LAYER,
    SENSOR_LAYER,
    Agent,
    Fingerprint,
    InputLink,
    Neuron,
    Sensor,
    TopologySummary,
    Weight,
)

__all__ = [
    "NetworkView",
    "ViewActuator",
    "ViewInput",
    "ViewNeuron",
    "compute_fingerprint",
    "network_view",
    "validate_agent",
]

_EVO_OPS = frozenset(MUTATION_OPERATOR_NAMES) | frozenset(SEARCH_PARAMETER_MUTATORS)
_KINDS = {"sensor": "s", "neuron": "n", "actuator": "a"}


def compute_fingerprint(agent: Agent) -> Fingerprint:
    """DXNN2 ``update_fingerprint``: the generalized pattern, evolution history, sensors,
    actuators and topology summary of ``agent`` (its stored fingerprint is ignored)."""
    counts: Counter[float] = Counter(n.layer for n in agent.neurons)
    afs: Counter[str] = Counter(n.af for n in agent.neurons)
    topology = TopologySummary(
        type=agent.encoding_type,
        tot_neurons=len(agent.neurons),
        tot_n_ils=sum(len(n.inputs) + len(n.mod_inputs) for n in agent.neurons),
        tot_n_ols=sum(len(n.outputs) for n in agent.neurons),
        tot_n_ros=sum(len(n.ro_ids) for n in agent.neurons),
        af_distribution=tuple(sorted(afs.items())),
    )
    return Fingerprint(
        pattern=tuple(sorted(counts.items())),
        evo_hist=tuple((e.op, tuple((r.layer, r.kind) for r in e.refs)) for e in agent.evo_hist),
        sensors=tuple((s.name, s.vl) for s in agent.sensors),
        actuators=tuple((a.name, a.vl) for a in agent.actuators),
        topology=topology,
    )


def _fail(msg: str) -> InvalidGenotypeError:
    return InvalidGenotypeError(msg)


def _finite(x: object, what: str) -> None:
    if type(x) is not float or not math.isfinite(x):
        raise _fail(f"{what}: {x!r} is not a finite float")


def _check_id(x: object, prefix: str, what: str) -> None:
    if type(x) is not str or not ID_PATTERN.match(x) or x[0] != prefix:
        raise _fail(f"{what}: {x!r} is not a {prefix}- id")


def _check_weight(w: Weight, plen: int, what: str, values_checked: bool) -> None:
    if len(w.params) != plen:
        raise _fail(f"{what}: {len(w.params)} plasticity parameters, rule needs {plen}")
    if not values_checked:
        for x in (w.w, w.dw, w.lr, *w.params):
            _finite(x, what)


def validate_agent(agent: Agent, *, values_checked: bool = False) -> None:
    """Raise :class:`InvalidGenotypeError` unless ``agent`` holds every invariant listed in
    :mod:`actors.genotype.records` (plus known names, id syntax, finite floats, sorted
    neurons and a fingerprint equal to :func:`compute_fingerprint`).

    ``values_checked=True`` skips the per-weight float checks, for a caller (the codec)
    that has already type-checked every value."""
    _check_id(agent.id, "g", "agent id")
    _check_id(agent.cortex_id, "c", "cortex id")
    if agent.encoding_type != "neural":
        raise _fail("only the neural encoding is supported")
    for pid in agent.parent_ids:
        _check_id(pid, "g", "parent id")
    if type(agent.generation) is not int or agent.generation < 0:
        raise _fail("generation must be an int >= 0")
    _check_search_parameters(agent)
    ff = agent.constraint.connection_architecture == "feedforward"

    sensors = {s.id: s for s in agent.sensors}
    neurons = {n.id: n for n in agent.neurons}
    actuators = {a.id: a for a in agent.actuators}
    all_ids = [agent.id, agent.cortex_id, *sensors, *neurons, *actuators]
    if len(set(all_ids)) != len(all_ids) or len(sensors) != len(agent.sensors):
        raise _fail("duplicate ids")
    if len(neurons) != len(agent.neurons) or len(actuators) != len(agent.actuators):
        raise _fail("duplicate ids")
    if not sensors or not neurons or not actuators:
        raise _fail("an agent needs at least one sensor, neuron and actuator")
    order = [(n.layer, n.id) for n in agent.neurons]
    if order != sorted(order):
        raise _fail("neurons are not sorted by (layer, id)")

    morph = agent.morphology
    sensor_specs = {(s.name, s.vl, s.params) for s in morph.all_sensors}
    actuator_specs = {(a.name, a.vl, a.params) for a in morph.all_actuators}
    used: set[tuple[object, ...]] = set()
    forward: set[tuple[str, str]] = set()  # (source, target) as recorded by the source
    for s in agent.sensors:
        _check_id(s.id, "s", "sensor id")
        key = (s.name, s.vl, s.params)
        if key not in sensor_specs or key in used:
            raise _fail(f"sensor {s.id}: not a (distinct) sensor of the morphology")
        used.add(key)
        if not s.fanout_ids or len(set(s.fanout_ids)) != len(s.fanout_ids):
            raise _fail(f"sensor {s.id}: fanout must be non-empty and distinct")
        for t in s.fanout_ids:
            if t not in neurons:
                raise _fail(f"sensor {s.id}: fanout {t!r} is not a neuron")
            forward.add((s.id, t))
    used.clear()
    backward: set[tuple[str, str]] = set()  # (source, target) as recorded by the target
    for a in agent.actuators:
        _check_id(a.id, "a", "actuator id")
        key = (a.name, a.vl, a.params)
        if key not in actuator_specs or key in used:
            raise _fail(f"actuator {a.id}: not a (distinct) actuator of the morphology")
        used.add(key)
        if not 1 <= len(a.fanin_ids) <= a.vl or len(set(a.fanin_ids)) != len(a.fanin_ids):
            raise _fail(f"actuator {a.id}: needs 1..vl distinct fanin ids")
        for f in a.fanin_ids:
            if f not in neurons:
                raise _fail(f"actuator {a.id}: fanin {f!r} is not a neuron")
            backward.add((f, a.id))

    def source_vl(src: str, where: str) -> int:
        if src in sensors:
            return sensors[src].vl
        if src in neurons:
            return 1
        raise _fail(f"{where}: input source {src!r} does not exist")

    for n in agent.neurons:
        where = f"neuron {n.id}"
        _check_id(n.id, "n", "neuron id")
        _finite(n.layer, f"{where} layer")
        if not SENSOR_LAYER < n.layer < ACTUATOR_LAYER:
            raise _fail(f"{where}: layer {n.layer} outside (-1, 1)")
        if n.af not in ACTIVATION_FUNCTIONS or n.aggr not in AGGREGATION_FUNCTIONS:
            raise _fail(f"{where}: unknown activation or aggregation function")
        rule = PLASTICITY_RULES.get(n.pf)
        if rule is None:
            raise _fail(f"{where}: unknown plasticity function {n.pf!r}")
        if len(n.pf_params) != rule.neural_len:
            raise _fail(f"{where}: {n.pf} needs {rule.neural_len} neural parameters")
        for p in n.pf_params:
            _finite(p, f"{where} pf_params")
        for b in (n.bias, n.mod_bias):
            if b is not None:
                _check_weight(b, rule.weight_len, f"{where} bias", values_checked)
        if not n.inputs:
            raise _fail(f"{where}: no synaptic input")
        seen: set[str] = set()
        link: InputLink
        for link in n.inputs + n.mod_inputs:
            if link.source in seen:
                raise _fail(f"{where}: two inputs from {link.source}")
            seen.add(link.source)
            if len(link.weights) != source_vl(link.source, where):
                raise _fail(f"{where}: weights from {link.source} do not match its vl")
            for w in link.weights:
                _check_weight(w, rule.weight_len, f"{where} weight", values_checked)
            backward.add((link.source, n.id))
        if not n.outputs or len(set(n.outputs)) != len(n.outputs):
            raise _fail(f"{where}: outputs must be non-empty and distinct")
        ro: list[str] = []
        for o in n.outputs:
            if o in neurons:
                if neurons[o].layer <= n.layer:
                    ro.append(o)
            elif o not in actuators:
                raise _fail(f"{where}: output {o!r} does not exist")
            forward.add((n.id, o))
        if tuple(ro) != n.ro_ids:
            raise _fail(f"{where}: ro_ids {n.ro_ids} differ from recurrent outputs {ro}")
        if ff and ro:
            raise _fail(f"{where}: recurrent link in a feedforward agent")
    if forward != backward:
        diff = sorted(forward ^ backward)[:3]
        raise _fail(f"links recorded on one end only, e.g. {diff}")

    for e in agent.evo_hist:
        if e.op not in _EVO_OPS:
            raise _fail(f"evo_hist: unknown operator {e.op!r}")
        for r in e.refs:
            prefix = _KINDS.get(r.kind)
            if prefix is None:
                raise _fail(f"evo_hist: unknown element kind {r.kind!r}")
            _check_id(r.id, prefix, "evo_hist ref")
            _finite(r.layer, "evo_hist layer")
    if agent.fitness is not None:
        _finite(agent.fitness, "fitness")
    if type(agent.innovation_factor) is not int:
        raise _fail("innovation_factor must be an int")
    if agent.fingerprint != compute_fingerprint(agent):
        raise _fail("fingerprint does not match the genotype")


def _check_search_parameters(agent: Agent) -> None:
    if agent.tuning_selection_f not in TUNING_SELECTION_FUNCTIONS:
        raise _fail(f"unknown tuning selection function {agent.tuning_selection_f!r}")
    if agent.heredity_type not in HEREDITY_TYPES:
        raise _fail(f"unknown heredity type {agent.heredity_type!r}")
    _finite(agent.annealing_parameter, "annealing_parameter")
    _finite(agent.perturbation_range, "perturbation_range")
    if not 0.0 < agent.annealing_parameter <= 1.0 or agent.perturbation_range <= 0.0:
        raise _fail("annealing_parameter must be in (0, 1], perturbation_range > 0")
    name, param = agent.tuning_duration_f
    if name not in TUNING_DURATION_FUNCTIONS:
        raise _fail(f"unknown tuning duration function {name!r}")
    _finite(param, "tuning_duration_f parameter")
    name, param = agent.tot_topological_mutations_f
    if name not in TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS:
        raise _fail(f"unknown mutation count function {name!r}")
    _finite(param, "tot_topological_mutations_f parameter")
    if param <= 0.0:
        raise _fail("mutation count parameter must be > 0")
    names = [op for op, _ in agent.mutation_operators]
    if not names or len(set(names)) != len(names):
        raise _fail("mutation_operators must be non-empty and distinct")
    for op, weight in agent.mutation_operators:
        if op not in MUTATION_OPERATOR_NAMES:
            raise _fail(f"unknown mutation operator {op!r}")
        _finite(weight, "mutation operator weight")
        if weight <= 0.0:
            raise _fail("mutation operator weights must be > 0")


@dataclass(frozen=True, slots=True)
class ViewInput:
    """One input of a neuron as a compiler sees it.

    ``recurrent`` is true for an input from a neuron in the same or a later layer: it
    reads that neuron's output from the *previous* step (0.0 before the first step), as
    DXNN's zero-initialised recurrent signals do. ``weights[k]`` multiplies element k of the
    source's output vector; ``params[k]`` are that weight's plasticity parameters.
    """

    source: str
    kind: str
    recurrent: bool
    weights: tuple[float, ...]
    params: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class ViewNeuron:
    """A neuron in evaluation order, with its inputs resolved (see :class:`ViewInput`)."""

    id: str
    layer: float
    af: str
    pf: str
    pf_params: tuple[float, ...]
    aggr: str
    inputs: tuple[ViewInput, ...]
    mod_inputs: tuple[ViewInput, ...]
    bias: float | None
    bias_params: tuple[float, ...]
    mod_bias: float | None
    mod_bias_params: tuple[float, ...]
    outputs: tuple[str, ...]
    ro_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ViewActuator:
    """An actuator: its input vector is ``[output(f) for f in fanin_ids]``, padded with 0.0
    to ``vl`` elements."""

    id: str
    name: str
    vl: int
    params: tuple[ParamValue, ...]
    fanin_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NetworkView:
    """The network in evaluation order: evaluating ``neurons`` front to back, every
    non-recurrent input is already computed for the current step. ``sensors`` and
    ``actuators`` are in the agent's (morphology) order."""

    sensors: tuple[Sensor, ...]
    neurons: tuple[ViewNeuron, ...]
    actuators: tuple[ViewActuator, ...]


def network_view(agent: Agent) -> NetworkView:
    """Resolve ``agent`` into a :class:`NetworkView` (neurons sorted by (layer, id))."""
    layers = {n.id: n.layer for n in agent.neurons}

    def view_input(n: Neuron, link: InputLink) -> ViewInput:
        is_neuron = link.source in layers
        return ViewInput(
            source=link.source,
            kind="neuron" if is_neuron else "sensor",
            recurrent=is_neuron and layers[link.source] >= n.layer,
            weights=tuple(w.w for w in link.weights),
            params=tuple(w.params for w in link.weights),
        )

    neurons = tuple(
        ViewNeuron(
            id=n.id,
            layer=n.layer,
            af=n.af,
            pf=n.pf,
            pf_params=n.pf_params,
            aggr=n.aggr,
            inputs=tuple(view_input(n, i) for i in n.inputs),
            mod_inputs=tuple(view_input(n, i) for i in n.mod_inputs),
            bias=None if n.bias is None else n.bias.w,
            bias_params=() if n.bias is None else n.bias.params,
            mod_bias=None if n.mod_bias is None else n.mod_bias.w,
            mod_bias_params=() if n.mod_bias is None else n.mod_bias.params,
            outputs=n.outputs,
            ro_ids=n.ro_ids,
        )
        for n in agent.neurons
    )
    actuators = tuple(
        ViewActuator(id=a.id, name=a.name, vl=a.vl, params=a.params, fanin_ids=a.fanin_ids)
        for a in agent.actuators
    )
    return NetworkView(sensors=agent.sensors, neurons=neurons, actuators=actuators)
