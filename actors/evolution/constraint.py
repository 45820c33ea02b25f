"""The ``[constraint]`` table and the value checks shared by the whole configuration.

The constraint record (what mutation may build: activation, plasticity and aggregation
functions, mutation operators and their weights, tuning and annealing choices, heredity
types...) belongs to the genotype layer, which turns the validated mapping returned by
:func:`validate_constraint` into its record. Keys follow DXNN2's ``#constraint`` field names
(:data:`CONSTRAINT_KEYS`); names of functions and operators are checked against the caller's
registries when it passes ``known_names`` (a new key is added here, in one place).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

from actors.evolution.errors import ConfigError
from actors.evolution.tuning import DURATIONS, SELECTIONS
from actors.genotype.constraint import ARCHITECTURES
from actors.genotype.functions import TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS
from actors.neural.plasticity import HEREDITY_TYPES

__all__ = [
    "CONNECTION_ARCHITECTURES",
    "CONSTRAINT_KEYS",
    "MUTATION_COUNT_FUNCTIONS",
    "check_value",
    "is_positive",
    "is_unit",
    "is_unit_open",
    "validate_constraint",
]

#: DXNN2 ``tot_topological_mutations``: how many mutation operators an offspring gets.
MUTATION_COUNT_FUNCTIONS = tuple(sorted(TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS))
#: DXNN2's ``connection_architecture`` values (the genotype layer's list).
CONNECTION_ARCHITECTURES = ARCHITECTURES


def _choices(meta: Mapping[str, Any]) -> Collection[str] | None:
    c = meta["choices"]
    return c() if callable(c) else c


def check_value(path: str, meta: Mapping[str, Any], value: Any) -> Any:
    """Check ``value`` against a field description and return it normalised (ints become
    floats where a float is expected, lists become tuples).

    ``meta`` holds ``kind`` (``int``, ``float``, ``str``, ``bool``, ``str_list``,
    ``limit_int``, ``limit_float`` -- a limit also accepts ``"none"``/``None``), ``choices``
    (allowed strings, or a callable returning them, or ``None``), ``check`` (a range
    predicate or ``None``) and ``rule`` (the predicate in words). Raises
    :class:`ConfigError` naming ``path``.
    """
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


def is_positive(v: Any) -> bool:
    """``v > 0`` (``None``, an unset limit, passes)."""
    return v is None or v > 0


def is_unit_open(v: float) -> bool:
    """``v`` in (0, 1]."""
    return 0 < v <= 1


def is_unit(v: float) -> bool:
    """``v`` in [0, 1]."""
    return 0 <= v <= 1


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


def validate_constraint(
    table: Any, known_names: Mapping[str, Collection[str]] | None = None
) -> Mapping[str, Any]:
    """Validate a ``[constraint]`` table; return a read-only mapping of the keys given
    (lists become tuples, ``[name, parameter]`` pairs tuples, operator tables read-only
    mappings). Keys not given are left to the genotype layer's defaults.

    ``known_names`` maps a key (``neural_afs``, ``neural_pfns``, ``neural_aggr_fs``,
    ``mutation_operators``...) to the names the caller's registries know; tuning selection
    names and heredity types are always checked. Raises :class:`ConfigError` naming the key.
    """
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
            out[key] = check_value(
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
            out[key] = check_value(
                path,
                {"kind": "str_list", "choices": known.get(key), "check": bool, "rule": "not empty"},
                value,
            )
        elif key in ("annealing_parameters", "perturbation_ranges"):
            if not isinstance(value, list) or not value:
                raise ConfigError(f"{path}: expected a non-empty list of numbers")
            ok = is_unit_open if key == "annealing_parameters" else is_positive
            rule = "(0, 1]" if key == "annealing_parameters" else "> 0"
            out[key] = tuple(
                check_value(
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
        ops[name] = check_value(
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
    name = check_value(
        f"{path}[0]", {"kind": "str", "choices": names, "check": None, "rule": ""}, value[0]
    )
    param = check_value(
        f"{path}[1]",
        {"kind": "float", "choices": None, "check": lambda v: v >= 0, "rule": ">= 0"},
        value[1],
    )
    return name, param
