"""Phenotype speed: compiled networks vs neat-python, and DPNV episodes per second.

Run from the repository root::

    python benchmarks/phenotype_speed.py [--quick] [--json-only]

Measured in the same run:

* single network: ``CompiledNetwork.step_flat`` (straight-line Python) vs neat-python 2.0's
  ``FeedForwardNetwork.activate`` on fully connected feed-forward networks of equal shape
  (inputs-hidden-outputs, tanh, biases), activations per second;
* batched: ``BatchNetwork.step`` on a population of 1,000 networks of that shape (each row its
  own weights), and on one network over 1,000 cases/episodes, activations per second, against the
  same neat-python figure (neat-python has no batch mode);
* DPNV: 1,000-step episodes per second of a recurrent 3-5-1 network on the double pole without
  velocities, one episode at a time (compiled network, scalar physics) and as a batch (batch
  network, numpy physics). The failure limits are lifted so that every episode really runs 1,000
  steps (a random network would otherwise fail within a few dozen).

* actor backend (``benchmarks/phenotype_actor_speed.py``): ``ActorPhenotype`` steps per second in
  the ``simple`` and ``local`` runtimes (and hosted in a private simple system inside a local
  worker process), beside the raw Thespian message cost per signal measured in the same run
  (``--actor-modes ''`` skips it).

Goals: compiled at least 3x neat-python single, 20x batched; actor backend in ``simple`` within
1.5x the raw Thespian message cost per signal. Prints JSON, then a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from actors.neural import (
    ActuatorSpec,
    BatchNetwork,
    CompiledNetwork,
    InputSpec,
    NetworkSpec,
    NeuronSpec,
    SensorSpec,
)
from morphologies.pole_balancing import TASKS, PoleTask, balance_steps, run_batch

SHAPES = ((2, 2, 1), (4, 4, 1), (6, 10, 2), (10, 20, 4))
NEAT_RESPONSE = 2.5  # neat-python's tanh_activation computes tanh(2.5 z)


def dense_spec(n_in: int, n_hidden: int, n_out: int, rng: random.Random) -> NetworkSpec:
    def w() -> float:
        return rng.uniform(-1.0, 1.0)

    hidden = tuple(
        NeuronSpec(f"h{j}", 0, (InputSpec("in", tuple(w() for _ in range(n_in))),), bias=w())
        for j in range(n_hidden)
    )
    outs = tuple(
        NeuronSpec(f"o{k}", 1, tuple(InputSpec(f"h{j}", (w(),)) for j in range(n_hidden)), bias=w())
        for k in range(n_out)
    )
    return NetworkSpec(
        (SensorSpec("in", n_in),),
        hidden + outs,
        (ActuatorSpec("out", n_out, tuple(f"o{k}" for k in range(n_out))),),
    )


def neat_network(spec: NetworkSpec) -> object:
    """The same network as a neat-python FeedForwardNetwork (weights divided by 2.5)."""
    from neat.activations import tanh_activation
    from neat.aggregations import sum_aggregation
    from neat.nn import FeedForwardNetwork

    n_in = spec.sensors[0].vl
    inputs = [-(i + 1) for i in range(n_in)]
    key = {}
    evals = []
    for k, n in enumerate(spec.neurons):
        key[n.id] = k
        links = []
        for inp in n.inputs:
            if inp.source == "in":
                links += [(inputs[i], w / NEAT_RESPONSE) for i, w in enumerate(inp.weights)]
            else:
                links.append((key[inp.source], inp.weights[0] / NEAT_RESPONSE))
        bias = (n.bias or 0.0) / NEAT_RESPONSE
        evals.append((k, tanh_activation, sum_aggregation, bias, 1.0, links))
    outputs = [key[s] for s in spec.actuators[0].sources]
    return FeedForwardNetwork(inputs, outputs, evals)


def rate(fn: Callable[[], int], repeats: int) -> float:
    """Best items/s over ``repeats`` runs of ``fn`` (which returns the items it processed)."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        dt = time.perf_counter() - t0
        best = max(best, n / dt)
    return best


def bench_shape(shape: tuple[int, int, int], quick: bool) -> dict[str, object]:
    rng = random.Random(1)
    spec = dense_spec(*shape, rng)
    comp = CompiledNetwork(spec)
    neat_net = neat_network(spec)
    xs = [[rng.uniform(-1, 1) for _ in range(shape[0])] for _ in range(200)]
    for x in xs[:20]:  # same outputs as neat-python
        assert np.allclose(comp.step_flat(x), neat_net.activate(x), atol=1e-9)  # type: ignore[attr-defined]
    n = 20_000 if quick else 100_000
    reps = 2 if quick else 3
    step = comp.step_flat
    act = neat_net.activate  # type: ignore[attr-defined]

    def run_compiled() -> int:
        for k in range(n):
            step(xs[k % 200])
        return n

    def run_neat() -> int:
        for k in range(n):
            act(xs[k % 200])
        return n

    single = rate(run_compiled, reps)
    neat_rate = rate(run_neat, reps)
    batch_size = 1000
    pop = np.array([dense_spec(*shape, rng).flat_weights() for _ in range(batch_size)])
    batch = BatchNetwork(spec, batch_size, pop)
    xb = np.random.default_rng(0).uniform(-1, 1, (batch_size, shape[0]))
    steps = 50 if quick else 200

    def run_batch_net() -> int:
        for _ in range(steps):
            batch.step(xb)
        return steps * batch_size

    batched = rate(run_batch_net, reps)
    shared = BatchNetwork(spec, batch_size)  # one network, 1000 episodes/cases

    def run_shared() -> int:
        for _ in range(steps):
            shared.step(xb)
        return steps * batch_size

    shared_rate = rate(run_shared, reps)
    return {
        "shape": "-".join(map(str, shape)),
        "neat_activations_per_s": round(neat_rate),
        "compiled_single_per_s": round(single),
        "single_ratio": round(single / neat_rate, 2),
        "batch_size": batch_size,
        "compiled_batched_per_s": round(batched),
        "batched_ratio": round(batched / neat_rate, 2),
        "compiled_one_net_1000_cases_per_s": round(shared_rate),
        "one_net_batched_ratio": round(shared_rate / neat_rate, 2),
    }


