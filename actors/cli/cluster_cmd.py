"""``megabrain cluster secret|join`` and the ``--runtime cluster`` options of ``evolve``.

Thespian's own multi-host engine (a *convention* of multiprocTCPBase systems, see
docs/runtime.md "cluster"): ``cluster secret PATH`` writes the secret its members share
(mode 0600); ``cluster join`` runs a member that only offers capacity -- its capabilities
-- until interrupted (without ``--leader`` it is the convention's leader);
``evolve --runtime cluster`` runs the evolution as a member and places its exoselves on
the systems meeting ``--exoself-requires``. For a trusted network only: the members
exchange pickles, sealed with the shared secret (authenticated, not encrypted).

``KEY=VALUE`` values are read as JSON when they parse as JSON (``cores=2`` is the integer
2, ``gpu=true`` the boolean), and as text otherwise (``zone=b``); a requirement matches a
capability when both are equal after that reading.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from actors.cli import UsageError

__all__ = ["add_cluster_arguments", "cluster_options", "register"]


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{key}: a value is a scalar or a list, got {raw!r}")
    return key, value


def _common(g: Any) -> None:
    g.add_argument("--secret-file", metavar="PATH",
                   help="the members' shared secret (0600; `cluster secret PATH`)")  # fmt: skip
    g.add_argument("--leader", metavar="HOST:PORT",
                   help="the convention leader's admin address (none: lead)")  # fmt: skip
    g.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                   help="address this member advertises and binds (default 127.0.0.1)")  # fmt: skip
    g.add_argument("--admin-port", type=int, metavar="PORT",
                   help="this member's admin port (default: chosen by the OS)")  # fmt: skip
    g.add_argument("--capability", action="append", type=_key_value, default=[],
                   metavar="KEY=VALUE", help="a capability offered (repeatable)")  # fmt: skip


def add_cluster_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--runtime cluster`` options of ``megabrain evolve``."""
    g = p.add_argument_group(
        "cluster (--runtime cluster: Thespian convention; trusted network only)"
    )
    _common(g)
    g.add_argument("--exoself-requires", action="append", type=_key_value, default=[],
                   metavar="KEY=VALUE",
                   help="place exoselves on systems with it (repeatable)")  # fmt: skip
    g.add_argument("--placement-timeout", type=float, default=60.0, metavar="S",
                   help="wait for a system meeting them (default 60)")  # fmt: skip


def cluster_options(args: argparse.Namespace) -> Any:
    """The :class:`~actors.evolution.cluster.ClusterOptions` of ``evolve``'s arguments
    (``None`` unless ``--runtime cluster``). :class:`UsageError` on a bad combination."""
    from actors.evolution.cluster import ClusterOptions
    from actors.evolution.errors import EvolutionError

    given = [
        flag
        for flag, value in (
            ("--secret-file", args.secret_file),
            ("--leader", args.leader),
            ("--admin-port", args.admin_port),
            ("--capability", args.capability),
            ("--exoself-requires", args.exoself_requires),
        )
        if value
    ]
    if args.runtime != "cluster":
        if given:
            raise UsageError(f"{', '.join(given)}: only with --runtime cluster")
        return None
    if not args.secret_file:
        raise UsageError(
            "--runtime cluster needs --secret-file PATH (see `megabrain cluster secret`)"
        )
    try:
        return ClusterOptions(
            secret_file=args.secret_file,
            leader=args.leader,
            host=args.host,
            admin_port=args.admin_port,
            capabilities=dict(args.capability),
            exoself_requirements=dict(args.exoself_requires),
            placement_timeout=args.placement_timeout,
        )
    except EvolutionError as exc:
        raise UsageError(str(exc)) from exc


def register(sub: Any) -> None:
    p = sub.add_parser(
        "cluster",
        help="Thespian multi-host convention: write its secret, join it (trusted network only)",
    )
    actions = p.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    s = actions.add_parser("secret", help="write a new shared secret file (mode 0600)")
    s.add_argument("path", metavar="PATH")
    s.set_defaults(func=_secret)
    j = actions.add_parser(
        "join",
        help="run a member that offers its capabilities (capacity) until interrupted",
        description="Join (or, without --leader, lead) a convention and serve the actors "
        "other members place here, until Ctrl-C or SIGTERM.",
    )
    _common(j)
    j.add_argument("--module", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (see evolve --module): morphologies the "
                   "exoselves placed here evaluate")  # fmt: skip
    j.add_argument("--ready-file", metavar="PATH",
                   help="once up, write admin_port, address, pid (JSON)")  # fmt: skip
    j.set_defaults(func=_join)


def _secret(args: argparse.Namespace) -> int:
    from actors.runtime import seal
    from actors.runtime.errors import SealError

    try:
        seal.write_secret_file(args.path)
    except SealError as exc:
        raise UsageError(str(exc)) from exc
    print(f"secret       {args.path} (mode 0600; give it to every member, nobody else)")
    return 0


def _join(args: argparse.Namespace) -> int:
    """Serve until interrupted: exit status 130 (Ctrl-C, SIGTERM) after an orderly leave."""
    from actors.cli.evolve_cmd import import_modules
    from actors.evolution.cluster import ClusterOptions
    from actors.evolution.errors import EvolutionError
    from actors.runtime import RuntimeSystem
    from actors.runtime.errors import RuntimeConfigError

    if not args.secret_file:
        raise UsageError("cluster join needs --secret-file PATH")
    import_modules(args.module)  # before the Admin is forked: the actors inherit them
    try:
        opts = ClusterOptions(
            secret_file=args.secret_file,
            leader=args.leader,
            host=args.host,
            admin_port=args.admin_port,
            capabilities=dict(args.capability),
        )
        rt = RuntimeSystem("cluster", **opts.system_options())
    except (EvolutionError, RuntimeConfigError) as exc:
        raise UsageError(str(exc)) from exc
    with rt:
        address = f"{args.host}:{rt.admin_port}"
        role = f"member of {args.leader}" if args.leader else "leader"
        print(f"cluster      {role}, admin {address}, capabilities {dict(opts.capabilities)}",
              flush=True)  # fmt: skip
        if args.ready_file:
            tmp = Path(args.ready_file + ".tmp")
            tmp.write_text(json.dumps({"admin_port": rt.admin_port, "address": address,
                                       "pid": os.getpid()}), encoding="utf-8")  # fmt: skip
            os.replace(tmp, args.ready_file)
        while True:  # until KeyboardInterrupt (Ctrl-C, or SIGTERM via main); SystemLost
            rt.listen(1.0)  # if the Admin dies (exit status 1)
