"""``megabrain genotype``: build, mutate, inspect and export genotypes.

Sub-commands::

    megabrain genotype seed --sensor NAME:VL ... --actuator NAME:VL ... [--feedforward]
                            [--seed N] [--generations G] -o FILE
    megabrain genotype show FILE
    megabrain genotype export FILE --format json|dot [-o OUT]
    megabrain genotype store-list DB [--population ID]
    megabrain genotype store-export DB AGENT_ID --format msgpack|json|dot -o OUT

A genotype FILE holds either the canonical msgpack encoding or the JSON export (told apart by
the first byte). A file that is not a valid genotype exits with status 1 and a message.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

from actors.cli import UsageError
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
from actors.genotype.store import GenotypeStore

__all__ = ["register"]


def _spec(text: str, kind: type[SensorSpec] | type[ActuatorSpec]) -> SensorSpec | ActuatorSpec:
    name, sep, vl = text.rpartition(":")
    if not sep or not name or not vl.isdigit():
        raise UsageError(f"expected NAME:VL, got {text!r}")
    try:
        return kind(name, int(vl))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _read(path: str) -> Agent:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if data[:1] == b"{":
        return agent_from_json(data)
    return decode_agent(data)


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


def _open_store(path: str) -> GenotypeStore:
    if not Path(path).exists():
        raise UsageError(f"no store at {path}")
    return GenotypeStore(path)


def _store_list(args: argparse.Namespace) -> int:
    with _open_store(args.db) as store:
        for agent_id in store.list_agents(population_id=args.population):
            print(agent_id)
    return 0


def _store_export(args: argparse.Namespace) -> int:
    with _open_store(args.db) as store:
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
