"""Mesh simulator benchmark: Kademlia lookups, pub/sub delivery and bandwidth at 1k / 10k nodes.

    python benchmarks/mesh_sim.py [--quick] [--sizes 1000,10000] [--seed 1]

What runs (printed again in the output):
* Nodes are sans-I/O ``mesh.core.MeshCore`` instances in ``mesh.sim``: one-way latency 20 ms
  +- 10 ms uniform, no loss, SWIM off (DHT + pub/sub only), k = 20, alpha = 3.
* Fast paths (documented in mesh/sim/network.py): signatures use the simulation-only
  ``SIM_FAST`` suite instead of Ed25519, handshakes are "trusted" (no handshake frames), and
  routing tables start from ``oracle_bootstrap`` (k random members per bucket range) instead
  of joins. Every DHT / pub/sub frame is still encoded, decoded and validated.
* Lookups: random targets from random live nodes, with 0 %, 10 % and 30 % of the nodes killed
  silently (nobody is told; their entries stay in routing tables). ``rounds`` = sequential
  round trips until the closest node answered (mesh.dht.lookup). Success = the closest live
  node to the target is the first result; recall = share of the true 20 closest live nodes
  in the result.
* Pub/sub: subscribers store subscription records in the DHT; publishers publish at-least-once;
  delivery ratio over every (event, subscriber) pair; latency in simulated seconds from publish
  to delivery (includes the subscriber lookup).
* Bandwidth: frames sent per node per simulated minute while every node runs one random lookup
  per minute, set beside Kademlia's O(log N) expectation (frames per lookup / log2 N).

References measured or computed in the same run: the analytical Kademlia expectation
(ceil(log2(N) / log2(k)) + 1 rounds, the hop bound for k-buckets of size k; ratios reported),
and the real path -- Ed25519 signatures and full handshake frames -- on the same 1,000-node
scenario and seed, so that the fast path's effect on results and on wall time is visible.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mesh.core import MeshConfig
from mesh.events import EventReceived, LookupCompleted, StoreCompleted
from mesh.identity import ED25519, SIM_FAST, NodeKey, node_id_of
from mesh.membership import SwimConfig
from mesh.sim import SimConfig, Simulation

MESH = MeshConfig(swim=SwimConfig(enabled=False), housekeeping_interval=600.0)
NET = SimConfig(handshake="trusted", crypto=SIM_FAST, keep_events=False)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def build(n: int, seed: int, hook=None, net: SimConfig = NET) -> Simulation:
    sim = Simulation(seed, net, MESH, on_event=hook)
    sim.add_nodes(n)
    sim.oracle_bootstrap()
    return sim


def lookup_scenario(n: int, dead: float, lookups: int, seed: int, net: SimConfig = NET) -> dict:
    done: dict[tuple[int, int], tuple[LookupCompleted, float]] = {}

    def hook(node, ev, now):
        if isinstance(ev, LookupCompleted):
            done[(node.index, ev.op)] = (ev, now)

    t0 = time.perf_counter()
    sim = build(n, seed, hook, net)
    setup = time.perf_counter() - t0
    for node in sim.rng.sample(sim.nodes, int(dead * n)):
        sim.kill(node)
    live = [node for node in sim.nodes if node.alive]
    live_ints = [(int.from_bytes(x.node_id, "big"), x.node_id) for x in live]
    frames0 = sim.stats["frames"]
    t1 = time.perf_counter()
    started = []
    wave = 100
    for start in range(0, lookups, wave):
        for _ in range(min(wave, lookups - start)):
            src = live[sim.rng.randrange(len(live))]
            target = sim.rng.randbytes(32)
            op = sim.do(src, lambda c, t=target: c.lookup("default", t, sim.now))
            started.append((src, target, op, sim.now))
        sim.run_for(60)
    wall = time.perf_counter() - t1
    rounds, ok, recall, queries, durations = [], 0, [], [], []
    for src, target, op, t_start in started:
        ev, t_end = done[(src.index, op)]
        t = int.from_bytes(target, "big")
        truth = heapq.nsmallest(21, live_ints, key=lambda p: p[0] ^ t)
        truth_ids = [nid for _, nid in truth if nid != src.node_id][:20]
        got = [c.node_id for c in ev.contacts]
        ok += bool(got) and got[0] == truth_ids[0]
        recall.append(len(set(got) & set(truth_ids)) / len(truth_ids))
        rounds.append(ev.rounds)
        queries.append(ev.queries)
        durations.append(t_end - t_start)
    return {
        "nodes": n,
        "dead_fraction": dead,
        "lookups": lookups,
        "rounds_p50": pct(rounds, 0.5),
        "rounds_p95": pct(rounds, 0.95),
        "success_rate": ok / lookups,
        "recall_k_closest": statistics.fmean(recall),
        "queries_per_lookup": statistics.fmean(queries),
        # all frames sent during the phase, routing-table pings included, per lookup
        "frames_per_lookup_with_upkeep": (sim.stats["frames"] - frames0) / lookups,
        "sim_seconds_p50": pct(durations, 0.5),
        "sim_seconds_p95": pct(durations, 0.95),
        "setup_wall_s": round(setup, 2),
        "lookups_wall_s": round(wall, 2),
    }


def pubsub_scenario(n: int, subscribers: int, events: int, seed: int) -> dict:
    got: dict[tuple[bytes, int], list[float]] = {}
    stored: list[int] = []

    def hook(node, ev, now):
        if isinstance(ev, EventReceived):
            got.setdefault((ev.author, ev.seq), []).append(now)
        elif isinstance(ev, StoreCompleted):
            stored.append(ev.stored)

    sim = build(n, seed, hook)
    t0 = time.perf_counter()
    subs = sim.rng.sample(sim.nodes, subscribers)
    for node in subs:
        sim.do(node, lambda c: c.subscribe("default", "bench", sim.now))
    sim.run_for(30)
    sent = []
    for _ in range(events):
        pub = sim.nodes[sim.rng.randrange(n)]
        sim.do(pub, lambda c: c.publish("default", "bench", b"x" * 200, sim.now))
        author = pub.key.public_key
        seq = pub.core.seq
        sent.append((author, seq, sim.now, pub in subs))
        sim.run_for(1.0)
    sim.run_for(60)
    wall = time.perf_counter() - t0
    latencies = []
    delivered = expected = 0
    for author, seq, t_pub, self_sub in sent:
        times = got.get((node_id_of(author), seq), [])
        want = subscribers - (1 if self_sub else 0)
        expected += want
        remote = [t - t_pub for t in times if t > t_pub]
        delivered += min(len(remote), want)
        latencies.extend(remote)
    return {
        "nodes": n,
        "subscribers": subscribers,
        "events": events,
        "delivery_ratio": delivered / expected if expected else float("nan"),
        "latency_p50_s": pct(latencies, 0.5),
        "latency_p95_s": pct(latencies, 0.95),
        "subscription_replicas_mean": statistics.fmean(stored) if stored else 0.0,
        "wall_s": round(wall, 2),
    }


def bandwidth_scenario(n: int, minutes: int, seed: int) -> dict:
    sim = build(n, seed)
    frames0, bytes0 = sim.stats["frames"], sim.stats["bytes"]
    t0 = time.perf_counter()
    start = sim.now
    # every node starts one lookup per simulated minute at a random offset
    for minute in range(minutes):
        order = sorted((sim.rng.random() * 60.0, i) for i in range(n))
        base = start + 60.0 * minute
        for offset, i in order:
            sim.run(base + offset)
            node = sim.nodes[i]
            target = sim.rng.randbytes(32)
            sim.do(node, lambda c, t=target: c.lookup("default", t, sim.now))
    sim.run(start + 60.0 * minutes + 30.0)
    wall = time.perf_counter() - t0
    frames = sim.stats["frames"] - frames0
    per_node_min = frames / n / minutes
    lookups_per_node_min = 1.0
    frames_per_lookup = per_node_min / lookups_per_node_min
    return {
        "nodes": n,
        "minutes": minutes,
        "frames_per_node_per_minute": per_node_min,
        "bytes_per_node_per_minute": (sim.stats["bytes"] - bytes0) / n / minutes,
        "frames_per_lookup": frames_per_lookup,
        "log2_n": math.log2(n),
        "frames_per_lookup_over_log2_n": frames_per_lookup / math.log2(n),
        "wall_s": round(wall, 2),
        "sim_events_per_wall_s": round(sim.stats["delivered"] / wall) if wall else 0,
    }


def crypto_check(n: int, lookups: int, seed: int) -> dict:
    """The fast path against the real thing, same seed: Ed25519 + full handshake frames."""
    msg = b"x" * 200
    key = NodeKey.generate()
    costs = {}
    for suite in (ED25519, SIM_FAST):
        sig = suite.sign(key, msg)
        reps = 2000
        t = time.perf_counter()
        for _ in range(reps):
            suite.verify(key.public_key, sig, msg)
        costs[suite.name] = (time.perf_counter() - t) / reps * 1e6
    fast = lookup_scenario(n, 0.0, lookups, seed)
    real = lookup_scenario(n, 0.0, lookups, seed, SimConfig(handshake="full", crypto=ED25519,
                                                            keep_events=False))  # fmt: skip
    return {
        "nodes": n,
        "lookups": lookups,
        "verify_us_ed25519": costs[ED25519.name],
        "verify_us_sim_fast": costs[SIM_FAST.name],
        "verify_cost_ratio": costs[ED25519.name] / costs[SIM_FAST.name],
        "real": {k: real[k] for k in ("rounds_p50", "rounds_p95", "success_rate",
                                      "recall_k_closest", "lookups_wall_s")},
        "fast": {k: fast[k] for k in ("rounds_p50", "rounds_p95", "success_rate",
                                      "recall_k_closest", "lookups_wall_s")},
        "wall_ratio_real_over_fast": real["lookups_wall_s"] / max(fast["lookups_wall_s"], 1e-9),
    }  # fmt: skip


def expected_rounds(n: int, k: int = 20) -> int:
    return math.ceil(math.log2(n) / math.log2(k)) + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 nodes only, fewer lookups")
    ap.add_argument("--sizes", default=None, help="comma-separated node counts")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [1000] if args.quick else [1000, 10000]
    )  # fmt: skip
    lookups = 200 if args.quick else 500
    out: dict = {
        "benchmark": "mesh_sim",
        "definition": {
            "crypto": SIM_FAST.name,
            "handshake": NET.handshake,
            "bootstrap": "oracle (k random members per bucket range)",
            "latency_s": [NET.latency, NET.jitter],
            "loss": NET.loss,
            "k": MESH.k,
            "alpha": MESH.alpha,
            "request_timeout_s": MESH.request_timeout,
            "swim": False,
            "rounds": "sequential round trips until the closest node answered",
            "success": "first result is the true closest live node",
        },
        "lookups": [],
        "pubsub": [],
        "bandwidth": [],
    }
    out["fast_path_check"] = crypto_check(1000, 100 if args.quick else 200, args.seed)
    print(json.dumps(out["fast_path_check"]), file=sys.stderr)
    for n in sizes:
        for dead in (0.0, 0.1, 0.3):
            r = lookup_scenario(n, dead, lookups, args.seed)
            r["kademlia_expected_rounds"] = expected_rounds(n)
            r["rounds_p95_over_expected"] = r["rounds_p95"] / expected_rounds(n)
            out["lookups"].append(r)
            print(json.dumps(r), file=sys.stderr)
        subs = min(500, n // 10)
        out["pubsub"].append(pubsub_scenario(n, subs, 10 if args.quick else 20, args.seed))
        print(json.dumps(out["pubsub"][-1]), file=sys.stderr)
        out["bandwidth"].append(
            bandwidth_scenario(n, 1 if (args.quick or n > 2000) else 2, args.seed)
        )
        print(json.dumps(out["bandwidth"][-1]), file=sys.stderr)
    big = [r for r in out["lookups"] if r["nodes"] == max(sizes)]
    out["goals"] = {
        "p95_rounds_le_4_at_largest_no_churn": next(r for r in big if r["dead_fraction"] == 0)[
            "rounds_p95"
        ]
        <= 4,
        "success_ge_99pct_with_30pct_dead": all(
            r["success_rate"] >= 0.99 for r in out["lookups"] if r["dead_fraction"] == 0.3
        ),
    }
    print(json.dumps(out, indent=2))
    print()
    print(f"Definition: {SIM_FAST.name} signatures, trusted handshakes, oracle bootstrap, "
          f"latency {NET.latency * 1000:.0f}+-{NET.jitter * 1000:.0f} ms, k={MESH.k}, "
          f"alpha={MESH.alpha}.")  # fmt: skip
    print()
    print("| nodes | dead | rounds p50 | rounds p95 | expected (log_k N + 1) | success | "
          "recall@20 | queries/lookup | sim s p95 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in out["lookups"]:
        print(
            f"| {r['nodes']} | {r['dead_fraction']:.0%} | {r['rounds_p50']} | {r['rounds_p95']} "
            f"| {r['kademlia_expected_rounds']} | {r['success_rate']:.1%} "
            f"| {r['recall_k_closest']:.1%} | {r['queries_per_lookup']:.1f} "
            f"| {r['sim_seconds_p95']:.2f} |"
        )
    print()
    print("| nodes | subscribers | events | delivery ratio | latency p50 (s) | latency p95 (s) |")
    print("|---|---|---|---|---|---|")
    for r in out["pubsub"]:
        print(
            f"| {r['nodes']} | {r['subscribers']} | {r['events']} | {r['delivery_ratio']:.2%} "
            f"| {r['latency_p50_s']:.3f} | {r['latency_p95_s']:.3f} |"
        )
    print()
    print("| nodes | frames/node/min | bytes/node/min | frames per lookup | log2 N | ratio | "
          "sim frames/s (wall) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in out["bandwidth"]:
        print(
            f"| {r['nodes']} | {r['frames_per_node_per_minute']:.1f} "
            f"| {r['bytes_per_node_per_minute']:.0f} | {r['frames_per_lookup']:.1f} "
            f"| {r['log2_n']:.1f} | {r['frames_per_lookup_over_log2_n']:.2f} "
            f"| {r['sim_events_per_wall_s']} |"
        )
    print()
    fc = out["fast_path_check"]
    print(f"Fast path vs real (same seed, {fc['nodes']} nodes, {fc['lookups']} lookups): "
          f"Ed25519 verify {fc['verify_us_ed25519']:.1f} us vs sim-fast "
          f"{fc['verify_us_sim_fast']:.2f} us ({fc['verify_cost_ratio']:.0f}x); rounds p95 "
          f"{fc['real']['rounds_p95']} vs {fc['fast']['rounds_p95']}, success "
          f"{fc['real']['success_rate']:.1%} vs {fc['fast']['success_rate']:.1%}; lookup wall "
          f"time ratio real/fast {fc['wall_ratio_real_over_fast']:.2f}.")  # fmt: skip
    print()
    print("Goals:", ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in out["goals"].items()))


if __name__ == "__main__":
    main()
