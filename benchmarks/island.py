"""Island model (distribution model 1) on loopback: does sharing champions pay?

Definitions (what this script measures):

* Problem: DPNV (double pole, no velocities; Gruau fitness; solved = 100,000 steps from the
  standard start **and** >= 200/625 generalization starts, see BENCHMARKS.md), the compiled
  backend, ``--population`` agents per node (default 20) on every node, DXNN defaults.
* For N = 1, 2, 4 nodes and every seed, two runs with the same per-node seeds: **sharing**
  (all nodes in one realm, publishing improving champions, validating and adopting the
  others') and **isolated** (each node alone in its own realm: the same processes, mesh
  included, but nobody to share with). The nodes are started one after another (each joins
  through the first) and wait for a start file (``--start-file``) that is created once all are
  up, so they start evolving together. A run ends at the **first solution on any node**.
* **Evaluations per node to the first solution**: the mean over the N nodes of the
  evaluations each had done when the first solution was reported (tuning evaluations
  included; the re-evaluations of received genotypes are added too -- they are work the
  island does). N = 1 is the same run in both modes. Ratio = isolated / sharing (> 1:
  sharing helps). A run without a solution within ``--timeout`` counts its evaluations at
  the timeout and is reported as unsolved.
* **Bytes per node**: UDP payload bytes each node process sent (counted at the socket, see
  ``actors/distributed/meter.py``), divided by the node's wall time. This is the whole mesh's
  cost (SWIM probes, DHT, pub/sub, QUIC), not just the champions; over these short runs it
  includes the start (TLS and mesh handshakes, joins, first DHT stores). The **steady state**
  is measured apart: the largest N of sharing islands (4 agents, 2 tuning attempts each, a
  fitness goal out of reach, so they keep evolving and publishing as they improve -- the worst
  case for bandwidth) after a 15 s warm-up, over ``--bandwidth-seconds``.
* **Latency**: publication (the publisher's wall clock in the envelope) -> validated on the
  receiver (``accept``), and -> injected into the receiver's population (``adopt``, which
  waits for the end of the receiver's current generation); p50 / p99 over all sharing runs.

* **Ideal sharing** (``--ideal-seeds``, default: as many as ``--seeds``): the same N, seeds and
  settings in one process with :func:`actors.distributed.lockstep.run_lockstep` -- the nodes
  advance one evaluation at a time at equal speed and champions arrive at the receiver's next
  evaluation (zero latency, no rate limit, adoption mid-generation). Its isolated/sharing
  ratio is what this publish/adopt policy saves with a free, instant transport (a reference,
  not a bound: delay can help by keeping islands diverse); its isolated runs are exactly
  ``megabrain evolve dpnv --seed 1000*s+k``.
  Two publication points: after each generation, and after each tuned agent (``publish_on``).
* **Plateau** (from the ideal runs): every agent that reaches DPNV's 1,000-step goal is put to
  the success test; for those, the Spearman rank correlation between Gruau fitness and the
  steps balanced in the 100,000-step test, and how many pass it. A correlation near 0 means
  the fitness the islands select and share on says nothing about what solves the task.

Every process runs on 127.0.0.1 with OS-assigned ports and is killed by PID. The machine's
cores are shared: N = 4 nodes on 2 cores run at half speed each, which slows the wall clock
but not the evaluation counts this benchmark compares.

Usage: ``python benchmarks/island.py [--quick] [--seeds K] [--nodes 1,2,4] [--config F.toml]
[--ideal-seeds K] [--json PATH]`` (``--config``: a run file given to every node, e.g. a
``[mesh]`` table to try other sharing settings; the JSON records it).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the ideal runs import the package (the nodes get PYTHONPATH)
    sys.path.insert(0, str(ROOT))
#: Islands of the steady-state bandwidth phase: 4 agents, 2 tuning attempts, and a fitness
#: goal out of reach (solving needs it too), so that they keep running -- and publishing as
#: they improve -- through the window instead of solving.
#: Publication points of the ideal (lockstep) sharing runs, see ``run_lockstep``.
IDEAL_PUBLISH = ("generation", "evaluation")
STEADY_CONFIG = """
[tuning]
duration = "const"
duration_parameter = 2.0

