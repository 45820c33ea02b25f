"""``megabrain node`` (run a mesh node) and ``megabrain mesh peers|find|call|stats`` (inspect one).

``megabrain node --listen 127.0.0.1:0 --bootstrap HOST:PORT --realm NAME --key PATH`` runs a
node until SIGINT/SIGTERM. It prints one JSON line when ready (``node_id``, ``listen``,
``control``, ``control_file``, ``pid``) and writes the control file (see :mod:`mesh.control`)
that the ``mesh`` commands read to reach the node's local endpoint. Defaults bind 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from actors.cli import UsageError
from actors.cli.islands import register_mesh_actions
from actors.cli.keyfile import held_node_key
from mesh.control import ControlClient, ControlError, ControlServer
from mesh.errors import MeshError
from mesh.identity import NodeKey
from mesh.node import MeshNode, NodeConfig
from mesh.transport import parse_address

__all__ = ["register"]


def register(sub: Any) -> None:
    node = sub.add_parser("node", help="run a mesh node (QUIC) until interrupted")
    node.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    node.add_argument(
        "--bootstrap", action="append", default=[], metavar="HOST:PORT", help="seed (repeatable)"
    )
    node.add_argument(
        "--realm", action="append", default=[], metavar="NAME", help="realm (repeatable)"
    )
    node.add_argument("--key", required=True, help="Ed25519 key file (created, 0600, if absent)")
    node.add_argument("--control", default="127.0.0.1:0", help="local control endpoint HOST:PORT")
    node.add_argument("--control-file", help="where to write it (default: KEY.control.json)")
    node.add_argument("--swim-period", type=float, help="SWIM protocol period, seconds")
    node.add_argument("--rate", type=float, help="frames/s accepted per peer (token bucket)")
    node.add_argument("--idle-timeout", type=float, help="QUIC idle timeout, seconds")
    node.set_defaults(func=_run_node)

    mesh = sub.add_parser("mesh", help="inspect a running node through its control file")
    mesh.add_argument("--control-file", required=True, help="written by `megabrain node`")
    ms = mesh.add_subparsers(dest="mesh_command", metavar="ACTION", required=True)
    ms.add_parser("peers", help="peers and their SWIM status").set_defaults(func=_peers)
    ms.add_parser("stats", help="node, core and transport counters").set_defaults(func=_stats)
    find = ms.add_parser("find", help="genotype advertisements for PROBLEM (DHT)")
    find.add_argument("problem")
    find.set_defaults(func=_find)
    call = ms.add_parser("call", help="call PROCEDURE with ARGS (text) and print the reply")
    call.add_argument("procedure")
    call.add_argument("args", nargs="?", default="")
    call.add_argument("--hex", action="store_true", help="ARGS and reply as hex")
    call.add_argument("--timeout", type=float, default=10.0)
    call.set_defaults(func=_call)
    register_mesh_actions(ms)  # best, nodes: distribution model 1 (actors/distributed)


def _node_config(args: argparse.Namespace) -> NodeConfig:
    cfg = NodeConfig()
    if args.swim_period is not None:
        cfg = replace(
            cfg, mesh=replace(cfg.mesh, swim=replace(cfg.mesh.swim, period=args.swim_period))
        )
    if args.rate is not None:
        cfg = replace(
            cfg, transport=replace(cfg.transport, rate=args.rate, burst=max(1.0, 2 * args.rate))
        )
    if args.idle_timeout is not None:
        cfg = replace(cfg, transport=replace(cfg.transport, idle_timeout=args.idle_timeout))
    return cfg


def _run_node(args: argparse.Namespace) -> int:
    try:
        host, port = parse_address(args.listen)
        chost, cport = parse_address(args.control)
        for b in args.bootstrap:
            parse_address(b)
    except MeshError as exc:
        raise UsageError(str(exc)) from exc
    control_file = args.control_file or f"{args.key}.control.json"
    realms = args.realm or ["default"]
    with held_node_key(args.key) as key:  # refused if a running node holds this key
        return asyncio.run(
            _serve(
                key, realms, host, port, chost, cport, args.bootstrap, control_file,
                _node_config(args),
            )
        )  # fmt: skip


async def _serve(
    key: NodeKey,
    realms: list[str],
    host: str,
    port: int,
    chost: str,
    cport: int,
    bootstrap: list[str],
    control_file: str,
    config: NodeConfig,
) -> int:
    node = MeshNode(key, realms, config=config)
    control = ControlServer(node)
    written = False
    try:  # a socket that cannot be bound raises ListenError: the node is closed on the way
        await node.start(host, port, bootstrap=bootstrap)
        await control.start(chost, cport)
        control.write_file(control_file)
        written = True
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(json.dumps({**control.info(), "control_file": control_file}), flush=True)
        await stop.wait()
    finally:
        await control.close()
        await node.close()
        if written:
            Path(control_file).unlink(missing_ok=True)
    return 0


def _client(args: argparse.Namespace) -> ControlClient:
    try:
        return ControlClient(args.control_file)
    except ControlError as exc:
        raise UsageError(str(exc)) from exc


def _print(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=1)
    sys.stdout.write("\n")


def _do(ns: argparse.Namespace, op: str, **fields: Any) -> Any:
    try:
        return _client(ns).request(op, **fields)
    except ControlError as exc:
        print(f"megabrain mesh: {exc}", file=sys.stderr)
        return None


def _peers(args: argparse.Namespace) -> int:
    res = _do(args, "peers")
    if res is None:
        return 1
    for p in res:
        print(f"{p['node_id'][:16]}  {p['address']:<24} {p['status']:<9} "
              f"{'connected' if p['connected'] else '-':<9} {','.join(p['realms'])}")  # fmt: skip
    return 0


def _stats(args: argparse.Namespace) -> int:
    res = _do(args, "stats")
    if res is None:
        return 1
    _print(res)
    return 0


def _find(args: argparse.Namespace) -> int:
    res = _do(args, "find", problem=args.problem)
    if res is None:
        return 1
    _print(res)
    return 0


def _call(args: argparse.Namespace) -> int:
    try:
        payload = bytes.fromhex(args.args) if args.hex else args.args.encode()
    except ValueError as exc:
        raise UsageError(f"ARGS is not hex: {exc}") from exc
    res = _do(args, "call", procedure=args.procedure, args=payload.hex(), timeout=args.timeout)
    if res is None:
        return 1
    value = bytes.fromhex(res["value"])
    if args.hex:
        print(value.hex())
    else:
        print(value.decode("utf-8", errors="replace"))
    return 0
