"""Genotype codec and mutation throughput.

For networks of about 10, 100 and 1,000 neurons (grown from a seed by topological
operators, so they carry a realistic evolution history), measures:

* canonical msgpack encode / decode (decode = parse + full validation) per second,
* encoded size raw and zlib-compressed (level 6), with the share taken by the history,
* the same record through pickle (protocol 5) and through the JSON export, as peers
  measured in the same run (ratios reported),
* ``mutate`` and ``offspring`` calls per second.

Also evolves one agent by ``mutate`` alone for a number of generations and reports what it
weighs (the distribution design assumed 50 KB per genotype).

Usage: ``python benchmarks/genotype_codec.py [--quick]``; prints JSON, then a markdown table.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgpack

from actors.genotype import (
    ActuatorSpec,
    Agent,
    Constraint,
    MorphologySpec,
    MutationNotApplicable,
    SensorSpec,
    agent_from_json,
    agent_to_json,
    apply_operator,
    construct_agent,
    decode_agent,
    encode_agent,
    mutate,
    offspring,
    to_document,
)

MORPHOLOGY = MorphologySpec(
    "bench",
    sensors=(SensorSpec("vision", 8), SensorSpec("proprioception", 4)),
    actuators=(ActuatorSpec("motors", 4),),
)
GROWTH = (
    ("add_neuron", 3),
    ("outsplice", 3),
    ("insplice", 2),
    ("add_inlink", 2),
    ("add_outlink", 2),
    ("mutate_weights", 1),
)


def grow(target: int, seed: int) -> Agent:
    """A network of ``target`` neurons grown by topological operators from a seed."""
    rng = random.Random(seed)
    agent = construct_agent(MORPHOLOGY, Constraint(), rng)
    names = [n for n, w in GROWTH for _ in range(w)]
    while len(agent.neurons) < target:
        try:
            agent = apply_operator(agent, names[rng.randrange(len(names))], rng)
        except MutationNotApplicable:
            continue
    return agent


def rate(fn: Callable[[], Any], min_time: float, rounds: int) -> float:
    """Median calls per second over ``rounds`` rounds of at least ``min_time`` seconds."""
    results = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        results.append(n / elapsed)
    return statistics.median(results)


def measure(agent: Agent, min_time: float, rounds: int, seed: int) -> dict[str, Any]:
    data = encode_agent(agent)
    doc = to_document(agent)
    history = len(msgpack.packb(doc["evo_hist"], use_bin_type=True))
    pickled = pickle.dumps(agent, protocol=5)
    text = agent_to_json(agent)
    rng = random.Random(seed)
    neurons, links = agent.size()
    enc = rate(lambda: encode_agent(agent), min_time, rounds)
    dec = rate(lambda: decode_agent(data), min_time, rounds)
    pk_enc = rate(lambda: pickle.dumps(agent, protocol=5), min_time, rounds)
    pk_dec = rate(lambda: pickle.loads(pickled), min_time, rounds)
    js_enc = rate(lambda: agent_to_json(agent), min_time, rounds)
    js_dec = rate(lambda: agent_from_json(text), min_time, rounds)
    mut = rate(lambda: mutate(agent, rng), min_time, rounds)
    off = rate(lambda: offspring(agent, rng), min_time, rounds)
    return {
        "neurons": neurons,
        "links": links,
        "evo_hist_entries": len(agent.evo_hist),
        "bytes": len(data),
        "bytes_zlib": len(zlib.compress(data, 6)),
        "bytes_history": history,
        "bytes_pickle": len(pickled),
        "bytes_json": len(text.encode()),
        "encode_per_s": enc,
        "decode_per_s": dec,
        "encode_MB_per_s": enc * len(data) / 1e6,
        "decode_MB_per_s": dec * len(data) / 1e6,
        "pickle_dumps_per_s": pk_enc,
        "pickle_loads_per_s": pk_dec,
        "json_export_per_s": js_enc,
        "json_import_per_s": js_dec,
        "ratio_encode_vs_pickle": enc / pk_enc,
        "ratio_decode_vs_pickle": dec / pk_dec,
        "ratio_decode_vs_json_import": dec / js_dec,
        "mutate_per_s": mut,
        "offspring_per_s": off,
    }


def evolved(generations: int, seed: int) -> Agent:
    rng = random.Random(seed)
    agent = construct_agent(MORPHOLOGY, Constraint(), rng)
    for _ in range(generations):
        agent = offspring(agent, rng)
    return agent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds (smoke run)")
    args = parser.parse_args(argv)
    min_time, rounds = (0.05, 1) if args.quick else (0.5, 3)
    sizes = (10, 100, 1000)
    results: dict[str, Any] = {
        "benchmark": "genotype_codec",
        "definition": (
            "networks grown from a 12-input/4-output seed by add_neuron/outsplice/insplice/"
            "add_inlink/add_outlink/mutate_weights to the target neuron count; decode ="
            " msgpack parse + full validation; peers: pickle protocol 5 and the JSON export"
            " of the same agent, measured in the same run"
        ),
        "quick": args.quick,
        "python": sys.version.split()[0],
        "networks": {},
    }
    for size in sizes:
        results["networks"][str(size)] = measure(grow(size, seed=size), min_time, rounds, size)
    gens = 20 if args.quick else 100
    agent = evolved(gens, seed=1)
    data = encode_agent(agent)
    results["evolved_by_offspring"] = {
        "generations": gens,
        "neurons": agent.size()[0],
        "links": agent.size()[1],
        "evo_hist_entries": len(agent.evo_hist),
        "bytes": len(data),
        "bytes_zlib": len(zlib.compress(data, 6)),
        "assumed_bytes": 50_000,
    }
    print(json.dumps(results, indent=2))
    print()
    print(
        "| neurons | links | bytes | zlib | history share | encode/s | decode/s "
        "| decode vs pickle | decode vs JSON | mutate/s | offspring/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results["networks"].values():
        print(
            f"| {r['neurons']} | {r['links']} | {r['bytes']:,} | {r['bytes_zlib']:,} "
            f"| {r['bytes_history'] / r['bytes']:.0%} | {r['encode_per_s']:,.0f} "
            f"| {r['decode_per_s']:,.0f} | {r['ratio_decode_vs_pickle']:.2f}x "
            f"| {r['ratio_decode_vs_json_import']:.2f}x | {r['mutate_per_s']:,.0f} "
            f"| {r['offspring_per_s']:,.0f} |"
        )
    e = results["evolved_by_offspring"]
    print()
    print(
        f"Evolved by offspring() for {e['generations']} generations: {e['neurons']} neurons, "
        f"{e['links']} links, {e['evo_hist_entries']} history entries, {e['bytes']:,} B "
        f"({e['bytes_zlib']:,} B zlib) vs the 50,000 B assumed."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