[stopping]
fitness_goal = 100.0
"""


class Proc:
    def __init__(self, tmp: Path, name: str, args: list[str]) -> None:
        self.name = name
        self.status_path = tmp / f"{name}.status.json"
        self.events_path = tmp / f"{name}.events.jsonl"
        self.log = open(tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        cmd = [sys.executable, "-m", "actors", "evolve", "dpnv", "--quiet", "--mesh",
               "--label", name, "--mesh-status", str(self.status_path),
               "--start-file", str(tmp / "go"),
               "--mesh-events", str(self.events_path), "--linger", "0",
               "--max-evaluations", "none", "--max-generations", "1000000", *args]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        self.started = time.monotonic()
        self.status: dict[str, Any] = {}

    def refresh(self) -> dict[str, Any]:
        with contextlib.suppress(OSError, ValueError):
            self.status = json.loads(self.status_path.read_text())
        return self.status

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()

    def events(self, kind: str) -> list[dict[str, Any]]:
        from actors.distributed.island import read_events

        return read_events(self.events_path, kind)


def _wait_address(p: Proc, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.refresh().get("address"):
            return str(p.status["address"])
        if p.proc.poll() is not None:
            raise RuntimeError(f"{p.name} exited: see {p.log.name}")
        time.sleep(0.1)
    raise RuntimeError(f"{p.name} did not start")


def run_once(
    n: int, seed: int, sharing: bool, population: int, timeout: float, config: str | None = None
) -> dict[str, Any]:
    """One run of ``n`` islands until the first solution (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="island-bench-") as d:
        tmp = Path(d)
        procs: list[Proc] = []
        realm = f"bench-{seed}-{n}-{int(sharing)}"
        try:
            seed_addr = ""
            for k in range(n):
                args = ["--seed", str(1000 * seed + k), "--population", str(population)]
                if config:
                    args += ["--config", config]
                args += ["--realm", realm if sharing else f"{realm}-{k}"]
                if sharing and k > 0:
                    args += ["--bootstrap", seed_addr]
                p = Proc(tmp, f"n{k}", args)
                procs.append(p)
                addr = _wait_address(p)
                if k == 0:
                    seed_addr = addr
            (tmp / "go").touch()  # every node is up: all start evolving now
            t0 = time.monotonic()
            solved_by = None
            while time.monotonic() - t0 < timeout:
                for p in procs:
                    p.refresh()
                solved_by = next((p.name for p in procs if p.status.get("solved")), None)
                if solved_by or all(p.proc.poll() is not None for p in procs):
                    break
                time.sleep(0.25)
            wall = time.monotonic() - t0
            # freeze the counters before the others move on
            stats = [dict(p.refresh()) for p in procs]
            ends = [time.monotonic() for _ in procs]
        finally:
            for p in procs:
                p.stop()
        for p, st in zip(procs, stats, strict=True):
            final = p.refresh()
            st["udp_bytes_sent"] = final.get("udp_bytes_sent") or st.get("udp_bytes_sent")
        evals = [st.get("evaluations", 0) + st.get("validation_evaluations", 0) for st in stats]
        secs = [end - p.started for p, end in zip(procs, ends, strict=True)]  # start-up included
        bps = [
            (st.get("udp_bytes_sent") or 0) / s for st, s in zip(stats, secs, strict=True) if s > 0
        ]
        accept_lat = [e["latency"] for p in procs for e in p.events("accept")]
        adopt_lat = [e["latency"] for p in procs for e in p.events("adopt")]
        return {
            "nodes": n,
            "seed": seed,
            "sharing": sharing,
            "solved": solved_by is not None,
            "solved_by": solved_by,
            "wall_seconds": round(wall, 2),
            "evals_per_node": statistics.fmean(evals),
            "own_evals_per_node": statistics.fmean(st.get("evaluations", 0) for st in stats),
            "validation_evals_per_node": statistics.fmean(
                st.get("validation_evaluations", 0) for st in stats
            ),
            "bytes_per_second_per_node": statistics.fmean(bps) if bps else None,
            "published": sum(st.get("published", 0) for st in stats),
            "accepted": sum(st.get("accepted", 0) for st in stats),
            "rejected": sum(st.get("rejected", 0) for st in stats),
            "accept_latency": accept_lat,
            "adopt_latency": adopt_lat,
        }


