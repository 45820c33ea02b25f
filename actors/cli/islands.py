"""Mesh options of ``megabrain evolve`` and the ``megabrain mesh best|nodes`` actions.

``megabrain evolve MORPHOLOGY --mesh --bootstrap HOST:PORT --realm NAME`` runs the evolution
as an island of distribution model 1 (:mod:`actors.distributed.island`): it joins the mesh,
publishes its improving champions and adopts the validated champions of the other nodes.
``megabrain mesh --control-file F best [MORPHOLOGY]`` prints the best champion advertised in
the realm with its provenance (signature checked here); ``megabrain mesh --control-file F
nodes`` lists the islands with their counters. The control file is written by
``megabrain node`` or by ``megabrain evolve --mesh --control-file F``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from actors.cli import UsageError
from actors.cli.keyfile import held_node_key
from actors.cli.output import JSON_HELP, check_json_target, write_json

__all__ = ["add_mesh_arguments", "island_session", "register_mesh_actions"]


def add_mesh_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--mesh`` options of ``megabrain evolve``."""
    g = p.add_argument_group("mesh (share champions with other nodes; [mesh] in --config)")
    g.add_argument("--mesh", action="store_true", help="join the mesh as an island")
    g.add_argument("--bootstrap", action="append", default=[], metavar="HOST:PORT",
                   help="seed node (repeatable)")  # fmt: skip
    g.add_argument("--realm", metavar="NAME", help="realm to publish in (default megabrain)")
    g.add_argument("--listen", metavar="HOST:PORT", help="QUIC address (default 127.0.0.1:0)")
    g.add_argument("--key", metavar="PATH", help="node key file (created if absent)")
    g.add_argument("--label", metavar="NAME", help="this node's name in tables")
    g.add_argument("--control-file", metavar="PATH", help="serve `megabrain mesh` through it")
    g.add_argument("--mesh-status", metavar="PATH", help="write the island's status (JSON)")
    g.add_argument("--mesh-events", metavar="PATH", help="append the island's events (JSONL)")
    g.add_argument("--linger", type=float, default=3.0, metavar="S",
                   help="seconds to let the last publications leave (default 3)")  # fmt: skip
    g.add_argument("--start-file", metavar="PATH",
                   help="with the island up, wait until PATH exists before evolving (a launcher "
                        "starts several nodes, then all at once)")  # fmt: skip
    g.add_argument("--start-timeout", type=float, default=600.0, metavar="S",
                   help="seconds to wait for --start-file (default 600)")  # fmt: skip


def mesh_settings(args: argparse.Namespace, base: Any) -> Any:
    """The ``[mesh]`` settings with the command line's overrides; ``None`` when off."""
    from actors.distributed.errors import MeshConfigError

    if not (args.mesh or base.enabled):
        return None
    changes: dict[str, Any] = {"enabled": True}
    if args.bootstrap:
        changes["bootstrap"] = tuple(args.bootstrap)
    if args.realm:
        changes["realm"] = args.realm
    if args.listen:
        changes["listen"] = args.listen
    if args.key:
        changes["key"] = args.key
    try:
        return dataclasses.replace(base, **changes)
    except MeshConfigError as exc:
        raise UsageError(str(exc)) from exc


@contextmanager
def island_session(
    args: argparse.Namespace, settings: Any, morphology: str, runtime: str
) -> Iterator[Any]:
    """Start an :class:`~actors.distributed.island.Island` (or yield ``None`` when the mesh is
    off); the island is closed on the way out. ``--key`` is held for the island's life
    (:mod:`actors.cli.keyfile`); an address that cannot be bound is a :class:`ListenError`
    before the run starts."""
    if settings is None:
        yield None
        return
    with contextlib.ExitStack() as stack:
        if settings.key:
            key = stack.enter_context(held_node_key(settings.key))
        else:
            from mesh.identity import NodeKey

            key = NodeKey.generate()
        yield stack.enter_context(_island(args, settings, morphology, runtime, key))


@contextmanager
def _island(
    args: argparse.Namespace, settings: Any, morphology: str, runtime: str, key: Any
) -> Iterator[Any]:
    from actors.distributed.island import Island, IslandOptions
    from mesh.listening import check_bindable
    from mesh.transport import parse_address

    island = Island(
        IslandOptions(
            morphology=morphology, settings=settings, key=key, label=args.label or "",
            status_path=args.mesh_status, events_path=args.mesh_events,
            control_file=args.control_file,
        )
    )  # fmt: skip
    try:
        if runtime == "simple":  # (local: started after the actor processes are forked)
            address = island.start()
            if not args.quiet:
                print(f"mesh: island {key.node_id.hex()[:16]} on {address}, realm "
                      f"{settings.realm}", file=sys.stderr, flush=True)  # fmt: skip
        else:  # its address must be free now, not one generation later
            check_bindable(*parse_address(settings.listen))
        yield island
    finally:
        # a SIGTERM while closing must not cut the cleanup short (the control file, the
        # last status): it is ignored until the island is closed; SIGKILL still ends it
        previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            island.close(linger=args.linger)
        finally:
            signal.signal(signal.SIGTERM, previous)


