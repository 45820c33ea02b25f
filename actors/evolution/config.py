"""Typed configuration of an evolution run, loaded from TOML.

One frozen dataclass per TOML table; every field documents its default once, in its
``doc`` metadata (rendered in ``docs/evolution.md``). Loading rejects unknown tables and keys
and mistyped or out-of-range values with one :class:`~actors.evolution.errors.ConfigError`
whose message names the key by its dotted path (``monitor.population_size``). Configs built
in code are validated the same way (``__post_init__``), so ``dataclasses.replace`` with a
command-line override cannot produce an invalid config.

Tables: ``[monitor]``, ``[stopping]``, ``[selection]``, ``[novelty]``, ``[tuning]`` and
``[constraint]``. The constraint record belongs to the genotype layer; this module accepts
the ``[constraint]`` table as a validated, read-only mapping of the keys in
:data:`CONSTRAINT_KEYS` (names checked against the caller's registries when it passes
``known_names``), which the genotype layer turns into its record.

Limits in ``[stopping]`` are a positive number or the string ``"none"`` (TOML has no null).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from actors.evolution.errors import ConfigError, EvolutionError
from actors.evolution.fitness import POSTPROCESSORS, NoveltyParams
from actors.evolution.selection import (
    HOF_DISTINGUISHERS,
    SELECTION_ALGORITHMS,
    SPECIES_SHARES,
    SelectionParams,
)
from actors.evolution.tuning import DURATIONS, SELECTIONS

__all__ = [
    "CONSTRAINT_KEYS",
    "EVOLUTION_TYPES",
    "HEREDITY_TYPES",
    "MUTATION_COUNT_FUNCTIONS",
    "OP_MODES",
    "EvolutionConfig",
    "MonitorConfig",
    "NoveltyConfig",
    "SelectionConfig",
    "StoppingConfig",
    "TuningConfig",
    "config_from_mapping",
    "load_config",
    "loads_config",
]

EVOLUTION_TYPES = ("generational", "steady_state")
OP_MODES = ("gt", "validation", "test")
HEREDITY_TYPES = ("darwinian", "lamarckian")
#: DXNN2 ``tot_topological_mutations``: how many mutation operators an offspring gets.
MUTATION_COUNT_FUNCTIONS = ("ncount_exponential", "ncount_linear")
CONNECTION_ARCHITECTURES = ("recurrent", "feedforward")


def _opt(
    default: Any,
    kind: str,
    doc: str,
    *,
    choices: Callable[[], Collection[str]] | Collection[str] | None = None,
    check: Callable[[Any], bool] | None = None,
    rule: str = "",
) -> Any:
    """A config field: ``kind`` is one of int, float, str, bool, str_list, limit_int,
    limit_float; ``check``/``rule`` a range predicate and its wording."""
    meta = {"kind": kind, "doc": doc, "choices": choices, "check": check, "rule": rule}
    if isinstance(default, tuple | list):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _choices(meta: Mapping[str, Any]) -> Collection[str] | None:
    c = meta["choices"]
    return c() if callable(c) else c


def _coerce(path: str, meta: Mapping[str, Any], value: Any) -> Any:
    """Check ``value`` against the field's metadata; return it normalised."""
    kind = meta["kind"]
    if kind in ("limit_int", "limit_float"):
        if value is None or (isinstance(value, str) and value == "none"):
            return None
        kind = kind[len("limit_") :]
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = math.isfinite(value)
    elif kind == "str":
        ok = isinstance(value, str)
    elif kind == "str_list":
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        if ok:
            value = tuple(value)
    else:  # pragma: no cover - a bug in a field declaration
        raise AssertionError(kind)
    if not ok:
        expected = {"str_list": "a list of strings", "float": "a finite number"}.get(
            kind, f"a {kind}"
        )
        if meta["kind"].startswith("limit_"):
            expected += ' or "none"'
        raise ConfigError(f"{path}: expected {expected}, got {value!r}")
    allowed = _choices(meta)
    if allowed is not None:
        items = value if isinstance(value, tuple) else (value,)
        bad = [v for v in items if v not in allowed]
        if bad:
            raise ConfigError(f"{path}: {bad[0]!r} is not one of {', '.join(sorted(allowed))}")
    check = meta["check"]
    if check is not None and not check(value):
        raise ConfigError(f"{path}: {value!r} is out of range ({meta['rule']})")
    return value


