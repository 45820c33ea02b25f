"""``megabrain evolve``, ``megabrain morphologies`` and ``megabrain show``.

``evolve MORPHOLOGY`` runs (or with ``--resume`` continues) a DXNN-style evolution and
prints its progress; ``--json`` writes a summary and exports the champion next to it;
``--module MODULE`` first imports a module of the user's that registers morphologies (a
fitness function, :func:`morphologies.fitness_morphology`, or a scape).
``morphologies`` lists what can be evolved. ``show GENOTYPE`` prints a genotype's summary
and writes its DOT text and a picture (PNG, SVG or PDF by the file's suffix). Bad arguments
exit with status 2 and a message.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from pathlib import Path
from typing import Any

from actors.cli import UsageError
from actors.cli.cluster_cmd import add_cluster_arguments, cluster_options
from actors.cli.genotype_files import load_genotype
from actors.cli.islands import (
    add_mesh_arguments,
    island_session,
    mesh_settings,
    wait_for_start,
)
from actors.cli.output import STDOUT, check_json_target, write_json

__all__ = ["register"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _limit(text: str) -> int | None:
    if text == "none":
        return None
    return _positive_int(text)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser(
        "evolve",
        help="evolve neural networks for a morphology (DXNN-style TWEANN)",
        description="Evolve a population of DXNN-style networks until the task is solved "
        "or a limit is reached. Every knob can also come from --config FILE.toml; options "
        "given here override the file.",
    )
    p.add_argument("morphology", metavar="MORPHOLOGY", help="see `megabrain morphologies`")
    p.add_argument("--module", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (a dotted name found from the current directory, "
                   "or a path to a .py file) to register your own morphologies; "
                   "repeatable")  # fmt: skip
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--population", type=_positive_int, help="agents per generation")
    p.add_argument("--max-evaluations", type=_limit, default=argparse.SUPPRESS,
                   help='evaluations limit, or "none"')  # fmt: skip
    p.add_argument("--max-generations", type=_limit, default=argparse.SUPPRESS,
                   help='generations limit, or "none"')  # fmt: skip
    p.add_argument("--fitness-goal", type=_number, help="stop when the best fitness reaches it")
    p.add_argument("--phenotype", default="compiled", help="backend: compiled | actors")
    p.add_argument(
        "--runtime",
        default="simple",
        choices=("simple", "local", "cluster"),
        help="simple: one deterministic thread; local: one process per actor; cluster: "
        "processes on the members of a Thespian convention (trusted network only)",
    )
    p.add_argument("--workers", type=_positive_int, help="exoself workers (parallel in local)")
    p.add_argument("--store", metavar="PATH", help="SQLite genotype store (checkpoints)")
    p.add_argument("--resume", action="store_true", help="continue the run kept in --store")
    p.add_argument("--config", metavar="FILE.toml", help="TOML configuration")
    p.add_argument("--json", metavar="PATH",
                   help="write a JSON summary to PATH and the champion next to it "
                   "(STEM.champion.json); '-': the summary to standard output and nothing "
                   "else there, no champion file")  # fmt: skip
    p.add_argument("--stats", metavar="PATH", help="write per-generation stats as JSONL")
    p.add_argument("--plot", metavar="PATH",
                   help="write a plot of fitness and diversity (.png, .svg or .pdf)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print details (candidates failing their success test)")  # fmt: skip
    add_mesh_arguments(p)
    r = p.add_argument_group("remote workers (exoselves on `megabrain worker` nodes)")
    r.add_argument("--remote-workers", action="store_true",
                   help="place the --workers exoselves on worker nodes of the realm, found by "
                   "placement query through --bootstrap (needs --key; --realm, default "
                   "'default', and --listen as for --mesh)")  # fmt: skip
    r.add_argument("--remote-min-nodes", type=_positive_int, default=1, metavar="N",
                   help="worker nodes to wait for before the run starts (default 1)")  # fmt: skip
    r.add_argument("--remote-wait", type=float, default=60.0, metavar="S",
                   help="how long to wait for them (default 60 s)")  # fmt: skip
    add_cluster_arguments(p)
    p.set_defaults(func=run_evolve)

    m = sub.add_parser("morphologies", help="list the morphologies evolve knows")
    m.add_argument("--module", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (see evolve --module)")  # fmt: skip
    m.set_defaults(func=run_morphologies)

    s = sub.add_parser(
        "show",
        help="summarise a genotype and draw it (DOT, PNG/SVG/PDF)",
        description="Print a genotype's summary, and write its DOT text and a picture. "
        "GENOTYPE is a genotype file (the msgpack encoding `megabrain genotype seed` writes, "
        "or a JSON export such as evolve's PATH.champion.json), or with --store an agent id "
        "or 'champion'.",
    )
    s.add_argument("genotype", metavar="GENOTYPE",
                   help="a genotype file, or an agent id / 'champion' with --store")  # fmt: skip
    s.add_argument("--store", metavar="PATH", help="read the genotype from this store")
    s.add_argument("--dot", metavar="PATH", help="write the DOT text ('-' for stdout)")
    s.add_argument("--draw", "--png", dest="draw", metavar="PATH",
                   help="write a picture, in the format the suffix names: "
                   ".png, .svg or .pdf (--png is the older name)")  # fmt: skip
    s.set_defaults(func=run_show)


def _config(args: argparse.Namespace) -> Any:
    from actors.distributed.config import MeshSettings, load_run_config
    from actors.distributed.errors import MeshConfigError
    from actors.evolution.config import EvolutionConfig
    from actors.evolution.errors import ConfigError

    try:
        if args.config:
            cfg, args.mesh_config = load_run_config(args.config)
        else:
            cfg, args.mesh_config = EvolutionConfig(), MeshSettings()
        monitor = cfg.monitor
        if args.population is not None:
            monitor = dataclasses.replace(monitor, population_size=args.population)
        if args.workers is not None:
            monitor = dataclasses.replace(monitor, workers=args.workers)
        stopping = cfg.stopping
        changes: dict[str, Any] = {}
        for opt, key in (("max_evaluations", "max_evaluations"),
                         ("max_generations", "max_generations")):  # fmt: skip
            if hasattr(args, opt):
                changes[key] = getattr(args, opt)
        if args.fitness_goal is not None:
            changes["fitness_goal"] = args.fitness_goal
        stopping = dataclasses.replace(stopping, **changes)
        return dataclasses.replace(cfg, monitor=monitor, stopping=stopping)
    except (ConfigError, MeshConfigError) as exc:
        raise UsageError(str(exc)) from exc


def import_modules(specs: list[str]) -> list[str]:
    """Import the user's modules (dotted names, looked up from the current directory first,
    or paths to ``.py`` files); returns the morphology names they registered. Any failure
    is a :class:`UsageError` of one line."""
    import importlib
    import importlib.util
    import sys

    from morphologies import morphology_names

    before = set(morphology_names())
    for spec in specs:
        try:
            if spec.endswith(".py") or os.sep in spec:
                path = Path(spec)
                if not path.is_file():
                    raise FileNotFoundError(f"no such file: {spec}")
                name = path.stem
                loaded = sys.modules.get(name)
                if loaded is not None:
                    where = getattr(loaded, "__file__", None)
                    if where is not None and Path(where).resolve() == path.resolve():
                        continue  # imported already
                    raise ImportError(
                        f"a module named {name!r} is already loaded ({where or 'built in'}); "
                        "rename the file"
                    )
                loader = importlib.util.spec_from_file_location(name, path)
                if loader is None or loader.loader is None:
                    raise ImportError(f"not a Python module: {spec}")
                module = importlib.util.module_from_spec(loader)
                sys.modules[name] = module
                loader.loader.exec_module(module)
            else:
                if "" not in sys.path and os.getcwd() not in sys.path:
                    sys.path.insert(0, os.getcwd())
                importlib.import_module(spec)
        except Exception as exc:  # the user's code: any failure is a usage error
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise UsageError(
                f"cannot import module {spec!r}: {type(exc).__name__}"
                + (f": {first}" if first else "")
            ) from exc
    return sorted(set(morphology_names()) - before)


def _remote_workers(args: argparse.Namespace) -> Any:
    """``--remote-workers``: the run's :class:`RemoteWorkers`, or None."""
    if not args.remote_workers:
        return None
    from actors.evolution.errors import EvolutionUsageError
    from actors.evolution.remote_workers import RemoteWorkers
    from actors.remote.gateway import GatewayConfig
    from actors.runtime.errors import RuntimeConfigError
    from mesh.errors import MeshUsageError
    from mesh.transport import parse_address

    if args.mesh:
        raise UsageError("--remote-workers and --mesh (islands) are not combined yet")
    if args.runtime == "cluster":
        raise UsageError("--remote-workers runs on the simple or local runtime")
    if not args.key or not args.bootstrap:
        raise UsageError("--remote-workers needs --key PATH and --bootstrap HOST:PORT")
    try:
        host, port = parse_address(args.listen or "127.0.0.1:0")
        gateway = GatewayConfig(
            key_file=os.path.abspath(args.key), realm=args.realm or "default", host=host,
            port=port, bootstrap=tuple(args.bootstrap),
        )  # fmt: skip
        return RemoteWorkers(
            gateway, min_nodes=args.remote_min_nodes, wait_timeout=args.remote_wait
        )
    except (MeshUsageError, RuntimeConfigError, EvolutionUsageError) as exc:
        raise UsageError(f"--remote-workers: {exc}") from exc