def wait_for_start(path: str | None, timeout: float) -> None:
    """Block until ``path`` exists (no-op without one); :class:`UsageError` after
    ``timeout`` s."""
    if not path:
        return
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() >= deadline:
            raise UsageError(f"start file {path} did not appear within {timeout:g} s")
        time.sleep(0.02)


# ---------------------------------------------------------------------- mesh best / nodes


def register_mesh_actions(ms: Any) -> None:
    """Add ``best`` and ``nodes`` to ``megabrain mesh``'s actions."""
    best = ms.add_parser("best", help="best champion advertised in the realm, with provenance")
    best.add_argument("morphology", nargs="?", default="dpnv", help="default dpnv")
    best.add_argument("--realm", help="realm (default: the node's first)")
    best.add_argument("--json", metavar="PATH", help=JSON_HELP)
    best.set_defaults(func=_best)
    nodes = ms.add_parser("nodes", help="islands of the realm with their counters")
    nodes.add_argument("--realm", help="realm (default: the node's first)")
    nodes.add_argument("--json", metavar="PATH", help=JSON_HELP)
    nodes.set_defaults(func=_nodes)


def _request(args: argparse.Namespace, op: str, **fields: Any) -> Any:
    from mesh.control import ControlClient, ControlError

    if args.realm:
        fields["realm"] = args.realm
    try:
        return ControlClient(args.control_file).request(op, **fields)
    except ControlError as exc:
        raise UsageError(str(exc)) from exc


def best_champions(records: list[dict[str, Any]]) -> tuple[list[Any], int]:
    """Verified envelopes of DHT records (best first) and how many failed verification."""
    from actors.distributed.envelope import decode_envelope
    from actors.distributed.errors import EnvelopeError

    good, bad = [], 0
    for r in records:
        try:
            env = decode_envelope(bytes.fromhex(r["value"]))
        except (EnvelopeError, ValueError, KeyError):
            bad += 1
            continue
        if env.public_key.hex() != r.get("author"):
            bad += 1  # someone else's envelope stored under another identity
            continue
        good.append(env)
    good.sort(key=lambda e: (-e.main_fitness, e.origin))
    return good, bad


def _best(args: argparse.Namespace) -> int:
    from actors.distributed.island import BEST_PREFIX

    check_json_target(args.json)
    records = _request(args, "find", problem=BEST_PREFIX + args.morphology)
    good, bad = best_champions(records)
    if not good:
        print(f"no {args.morphology} champion advertised ({bad} unverifiable records)")
        return 1
    top = good[0]
    if args.json:
        write_json(args.json, {**top.provenance(), "records": len(good), "unverified": bad})
        return 0
    p = top.provenance()
    print(f"best {args.morphology} champion in realm {top.realm} "
          f"(of {len(good)} advertised, {bad} unverifiable)")  # fmt: skip
    for name in ("fitness", "solved", "origin", "agent_id", "generation", "lineage",
                 "evaluations", "seq", "genotype_hash", "bytes"):  # fmt: skip
        print(f"  {name:14} {p[name]}")
    return 0


def _nodes(args: argparse.Namespace) -> int:
    from actors.distributed.island import ISLANDS_KEY

    check_json_target(args.json)
    records = _request(args, "find", problem=ISLANDS_KEY)
    peers = {p["node_id"]: p for p in _request(args, "peers")}
    me = _request(args, "status")["node_id"]
    from mesh.identity import node_id_of

    rows = []
    for r in records:
        meta = r.get("meta", {})
        try:
            nid = node_id_of(bytes.fromhex(r["author"])).hex()  # records carry the public key
        except (ValueError, KeyError):
            continue
        peer = peers.get(nid)
        state = "self" if nid == me else (peer["status"] if peer else "unknown")
        rows.append({"node_id": nid, "state": state, **meta})
    rows.sort(key=lambda m: (-(m.get("best") or float("-inf")), m["node_id"]))
    if args.json:
        write_json(args.json, rows)
        return 0
    if not rows:
        print("no island advertised in this realm")
        return 1
    print(f"{'node':16} {'label':8} {'state':8} {'morphology':10} {'best':>10} {'gen':>5} "
          f"{'evals':>8} {'sent':>5} {'recv':>5} {'acc':>5} {'rej':>5}")  # fmt: skip
    for m in rows:
        best = m.get("best")
        print(f"{m['node_id'][:16]} {str(m.get('label', ''))[:8]:8} {m['state']:8} "
              f"{str(m.get('morphology', ''))[:10]:10} "
              f"{'-' if best is None else f'{best:.4g}':>10} {m.get('generation', 0):>5} "
              f"{m.get('evaluations', 0):>8} {m.get('published', 0):>5} "
              f"{m.get('received', 0):>5} {m.get('accepted', 0):>5} "
              f"{m.get('rejected', 0):>5}")  # fmt: skip
    return 0