class _Section:
    """Mixin: validates every field on construction; :meth:`from_table` rejects unknown
    keys. Subclasses set ``TABLE``."""

    TABLE = ""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = _coerce(f"{self.TABLE}.{f.name}", f.metadata, getattr(self, f.name))
            object.__setattr__(self, f.name, value)

    @classmethod
    def from_table(cls, table: Any) -> Any:
        if not isinstance(table, Mapping):
            raise ConfigError(f"{cls.TABLE}: expected a table, got {table!r}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        for key in table:
            if key not in names:
                raise ConfigError(f"unknown key {cls.TABLE}.{key}")
        return cls(**table)

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


def _pos(v: Any) -> bool:
    return v is None or v > 0


def _unit_open(v: float) -> bool:
    return 0 < v <= 1


def _unit(v: float) -> bool:
    return 0 <= v <= 1


@dataclass(frozen=True)
class MonitorConfig(_Section):
    """``[monitor]``: the population monitor."""

    TABLE = "monitor"
    population_size: int = _opt(
        20, "int", "agents per generation (the selection target)", check=_pos, rule="> 0"
    )
    evolution_type: str = _opt(
        "generational", "str", "generational | steady_state", choices=EVOLUTION_TYPES
    )
    selection_algorithm: str = _opt(
        "hof_competition", "str", "selection algorithm", choices=SELECTION_ALGORITHMS.names
    )
    fitness_postprocessor: str = _opt(
        "size_proportional", "str", "fitness postprocessor", choices=POSTPROCESSORS.names
    )
    op_mode: str = _opt("gt", "str", "gt | validation | test", choices=OP_MODES)
    validation_interval: int = _opt(
        500,
        "int",
        "evaluations between champion validations (validation mode)",
        check=_pos,
        rule="> 0",
    )
    workers: int = _opt(
        1, "int", "evaluation worker processes (local runtime)", check=_pos, rule="> 0"
    )


@dataclass(frozen=True)
class StoppingConfig(_Section):
    """``[stopping]``: the run ends when any limit is reached (or the scape says so)."""

    TABLE = "stopping"
    fitness_goal: float | None = _opt(
        None, "limit_float", 'stop when the best main fitness reaches this ("none": never)'
    )
    max_evaluations: int | None = _opt(
        100_000, "limit_int", "evaluations limit (DXNN2: 100,000)", check=_pos, rule="> 0"
    )
    max_generations: int | None = _opt(
        None, "limit_int", 'generations limit ("none": unlimited)', check=_pos, rule="> 0"
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
class SelectionConfig(_Section):
    """``[selection]``: see :class:`actors.evolution.selection.SelectionParams`."""

    TABLE = "selection"
    survival_percentage: float = _opt(
        0.5, "float", "share kept by competition", check=_unit_open, rule="(0, 1]"
    )
    shof_ratio: float = _opt(
        1.0,
        "float",
        "share of hof offspring drawn from the hall of fame",
        check=_unit,
        rule="[0, 1]",
    )
    efficiency: float = _opt(
        1.0,
        "float",
        "tot_n exponent in hof_competition weights",
        check=lambda v: 0 <= v <= 10,
        rule="[0, 10]",
    )
    hof_size_limit: int = _opt(
        100, "int", "champions per species hall of fame", check=_pos, rule="> 0"
    )
    hof_distinguishers: tuple[str, ...] = _opt(
        ("size",),
        "str_list",
        "hall-of-fame fingerprint parts",
        choices=HOF_DISTINGUISHERS,
        check=bool,
        rule="not empty",
    )
    species_shares: str = _opt("pooled", "str", "pooled | equal", choices=SPECIES_SHARES)
    reevaluate_probability: float = _opt(
        0.1, "float", "steady state: chance the parent re-runs itself", check=_unit, rule="[0, 1]"
    )

    def params(self) -> SelectionParams:
        return SelectionParams(**self.to_dict() | {"hof_distinguishers": self.hof_distinguishers})


@dataclass(frozen=True)
class NoveltyConfig(_Section):
    """``[novelty]``: see :class:`actors.evolution.fitness.NoveltyParams`."""

    TABLE = "novelty"
    k: int = _opt(15, "int", "nearest neighbours averaged", check=_pos, rule="> 0")
    threshold: float = _opt(1.0, "float", "initial archive threshold", check=_pos, rule="> 0")
    archive_limit: int = _opt(
        1000, "int", "archive capacity (oldest leave first)", check=lambda v: v >= 0, rule=">= 0"
    )
    weight: float = _opt(0.5, "float", "novelty's weight in the score", check=_unit, rule="[0, 1]")
    adaptive: bool = _opt(True, "bool", "adapt the threshold to the archive's growth")

    def params(self) -> NoveltyParams:
        return NoveltyParams(**self.to_dict())


@dataclass(frozen=True)
class TuningConfig(_Section):
    """``[tuning]``: the exoself's tuning phase and the offspring's heredity (DXNN2's
    per-agent defaults)."""

    TABLE = "tuning"
    selection: str = _opt(
        "dynamic_random", "str", "tuning selection function", choices=SELECTIONS.names
    )
    duration: str = _opt(
        "wsize_proportional", "str", "tuning duration function", choices=DURATIONS.names
    )
    duration_parameter: float = _opt(
        0.5, "float", "the duration function's parameter", check=lambda v: v >= 0, rule=">= 0"
    )
    annealing: float = _opt(
        0.5, "float", "spread annealing per neuron age", check=_unit_open, rule="(0, 1]"
    )
    perturbation_range: float = _opt(
        1.0, "float", "spread = range * pi * annealing ** age", check=_pos, rule="> 0"
    )
    min_improvement: float = _opt(
        0.0,
        "float",
        "relative gain needed to keep a perturbation",
        check=lambda v: v >= 0,
        rule=">= 0",
    )
    heredity: str = _opt("darwinian", "str", "darwinian | lamarckian", choices=HEREDITY_TYPES)
    mutation_count: str = _opt(
        "ncount_exponential",
        "str",
        "mutations per offspring function",
        choices=MUTATION_COUNT_FUNCTIONS,
    )
    mutation_count_parameter: float = _opt(
        0.5, "float", "its parameter (exponent or multiplier)", check=_pos, rule="> 0"
    )


#: Keys the ``[constraint]`` table may hold, with their value kinds.
CONSTRAINT_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "connection_architecture": "recurrent | feedforward",
        "neural_afs": "list of activation function names",
        "neural_pfns": "list of plasticity function names",
        "neural_aggr_fs": "list of aggregation function names",
        "mutation_operators": "table operator name -> weight >= 0 (one at least > 0)",
        "tuning_selection_fs": "list of tuning selection names",
        "tuning_duration_f": "[name, parameter]",
        "annealing_parameters": "list of numbers in (0, 1]",
        "perturbation_ranges": "list of numbers > 0",
        "heredity_types": "list of darwinian | lamarckian",
        "tot_topological_mutations_fs": "list of [name, parameter]",
    }
)


