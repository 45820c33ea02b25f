"""``megabrain config``: the run file's every key with its default, and a check of a file.

``config --defaults`` prints a commented TOML file generated from the typed configuration
dataclasses (:mod:`actors.evolution.config` and :mod:`actors.distributed.config`): one table
per section, each key with its default and, as a comment above it, its ``doc`` text and the
values it allows. Loaded back through ``--config`` it gives exactly the defaults. The
``[constraint]`` keys are printed commented out, with the values a run uses when they are
left out (derived from ``[tuning]`` and ``[monitor]``, or the genotype layer's defaults):
setting one pins it, whatever ``[tuning]`` says.

``config --check FILE.toml`` loads a run file as ``evolve --config`` does and prints the keys
that differ from the defaults; a file that does not load prints the error and exits 1.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import textwrap
from collections.abc import Mapping
from typing import Any

__all__ = ["defaults_toml", "register", "toml_value"]

#: Comment lines are wrapped at this width (values are never wrapped).
WIDTH = 100


def register(sub: Any) -> None:
    p = sub.add_parser(
        "config",
        help="print every configuration key with its default, or check a run file",
        description="Print a commented TOML run file holding every key with its default "
        "(--defaults), or load a run file as `evolve --config` does and list what it changes "
        "(--check).",
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--defaults", action="store_true", help="print the defaults as TOML")
    group.add_argument("--check", metavar="FILE.toml", help="load and check a run file")
    p.set_defaults(func=run_config)


def toml_value(value: Any) -> str:
    """``value`` as a TOML value: strings, booleans, numbers, lists, inline tables;
    ``None`` (an unset limit) as ``"none"``."""
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML cannot hold {value}")
        return repr(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ValueError(f"no TOML form for {value!r}")


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, WIDTH - 2, break_on_hyphens=False)]


def _table(name: str, cls: type, summary: str) -> list[str]:
    from actors.evolution.config import describe_fields

    lines = ["", *_comment(summary), f"[{name}]"]
    for d in describe_fields(cls):
        notes = [d.doc]
        if d.choices is not None and not all(c in d.doc for c in d.choices):
            notes.append("one of: " + ", ".join(d.choices))
        if d.rule:
            notes.append(d.rule)
        if d.limit and "none" not in d.doc:
            notes.append('or "none"')
        lines.extend(_comment("; ".join(notes)))
        lines.append(f"{d.key} = {toml_value(d.default)}")
    return lines


def _summary(cls: type) -> str:
    """The first paragraph of the class docstring, without reST markup."""
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc)
    return " ".join(doc.split()).replace("``", "")


def _constraint_value(key: str, value: Any) -> Any:
    if key == "mutation_operators":  # a tuple of (name, weight) pairs; a table in TOML
        return dict(value)
    return value


def _constraint_lines() -> list[str]:
    from actors.evolution.config import CONSTRAINT_KEYS, EvolutionConfig
    from actors.evolution.setup import build_constraint

    used = build_constraint("any", EvolutionConfig())
    lines = [
        "",
        *_comment(
            "[constraint]: what mutation may build (DXNN2's #constraint field names). Every "
            "key is optional; shown commented out with the value a run uses when it is left "
            "out (from [tuning] and [monitor], or the genotype layer's default). Setting one "
            "pins it."
        ),
        "[constraint]",
    ]
    for key, kind in CONSTRAINT_KEYS.items():
        lines.extend(_comment(kind))
        lines.append(f"# {key} = {toml_value(_constraint_value(key, getattr(used, key)))}")
    return lines


def defaults_toml() -> str:
    """The commented TOML of every key with its default (see the module docstring)."""
    from actors import __version__
    from actors.distributed.config import MeshSettings
    from actors.evolution.config import section_classes

    lines = [
        f"# megabrain {__version__}: every configuration key with its default.",
        "# Use with `megabrain evolve MORPHOLOGY --config FILE.toml` (options given on the",
        "# command line win); unknown tables and keys are rejected. Check a file with",
        "# `megabrain config --check FILE.toml`.",
    ]
    for name, cls in section_classes().items():
        lines.extend(_table(name, cls, _summary(cls)))
    lines.extend(_constraint_lines())
    lines.extend(_table("mesh", MeshSettings, _summary(MeshSettings)))
    return "\n".join(lines) + "\n"


def _differences(path: str) -> list[str]:
    from actors.distributed.config import MeshSettings, load_run_config
    from actors.evolution.config import EvolutionConfig
    from actors.evolution.setup import build_constraint

    cfg, mesh = load_run_config(path)
    build_constraint("any", cfg)
    given = {**cfg.to_dict(), "mesh": mesh.to_dict()}
    default = {**EvolutionConfig().to_dict(), "mesh": MeshSettings().to_dict()}
    out = []
    for table, values in given.items():
        for key, value in values.items():
            if table == "constraint" or value != default[table].get(key):
                out.append(f"{table}.{key} = {toml_value(_constraint_value(key, value))}")
    return out


def run_config(args: argparse.Namespace) -> int:
    from actors.distributed.errors import MeshConfigError
    from actors.evolution.errors import EvolutionError

    if args.defaults:
        sys.stdout.write(defaults_toml())
        return 0
    try:
        changed = _differences(args.check)
    except (EvolutionError, MeshConfigError) as exc:
        message = str(exc)
        if args.check not in message:
            message = f"{args.check}: {message}"
        print(f"megabrain config: {message}", file=sys.stderr)
        return 1
    print(f"{args.check}: ok, {len(changed)} setting(s) differ from the defaults")
    for line in changed:
        print(f"  {line}")
    return 0