def steady_bandwidth(
    n: int, seconds: float, warmup: float, population: int, config: str | None
) -> dict[str, Any]:
    """Bytes/s per node of ``n`` sharing islands after ``warmup`` s (joins, handshakes and
    the first DHT stores excluded), over ``seconds`` s or until the node stops (solved)."""
    with tempfile.TemporaryDirectory(prefix="island-bw-") as d:
        tmp = Path(d)
        procs: list[Proc] = []
        try:
            seed_addr = ""
            for k in range(n):
                args = ["--seed", str(7000 + k), "--population", str(population),
                        "--realm", "bandwidth"]  # fmt: skip
                if config:
                    args += ["--config", config]
                if k > 0:
                    args += ["--bootstrap", seed_addr]
                p = Proc(tmp, f"n{k}", args)
                procs.append(p)
                addr = _wait_address(p)
                seed_addr = seed_addr or addr
            (tmp / "go").touch()
            t0 = time.monotonic()
            first: dict[str, tuple[float, int, dict[str, int]]] = {}
            last: dict[str, tuple[float, int, dict[str, int]]] = {}
            while time.monotonic() - t0 < warmup + seconds:
                now = time.monotonic()
                for p in procs:
                    st = p.refresh()
                    b = st.get("udp_bytes_sent")
                    if b is None or p.proc.poll() is not None or st.get("solved"):
                        continue
                    if now - t0 >= warmup:
                        kinds = dict(st.get("frame_bytes_sent") or {})
                        first.setdefault(p.name, (now, b, kinds))
                        last[p.name] = (now, b, kinds)
                time.sleep(0.5)
        finally:
            for p in procs:
                p.stop()
        rates = []
        by_kind: dict[str, list[float]] = {}
        for name, (t1, b1, k1) in first.items():
            t2, b2, k2 = last[name]
            if t2 - t1 >= 5.0:
                rates.append((b2 - b1) / (t2 - t1))
                frames = 0.0
                for kind in set(k1) | set(k2):
                    r = (k2.get(kind, 0) - k1.get(kind, 0)) / (t2 - t1)
                    by_kind.setdefault(kind, []).append(r)
                    frames += r
                # QUIC and UDP framing, acknowledgements, keep-alive pings, handshakes
                by_kind.setdefault("(transport)", []).append(rates[-1] - frames)
        breakdown = {  # mean over the measured nodes (absent: 0), largest first
            k: sum(v) / len(rates) for k, v in sorted(by_kind.items(), key=lambda kv: -sum(kv[1]))
        }
        return {
            "nodes": n,
            "warmup_seconds": warmup,
            "window_seconds": seconds,
            "nodes_measured": len(rates),
            "bytes_per_second_per_node": statistics.fmean(rates) if rates else None,
            "max_bytes_per_second": max(rates) if rates else None,
            "bytes_per_second_by_frame": breakdown,
        }


def _ranks(xs: list[float]) -> list[float]:
    """Average ranks (ties share the mean of their positions)."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rank correlation (Pearson's on average ranks); None if undefined."""
    if len(xs) < 3:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sx = sum((a - mx) ** 2 for a in rx) ** 0.5
    sy = sum((b - my) ** 2 for b in ry) ** 0.5
    return None if sx == 0 or sy == 0 else sxy / (sx * sy)


