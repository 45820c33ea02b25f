"""Typed configuration of an evolution run, loaded from TOML.

One frozen dataclass per TOML table (a :class:`ConfigTable`, its fields declared with
:func:`option`); every field documents its default once, in its ``doc`` metadata (rendered in
``docs/evolution.md``). Loading rejects unknown tables and keys and mistyped or out-of-range
values with one :class:`~actors.evolution.errors.ConfigError` whose message names the key by
its dotted path (``monitor.population_size``). Configs built in code are validated the same
way (``__post_init__``), so ``dataclasses.replace`` with a command-line override cannot
produce an invalid config.

:func:`load_tables` is the one reader of a configuration file: the evolution tables, plus the
tables an application declares the same way and passes in (the ``[mesh]`` table of
:mod:`actors.distributed.config`), every one of them checked for unknown keys.

Tables: ``[monitor]``, ``[stopping]``, ``[selection]``, ``[novelty]``, ``[tuning]`` and
``[constraint]``. The constraint record belongs to the genotype layer; this module accepts
the ``[constraint]`` table as a validated, read-only mapping of the keys in
:data:`CONSTRAINT_KEYS` (names checked against the caller's registries when it passes
``known_names``), which the genotype layer turns into its record.

Limits in ``[stopping]`` are a positive number or the string ``"none"`` (TOML has no null).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from actors.evolution.constraint import (
    CONSTRAINT_KEYS,
    MUTATION_COUNT_FUNCTIONS,
    check_value,
    is_positive,
    is_unit,
    is_unit_open,
    validate_constraint,
)
from actors.evolution.errors import ConfigError, EvolutionError
from actors.evolution.fitness import POSTPROCESSORS, NoveltyParams
from actors.evolution.selection import (
    HOF_DISTINGUISHERS,
    SELECTION_ALGORITHMS,
    SPECIES_SHARES,
    SelectionParams,
)
from actors.evolution.tuning import DURATIONS, SELECTIONS
from actors.neural.plasticity import HEREDITY_TYPES

__all__ = [
    "CONSTRAINT_KEYS",
    "EVOLUTION_TYPES",
    "MUTATION_COUNT_FUNCTIONS",
    "OP_MODES",
    "ConfigTable",
    "EvolutionConfig",
    "FieldDoc",
    "MonitorConfig",
    "NoveltyConfig",
    "SelectionConfig",
    "StoppingConfig",
    "TuningConfig",
    "config_from_mapping",
    "describe_fields",
    "load_config",
    "load_tables",
    "loads_config",
    "loads_tables",
    "option",
    "section_classes",
]

EVOLUTION_TYPES = ("generational", "steady_state")
OP_MODES = ("gt", "validation", "test")


def option(
    default: Any,
    kind: str,
    doc: str,
    *,
    choices: Callable[[], Collection[str]] | Collection[str] | None = None,
    check: Callable[[Any], bool] | None = None,
    rule: str = "",
) -> Any:
    """A field of a :class:`ConfigTable`: ``kind`` is one of int, float, str, bool,
    str_list, limit_int, limit_float; ``choices`` the allowed names (or a callable giving
    them); ``check``/``rule`` a range predicate and its wording."""
    meta = {"kind": kind, "doc": doc, "choices": choices, "check": check, "rule": rule}
    if isinstance(default, tuple | list):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


class ConfigTable:
    """Mixin of a frozen dataclass that is one TOML table (fields declared with
    :func:`option`): validates every field on construction; :meth:`from_table` rejects
    unknown keys. Subclasses set ``TABLE`` (the table's name) and may set ``ERROR`` (the
    error raised, :class:`ConfigError` by default) -- an application's own table raises its
    own package's error."""

    TABLE: ClassVar[str] = ""
    ERROR: ClassVar[type[Exception]] = ConfigError

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            try:
                value = check_value(f"{self.TABLE}.{f.name}", f.metadata, getattr(self, f.name))
            except ConfigError as exc:
                if self.ERROR is ConfigError:
                    raise
                raise self.ERROR(str(exc)) from None
            object.__setattr__(self, f.name, value)

    @classmethod
    def from_table(cls, table: Any) -> Any:
        if not isinstance(table, Mapping):
            raise cls.ERROR(f"{cls.TABLE}: expected a table, got {table!r}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        for key in table:
            if key not in names:
                raise cls.ERROR(f"unknown key {cls.TABLE}.{key}")
        return cls(**table)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


@dataclass(frozen=True)
class MonitorConfig(ConfigTable):
    """``[monitor]``: the population monitor."""

    TABLE = "monitor"
    population_size: int = option(
        20, "int", "agents per generation (the selection target)", check=is_positive, rule="> 0"
    )
    evolution_type: str = option(
        "generational", "str", "generational | steady_state", choices=EVOLUTION_TYPES
    )
    selection_algorithm: str = option(
        "hof_competition", "str", "selection algorithm", choices=SELECTION_ALGORITHMS.names
    )
    fitness_postprocessor: str = option(
        "size_proportional", "str", "fitness postprocessor", choices=POSTPROCESSORS.names
    )
    op_mode: str = option("gt", "str", "gt | validation | test", choices=OP_MODES)
    validation_interval: int = option(
        500,
        "int",
        "evaluations between champion validations (validation mode)",
        check=is_positive,
        rule="> 0",
    )
    workers: int = option(
        1, "int", "evaluation worker processes (local runtime)", check=is_positive, rule="> 0"
    )


@dataclass(frozen=True)
class StoppingConfig(ConfigTable):
    """``[stopping]``: the run ends when any limit is reached (or the scape says so)."""

    TABLE = "stopping"
    fitness_goal: float | None = option(
        None, "limit_float", 'stop when the best main fitness reaches this ("none": never)'
    )
    max_evaluations: int | None = option(
        100_000, "limit_int", "evaluations limit (DXNN2: 100,000)", check=is_positive, rule="> 0"
    )
    max_generations: int | None = option(
        None, "limit_int", 'generations limit ("none": unlimited)', check=is_positive, rule="> 0"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if (
            self.fitness_goal is None
            and self.max_evaluations is None
            and (self.max_generations is None)
        ):
            raise ConfigError(
                "stopping: at least one of fitness_goal, max_evaluations, "
                "max_generations must be set"
            )


@dataclass(frozen=True)
class SelectionConfig(ConfigTable):
    """``[selection]``: see :class:`actors.evolution.selection.SelectionParams`."""

    TABLE = "selection"
    survival_percentage: float = option(
        0.5, "float", "share kept by competition", check=is_unit_open, rule="(0, 1]"
    )
    shof_ratio: float = option(
        1.0,
        "float",
        "share of hof offspring drawn from the hall of fame",
        check=is_unit,
        rule="[0, 1]",
    )
    efficiency: float = option(
        1.0,
        "float",
        "tot_n exponent in hof_competition weights",
        check=lambda v: 0 <= v <= 10,
        rule="[0, 10]",
    )
    hof_size_limit: int = option(
        100, "int", "champions per species hall of fame", check=is_positive, rule="> 0"
    )
    hof_distinguishers: tuple[str, ...] = option(
        ("size",),
        "str_list",
        "hall-of-fame fingerprint parts",
        choices=HOF_DISTINGUISHERS,
        check=bool,
        rule="not empty",
    )
    species_shares: str = option("pooled", "str", "pooled | equal", choices=SPECIES_SHARES)
    reevaluate_probability: float = option(
        0.1, "float", "steady state: chance the parent re-runs itself", check=is_unit, rule="[0, 1]"
    )

    def params(self) -> SelectionParams:
        return SelectionParams(**self.to_dict() | {"hof_distinguishers": self.hof_distinguishers})


@dataclass(frozen=True)
class NoveltyConfig(ConfigTable):
    """``[novelty]``: see :class:`actors.evolution.fitness.NoveltyParams`."""

    TABLE = "novelty"
    k: int = option(15, "int", "nearest neighbours averaged", check=is_positive, rule="> 0")
    threshold: float = option(
        1.0, "float", "initial archive threshold", check=is_positive, rule="> 0"
    )
    archive_limit: int = option(
        1000, "int", "archive capacity (oldest leave first)", check=lambda v: v >= 0, rule=">= 0"
    )
    weight: float = option(
        0.5, "float", "novelty's weight in the score", check=is_unit, rule="[0, 1]"
    )
    adaptive: bool = option(True, "bool", "adapt the threshold to the archive's growth")

    def params(self) -> NoveltyParams:
        return NoveltyParams(**self.to_dict())


@dataclass(frozen=True)
class TuningConfig(ConfigTable):
    """``[tuning]``: the exoself's tuning phase and the offspring's heredity (DXNN2's
    per-agent defaults)."""

    TABLE = "tuning"
    selection: str = option(
        "dynamic_random", "str", "tuning selection function", choices=SELECTIONS.names
    )
    duration: str = option(
        "wsize_proportional", "str", "tuning duration function", choices=DURATIONS.names
    )
    duration_parameter: float = option(
        0.5, "float", "the duration function's parameter", check=lambda v: v >= 0, rule=">= 0"
    )
    annealing: float = option(
        0.5, "float", "spread annealing per neuron age", check=is_unit_open, rule="(0, 1]"
    )
    perturbation_range: float = option(
        1.0, "float", "spread = range * pi * annealing ** age", check=is_positive, rule="> 0"
    )
    min_improvement: float = option(
        0.0,
        "float",
        "relative gain needed to keep a perturbation",
        check=lambda v: v >= 0,
        rule=">= 0",
    )
    heredity: str = option("darwinian", "str", "darwinian | lamarckian", choices=HEREDITY_TYPES)
    mutation_count: str = option(
        "ncount_exponential",
        "str",
        "mutations per offspring function",
        choices=MUTATION_COUNT_FUNCTIONS,
    )
    mutation_count_parameter: float = option(
        0.5, "float", "its parameter (exponent or multiplier)", check=is_positive, rule="> 0"
    )


@dataclass(frozen=True)
class EvolutionConfig:
    """The whole configuration: one section per TOML table."""

    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    stopping: StoppingConfig = field(default_factory=StoppingConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    novelty: NoveltyConfig = field(default_factory=NoveltyConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    constraint: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        """A TOML/JSON-ready mapping; limits that are off appear as ``"none"``."""
        out: dict[str, Any] = {}
        for name in ("monitor", "stopping", "selection", "novelty", "tuning"):
            section = getattr(self, name).to_dict()
            out[name] = {k: ("none" if v is None else v) for k, v in section.items()}
        out["constraint"] = _plain(self.constraint)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


_SECTIONS: dict[str, type[ConfigTable]] = {
    "monitor": MonitorConfig,
    "stopping": StoppingConfig,
    "selection": SelectionConfig,
    "novelty": NoveltyConfig,
    "tuning": TuningConfig,
}


def config_from_mapping(
    data: Mapping[str, Any], *, known_names: Mapping[str, Collection[str]] | None = None
) -> EvolutionConfig:
    """Build a config from a parsed TOML document; missing tables and keys take defaults.

    ``known_names`` maps constraint keys (``neural_afs``, ``neural_pfns``, ``neural_aggr_fs``,
    ``mutation_operators``...) to the names the caller's registries know; names outside them
    are rejected. Raises :class:`ConfigError` naming the offending key.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("configuration must be a table")
    kwargs: dict[str, Any] = {}
    for key, table in data.items():
        if key == "constraint":
            kwargs[key] = validate_constraint(table, known_names)
        elif key in _SECTIONS:
            try:
                kwargs[key] = _SECTIONS[key].from_table(table)
            except ConfigError:
                raise
            except (TypeError, EvolutionError) as exc:
                raise ConfigError(f"{key}: {exc}") from exc
        else:
            raise ConfigError(f"unknown key {key}")
    return EvolutionConfig(**kwargs)


KnownNames = Mapping[str, Collection[str]]


def loads_tables(
    text: str,
    extra: Sequence[type[ConfigTable]] = (),
    *,
    known_names: KnownNames | None = None,
) -> tuple[EvolutionConfig, dict[str, Any]]:
    """Parse a configuration's TOML text: the evolution tables (see
    :func:`config_from_mapping`) and the tables of ``extra`` (an application's own
    :class:`ConfigTable` classes), each read with its ``from_table``, with its defaults when
    the table is absent. Returns the config and ``{table name: table}`` of the extra ones.
    Unknown tables and keys are rejected in every table; syntax errors and evolution tables
    raise :class:`ConfigError`, an extra table its own ``ERROR``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}") from exc
    tables = {cls.TABLE: cls.from_table(data.pop(cls.TABLE, {})) for cls in extra}
    return config_from_mapping(data, known_names=known_names), tables


def load_tables(
    path: str | Path,
    extra: Sequence[type[ConfigTable]] = (),
    *,
    known_names: KnownNames | None = None,
) -> tuple[EvolutionConfig, dict[str, Any]]:
    """Read a configuration file (see :func:`loads_tables`); every error names the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"configuration {path} is not UTF-8: {exc}") from exc
    errors: tuple[type[Exception], ...] = (ConfigError, *(cls.ERROR for cls in extra))
    try:
        return loads_tables(text, extra, known_names=known_names)
    except errors as exc:
        raise type(exc)(f"{path}: {exc}") from exc


def loads_config(text: str, *, known_names: KnownNames | None = None) -> EvolutionConfig:
    """Parse TOML text holding the evolution tables only (:func:`loads_tables`)."""
    return loads_tables(text, known_names=known_names)[0]


def load_config(path: str | Path, *, known_names: KnownNames | None = None) -> EvolutionConfig:
    """Read and validate a TOML file holding the evolution tables only (:func:`load_tables`)."""
    return load_tables(path, known_names=known_names)[0]


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One configuration key as documentation sees it: its default, its ``doc`` text, the
    values it allows (``choices``: the allowed names, or ``None``; ``rule``: a range in words,
    or ``""``) and whether it is a limit (which also takes ``"none"``)."""

    key: str
    default: Any
    doc: str
    choices: tuple[str, ...] | None
    rule: str
    limit: bool


def describe_fields(cls: type) -> list[FieldDoc]:
    """The :class:`FieldDoc` of every field of a configuration dataclass declared with this
    package's field metadata (the tables here, and any built the same way)."""
    out = []
    for f in fields(cls):
        meta = f.metadata
        choices = meta.get("choices")
        names = choices() if callable(choices) else choices
        out.append(
            FieldDoc(
                key=f.name,
                default=f.default if f.default is not MISSING else None,
                doc=meta["doc"],
                choices=None if names is None else tuple(sorted(names)),
                rule=meta.get("rule", ""),
                limit=meta["kind"].startswith("limit_"),
            )
        )
    return out


def section_classes() -> dict[str, type]:
    """The table classes of :class:`EvolutionConfig` by TOML table name, in file order
    (``[constraint]`` aside: its keys are :data:`CONSTRAINT_KEYS`)."""
    return dict(_SECTIONS)


def field_docs() -> dict[str, list[tuple[str, Any, str]]]:
    """``table -> [(key, default, doc)]`` for documentation."""
    return {
        table: [(d.key, d.default, d.doc) for d in describe_fields(cls)]
        for table, cls in _SECTIONS.items()
    }
