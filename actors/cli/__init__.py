"""The ``megabrain`` command.

Every feature adds a sub-command as a module ``NAME_cmd.py`` in this package exposing
``register(subparsers) -> None``; the module is listed in :data:`COMMAND_MODULES`. The other
modules here (``islands``, ``genotype_files``, ``keyfile``, ``output``, ``stores``) are helpers
the commands share.
A registered sub-command sets ``func`` (``Callable[[argparse.Namespace], int]``)
as its parser default; its return value is the exit status.

Bad arguments exit with status 2 and a message naming the problem (argparse's
convention); a :class:`UsageError` raised by a sub-command does the same, and so does a
socket that cannot be bound (:class:`mesh.errors.ListenError`: ``megabrain CMD: error:
cannot listen on HOST:PORT: REASON``). SIGTERM ends every command as Ctrl-C does (exit
status 130). ``--json PATH`` follows one convention everywhere (:mod:`actors.cli.output`).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from actors import __version__
from mesh.errors import ListenError

__all__ = ["COMMAND_MODULES", "UsageError", "build_parser", "main"]

#: Sub-command modules, in the order they appear in ``megabrain --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "actors.cli.runtime_cmd",
    "actors.cli.genotype_cmd",
    "actors.cli.evolve_cmd",
    "actors.cli.run_cmd",
    "actors.cli.config_cmd",
    "actors.cli.demo_cmd",
    "actors.cli.mesh_cmd",
    "actors.cli.cluster_cmd",
    "actors.cli.worker_cmd",
)


class UsageError(Exception):
    """A bad argument or option value found after parsing; exits with status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="megabrain",
        epilog="A command's --json PATH writes its JSON to PATH ('-': to standard output, "
        "and nothing else there); exit status 0 done, 1 failed, 2 bad input (one line on "
        "standard error), 130 interrupted (Ctrl-C or SIGTERM). See docs/cli.md.",
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


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM ends a command as Ctrl-C does; a second SIGTERM cannot cut its cleanup
    short (it is ignored from then on; SIGKILL still ends the process)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    from actors.cli.output import json_stdout

    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main else None
    try:
        with json_stdout(getattr(args, "json", None)):
            return int(func(args))
    except (UsageError, ListenError) as exc:
        parser.exit(2, f"megabrain {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from actors.runtime.errors import SystemLost  # loaded already if it was raised

        if not isinstance(exc, SystemLost):
            raise
        print(f"megabrain {args.command}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
