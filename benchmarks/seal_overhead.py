"""What the transport seal (``actors.runtime.seal``) costs a ``local`` actor system.

Measured in one run, peer and seal alternating (ABBA over ``--repeats`` pairs, medians
reported). Each measurement is a fresh process (the seal is process-wide) that starts a
multiprocTCPBase system on 127.0.0.1 exactly as ``local`` mode does (loopback binds,
lifeline), with or without ``seal.use()`` first, and times two plain Thespian actors
(``RawPinger`` -> ``RawPonger``) doing n sequential request/reply round trips: every
round trip is two frames and two acks through the TCP transport, each sealed and
checked on the sealed side. Also timed in-process: one ``seal`` + ``unseal`` of a frame
body of 100 B and of 10 kB (HMAC-SHA256 both ways).

The unsealed peer is stock Thespian: while it is measured, its listeners (on 127.0.0.1)
unpickle whatever reaches them, as every ``local`` system did before the seal.

Usage: ``python benchmarks/seal_overhead.py [--quick] [--repeats N]``. Prints JSON, then
a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {"full": 2000, "quick": 300}


def child(sealed: bool, n: int) -> dict[str, Any]:
    """One measurement in this process: start a system, time ``n`` round trips."""
    from thespian.actors import ActorSystem

    from actors.runtime import lifeline, loopback, procs, seal
    from actors.runtime.probe import RawPinger, RawPonger
    from actors.runtime.system import _log_defs

    os.environ["THESPIAN_BASE_IPADDR"] = "127.0.0.1"
    loopback.install()
    lifeline.install()
    if sealed:
        seal.use()
    caps = {"Admin Port": procs.free_port()}
    asys = ActorSystem("multiprocTCPBase", caps, logDefs=_log_defs("WARNING"), transientUnique=True)
    try:
        ping, pong = asys.createActor(RawPinger), asys.createActor(RawPonger)
        asys.ask(ping, ("rtt", pong, max(20, n // 10)), 120)  # warm up: connections open
        times = list(asys.ask(ping, ("rtt", pong, n), 600))
    finally:
        asys.shutdown()
    return {
        "sealed": seal.installed(),
        "rejected": seal.rejected(),
        "round_trips_per_s": n / sum(times),
        "rtt_median_us": statistics.median(times) * 1e6,
    }


def run_child(sealed: bool, n: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", "sealed" if sealed else "stock", "--n", str(n)],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    if result["sealed"] != sealed or result["rejected"]:
        raise RuntimeError(f"unexpected seal state in a measurement: {result}")
    return result


def micro() -> dict[str, float]:
    """µs per seal + unseal of one frame body, in this process."""
    from actors.runtime import seal

    seal.use()
    try:
        out = {}
        for size in (100, 10_000):
            body = os.urandom(size)
            reps = 20_000
            t = timeit.timeit(lambda body=body: seal.unseal(seal.seal(body)), number=reps)
            out[f"seal_unseal_{size}B_us"] = round(t / reps * 1e6, 3)
        return out
    finally:
        seal.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--repeats", type=int, default=4, help="ABBA pairs (default 4)")
    parser.add_argument("--child", choices=("sealed", "stock"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child == "sealed", args.n)))
        return 0
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    n = SIZES["quick" if args.quick else "full"]
    samples: dict[str, list[dict[str, Any]]] = {"stock": [], "sealed": []}
    t0 = time.monotonic()
    for i in range(args.repeats):  # ABBA: neither side always runs second
        order = ("stock", "sealed") if i % 2 == 0 else ("sealed", "stock")
        for who in order:
            samples[who].append(run_child(who == "sealed", n))
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "round_trips_per_measurement": n,
        "repeats": args.repeats,
        "seconds": round(time.monotonic() - t0, 1),
    }
    for who, rows in samples.items():
        rates = [r["round_trips_per_s"] for r in rows]
        result[who] = {
            "round_trips_per_s": round(statistics.median(rates), 1),
            "rtt_median_us": round(statistics.median(r["rtt_median_us"] for r in rows), 1),
            "samples_round_trips_per_s": [round(r, 1) for r in rates],
        }
    result["ratio_time_per_round_trip"] = round(
        result["stock"]["round_trips_per_s"] / result["sealed"]["round_trips_per_s"], 3
    )
    result["micro"] = micro()
    print(json.dumps(result, indent=2))
    st, se = result["stock"], result["sealed"]
    print()
    print("| local system | round trips/s | RTT median µs |")
    print("|---|---:|---:|")
    print(f"| stock Thespian | {st['round_trips_per_s']:,.0f} | {st['rtt_median_us']:.1f} |")
    print(f"| sealed | {se['round_trips_per_s']:,.0f} | {se['rtt_median_us']:.1f} |")
    print(f"| ratio (time per round trip) | **{result['ratio_time_per_round_trip']:.3f}x** | |")
    m = result["micro"]
    print()
    print(
        f"seal + unseal of one frame body: {m['seal_unseal_100B_us']} µs (100 B), "
        f"{m['seal_unseal_10000B_us']} µs (10 kB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
