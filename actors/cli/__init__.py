"""The ``megabrain`` command.

Every feature adds a sub-command as a module in this package exposing
``register(subparsers) -> None``; the module is listed in :data:`COMMAND_MODULES`.
A registered sub-command sets ``func`` (``Callable[[argparse.Namespace], int]``)
as its parser default; its return value is the exit status.

Bad arguments exit with status 2 and a message naming the problem (argparse's
convention); a :class:`UsageError` raised by a sub-command does the same.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from actors import __version__

__all__ = ["COMMAND_MODULES", "UsageError", "build_parser", "main"]

#: Sub-command modules, in the order they appear in ``megabrain --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "actors.cli.runtime_cmd",
    "actors.cli.genotype",
    "actors.cli.evolve_cmd",
    "actors.cli.run_cmd",
    "actors.cli.config_cmd",
    "actors.cli.demo_cmd",
    "actors.cli.mesh_cmd",
)


class UsageError(Exception):
    """A bad argument or option value found after parsing; exits with status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="megabrain",
        description=(
            "megabrain: BEAM-style actors on Thespian, DXNN-style neuroevolution on them, "
            "and a QUIC mesh that shares evolved genotypes between nodes."
        ),
    )
    parser.add_argument("--version", action="version", version=f"megabrain {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except UsageError as exc:
        parser.exit(2, f"megabrain {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