def _ideal_one(job: tuple[int, int, str | None, int, str | None, int]) -> dict[str, Any]:
    """One lockstep run (a worker process of :func:`ideal_runs`)."""
    from actors.distributed.config import MeshSettings, load_run_config
    from actors.distributed.lockstep import LockstepOptions, run_lockstep
    from actors.evolution.config import EvolutionConfig
    from actors.evolution.exoself import ExoselfResult

    n, seed, publish, population, config, limit = job
    cfg, mesh = load_run_config(config) if config else (EvolutionConfig(), MeshSettings())
    cfg = dataclasses.replace(
        cfg, monitor=dataclasses.replace(cfg.monitor, population_size=population)
    )
    tests: list[dict[str, float]] = []

    def observe(_k: int, res: ExoselfResult) -> None:
        if res.tested:
            tests.append({"fitness": res.fitness[0], "solved": float(res.solved),
                          **{k: float(v) for k, v in res.success}})  # fmt: skip

    opts = LockstepOptions(
        "dpnv", n, seed=seed, config=cfg, sharing=publish is not None,
        publish=publish or "generation", publish_threshold=mesh.publish_threshold,
        publish_relative=mesh.publish_relative, adopt_only_better=mesh.adopt_only_better,
        max_evaluations=limit,
    )  # fmt: skip
    t0 = time.monotonic()
    r = run_lockstep(opts, observe if publish is None else None)
    what = f"# ideal N={n} seed={seed} {publish or 'isolated'}"
    print(f"{what}: solved={r.solved} evals/node={r.evals_per_node:.0f}", file=sys.stderr)
    return {
        "nodes": n, "seed": seed, "sharing": publish is not None, "publish": publish,
        "solved": r.solved, "evals_per_node": r.evals_per_node,
        "evaluations": list(r.evaluations), "reevaluations": list(r.reevaluations),
        "adopted": list(r.adopted), "published": list(r.published),
        "wall_seconds": time.monotonic() - t0, "tests": tests,
    }  # fmt: skip


def ideal_runs(
    nodes: list[int], seeds: int, population: int, config: str | None, limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, float]]]:
    """The lockstep island runs (see the module docstring), one process per core, and the
    success tests their isolated runs saw. A run unsolved after ``limit`` evaluations per
    node counts them and is reported as unsolved."""
    jobs = [
        (n, seed, publish, population, config, limit)
        for seed in range(1, seeds + 1)
        for n in nodes
        if n > 1
        for publish in (*IDEAL_PUBLISH, None)
    ]
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        runs = pool.map(_ideal_one, jobs, chunksize=1)
    tests = [t for r in runs for t in r.pop("tests")]
    return runs, tests


