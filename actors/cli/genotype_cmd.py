"""``megabrain genotype``: build, mutate, inspect and export genotypes.

Sub-commands::

    megabrain genotype seed --sensor NAME:VL ... --actuator NAME:VL ... [--feedforward]
                            [--seed N] [--generations G] -o FILE
    megabrain genotype show FILE
    megabrain genotype export FILE --format json|dot [-o OUT]
    megabrain genotype store-list DB [--population ID]
    megabrain genotype store-export DB AGENT_ID --format msgpack|json|dot -o OUT

A genotype FILE holds either the canonical msgpack encoding or the JSON export (told apart by
content, whatever the name). A FILE that cannot be read or is not a genotype (empty,
truncated, corrupt, another kind of file) exits with status 2 and one line naming it; a
store whose rows do not decode exits with status 1.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

from actors.cli import UsageError
from actors.cli.stores import open_existing_store
from actors.genotype import (
    ActuatorSpec,
    Agent,
    Constraint,
    GenotypeDecodeError,
    MorphologySpec,
    SensorSpec,
    StoreError,
    agent_from_json,
    agent_to_dot,
    agent_to_json,
    construct_agent,
    decode_agent,
    encode_agent,
    fingerprint_digest,
    offspring,
)
from actors.genotype.codec import DEFAULT_LIMITS

__all__ = ["read_agent_file", "register"]


def _spec(text: str, kind: type[SensorSpec] | type[ActuatorSpec]) -> SensorSpec | ActuatorSpec:
    name, sep, vl = text.rpartition(":")
    if not sep or not name or not vl.isdigit():
        raise UsageError(f"expected NAME:VL, got {text!r}")
    try:
        return kind(name, int(vl))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


#: How a canonical msgpack genotype begins: the envelope map of four keys, "schema" first.
_MSGPACK_ENVELOPE = b"\x84\xa6schema"
_SQLITE_HEADER = b"SQLite format 3\x00"


def _one_line(exc: Exception, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_agent_file(path: str, *, store_hint: str = "") -> Agent:
    """The agent in genotype file ``path``: the canonical msgpack encoding (what
    ``genotype seed`` writes, ``.mbg``) or the JSON export, told apart by content, not by
    name. Anything else raises :class:`UsageError` with one line naming the file: missing,
    unreadable, a directory, empty, too large, a genotype store (``store_hint`` says what
    to do instead), truncated or corrupt, or a valid document that is not an agent."""
    p = Path(path)
    try:
        if p.is_dir():
            raise UsageError(f"{path} is a directory, not a genotype file")
        size = p.stat().st_size
        if size > DEFAULT_LIMITS.max_bytes:
            raise UsageError(
                f"{path} is not a genotype: {size} bytes, more than the "
                f"{DEFAULT_LIMITS.max_bytes} a genotype may take"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UsageError(f"{path} is empty, not a genotype")
    if data.startswith(_SQLITE_HEADER):
        hint = f": {store_hint}" if store_hint else ""
        raise UsageError(f"{path} is a genotype store, not a genotype file{hint}")
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            return agent_from_json(data)
        except GenotypeDecodeError as exc:
            raise UsageError(f"{path} is not a genotype (JSON): {_one_line(exc)}") from exc
    try:
        return decode_agent(data)
    except GenotypeDecodeError as exc:
        if not str(exc).startswith("not msgpack"):
            reason = _one_line(exc)
        elif data[: len(_MSGPACK_ENVELOPE)] == _MSGPACK_ENVELOPE[: len(data)]:
            reason = "truncated or corrupt msgpack encoding"
        else:
            reason = "neither the msgpack encoding nor the JSON export of one"
        raise UsageError(f"{path} is not a genotype: {reason}") from exc


def _read(path: str) -> Agent:
    return read_agent_file(
        path, store_hint="read it with `megabrain genotype store-list` / `store-export`"
    )


def _write(path: str | None, data: bytes | str) -> None:
    if path is None or path == "-":
        if isinstance(data, str):
            sys.stdout.write(data)
        else:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        return
    try:
        Path(path).write_bytes(data.encode() if isinstance(data, str) else data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc


def _render(agent: Agent, fmt: str) -> bytes | str:
    if fmt == "json":
        return agent_to_json(agent, indent=1) + "\n"
    if fmt == "dot":
        return agent_to_dot(agent)
    return encode_agent(agent)


def _seed(args: argparse.Namespace) -> int:
    sensors = tuple(_spec(s, SensorSpec) for s in args.sensor)
    actuators = tuple(_spec(a, ActuatorSpec) for a in args.actuator)
    try:
        morph = MorphologySpec(args.morphology, sensors, actuators)  # type: ignore[arg-type]
        arch = "feedforward" if args.feedforward else "recurrent"
        constraint = Constraint(morphology=args.morphology, connection_architecture=arch)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.generations < 0:
        raise UsageError("--generations must be >= 0")
    rng = random.Random(args.seed)
    agent = construct_agent(morph, constraint, rng)
    for _ in range(args.generations):
        agent = offspring(agent, rng)
    fmt = "json" if args.output.endswith(".json") else "msgpack"
    _write(args.output, _render(agent, fmt))
    print(f"{agent.id}: {agent.size()[0]} neurons, {agent.size()[1]} links -> {args.output}")
    return 0


def _show(args: argparse.Namespace) -> int:
    agent = _read(args.file)
    neurons, links = agent.size()
    print(f"agent        {agent.id} (generation {agent.generation}, parents {agent.parent_ids})")
    print(f"network      {neurons} neurons, {links} links, {len(agent.pattern)} layers")
    print(f"layers       {', '.join(f'{li:g}:{len(ids)}' for li, ids in agent.pattern)}")
    print(f"sensors      {', '.join(f'{s.name}[{s.vl}]' for s in agent.sensors)}")
    print(f"actuators    {', '.join(f'{a.name}[{a.vl}]' for a in agent.actuators)}")
    print(f"architecture {agent.constraint.connection_architecture}")
    print(f"history      {len(agent.evo_hist)} operators applied")
    print(f"fingerprint  {fingerprint_digest(agent)}")
    print(f"encoded      {len(encode_agent(agent))} bytes")
    return 0


def _export(args: argparse.Namespace) -> int:
    _write(args.output, _render(_read(args.file), args.format))
    return 0


def _store_list(args: argparse.Namespace) -> int:
    with open_existing_store(args.db) as store:
        for agent_id in store.list_agents(population_id=args.population):
            print(agent_id)
    return 0


def _store_export(args: argparse.Namespace) -> int:
    with open_existing_store(args.db) as store:
        agent = store.get_agent(args.agent_id)
    if agent is None:
        raise UsageError(f"no agent {args.agent_id} in {args.db}")
    _write(args.output, _render(agent, args.format))
    return 0


def _run(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (GenotypeDecodeError, StoreError) as exc:
            print(f"megabrain genotype: {exc}", file=sys.stderr)
            return 1

    return run


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("genotype", help="build, inspect and export genotypes")
    sub = parser.add_subparsers(dest="genotype_command", metavar="ACTION", required=True)

    p = sub.add_parser("seed", help="construct a seed agent (optionally evolve it by mutation)")
    p.add_argument("--sensor", action="append", required=True, metavar="NAME:VL")
    p.add_argument("--actuator", action="append", required=True, metavar="NAME:VL")
    p.add_argument("--morphology", default="cli")
    p.add_argument("--feedforward", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--generations", type=int, default=0, help="offspring() steps to apply")
    p.add_argument("-o", "--output", required=True, help="FILE (.json for JSON, else msgpack)")
    p.set_defaults(func=_run(_seed))

    p = sub.add_parser("show", help="summarize a genotype file")
    p.add_argument("file")
    p.set_defaults(func=_run(_show))

    p = sub.add_parser("export", help="export a genotype file as JSON or DOT")
    p.add_argument("file")
    p.add_argument("--format", choices=("json", "dot"), required=True)
    p.add_argument("-o", "--output", default=None)
    p.set_defaults(func=_run(_export))

    p = sub.add_parser("store-list", help="list the agent ids of a genotype store")
    p.add_argument("db")
    p.add_argument("--population", default=None)
    p.set_defaults(func=_run(_store_list))

    p = sub.add_parser("store-export", help="export one agent of a genotype store")
    p.add_argument("db")
    p.add_argument("agent_id")
    p.add_argument("--format", choices=("msgpack", "json", "dot"), required=True)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_run(_store_export))
