"""CartPole-v1 solved at the benchmark's threshold with ``megabrain evolve``'s defaults.

    python benchmarks/gym_cartpole.py [--quick] [--seeds 201,202,...] [--json PATH]

Every run is :func:`actors.evolution.run.evolve` with the defaults of
``megabrain evolve gym:CartPole-v1`` (population 20, 100,000-evaluation limit, ``simple``
runtime, compiled phenotypes). An evaluation is the mean return of 5 episodes on seeds drawn
from the run's rng in [2^20, 2^31); a run is solved when a candidate whose mean reaches 475
also averages >= 475 over 100 episodes on seeds 0-99 (the success test). The peer, in the
same run: ``gym:CartPole-v1,episodes=1`` (one episode per evaluation, the same success
test). Each champion is then run for 100 more episodes on seeds 1000-1099, which neither
training nor the success test uses ("held out").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.evolution.run import EvolveOptions, evolve
from morphologies import get_morphology
from morphologies.gym_adapter import run_gym_episodes

VARIANTS = ("gym:CartPole-v1", "gym:CartPole-v1,episodes=1")
HELD_OUT = range(1000, 1100)


def run_one(name: str, seed: int) -> dict[str, Any]:
    t0 = time.monotonic()
    result = evolve(EvolveOptions(name, seed=seed))
    wall = time.monotonic() - t0
    held = None
    if result.champion is not None:
        net = result.champion.network()
        held = run_gym_episodes(get_morphology(name), net, HELD_OUT, reset=net.reset).mean
    return {
        "morphology": name,
        "seed": seed,
        "solved": result.solved,
        "evaluations": result.evaluations,
        "evaluations_to_solve": result.evaluations_to_solve,
        "generations": result.generations,
        "wall_seconds": round(wall, 2),
        "held_out_mean": held,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    evals = [r["evaluations"] for r in runs]
    walls = [r["wall_seconds"] for r in runs]
    held = [r["held_out_mean"] for r in runs if r["held_out_mean"] is not None]
    return {
        "solved": sum(r["solved"] for r in runs),
        "runs": len(runs),
        "median_evaluations": statistics.median(evals),
        "max_evaluations": max(evals),
        "median_wall_seconds": statistics.median(walls),
        "max_wall_seconds": max(walls),
        "min_held_out_mean": min(held) if held else None,
        "held_out_at_threshold": sum(h >= 475 for h in held),
    }


def table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| morphology | solved | median evals | max evals | median wall s | max wall s "
        "| held-out mean >= 475 | lowest held-out mean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        low = "-" if s["min_held_out_mean"] is None else f"{s['min_held_out_mean']:.1f}"
        lines.append(
            f"| `{name}` | {s['solved']}/{s['runs']} | {s['median_evaluations']:g} "
            f"| {s['max_evaluations']} | {s['median_wall_seconds']:.1f} "
            f"| {s['max_wall_seconds']:.1f} | {s['held_out_at_threshold']}/{s['runs']} | {low} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="three seeds")
    ap.add_argument("--seeds", default="201,202,203,204,205,206,207,208,209,210")
    ap.add_argument("--json", metavar="PATH", help="also write the JSON here")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.quick:
        seeds = seeds[:3]
    runs = {name: [run_one(name, seed) for seed in seeds] for name in VARIANTS}
    summary = {name: summarise(r) for name, r in runs.items()}
    doc = {"seeds": seeds, "summary": summary, "runs": runs}
    text = json.dumps(doc, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print()
    print(table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