def _constraint(table: Any, known_names: Mapping[str, Collection[str]] | None) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"constraint: expected a table, got {table!r}")
    known = dict(known_names or {})
    known.setdefault("tuning_selection_fs", SELECTIONS.names())
    known.setdefault("heredity_types", HEREDITY_TYPES)
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"constraint.{key}"
        if key not in CONSTRAINT_KEYS:
            raise ConfigError(f"unknown key {path}")
        if key == "connection_architecture":
            out[key] = _coerce(
                path,
                {"kind": "str", "choices": CONNECTION_ARCHITECTURES, "check": None, "rule": ""},
                value,
            )
        elif key in (
            "neural_afs",
            "neural_pfns",
            "neural_aggr_fs",
            "tuning_selection_fs",
            "heredity_types",
        ):
            out[key] = _coerce(
                path,
                {"kind": "str_list", "choices": known.get(key), "check": bool, "rule": "not empty"},
                value,
            )
        elif key in ("annealing_parameters", "perturbation_ranges"):
            if not isinstance(value, list) or not value:
                raise ConfigError(f"{path}: expected a non-empty list of numbers")
            ok = _unit_open if key == "annealing_parameters" else _pos
            rule = "(0, 1]" if key == "annealing_parameters" else "> 0"
            out[key] = tuple(
                _coerce(
                    f"{path}[{i}]", {"kind": "float", "choices": None, "check": ok, "rule": rule}, v
                )
                for i, v in enumerate(value)
            )
        elif key == "mutation_operators":
            out[key] = _operators(path, value, known.get(key))
        elif key == "tuning_duration_f":
            out[key] = _named_param(path, value, DURATIONS.names())
        else:  # tot_topological_mutations_fs
            if not isinstance(value, list) or not value:
                raise ConfigError(f"{path}: expected a non-empty list of [name, parameter]")
            out[key] = tuple(
                _named_param(f"{path}[{i}]", v, MUTATION_COUNT_FUNCTIONS)
                for i, v in enumerate(value)
            )
    return MappingProxyType(out)


