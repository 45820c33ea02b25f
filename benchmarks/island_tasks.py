"""Where does champion sharing pay? The island model on several tasks, in one process.

For each task, ``--seeds`` runs of N islands (``--nodes``, default 4) with
:func:`actors.distributed.lockstep.run_lockstep`: the islands advance one evaluation at a time
at equal speed, and a champion published by one reaches the others at their next evaluation
(zero latency, no rate limit; publication after each tuned agent that beats the node's best,
as ``[mesh] publish_on = "evaluation"`` does; adoption re-evaluates the immigrant once, which
is counted). The same seeds run isolated (no sharing): node k of run s is exactly
``megabrain evolve TASK --seed 1000*s+k``. The figure is DXNN's: **evaluations per node to the
first solution on any node** (tuning included; a run unsolved at ``--max-evaluations`` per
node counts that many). The ratio isolated / sharing says how many times fewer evaluations
sharing needs (> 1: sharing pays).

This is the algorithm without the transport: ``benchmarks/island.py`` measures the real mesh
(QUIC, processes, latency) on DPNV, the task its goal names.

Usage: ``python benchmarks/island_tasks.py [--tasks xor,single_pole,dpv,dpnv,discrete_tmaze]
[--seeds 10] [--nodes 4] [--population 20] [--max-evaluations 20000] [--json PATH]``
Prints the JSON document, then a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from island import emit  # noqa: E402 - this directory is on the path when run as a script

DEFAULT_TASKS = "xor,single_pole,dpv,dpnv,discrete_tmaze"


def _one(job: tuple[str, int, int, bool, int, int]) -> dict[str, Any]:
    """One lockstep run (a worker process)."""
    from actors.distributed.lockstep import LockstepOptions, run_lockstep
    from actors.evolution.config import EvolutionConfig

    task, nodes, seed, sharing, population, limit = job
    cfg = EvolutionConfig()
    cfg = dataclasses.replace(
        cfg, monitor=dataclasses.replace(cfg.monitor, population_size=population)
    )
    opts = LockstepOptions(
        task, nodes, seed=seed, config=cfg, sharing=sharing, publish="evaluation",
        max_evaluations=limit,
    )  # fmt: skip
    t0 = time.monotonic()
    r = run_lockstep(opts)
    mode = "sharing" if sharing else "isolated"
    print(f"# {task} N={nodes} seed={seed} {mode}: solved={r.solved} "
          f"evals/node={r.evals_per_node:.0f}", file=sys.stderr, flush=True)  # fmt: skip
    return {
        "task": task, "nodes": nodes, "seed": seed, "sharing": sharing, "solved": r.solved,
        "evals_per_node": r.evals_per_node, "evaluations": list(r.evaluations),
        "reevaluations": list(r.reevaluations), "adopted": list(r.adopted),
        "published": list(r.published), "wall_seconds": time.monotonic() - t0,
    }  # fmt: skip


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for task in dict.fromkeys(r["task"] for r in runs):
        share = sorted((r for r in runs if r["task"] == task and r["sharing"]),
                       key=lambda r: r["seed"])  # fmt: skip
        iso = sorted((r for r in runs if r["task"] == task and not r["sharing"]),
                     key=lambda r: r["seed"])  # fmt: skip
        if not share or not iso:
            continue
        es = [r["evals_per_node"] for r in share]
        ei = [r["evals_per_node"] for r in iso]
        rows.append({
            "task": task, "nodes": share[0]["nodes"], "runs": len(es),
            "sharing_solved": sum(r["solved"] for r in share),
            "isolated_solved": sum(r["solved"] for r in iso),
            "sharing_mean": statistics.fmean(es), "sharing_median": statistics.median(es),
            "isolated_mean": statistics.fmean(ei), "isolated_median": statistics.median(ei),
            "ratio_mean": statistics.fmean(ei) / statistics.fmean(es),
            "ratio_median": statistics.median(ei) / statistics.median(es),
            "sharing_better_in": sum(a < b for a, b in zip(es, ei, strict=True)),
            "adopted_per_node": statistics.fmean(statistics.fmean(r["adopted"]) for r in share),
        })  # fmt: skip
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ["task", "nodes", "solved sharing / isolated", "sharing mean", "median",
            "isolated mean", "median", "ratio iso/share (mean, median)", "sharing better in",
            "adopted/node"]  # fmt: skip
    out = [head, ["---"] * len(head)]
    for r in rows:
        n = r["runs"]
        out.append([
            r["task"], str(r["nodes"]), f"{r['sharing_solved']}/{n} / {r['isolated_solved']}/{n}",
            *(f"{r[k]:.0f}" for k in ("sharing_mean", "sharing_median", "isolated_mean",
                                      "isolated_median")),
            f"{r['ratio_mean']:.2f}, {r['ratio_median']:.2f}", f"{r['sharing_better_in']}/{n}",
            f"{r['adopted_per_node']:.1f}",
        ])  # fmt: skip
    return "\n".join("| " + " | ".join(cells) + " |" for cells in out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default=DEFAULT_TASKS, help="comma-separated morphologies")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--population", type=int, default=20, help="agents per island")
    ap.add_argument("--max-evaluations", type=int, default=20_000, help="per node")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args()
    if args.nodes < 2 or args.seeds < 1:
        ap.error("--nodes must be >= 2 and --seeds >= 1")
    tasks = [t for t in args.tasks.split(",") if t]
    jobs = [
        (task, args.nodes, seed, sharing, args.population, args.max_evaluations)
        for task in tasks
        for seed in range(1, args.seeds + 1)
        for sharing in (True, False)
    ]
    t0 = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        runs = pool.map(_one, jobs, chunksize=1)
    rows = summarise(runs)
    doc = {
        "benchmark": "island model in one process (lockstep), evaluations per node to solve",
        "definition": "see the module docstring of benchmarks/island_tasks.py",
        "nodes": args.nodes,
        "seeds": args.seeds,
        "population_per_node": args.population,
        "max_evaluations_per_node": args.max_evaluations,
        "wall_seconds": time.monotonic() - t0,
        "summary": rows,
        "runs": runs,
    }
    emit(doc, args.json)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
