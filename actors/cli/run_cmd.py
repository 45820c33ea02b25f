"""``megabrain run``: evaluate a genotype (an evolved champion) on its morphology.

``run GENOTYPE`` loads the genotype (a JSON export, a ``.mbg`` file, or with ``--store`` an
agent id or ``champion``: :mod:`actors.cli.genotype_files`), builds its network
(``agent.network()``), runs ``--episodes`` independent episodes -- the network reset before
each -- and prints each episode's fitness, their mean and standard deviation, the scape's goal
flag and the verdict of the morphology's success test. Episode *i* uses seed ``--seed`` + i:
for a Gymnasium morphology it is the environment's seed (``env.reset(seed=...)``, all
episodes in one ``gymnasium.make(env_id)``), for any other the seed of the scape's rng.
``--render`` shows a Gymnasium environment in a window (``render_mode="human"``), ``--video
DIR`` records every episode with ``gymnasium.wrappers.RecordVideo`` (extra ``video``).
``--json PATH`` writes the results (``-``: to stdout, and the table to stderr). Bad input
(missing or corrupt file, unknown morphology, a genotype that does not fit the morphology)
prints one line and exits 2; the exit status does not depend on the verdict.
"""

from __future__ import annotations

import argparse
import random
import statistics
from dataclasses import dataclass
from typing import Any

from actors.cli import UsageError
from actors.cli.evolve_cmd import _positive_int
from actors.cli.genotype_files import load_genotype
from actors.cli.output import JSON_HELP, check_json_target, write_json

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="evaluate a genotype (e.g. an evolved champion) on its morphology",
        description="Run a genotype's network for a number of episodes on its morphology, "
        "print the fitness of each, their mean and std, and the morphology's success test.",
    )
    p.add_argument(
        "genotype",
        metavar="GENOTYPE",
        help="a JSON export or .mbg file, or with --store an agent id or 'champion'",
    )
    p.add_argument("--store", metavar="PATH", help="read the genotype from this store")
    p.add_argument(
        "--morphology", metavar="NAME", help="run on this morphology (default: the genotype's own)"
    )
    p.add_argument(
        "--episodes", type=_positive_int, default=10, help="episodes to run (default 10)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the first episode (>= 0); episode i uses seed+i (default 0)",
    )
    show = p.add_mutually_exclusive_group()
    show.add_argument(
        "--render",
        action="store_true",
        help="show a Gymnasium environment in a window while it runs",
    )
    show.add_argument(
        "--video", metavar="DIR", help="record Gymnasium episode i as DIR/rl-video-episode-<i>.mp4"
    )
    p.add_argument("--json", metavar="PATH", help=JSON_HELP)
    p.set_defaults(func=run_run)


@dataclass(frozen=True, slots=True)
class _Episode:
    seed: int
    fitness: float
    cycles: int
    goal_reached: bool | None


def _check_fit(agent: Any, morphology: Any) -> None:
    for what, mine, theirs in (
        ("sensors", agent.sensors, morphology.sensors),
        ("actuators", agent.actuators, morphology.actuators),
    ):
        have = sorted((s.name, s.vl) for s in mine)
        want = sorted((s.name, s.vl) for s in theirs)
        if have != want:
            show = ", ".join(f"{n}[{vl}]" for n, vl in have)
            need = ", ".join(f"{n}[{vl}]" for n, vl in want)
            raise UsageError(
                f"genotype {agent.id} does not fit {morphology.name}: its {what} are {show}, "
                f"the morphology's {need}"
            )


def _gym_episodes(args: argparse.Namespace, morphology: Any, net: Any) -> list[_Episode]:
    from morphologies import MorphologyError
    from morphologies.gym_adapter import gym_settings, run_gym_episodes

    settings = gym_settings(morphology)
    seeds = range(args.seed, args.seed + args.episodes)
    try:
        env = None
        if args.render:
            env = settings.make(render_mode="human")
        elif args.video:
            env = settings.make_video_env(args.video)
        done = run_gym_episodes(morphology, net, seeds, reset=net.reset, env=env)
    except MorphologyError as exc:
        raise UsageError(str(exc)) from exc
    return [
        _Episode(s, f, c, None)
        for s, f, c in zip(done.seeds, done.returns, done.lengths, strict=True)
    ]


