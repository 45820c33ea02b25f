"""The genotype records, mirroring DXNN2 ``records.hrl``.

All records are frozen, slotted dataclasses holding tuples, so a genotype is an immutable
value: mutation operators work on a copy and return a new :class:`Agent`, sharing the
untouched records with the old one.

Ids are strings (``"<kind>-<16 hex digits>"``) drawn from the caller's
:class:`random.Random` (see :mod:`actors.genotype.ids`), never from the clock. Layer
indices follow DXNN: sensors sit at -1, actuators at +1, neurons strictly between; a new
layer between two others takes the midpoint of their indices.

Structural invariants (checked by :func:`actors.genotype.validate.validate_agent`):

* every id referenced exists, and links are recorded on both ends: a source lists the
  target in ``outputs``/``fanout_ids`` exactly when the target lists the source among its
  ``inputs``/``mod_inputs``/``fanin_ids``;
* ``ro_ids`` are exactly the neuron outputs to the same or an earlier layer;
* a ``feedforward`` agent has no such (recurrent) link;
* every sensor feeds at least one neuron, every actuator is fed by 1..vl neurons, every
  neuron has at least one synaptic input and at least one output;
* the weight list from a source has the source's vector length (sensor ``vl``, neuron 1),
  and every plasticity parameter list has the shape its rule requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from actors.genotype.constraint import Constraint, MorphologySpec, ParamValue

if TYPE_CHECKING:
    from actors.genotype.network import AgentNetwork

__all__ = [
    "ACTUATOR_LAYER",
    "SENSOR_LAYER",
    "Actuator",
    "Agent",
    "Cortex",
    "EvoEvent",
    "EvoRef",
    "Fingerprint",
    "InputLink",
    "Neuron",
    "Population",
    "Sensor",
    "Specie",
    "Stat",
    "TopologySummary",
    "Trace",
    "Weight",
]

SENSOR_LAYER = -1.0
ACTUATOR_LAYER = 1.0


@dataclass(frozen=True, slots=True)
class Weight:
    """One synaptic weight: value ``w``, previous change ``dw``, learning rate ``lr`` and the
    per-weight plasticity parameters ``params`` (shape fixed by the neuron's rule)."""

    w: float
    dw: float = 0.0
    lr: float = 0.1
    params: tuple[float, ...] = ()

    #: encoded as a positional array ``[w, dw, lr, params]`` (weights dominate the size)
    ENCODE_AS_ARRAY: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class InputLink:
    """The weights from one source (a sensor or a neuron), one per source vector element."""

    source: str
    weights: tuple[Weight, ...]

    ENCODE_AS_ARRAY: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Neuron:
    """A neuron (DXNN2 ``#neuron{}``).

    ``inputs`` are the synaptic inputs in order, ``mod_inputs`` the modulatory ones (their
    aggregated signal modulates plasticity); ``bias`` / ``mod_bias`` are optional bias weights
    on each. ``outputs`` lists the neurons and actuators fed by this neuron; ``ro_ids`` the
    subset of neuron outputs in the same or an earlier layer (recurrent links).
    """

    id: str
    layer: float
    generation: int
    af: str
    pf: str
    pf_params: tuple[float, ...]
    aggr: str
    inputs: tuple[InputLink, ...]
    mod_inputs: tuple[InputLink, ...]
    bias: Weight | None
    mod_bias: Weight | None
    outputs: tuple[str, ...]
    ro_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sensor:
    """A sensor (DXNN2 ``#sensor{}``): produces a vector of ``vl`` values per step."""

    id: str
    name: str
    vl: int
    params: tuple[ParamValue, ...]
    generation: int
    fanout_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Actuator:
    """An actuator (DXNN2 ``#actuator{}``): consumes the outputs of ``fanin_ids`` in order,
    one value each, as a vector of length ``vl`` (missing trailing elements read 0.0)."""

    id: str
    name: str
    vl: int
    params: tuple[ParamValue, ...]
    generation: int
    fanin_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cortex:
    """The cortex record (DXNN2 ``#cortex{}``), a view derived from an :class:`Agent`."""

    id: str
    agent_id: str
    sensor_ids: tuple[str, ...]
    neuron_ids: tuple[str, ...]
    actuator_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EvoRef:
    """An element an operator touched: its id, kind (sensor|neuron|actuator) and layer."""

    id: str
    kind: str
    layer: float

    ENCODE_AS_ARRAY: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class EvoEvent:
    """One applied mutation operator (an entry of DXNN2 ``evo_hist``)."""

    op: str
    refs: tuple[EvoRef, ...]

    ENCODE_AS_ARRAY: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class TopologySummary:
    """DXNN2 ``#topology_summary{}``: counts of neurons, input links, outputs, recurrent
    outputs, and the activation function distribution as sorted ``(name, count)`` pairs."""

    type: str
    tot_neurons: int
    tot_n_ils: int
    tot_n_ols: int
    tot_n_ros: int
    af_distribution: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """DXNN2 agent fingerprint: the genotype with unique ids generalized away.

    ``pattern`` is ``(layer, neuron count)`` per layer; ``evo_hist`` the operators applied
    with ``(layer, kind)`` of each element touched (oldest first); ``sensors`` /
    ``actuators`` are ``(name, vl)`` pairs in the agent's order.
    """

    pattern: tuple[tuple[float, int], ...]
    evo_hist: tuple[tuple[str, tuple[tuple[float, str], ...]], ...]
    sensors: tuple[tuple[str, int], ...]
    actuators: tuple[tuple[str, int], ...]
    topology: TopologySummary


@dataclass(frozen=True, slots=True)
class Agent:
    """A complete genotype (DXNN2 ``#agent{}`` with its cortex, sensors, neurons, actuators).

    ``neurons`` are kept sorted by ``(layer, id)``, which is also an evaluation order;
    ``sensors`` / ``actuators`` keep the order they were added in (the order of the
    morphology's vectors). ``evo_hist`` is oldest first. ``parent_ids`` is the lineage
    (the agents this one was derived from). The search parameters (``tuning_selection_f``
    … ``heredity_type``) are evolved by the search-parameter mutators.
    """

    id: str
    encoding_type: str
    generation: int
    population_id: str | None
    specie_id: str | None
    parent_ids: tuple[str, ...]
    cortex_id: str
    morphology: MorphologySpec
    constraint: Constraint
    sensors: tuple[Sensor, ...]
    neurons: tuple[Neuron, ...]
    actuators: tuple[Actuator, ...]
    evo_hist: tuple[EvoEvent, ...]
    fitness: float | None
    innovation_factor: int
    tuning_selection_f: str
    annealing_parameter: float
    tuning_duration_f: tuple[str, float]
    perturbation_range: float
    mutation_operators: tuple[tuple[str, float], ...]
    tot_topological_mutations_f: tuple[str, float]
    heredity_type: str
    fingerprint: Fingerprint

    #: derived from the rest; the codec leaves it out and recomputes it on decode
    DERIVED_FIELDS: ClassVar[tuple[str, ...]] = ("fingerprint",)

    @property
    def cortex(self) -> Cortex:
        return Cortex(
            id=self.cortex_id,
            agent_id=self.id,
            sensor_ids=tuple(s.id for s in self.sensors),
            neuron_ids=tuple(n.id for n in self.neurons),
            actuator_ids=tuple(a.id for a in self.actuators),
        )

    @property
    def pattern(self) -> tuple[tuple[float, tuple[str, ...]], ...]:
        """DXNN2 ``pattern``: ``(layer, neuron ids)`` for each occupied layer, ascending."""
        layers: dict[float, list[str]] = {}
        for n in self.neurons:
            layers.setdefault(n.layer, []).append(n.id)
        return tuple((li, tuple(ids)) for li, ids in sorted(layers.items()))

    def size(self) -> tuple[int, int]:
        """``(neurons, links)``; links count every sensor→neuron, neuron→neuron (synaptic
        and modulatory) and neuron→actuator connection."""
        links = sum(len(n.inputs) + len(n.mod_inputs) for n in self.neurons)
        links += sum(len(a.fanin_ids) for a in self.actuators)
        return len(self.neurons), links

    def network(self) -> AgentNetwork:
        """The agent's network, compiled and ready to run: ``net({sensor: vector})`` returns
        ``{actuator: vector}``, ``net.flat(x)`` does the same on concatenated vectors and
        ``net.reset()`` clears the recurrent state between episodes (see
        :class:`~actors.genotype.network.AgentNetwork`)."""
        from actors.genotype.network import AgentNetwork

        return AgentNetwork(self)


@dataclass(frozen=True, slots=True)
class Stat:
    """Per-species statistics of one generation (DXNN2 ``#stat{}``); ``time_stamp`` is
    whatever the caller passes (this package reads no clock)."""

    morphology: str
    specie_id: str
    avg_neurons: float
    std_neurons: float
    avg_fitness: float
    std_fitness: float
    max_fitness: float
    min_fitness: float
    gentest_fitness: float | None
    avg_diversity: float
    evaluations: int
    generation: int
    time_stamp: float | None = None


@dataclass(frozen=True, slots=True)
class Trace:
    """A population's history (DXNN2 ``#trace{}``): ``stats`` per generation."""

    stats: tuple[tuple[Stat, ...], ...] = ()
    tot_evaluations: int = 0
    step_size: int = 500


@dataclass(frozen=True, slots=True)
class Specie:
    """A species (DXNN2 ``#specie{}``); ``fingerprint`` is the hex digest of the
    fingerprint that defines it (see :func:`actors.genotype.fingerprint_digest`)."""

    id: str
    population_id: str
    fingerprint: str
    constraint: Constraint
    agent_ids: tuple[str, ...] = ()
    dead_pool: tuple[str, ...] = ()
    champion_ids: tuple[str, ...] = ()
    fitness: float | None = None
    innovation_factor: tuple[int, int] = (0, 0)
    stats: tuple[Stat, ...] = ()


@dataclass(frozen=True, slots=True)
class Population:
    """A population (DXNN2 ``#population{}``)."""

    id: str
    polis_id: str | None = None
    specie_ids: tuple[str, ...] = ()
    morphologies: tuple[str, ...] = ()
    innovation_factor: int = 0
    evo_alg_f: str = "generational"
    fitness_postprocessor_f: str = "size_proportional"
    selection_f: str = "competition"
    trace: Trace = Trace()