def _operators(path: str, value: Any, names: Collection[str] | None) -> Mapping[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"{path}: expected a table of operator = weight")
    ops: dict[str, float] = {}
    for name, w in value.items():
        if names is not None and name not in names:
            raise ConfigError(f"{path}.{name}: unknown mutation operator")
        ops[name] = _coerce(
            f"{path}.{name}",
            {"kind": "float", "choices": None, "check": lambda v: v >= 0, "rule": ">= 0"},
            w,
        )
    if not any(w > 0 for w in ops.values()):
        raise ConfigError(f"{path}: at least one weight must be > 0")
    return MappingProxyType(ops)


def _named_param(path: str, value: Any, names: Collection[str]) -> tuple[str, float]:
    if not (isinstance(value, list) and len(value) == 2):
        raise ConfigError(f"{path}: expected [name, parameter]")
    name = _coerce(
        f"{path}[0]", {"kind": "str", "choices": names, "check": None, "rule": ""}, value[0]
    )
    param = _coerce(
        f"{path}[1]",
        {"kind": "float", "choices": None, "check": lambda v: v >= 0, "rule": ">= 0"},
        value[1],
    )
    return name, param


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


_SECTIONS: dict[str, type[_Section]] = {
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
            kwargs[key] = _constraint(table, known_names)
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


def loads_config(
    text: str, *, known_names: Mapping[str, Collection[str]] | None = None
) -> EvolutionConfig:
    """Parse TOML text; syntax errors become :class:`ConfigError` too."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}") from exc
    return config_from_mapping(data, known_names=known_names)


def load_config(
    path: str | Path, *, known_names: Mapping[str, Collection[str]] | None = None
) -> EvolutionConfig:
    """Read and validate a TOML configuration file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"configuration {path} is not UTF-8: {exc}") from exc
    try:
        return loads_config(text, known_names=known_names)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def field_docs() -> dict[str, list[tuple[str, Any, str]]]:
    """``table -> [(key, default, doc)]`` for documentation."""
    out: dict[str, list[tuple[str, Any, str]]] = {}
    for table, cls in _SECTIONS.items():
        rows = []
        for f in fields(cls):  # type: ignore[arg-type]
            default = f.default if f.default is not MISSING else None
            rows.append((f.name, default, f.metadata["doc"]))
        out[table] = rows
    return out
