"""A hostile realm member against a node's DHT and pub/sub: cost to the victim, honest traffic.

    python benchmarks/mesh_attacks.py [--only store-flood|poison|replay] [--seconds S]
                                      [--victim-root PATH]

Each attack runs against a fresh trio of ``megabrain node`` processes on 127.0.0.1 (a victim
and two honest nodes A and B that bootstrap through it, see ``tests/mesh_quic/
attack_harness.py``) while A calls B's echo procedure (a DHT lookup, then the call) and
publishes to B every 0.2 s through their control endpoints. The attacker is a separate
process (``tests/mesh_quic/dht_attackers.py``) that logs in with keys of its own:

* ``store-flood``: 200 signed STOREs of 1 MB under random keys;
* ``poison``: 5 records of 0.95 MB under one genotype key from 5 minted keys, then 3
  FIND_VALUEs of that key;
* ``replay``: one signed event sent again and again on 4 connections for ``--seconds`` (8),
  each logging in again under a new key when the victim drops it.

Printed per attack: the victim's CPU% over the attack (psutil, 100 = one core), its RSS growth
(after the attack, and the peak sampled during it), honest RPC latency p50 / max and failures
during the attack, honest events delivered of those published during it, and the delay after
the attack's end to the first probe whose RPC took <= 0.5 s and whose event arrived.
``--victim-root`` runs the three nodes from another checkout (e.g. the code before the
bounds) with the same attacker, for a before/after comparison in one session.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mesh_quic import attack_harness as h  # noqa: E402
from tests.mesh_quic import procs  # noqa: E402

ATTACKS = {
    "store-flood": ["--count", "200", "--size", "1000000"],
    "poison": ["--problem", "xor", "--count", "5", "--size", "950000"],
    "replay": ["--connections", "4"],
}


def run_one(name: str, seconds: float) -> dict[str, Any]:
    args = list(ATTACKS[name]) + (["--seconds", str(seconds)] if name == "replay" else [])
    with tempfile.TemporaryDirectory() as tmp:
        trio = h.Trio(Path(tmp))
        try:
            with h.Prober(trio) as prober:
                time.sleep(2.0)  # baseline traffic
                run = h.attack(trio, name, *args)
                deadline = time.monotonic() + 15.0
                while time.monotonic() < deadline:
                    if prober.traffic.first_ok_after(run.ended, 0.5) is not None:
                        break
                    time.sleep(0.2)
            out = h.summary(prober.traffic, run)
            out["victim_alive"] = trio.victim_alive()
            stats = trio.victim_stats()
            out["victim_counters"] = {
                k: v for k, v in stats.items()
                if k in ("core.records_refused", "core.dht_bytes", "core.answers_truncated",
                         "node.peers_dropped_bad_frames", "node.flush_errors", "core.rejected",
                         "core.rate_limited", "transport.rate_limited_frames")
            }  # fmt: skip
            return out
        finally:
            trio.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=sorted(ATTACKS))
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--victim-root", help="run the nodes from this checkout")
    args = p.parse_args()
    if args.victim_root:  # the node processes run that code; the attacker runs ours
        procs.ROOT = Path(args.victim_root).resolve()
    results = {}
    for name in [args.only] if args.only else list(ATTACKS):
        results[name] = run_one(name, args.seconds)
    load = os.getloadavg()[0]
    print(json.dumps({"victim_root": str(procs.ROOT), "load1": load, "results": results},
                     indent=1))  # fmt: skip
    cols = ["attack_s", "victim_cpu_percent", "rss_growth_mb", "rss_peak_growth_mb",
            "rpc_p50_ms", "rpc_max_ms", "rpc_failed_during", "events_during",
            "recovered_after_s", "victim_alive"]  # fmt: skip
    print("\n| attack | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in results.items():
        cells = [str(r[c]) if not isinstance(r[c], float) else f"{r[c]:.2f}" for c in cols]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