def run_evolve(args: argparse.Namespace) -> int:
    from actors import __version__ as megabrain_version
    from actors.cli.stores import open_existing_store
    from actors.evolution.backends import BackendError, check_backend
    from actors.evolution.errors import EvolutionError
    from actors.evolution.reporters import (
        ConsoleReporter,
        JsonlStatsReporter,
        PlotReporter,
        Reporter,
    )
    from actors.evolution.run import EvolveOptions, evolve
    from actors.evolution.setup import build_constraint
    from actors.genotype import GenotypeStore, StoreError, agent_to_json
    from morphologies import MorphologyError, get_morphology

    added = import_modules(args.module)
    try:
        get_morphology(args.morphology)
    except MorphologyError as exc:
        if args.module:
            raise UsageError(
                f"{args.morphology!r} is not a morphology ("
                + ", ".join(args.module)
                + f" registered: {', '.join(added) or 'none'})"
            ) from exc
        raise UsageError(str(exc)) from exc
    try:
        check_backend(args.phenotype)
    except BackendError as exc:
        raise UsageError(str(exc)) from exc
    cfg = _config(args)
    cluster = cluster_options(args)
    try:
        build_constraint(args.morphology, cfg)
    except EvolutionError as exc:
        raise UsageError(str(exc)) from exc
    if args.resume and not args.store:
        raise UsageError("--resume needs --store PATH")
    check_json_target(args.json)
    if args.store:
        run_id = f"{args.morphology}-{args.seed}"
        try:
            opener = open_existing_store if args.resume else GenotypeStore
            with opener(args.store) as store:
                held = store.last_checkpoint(run_id) is not None
                if args.resume and not held:  # name the runs it does hold
                    runs = [p for p in store.list_populations() if store.list_checkpoints(p)]
        except StoreError as exc:
            raise UsageError(str(exc)) from exc
        if args.resume and not held:
            raise UsageError(
                f"{args.store} holds no checkpoint of this run ({args.morphology}, seed "
                f"{args.seed}) to resume; runs held: {', '.join(runs) or 'none'}"
            )
        if held and not args.resume:
            raise UsageError(
                f"{args.store} already holds this run ({args.morphology}, seed {args.seed}): "
                "pass --resume to continue it, or use another store"
            )
    reporters: list[Reporter] = [ConsoleReporter(quiet=args.quiet, verbose=args.verbose)]
    try:
        if args.stats:
            reporters.append(JsonlStatsReporter(args.stats))
        if args.plot:
            reporters.append(PlotReporter(args.plot))
    except EvolutionError as exc:
        raise UsageError(str(exc)) from exc
    remote = _remote_workers(args)
    opts = EvolveOptions(
        morphology=args.morphology,
        seed=args.seed,
        config=cfg,
        backend=args.phenotype,
        runtime=args.runtime,
        workers=cfg.monitor.workers,
        store=args.store,
        resume=args.resume,
        cluster=cluster,
        remote=remote,
    )
    mesh = mesh_settings(args, args.mesh_config)
    with island_session(args, mesh, args.morphology, args.runtime) as island:
        wait_for_start(args.start_file, args.start_timeout)
        result = evolve(opts, reporters, hook=island)
    if args.json:
        out = Path(args.json)
        champion_path = None
        if result.champion is not None and args.json != STDOUT:  # "-": no champion file
            champion_path = out.with_name(out.stem + ".champion.json")
            champion_path.write_text(agent_to_json(result.champion, indent=1), encoding="utf-8")
        size = result.champion_size
        summary = {
            "morphology": result.morphology,
            "seed": result.seed,
            "solved": result.solved,
            "reason": result.reason,
            "evaluations": result.evaluations,
            "evaluations_to_solve": result.evaluations_to_solve,
            "generations": result.generations,
            "best_fitness": result.best_fitness,
            "wall_seconds": result.wall_seconds,
            "champion_id": None if result.champion is None else result.champion.id,
            "champion_neurons": None if size is None else size[0],
            "champion_links": None if size is None else size[1],
            "champion_json": None if champion_path is None else os.fspath(champion_path),
            "resumed_from_generation": result.resumed_from,
            "runtime": args.runtime,
            "exoself_placement": [
                {"id": i, "pid": pid, "address": addr} for i, pid, addr in result.placement
            ],
            "phenotype": args.phenotype,
            "workers": opts.workers,
            "modules": list(args.module),
            "megabrain_version": megabrain_version,
            "config": {**result.config, "mesh": (mesh or args.mesh_config).to_dict()},
        }
        write_json(args.json, summary)
    return 0


