"""Evaluations to solve: XOR, single pole, DPV and DPNV with ``megabrain evolve``'s engine,
and neat-python on XOR in the same run, with the published figures of BENCHMARKS.md beside.

    python benchmarks/evals_to_solve.py [--quick] [--tasks xor,dpv] [--seeds N] [--json PATH]

Every run goes through :func:`actors.evolution.run.evolve` (population monitor and exoself
actors, ``simple`` runtime, compiled phenotypes), one seed after another. Evaluations are
counted as BENCHMARKS.md defines them: one evaluation is one episode of one candidate network
(tuning evaluations included), counted in population order until the first solution
(``evaluations_to_solve``); a run that hits its limit counts the limit.

Task definitions (also printed in the output):

* ``xor`` -- DXNN's xor_mimic, inputs/targets in {-1, 1}, fitness 1/(SSE + 1e-6); solved:
  all four outputs on the correct side of 0 **and** fitness >= 2.5 (SSE < 0.4: the same
  tolerance as neat-python's threshold 3.9 on outputs in [0, 1]). tanh neurons only,
  feedforward, like NEAT's sigmoid networks. ``xor_dxnn`` is the same with DXNN's default
  activation functions (tanh, cos, gaussian), where one cos or gaussian neuron suffices.
* ``single_pole``, ``dpv``, ``dpnv`` -- ``morphologies.pole_balancing`` (NEAT/ESP physics,
  no cart friction, long pole starting at 0.07 rad); single pole and DPV are solved by
  balancing 100,000 steps, DPNV by balancing 100,000 steps **and** passing the
  generalization test (>= 200 of 625 starts).
* neat-python: its ``examples/xor`` configuration (written out below, pop 150, sigmoid,
  threshold 3.9 on 4 - SSE over outputs in [0, 1]); evaluations are genomes evaluated until
  the first genome reaching the threshold; up to 300 generations.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.evolution.config import EvolutionConfig, config_from_mapping
from actors.evolution.run import EvolveOptions, evolve

#: Operators that matter for fixed-function networks (no plasticity, one aggregator).
TOPOLOGY_OPERATORS = {
    "mutate_weights": 1,
    "add_bias": 2,
    "add_outlink": 2,
    "add_inlink": 2,
    "add_neuron": 2,
    "outsplice": 3,
    "insplice": 3,
    "add_sensorlink": 1,
    "remove_link": 1,
}

#: The settings each task runs with (TOML tables of ``megabrain evolve --config``).
SETTINGS: dict[str, dict[str, Any]] = {
    "xor": {
        "monitor": {"population_size": 6},
        "stopping": {"max_evaluations": 20000, "fitness_goal": 2.5},
        "tuning": {"duration": "const", "duration_parameter": 6},
        "constraint": {
            "connection_architecture": "feedforward",
            "neural_afs": ["tanh"],
            "mutation_operators": TOPOLOGY_OPERATORS,
        },
    },
    "xor_dxnn": {
        "monitor": {"population_size": 10},
        "stopping": {"max_evaluations": 20000, "fitness_goal": 2.5},
    },
    "single_pole": {
        "monitor": {"population_size": 10},
        "stopping": {"max_evaluations": 20000},
    },
    "dpv": {
        "monitor": {"population_size": 10},
        "stopping": {"max_evaluations": 20000},
    },
    "dpnv": {
        "monitor": {"population_size": 10},
        "stopping": {"max_evaluations": 40000},
        "constraint": {"neural_afs": ["tanh"]},
    },
}

SEEDS = {"xor": 50, "xor_dxnn": 50, "single_pole": 20, "dpv": 20, "dpnv": 20}
QUICK_SEEDS = {"xor": 10, "xor_dxnn": 5, "single_pole": 3, "dpv": 3, "dpnv": 2}
MORPHOLOGY = {"xor_dxnn": "xor"}

PUBLISHED = {
    "xor": "NEAT 2002: 4,755 evals mean (0 failures, 2.35 hidden); neat-python 2.0 "
    "(BENCHMARKS.md): median 10,800, mean 12,615, 0.73 s/run",
    "xor_dxnn": "(as xor)",
    "single_pole": "ESP 589, CoSyNE 127",
    "dpv": "NEAT 3,600; ESP 3,800; CoSyNE 954",
    "dpnv": "NEAT 33,184; ESP 169,466; CMA-ES 6,061; CoSyNE 3,416; DXNN 2,313-2,359",
}

NEAT_XOR_CONFIG = """
[NEAT]
fitness_criterion     = max
fitness_threshold     = 3.9
pop_size              = 150
reset_on_extinction   = False
no_fitness_termination = False