def summarise_ideal(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for n in sorted({r["nodes"] for r in runs}):
        iso = [r["evals_per_node"] for r in runs if r["nodes"] == n and not r["sharing"]]
        for publish in IDEAL_PUBLISH:
            mine = [r for r in runs if r["nodes"] == n and r["publish"] == publish]
            ev = [r["evals_per_node"] for r in mine]
            rows.append({
                "nodes": n, "publish": publish, "runs": len(ev),
                "solved": sum(r["solved"] for r in mine),
                "isolated_solved": sum(not r["sharing"] and r["solved"] for r in runs
                                       if r["nodes"] == n),
                "sharing_mean": statistics.fmean(ev), "sharing_median": statistics.median(ev),
                "isolated_mean": statistics.fmean(iso), "isolated_median": statistics.median(iso),
                "ratio_mean": statistics.fmean(iso) / statistics.fmean(ev),
                "ratio_median": statistics.median(iso) / statistics.median(ev),
                "sharing_better_in": sum(a < b for a, b in zip(ev, iso, strict=True)),
            })  # fmt: skip
    return rows


def plateau(tests: list[dict[str, float]]) -> dict[str, Any]:
    steps = [t["balanced_steps"] for t in tests if "balanced_steps" in t]
    fits = [t["fitness"] for t in tests if "balanced_steps" in t]
    return {
        "tested": len(tests),
        "passed_100k_steps": sum(s >= 100_000 for s in steps),
        "solved": int(sum(t["solved"] for t in tests)),
        "median_balanced_steps": statistics.median(steps) if steps else None,
        "spearman_fitness_vs_steps": spearman(fits, steps),
    }


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def summarise(runs: list[dict[str, Any]], nodes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for n in nodes:
        for sharing in (True, False):
            rs = [r for r in runs if r["nodes"] == n and r["sharing"] == (sharing or n == 1)]
            if not rs:
                continue
            ev = [r["evals_per_node"] for r in rs]
            bps = [r["bytes_per_second_per_node"] for r in rs if r["bytes_per_second_per_node"]]
            acc = [x for r in rs for x in r["accept_latency"]]
            ado = [x for r in rs for x in r["adopt_latency"]]
            rows.append({
                "nodes": n,
                "mode": "sharing" if sharing else "isolated",
                "runs": len(rs),
                "solved": sum(r["solved"] for r in rs),
                "evals_per_node_mean": statistics.fmean(ev),
                "evals_per_node_median": statistics.median(ev),
                "validation_evals_per_node": statistics.fmean(
                    r["validation_evals_per_node"] for r in rs),
                "bytes_per_second_per_node": statistics.fmean(bps) if bps else None,
                "accept_latency_p50": _pct(acc, 0.5),
                "accept_latency_p99": _pct(acc, 0.99),
                "adopt_latency_p50": _pct(ado, 0.5),
                "adopt_latency_p99": _pct(ado, 0.99),
            })  # fmt: skip
            if n == 1:
                break
    for row in rows:
        iso = next((r for r in rows if r["nodes"] == row["nodes"] and r["mode"] == "isolated"),
                   None)  # fmt: skip
        if row["mode"] == "sharing" and iso is not None:
            row["ratio_isolated_over_sharing_mean"] = (
                iso["evals_per_node_mean"] / row["evals_per_node_mean"]
            )
            row["ratio_isolated_over_sharing_median"] = (
                iso["evals_per_node_median"] / row["evals_per_node_median"]
            )
    return rows


def _fmt(v: Any, spec: str = ".0f") -> str:
    return "-" if v is None else format(v, spec)


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| nodes | mode | solved/runs | evals/node mean | median | ratio iso/share "
        "(mean, median) | re-eval/node | bytes/s/node | accept p50/p99 s | adopt p50/p99 s |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        ratio = (f"{r['ratio_isolated_over_sharing_mean']:.2f}, "
                 f"{r['ratio_isolated_over_sharing_median']:.2f}"
                 if "ratio_isolated_over_sharing_mean" in r else "-")  # fmt: skip
        lines.append(
            f"| {r['nodes']} | {r['mode']} | {r['solved']}/{r['runs']} | "
            f"{_fmt(r['evals_per_node_mean'])} | {_fmt(r['evals_per_node_median'])} | {ratio} | "
            f"{_fmt(r['validation_evals_per_node'], '.1f')} | "
            f"{_fmt(r['bytes_per_second_per_node'])} | "
            f"{_fmt(r['accept_latency_p50'], '.2f')}/{_fmt(r['accept_latency_p99'], '.2f')} | "
            f"{_fmt(r['adopt_latency_p50'], '.2f')}/{_fmt(r['adopt_latency_p99'], '.2f')} |"
        )
    return "\n".join(lines)


def emit(doc: dict[str, Any], path: str | None) -> None:
    """Print the JSON document (and write it to ``path``), then a blank line."""
    text = json.dumps(doc, indent=1)
    print(text)
    if path:
        Path(path).write_text(text + "\n")
    print()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 seeds, N = 1 and 4")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--nodes", default="1,2,4")
    ap.add_argument("--population", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    ap.add_argument("--config", help="TOML given to every node (e.g. a [mesh] table)")
    ap.add_argument("--bandwidth-seconds", type=float, default=60.0,
                    help="steady-state bandwidth window (0: skip)")  # fmt: skip
    ap.add_argument("--ideal-seeds", type=int, help="lockstep seeds (default: --seeds; 0: skip)")
    ap.add_argument("--ideal-max-evaluations", type=int, default=20_000,
                    help="per-node evaluations before a lockstep run stops unsolved")  # fmt: skip
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args()
    seeds = 2 if args.quick else args.seeds
    ideal_seeds = seeds if args.ideal_seeds is None else args.ideal_seeds
    nodes = [1, 4] if args.quick else [int(x) for x in args.nodes.split(",")]
    runs = []
    for seed in range(1, seeds + 1):
        for n in nodes:
            for sharing in (True, False) if n > 1 else (True,):
                r = run_once(n, seed, sharing, args.population, args.timeout, args.config)
                runs.append(r)
                print(f"# N={n} seed={seed} {'sharing' if sharing else 'isolated'}: "
                      f"solved={r['solved']} evals/node={r['evals_per_node']:.0f} "
                      f"wall={r['wall_seconds']}s", file=sys.stderr, flush=True)  # fmt: skip
    rows = summarise(runs, nodes)
    ideal, tests = ideal_runs(
        nodes, ideal_seeds, args.population, args.config, args.ideal_max_evaluations
    )
    ideal_rows = summarise_ideal(ideal) if ideal else []
    plateau_stats = plateau(tests) if tests else None
    steady = None
    window = 30.0 if args.quick else args.bandwidth_seconds
    if window > 0:
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(STEADY_CONFIG)
        try:
            steady = steady_bandwidth(max(nodes), window, 15.0, 4, f.name)
        finally:
            os.unlink(f.name)
    doc = {
        "benchmark": "island model, DPNV, first solution on any node",
        "definition": "see the module docstring of benchmarks/island.py",
        "population_per_node": args.population,
        "seeds": seeds,
        "timeout_seconds": args.timeout,
        "config": Path(args.config).read_text() if args.config else None,
        "summary": rows,
        "steady_state_bandwidth": steady,
        "ideal_summary": ideal_rows,
        "plateau": plateau_stats,
        "runs": runs,
        "ideal_runs": ideal,
    }
    emit(doc, args.json)
    print(markdown(rows))
    if ideal_rows:
        print("\nideal sharing (in-process lockstep, zero latency), evaluations per node:\n")
        print("| nodes | publish | solved/runs | sharing mean | median | isolated mean | median "
              "| ratio iso/share (mean, median) | sharing better in |")  # fmt: skip
        print("|" + "---|" * 9)
        for r in ideal_rows:
            print(f"| {r['nodes']} | {r['publish']} | {r['solved']}/{r['runs']} | "
                  f"{r['sharing_mean']:.0f} | {r['sharing_median']:.0f} | "
                  f"{r['isolated_mean']:.0f} | {r['isolated_median']:.0f} | "
                  f"{r['ratio_mean']:.2f}, {r['ratio_median']:.2f} | "
                  f"{r['sharing_better_in']}/{r['runs']} |")  # fmt: skip
    if plateau_stats is not None:
        p = plateau_stats
        rho = p["spearman_fitness_vs_steps"]
        print(f"\nplateau (isolated ideal runs): {p['tested']} agents reached the 1,000-step goal "
              f"and were tested; {p['passed_100k_steps']} balanced 100,000 steps, "
              f"{p['solved']} solved; median steps balanced {_fmt(p['median_balanced_steps'])}; "
              f"Spearman(fitness, steps balanced) = {_fmt(rho, '.2f')}")  # fmt: skip
    if steady is not None:
        bps = steady["bytes_per_second_per_node"]
        print(f"\nsteady state, {steady['nodes']} sharing islands, {window:.0f} s after a 15 s "
              f"warm-up: {_fmt(bps)} B/s per node ({_fmt(bps and bps * 60 / 1024, '.1f')} "
              f"KiB/min), max {_fmt(steady['max_bytes_per_second'])} B/s")  # fmt: skip
        print("\n| sent as | B/s per node |\n|---|---|")
        for kind, rate in steady["bytes_per_second_by_frame"].items():
            print(f"| {kind} | {rate:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