def run_morphologies(args: argparse.Namespace) -> int:
    from actors.evolution.success import SUCCESS_TESTS
    from morphologies import get_morphology, morphology_names

    import_modules(args.module)
    for name in morphology_names():
        m = get_morphology(name)
        sensors = ", ".join(f"{s.name}[{s.vl}]" for s in m.sensors)
        actuators = ", ".join(f"{a.name}[{a.vl}]" for a in m.actuators)
        test = " (success test)" if name in SUCCESS_TESTS else ""
        print(f"{name:16} {m.description}{test}\n{'':16} in: {sensors}; out: {actuators}")
    from morphologies.gym_adapter import DEFAULT_EPISODES

    print("gym:<EnvId>      any Gymnasium environment with Box/Discrete spaces (extra 'gym'):")
    print(f"{'':16} mean return of {DEFAULT_EPISODES} episodes, or K with gym:<EnvId>,episodes=K")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from actors.evolution.draw import genotype_summary, write_picture
    from actors.evolution.errors import EvolutionError
    from actors.evolution.pictures import picture_format
    from actors.genotype import agent_to_dot

    if args.draw:
        try:
            picture_format(args.draw)
        except EvolutionError as exc:
            raise UsageError(str(exc)) from exc
    agent = load_genotype(args.genotype, args.store)
    print(genotype_summary(agent))
    if args.dot:
        text = agent_to_dot(agent)
        if args.dot == "-":
            print(text, end="")
        else:
            try:
                Path(args.dot).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write {args.dot}: {exc.strerror or exc}") from exc
            print(f"dot          {args.dot}")
    if args.draw:
        try:
            renderer = write_picture(agent, args.draw)
        except EvolutionError as exc:
            raise UsageError(str(exc)) from exc
        print(f"picture      {args.draw} (drawn with {renderer})")
    return 0
