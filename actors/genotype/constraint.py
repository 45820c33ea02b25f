"""Morphology descriptions and the evolutionary constraint (DXNN2 ``#constraint{}``).

Both are frozen dataclasses validated on construction; a malformed value raises
:class:`~actors.genotype.errors.ConstraintError`. They are part of every agent's genotype
(an agent must be self-contained to travel between nodes), so they are also encoded by
the codec.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field

from actors.genotype.errors import ConstraintError
from actors.genotype.functions import (
    ACTIVATION_FUNCTIONS,
    AGGREGATION_FUNCTIONS,
    HEREDITY_TYPES,
    PLASTICITY_RULES,
    TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS,
    TUNING_DURATION_FUNCTIONS,
    TUNING_SELECTION_FUNCTIONS,
)

__all__ = [
    "ARCHITECTURES",
    "MUTATION_OPERATOR_NAMES",
    "SEARCH_PARAMETER_MUTATORS",
    "ActuatorSpec",
    "Constraint",
    "MorphologySpec",
    "ParamValue",
    "SensorSpec",
]

#: A sensor/actuator parameter: a scalar that encodes canonically.
ParamValue = str | int | float | bool

ARCHITECTURES = ("recurrent", "feedforward")

#: Every neural mutation operator, in the order of the issue (DXNN2 ``genome_mutator.erl``
#: plus ``insplice``, ``remove_neuron`` and ``remove_link``).
MUTATION_OPERATOR_NAMES: tuple[str, ...] = (
    "mutate_weights",
    "add_bias",
    "remove_bias",
    "mutate_af",
    "mutate_pf",
    "mutate_plasticity_parameters",
    "mutate_aggrf",
    "add_outlink",
    "add_inlink",
    "add_neuron",
    "outsplice",
    "insplice",
    "add_sensorlink",
    "add_actuatorlink",
    "add_sensor",
    "add_actuator",
    "remove_neuron",
    "remove_link",
)

#: Search-parameter (evolution strategy) mutators, DXNN2 ``?ES_MUTATORS`` plus
#: ``mutate_perturbation_range``.
SEARCH_PARAMETER_MUTATORS: tuple[str, ...] = (
    "mutate_tuning_selection",
    "mutate_tuning_annealing",
    "mutate_tot_topological_mutations",
    "mutate_heredity_type",
    "mutate_perturbation_range",
)

_MAX_NAME = 64
_MAX_VL = 65536
_MAX_PARAMS = 64


def _check_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value or len(value) > _MAX_NAME:
        raise ConstraintError(f"{what} must be a non-empty string of at most {_MAX_NAME} chars")


def _check_params(params: object, what: str) -> None:
    if not isinstance(params, tuple) or len(params) > _MAX_PARAMS:
        raise ConstraintError(f"{what} must be a tuple of at most {_MAX_PARAMS} scalars")
    for p in params:
        if isinstance(p, float) and not math.isfinite(p):
            raise ConstraintError(f"{what} holds a non-finite float")
        if not isinstance(p, str | int | float | bool):
            raise ConstraintError(f"{what} holds {type(p).__name__}, not str/int/float/bool")
        if isinstance(p, int) and not isinstance(p, bool) and not -(2**63) <= p < 2**63:
            raise ConstraintError(f"{what} holds an integer outside int64")


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """A sensor a morphology offers: ``name``, output vector length ``vl``, ``params``."""

    name: str
    vl: int
    params: tuple[ParamValue, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.name, "sensor name")
        if type(self.vl) is not int or not 1 <= self.vl <= _MAX_VL:
            raise ConstraintError(f"sensor {self.name!r}: vl must be an int in 1..{_MAX_VL}")
        _check_params(self.params, f"sensor {self.name!r} params")


@dataclass(frozen=True, slots=True)
class ActuatorSpec:
    """An actuator a morphology offers: ``name``, input vector length ``vl``, ``params``."""

    name: str
    vl: int
    params: tuple[ParamValue, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.name, "actuator name")
        if type(self.vl) is not int or not 1 <= self.vl <= _MAX_VL:
            raise ConstraintError(f"actuator {self.name!r}: vl must be an int in 1..{_MAX_VL}")
        _check_params(self.params, f"actuator {self.name!r} params")


@dataclass(frozen=True, slots=True)
class MorphologySpec:
    """What an agent can sense and do (DXNN2 ``morphology.erl``).

    ``sensors`` / ``actuators`` are the initial ones a seed agent is built with
    (``get_InitSensors``); ``extra_sensors`` / ``extra_actuators`` are further ones that
    ``add_sensor`` / ``add_actuator`` may bring in later (``get_Sensors`` minus the initial).
    """

    name: str
    sensors: tuple[SensorSpec, ...]
    actuators: tuple[ActuatorSpec, ...]
    extra_sensors: tuple[SensorSpec, ...] = ()
    extra_actuators: tuple[ActuatorSpec, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.name, "morphology name")
        for what, specs, kind in (
            ("sensors", self.sensors, SensorSpec),
            ("actuators", self.actuators, ActuatorSpec),
            ("extra_sensors", self.extra_sensors, SensorSpec),
            ("extra_actuators", self.extra_actuators, ActuatorSpec),
        ):
            if not isinstance(specs, tuple) or not all(isinstance(s, kind) for s in specs):
                raise ConstraintError(f"morphology {what} must be a tuple of {kind.__name__}")
        if not self.sensors or not self.actuators:
            raise ConstraintError("a morphology needs at least one sensor and one actuator")
        if len(set(self.all_sensors)) != len(self.all_sensors):
            raise ConstraintError("morphology lists the same sensor twice")
        if len(set(self.all_actuators)) != len(self.all_actuators):
            raise ConstraintError("morphology lists the same actuator twice")

    @property
    def all_sensors(self) -> tuple[SensorSpec, ...]:
        return self.sensors + self.extra_sensors

    @property
    def all_actuators(self) -> tuple[ActuatorSpec, ...]:
        return self.actuators + self.extra_actuators


def _default_operators() -> tuple[tuple[str, float], ...]:
    # DXNN2 records.hrl defaults for the topological operators, plus the parameter
    # operators and the two removal operators at weight 1.
    return (
        ("mutate_weights", 1.0),
        ("add_bias", 1.0),
        ("remove_bias", 1.0),
        ("mutate_af", 1.0),
        ("mutate_pf", 1.0),
        ("mutate_plasticity_parameters", 1.0),
        ("mutate_aggrf", 1.0),
        ("add_outlink", 2.0),
        ("add_inlink", 2.0),
        ("add_neuron", 2.0),
        ("outsplice", 3.0),
        ("insplice", 3.0),
        ("add_sensorlink", 1.0),
        ("add_actuatorlink", 1.0),
        ("add_sensor", 1.0),
        ("add_actuator", 1.0),
        ("remove_neuron", 1.0),
        ("remove_link", 1.0),
    )


@dataclass(frozen=True, slots=True)
class Constraint:
    """The space an agent evolves in (DXNN2 ``#constraint{}``).

    Every list is the set of values a seed agent draws from and that mutation operators
    may switch between. Fields:

    * ``morphology`` -- name of the morphology (informative; the agent carries the spec).
    * ``connection_architecture`` -- ``recurrent`` or ``feedforward``; a feedforward agent
      never holds a link to the same or an earlier layer.
    * ``neural_afs`` / ``neural_pfns`` / ``neural_aggr_fs`` -- allowed function names.
    * ``tuning_selection_fs``, ``tuning_duration_f``, ``annealing_parameters``,
      ``perturbation_ranges``, ``heredity_types``, ``tot_topological_mutations_fs`` -- the
      search parameters an agent draws and evolves.
    * ``mutation_operators`` -- ``(operator name, roulette weight > 0)`` pairs.
    * ``search_parameters_mutation_probability`` -- chance per offspring of mutating the
      search parameters first (DXNN2: 0.1).

    Numbers may be given as ints; they are stored as floats.
    * ``population_evo_alg_f`` / ``population_fitness_postprocessor_f`` /
      ``population_selection_f`` -- names the evolution layer interprets.
    """

    morphology: str = "xor_mimic"
    connection_architecture: str = "recurrent"
    neural_afs: tuple[str, ...] = ("tanh", "cos", "gaussian")
    neural_pfns: tuple[str, ...] = ("none",)
    neural_aggr_fs: tuple[str, ...] = ("dot_product",)
    tuning_selection_fs: tuple[str, ...] = ("dynamic_random",)
    tuning_duration_f: tuple[str, float] = ("wsize_proportional", 0.5)
    annealing_parameters: tuple[float, ...] = (0.5,)
    perturbation_ranges: tuple[float, ...] = (1.0,)
    heredity_types: tuple[str, ...] = ("darwinian",)
    mutation_operators: tuple[tuple[str, float], ...] = field(default_factory=_default_operators)
    tot_topological_mutations_fs: tuple[tuple[str, float], ...] = (("ncount_exponential", 0.5),)
    search_parameters_mutation_probability: float = 0.1
    population_evo_alg_f: str = "generational"
    population_fitness_postprocessor_f: str = "size_proportional"
    population_selection_f: str = "competition"

    def __post_init__(self) -> None:
        self._coerce_numbers()
        _check_name(self.morphology, "morphology")
        if self.connection_architecture not in ARCHITECTURES:
            raise ConstraintError(f"connection_architecture must be one of {ARCHITECTURES}")
        self._names("neural_afs", self.neural_afs, ACTIVATION_FUNCTIONS)
        self._names("neural_pfns", self.neural_pfns, frozenset(PLASTICITY_RULES))
        self._names("neural_aggr_fs", self.neural_aggr_fs, AGGREGATION_FUNCTIONS)
        self._names("tuning_selection_fs", self.tuning_selection_fs, TUNING_SELECTION_FUNCTIONS)
        self._names("heredity_types", self.heredity_types, HEREDITY_TYPES)
        td = self.tuning_duration_f
        if not (isinstance(td, tuple) and len(td) == 2 and td[0] in TUNING_DURATION_FUNCTIONS):
            raise ConstraintError(
                f"tuning_duration_f must be (one of {sorted(TUNING_DURATION_FUNCTIONS)}, p)"
            )
        _positive("tuning_duration_f parameter", td[1])
        self._numbers("annealing_parameters", self.annealing_parameters, upper=1.0)
        self._numbers("perturbation_ranges", self.perturbation_ranges, upper=None)
        self._pairs(
            "mutation_operators", self.mutation_operators, frozenset(MUTATION_OPERATOR_NAMES)
        )
        self._pairs(
            "tot_topological_mutations_fs",
            self.tot_topological_mutations_fs,
            TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS,
        )
        p = self.search_parameters_mutation_probability
        if not isinstance(p, float) or not 0.0 <= p <= 1.0:
            raise ConstraintError(
                "search_parameters_mutation_probability must be a float in [0, 1]"
            )
        for name in (
            "population_evo_alg_f",
            "population_fitness_postprocessor_f",
            "population_selection_f",
        ):
            _check_name(getattr(self, name), name)

    def _coerce_numbers(self) -> None:
        """Accept ints where floats are meant (``perturbation_ranges=(1,)``), storing floats
        so that equal constraints encode to equal bytes."""

        def num(v: object) -> object:
            return float(v) if type(v) is int else v

        def pairs(value: object) -> object:
            if not isinstance(value, tuple):
                return value
            return tuple(
                (p[0], num(p[1])) if isinstance(p, tuple) and len(p) == 2 else p for p in value
            )

        def nums(value: object) -> object:
            return tuple(num(v) for v in value) if isinstance(value, tuple) else value

        set_ = object.__setattr__
        set_(self, "tuning_duration_f", pairs((self.tuning_duration_f,))[0])  # type: ignore[index]
        set_(self, "annealing_parameters", nums(self.annealing_parameters))
        set_(self, "perturbation_ranges", nums(self.perturbation_ranges))
        set_(self, "mutation_operators", pairs(self.mutation_operators))
        set_(self, "tot_topological_mutations_fs", pairs(self.tot_topological_mutations_fs))
        p = self.search_parameters_mutation_probability
        set_(self, "search_parameters_mutation_probability", num(p))

    @staticmethod
    def _names(what: str, values: object, allowed: Collection[str]) -> None:
        if not isinstance(values, tuple) or not values:
            raise ConstraintError(f"{what} must be a non-empty tuple")
        if len(set(values)) != len(values):
            raise ConstraintError(f"{what} lists a name twice")
        for v in values:
            if v not in allowed:
                raise ConstraintError(f"{what}: unknown name {v!r}; known: {sorted(allowed)}")

    @staticmethod
    def _numbers(what: str, values: object, upper: float | None) -> None:
        if not isinstance(values, tuple) or not values or len(set(values)) != len(values):
            raise ConstraintError(f"{what} must be a non-empty tuple of distinct floats")
        for v in values:
            _positive(what, v)
            if upper is not None and v > upper:
                raise ConstraintError(f"{what}: {v} exceeds {upper}")

    @staticmethod
    def _pairs(what: str, pairs: object, allowed: frozenset[str]) -> None:
        if not isinstance(pairs, tuple) or not pairs:
            raise ConstraintError(f"{what} must be a non-empty tuple of (name, number) pairs")
        names: list[str] = []
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2 and pair[0] in allowed):
                raise ConstraintError(f"{what}: {pair!r} is not (known name, number)")
            _positive(what, pair[1])
            names.append(pair[0])
        if len(set(names)) != len(names):
            raise ConstraintError(f"{what} lists a name twice")


def _positive(what: str, v: object) -> None:
    if not isinstance(v, float) or not math.isfinite(v) or v <= 0.0:
        raise ConstraintError(f"{what}: {v!r} must be a finite float > 0")