def dpnv_spec(rng: random.Random) -> NetworkSpec:
    def w() -> float:
        return rng.uniform(-1.0, 1.0)

    hidden = tuple(
        NeuronSpec(
            f"h{j}", 0,
            (
                InputSpec("cart", (w(), w(), w())),
                *(InputSpec(f"h{k}", (w(),), recurrent=True) for k in range(5)),
            ),
            bias=w(),
        )
        for j in range(5)
    )  # fmt: skip
    out = NeuronSpec("o", 1, tuple(InputSpec(f"h{j}", (w(),)) for j in range(5)), bias=w())
    return NetworkSpec(
        (SensorSpec("cart", 3),), (*hidden, out), (ActuatorSpec("force", 1, ("o",)),)
    )


def bench_dpnv(quick: bool) -> dict[str, object]:
    rng = random.Random(2)
    spec = dpnv_spec(rng)
    base = TASKS["dpnv"]
    task = PoleTask("dpnv_no_limits", base.physics, velocities=False, fitness="damping",
                    max_steps=1000, track_limit=math.inf, angle_limit=math.inf)  # fmt: skip
    comp = CompiledNetwork(spec)
    episodes = 3 if quick else 10

    def run_single() -> int:
        for _ in range(episodes):
            comp.reset()
            assert balance_steps(comp.step_flat, task, max_steps=1000) == 1000
        return episodes

    single = rate(run_single, 2)
    size = 1000
    pop = np.array([dpnv_spec(rng).flat_weights() for _ in range(size)])

    def run_batched() -> int:
        net = BatchNetwork(spec, size, pop)
        res = run_batch(net.step, task, n=size, max_steps=1000)
        assert np.all(res.steps == 1000)
        return size

    batched = rate(run_batched, 1 if quick else 2)
    return {
        "network": "3-5(recurrent)-1",
        "episode_steps": 1000,
        "single_episodes_per_s": round(single, 2),
        "batch_size": size,
        "batched_episodes_per_s": round(batched, 2),
        "batched_ratio": round(batched / single, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations (CI smoke run)")
    ap.add_argument("--json-only", action="store_true")
    ap.add_argument(
        "--actor-modes", default="simple,local", help="runtimes for the actor backend ('' skips)"
    )
    args = ap.parse_args(argv)
    import neat

    nets = [bench_shape(s, args.quick) for s in SHAPES]
    dpnv = bench_dpnv(args.quick)
    result = {
        "benchmark": "phenotype_speed",
        "definition": "fully connected tanh I-H-O nets; neat-python FeedForwardNetwork.activate "
        "as peer; DPNV = double pole without velocities, RK4 0.01 s x2 per step, failure limits "
        "lifted so every episode runs 1000 steps",
        "quick": args.quick,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "neat_python": getattr(neat, "__version__", "?"),
        "networks": nets,
        "dpnv": dpnv,
        "goals": {"single_ratio": 3.0, "batched_ratio": 20.0, "actor_simple_signal_ratio": 1.5},
    }
    actor_modes = tuple(m for m in args.actor_modes.split(",") if m)
    if actor_modes:
        from benchmarks.phenotype_actor_speed import bench_actors, markdown

        result["actors"] = bench_actors(args.quick, actor_modes)
    print(json.dumps(result, indent=2))
    if args.json_only:
        return 0
    print()
    print(
        "| shape | neat-python act/s | compiled act/s | ratio | batch: 1000 nets act/s | ratio "
        "| batch: 1 net x 1000 cases act/s | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in nets:
        print(
            f"| {r['shape']} | {r['neat_activations_per_s']:,} | {r['compiled_single_per_s']:,} "
            f"| {r['single_ratio']}x | {r['compiled_batched_per_s']:,} | {r['batched_ratio']}x "
            f"| {r['compiled_one_net_1000_cases_per_s']:,} | {r['one_net_batched_ratio']}x |"
        )
    print()
    print("| DPNV 1,000-step episodes | one at a time /s | batch of 1000 /s | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| {dpnv['network']} | {dpnv['single_episodes_per_s']} | "
        f"{dpnv['batched_episodes_per_s']} | {dpnv['batched_ratio']}x |"
    )
    if actor_modes:
        print()
        print("\n".join(markdown(result["actors"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