[DefaultGenome]
activation_default      = sigmoid
activation_mutate_rate  = 0.0
activation_options      = sigmoid
aggregation_default     = sum
aggregation_mutate_rate = 0.0
aggregation_options     = sum
bias_init_mean          = 0.0
bias_init_stdev         = 1.0
bias_max_value          = 30.0
bias_min_value          = -30.0
bias_mutate_power       = 0.5
bias_mutate_rate        = 0.7
bias_replace_rate       = 0.1
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient   = 0.5
conn_add_prob           = 0.5
conn_delete_prob        = 0.5
enabled_default         = True
enabled_mutate_rate     = 0.01
feed_forward            = True
initial_connection      = full
single_structural_mutation = False
structural_mutation_surer  = default
node_add_prob           = 0.2
node_delete_prob        = 0.2
num_hidden              = 0
num_inputs              = 2
num_outputs             = 1
response_init_mean      = 1.0
response_init_stdev     = 0.0
response_max_value      = 30.0
response_min_value      = -30.0
response_mutate_power   = 0.0
response_mutate_rate    = 0.0
response_replace_rate   = 0.0
weight_init_mean        = 0.0
weight_init_stdev       = 1.0
weight_max_value        = 30
weight_min_value        = -30
weight_mutate_power     = 0.5
weight_mutate_rate      = 0.8
weight_replace_rate     = 0.1

[DefaultSpeciesSet]
compatibility_threshold = 3.0

[DefaultStagnation]
species_fitness_func = max
max_stagnation       = 20
species_elitism      = 2