def _episodes(args: argparse.Namespace, morphology: Any, net: Any) -> list[_Episode]:
    from morphologies import MorphologyError, run_episode

    out = []
    for seed in range(args.seed, args.seed + args.episodes):
        net.reset()
        try:
            res = run_episode(morphology, net, random.Random(seed), reset=net.reset)
        except MorphologyError as exc:
            raise UsageError(f"episode with seed {seed}: {exc}") from exc
        out.append(_Episode(seed, res.fitness, res.cycles, res.goal_reached))
    return out


def run_run(args: argparse.Namespace) -> int:
    from actors.evolution.success import success_test
    from actors.genotype.network import spec_from_agent
    from actors.neural.errors import SpecError
    from morphologies import MorphologyError, get_morphology
    from morphologies.gym_adapter import GymSettings

    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    check_json_target(args.json)
    agent = load_genotype(args.genotype, args.store)
    name = args.morphology or agent.morphology.name
    try:
        morphology = get_morphology(name)
    except MorphologyError as exc:
        raise UsageError(str(exc)) from exc
    _check_fit(agent, morphology)
    try:
        net = agent.network()
    except SpecError as exc:
        raise UsageError(f"genotype {agent.id} has no network: {exc}") from exc
    settings = morphology.scape_factory
    gym = isinstance(settings, GymSettings)
    if (args.render or args.video) and not gym:
        raise UsageError("--render and --video need a Gymnasium morphology (gym:<EnvId>)")
    episodes = (_gym_episodes if gym else _episodes)(args, morphology, net)
    fitness = [e.fitness for e in episodes]
    mean = statistics.fmean(fitness)
    std = statistics.pstdev(fitness)
    test = success_test(name)
    report = None if test is None else test(spec_from_agent(agent))
    result: dict[str, Any] = {
        "genotype": args.genotype,
        "store": args.store,
        "agent_id": agent.id,
        "morphology": name,
        "episodes": [
            {
                "seed": e.seed,
                "fitness": e.fitness,
                "cycles": e.cycles,
                "goal_reached": e.goal_reached,
            }
            for e in episodes
        ],
        "mean": mean,
        "std": std,
        "threshold": settings.threshold if isinstance(settings, GymSettings) else None,
        "success_test": None
        if report is None
        else {"solved": report.solved, "details": dict(sorted(report.details.items()))},
        "video": args.video,
    }
    _print(result, agent, gym)  # (to stderr with --json -: actors.cli.output)
    if args.json:
        write_json(args.json, result)
    return 0


def _print(result: dict[str, Any], agent: Any, gym: bool) -> None:
    neurons, links = agent.size()
    print(f"agent        {agent.id} ({neurons} neurons, {links} links) on {result['morphology']}")
    print(
        f"{'episode':>7}  {'seed':>10}  {'fitness':>12}  {'cycles':>8}" + ("" if gym else "  goal")
    )
    for i, e in enumerate(result["episodes"]):
        goal = "" if gym else ("  yes" if e["goal_reached"] else "  no")
        print(f"{i:>7}  {e['seed']:>10}  {e['fitness']:>12.6g}  {e['cycles']:>8}{goal}")
    n = len(result["episodes"])
    print(f"fitness      mean {result['mean']:.6g}, std {result['std']:.6g} over {n} episodes")
    if gym and result["threshold"] is None:
        print("goal         none (the environment has no reward threshold)")
    elif gym:
        verdict = "reached" if result["mean"] >= result["threshold"] else "not reached"
        print(f"goal         mean >= {result['threshold']:g}: {verdict}")
    else:
        hits = sum(1 for e in result["episodes"] if e["goal_reached"])
        print(f"goal         reached in {hits} of {n} episodes")
    test = result["success_test"]
    if test is None:
        print("success test none for this morphology (solved means the scape's goal)")
    else:
        figures = ", ".join(f"{k} {v:g}" for k, v in test["details"].items())
        print(f"success test {'passed' if test['solved'] else 'failed'} ({figures})")
    if result["video"]:
        print(f"video        {result['video']}")