[DefaultReproduction]
elitism            = 2
survival_threshold = 0.2
min_species_size   = 1
"""


def config_for(task: str) -> EvolutionConfig:
    return config_from_mapping(SETTINGS[task])


def run_megabrain(task: str, seed: int) -> dict[str, Any]:
    cfg = config_for(task)
    t0 = time.perf_counter()
    result = evolve(EvolveOptions(MORPHOLOGY.get(task, task), seed=seed, config=cfg))
    wall = time.perf_counter() - t0
    limit = cfg.stopping.max_evaluations or result.evaluations
    evals = result.evaluations_to_solve if result.solved else limit
    hidden = None
    if result.solved and result.champion is not None:
        outputs = sum(len(a.fanin_ids) for a in result.champion.actuators)
        hidden = len(result.champion.neurons) - outputs
    return {"solved": result.solved, "evaluations": evals, "hidden": hidden, "wall": wall}


def run_neat_xor(seed: int, config_path: str) -> dict[str, Any]:
    import random

    import neat

    random.seed(seed)  # neat-python draws from the global generator
    config = neat.Config(
        neat.DefaultGenome,
        neat.DefaultReproduction,
        neat.DefaultSpeciesSet,
        neat.DefaultStagnation,
        config_path,
    )
    cases = [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), 0.0)]
    state = {"evals": 0, "first": None}

    def eval_genomes(genomes: Any, cfg: Any) -> None:
        for _, genome in genomes:
            net = neat.nn.FeedForwardNetwork.create(genome, cfg)
            fit = 4.0
            for x, y in cases:
                fit -= (net.activate(x)[0] - y) ** 2
            genome.fitness = fit
            state["evals"] += 1
            if state["first"] is None and fit >= config.fitness_threshold:
                state["first"] = state["evals"]

    pop = neat.Population(config)
    t0 = time.perf_counter()
    winner = pop.run(eval_genomes, 300)
    wall = time.perf_counter() - t0
    solved = state["first"] is not None
    hidden = None
    if solved and winner is not None:
        hidden = len(winner.nodes) - config.genome_config.num_outputs
    return {
        "solved": solved,
        "evaluations": state["first"] if solved else state["evals"],
        "hidden": hidden,
        "wall": wall,
    }


def _logged(args: tuple[str, int]) -> dict[str, Any]:
    task, seed = args
    out = run_megabrain(task, seed)
    print(f"{task} seed {seed}: {out}", file=sys.stderr, flush=True)
    return out


def run_seeds(task: str, n: int, jobs: int) -> list[dict[str, Any]]:
    """Seeds 1..n of ``task``, in ``jobs`` processes (each run is single-threaded)."""
    work = [(task, seed) for seed in range(1, n + 1)]
    if jobs == 1:
        return [_logged(w) for w in work]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return pool.map(_logged, work, chunksize=1)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    evals = [r["evaluations"] for r in runs]
    walls = [r["wall"] for r in runs]
    hidden = [r["hidden"] for r in runs if r["hidden"] is not None]
    return {
        "runs": len(runs),
        "solved": sum(r["solved"] for r in runs),
        "success_rate": sum(r["solved"] for r in runs) / len(runs),
        "median_evaluations": statistics.median(evals),
        "mean_evaluations": statistics.fmean(evals),
        "max_evaluations": max(evals),
        "hidden_mean": statistics.fmean(hidden) if hidden else None,
        "median_wall_s": statistics.median(walls),
        "mean_wall_s": statistics.fmean(walls),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few seeds per task")
    ap.add_argument("--tasks", default="xor,xor_dxnn,single_pole,dpv,dpnv")
    ap.add_argument("--seeds", type=int, help="seeds per task (overrides the defaults)")
    ap.add_argument("--neat-seeds", type=int, help="neat-python XOR runs (default: as xor)")
    ap.add_argument("--json", metavar="PATH", help="also write the JSON here")
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes for the pole-balancing seeds (XOR and neat-python always run one "
        "at a time, so that their wall times compare)",
    )
    args = ap.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = [t for t in tasks if t not in SETTINGS]
    if unknown:
        ap.error(f"unknown task(s): {', '.join(unknown)}")
    seeds = QUICK_SEEDS if args.quick else SEEDS
    results: dict[str, Any] = {"tasks": {}, "settings": SETTINGS, "published": PUBLISHED}
    for task in tasks:
        n = args.seeds or seeds[task]
        jobs = 1 if task.startswith("xor") else max(1, args.jobs)
        results["tasks"][task] = summarise(run_seeds(task, n, jobs))
        if task == "xor":  # right after ours, under the same machine load
            neat_xor(args, seeds, results)
    print(json.dumps(results, indent=2, default=_plain))
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=_plain) + "\n")
    return 0


def neat_xor(args: argparse.Namespace, seeds: Mapping[str, int], results: dict[str, Any]) -> None:
    """neat-python on XOR with its example configuration, one run per seed."""
    n = args.neat_seeds or args.seeds or seeds["xor"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "config-feedforward")
        Path(path).write_text(NEAT_XOR_CONFIG, encoding="utf-8")
        runs = []
        for seed in range(1, n + 1):
            runs.append(run_neat_xor(seed, path))
            print(f"neat-python xor seed {seed}: {runs[-1]}", file=sys.stderr, flush=True)
    neat_summary = summarise(runs)
    results["tasks"]["neat_python_xor"] = neat_summary
    ours = results["tasks"]["xor"]
    results["ratios"] = {
        "xor_median_evaluations_neat_over_megabrain": neat_summary["median_evaluations"]
        / ours["median_evaluations"],
        "xor_median_wall_megabrain_over_neat": ours["median_wall_s"]
        / neat_summary["median_wall_s"],
    }


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return dict(v)
    return str(v)


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def table(results: Mapping[str, Any]) -> str:
    rows = [
        "| task | solved | median evals | mean evals | hidden (mean) | median wall s | published |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, s in results["tasks"].items():
        pub = results["published"].get(task, "")
        rows.append(
            f"| {task} | {s['solved']}/{s['runs']} | {_fmt(s['median_evaluations'])} | "
            f"{_fmt(s['mean_evaluations'])} | {_fmt(s['hidden_mean'], 2)} | "
            f"{_fmt(s['median_wall_s'], 3)} | {pub} |"
        )
    if "ratios" in results:
        r = results["ratios"]
        rows.append("")
        rows.append(
            f"XOR: neat-python needs {r['xor_median_evaluations_neat_over_megabrain']:.1f}x "
            f"the evaluations; megabrain's median wall time is "
            f"{r['xor_median_wall_megabrain_over_neat']:.2f}x neat-python's (goal <= 0.20)."
        )
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
