"""Remote actors through the gateway, beside the raw mesh RPC and Thespian, in one run.

    python benchmarks/remote_actors.py [--quick] [--modes local,simple]

Per runtime mode (``local``: Thespian multiprocTCPBase, one process per actor; ``simple``: one
process), two OS processes on 127.0.0.1: this one (a runtime with a gateway and a
:class:`~actors.remote.demo_actors.Driver`) and a ``megabrain worker --mode MODE``. Measured:

* ``remote_request``: the Driver's ``Worker.request`` to an Echo spawned on the worker, n
  sequential round trips of a 200 B payload (driver -> gateway -> mesh -> gateway -> echo and
  back: two local actor round trips and one mesh round trip);
* ``mesh_rpc``: the raw peer: ``MeshNode.call`` (direct provider, 200 B) from this process to
  an echo procedure on a node in a third process (``--echo-node``), no actors involved;
* ``local_request``: the same Driver's request to an Echo in its own runtime;
* ``thespian_rtt``: Thespian's own round trip between two raw actors of this runtime's actor
  system (``benchmarks/runtime_messaging.py``'s pair, in ``local`` mode multiprocTCPBase);
* ``one_way``: the Driver tells n 200 B messages to a Recorder spawned on the worker and waits
  until it has counted them all (messages/s).

``--parts dpnv`` (default: both parts) measures what evaluating DPNV agents remotely costs
beside the evaluation itself, per mode (the worker in the same mode): the tasks the
population monitor of a DPNV run (seed 1, default settings) sends in its first 12
generations (2 with ``--quick``), ~200 of them sampled evenly, as
:class:`~actors.evolution.exoself.EvaluateAgent` messages, once tuned as in the run and
once untuned (``tune=False``). ``own``: the CPU time of the tasks run by
:func:`~actors.evolution.exoself.run_exoself` in this process; ``remote``: the CPU time of
every process of both runtimes (this one, its actor processes, the worker and its actor
processes) while the same tasks go one at a time to an exoself spawned on the worker (the
results must equal the in-process ones). Overhead per task = (remote - own) / tasks, also
per evaluation and as a share of ``own``; bytes per task are the gateway's payload bytes
(task and result in the wire encoding, both directions; QUIC and mesh framing not
included). CPU times come from the kernel in 10 ms ticks per process.

Goals (issue 15): remote request p50 <= 1.3x the raw mesh RPC p50; >= 20,000 one-way messages/s
per node pair; remote evaluation overhead <= 5% of a DPNV evaluation's CPU time. Prints JSON,
then markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actors.remote.gateway import GatewayConfig, remote_node_spec  # noqa: E402
from actors.runtime import ChildSpec, RuntimeSystem  # noqa: E402
from actors.runtime.errors import RemoteError  # noqa: E402
from actors.runtime.remote_ref import RemoteRef  # noqa: E402
from mesh.identity import NodeKey  # noqa: E402
from mesh.node import MeshNode  # noqa: E402
from mesh.wire import Contact  # noqa: E402

PAYLOAD = b"x" * 200


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def _spawn(cmd: list[str]) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    assert p.stdout is not None
    r, _, _ = select.select([p.stdout], [], [], 60)
    line = p.stdout.readline() if r else b""
    if not line:
        _kill(p)
        raise SystemExit(f"{cmd} did not start")
    return p, json.loads(line)


def _kill(p: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    p.wait(10)


# ------------------------------------------------------------------- the raw peer's server
async def _echo_node() -> None:
    node = MeshNode(NodeKey.generate())
    addr = await node.start()
    await node.register("echo", lambda caller, args: args)
    print(json.dumps({"listen": addr, "node_id": node.node_id.hex()}), flush=True)
    await asyncio.Event().wait()


async def _mesh_rpc(address: str, node_id: str, n: int) -> list[float]:
    node = MeshNode(NodeKey.generate())
    await node.start(bootstrap=[address])
    await node.wait_joined()
    provider = Contact(bytes.fromhex(node_id), address)
    out = []
    for _ in range(20):
        await node.call("echo", b"w", provider=provider)
    for _ in range(n):
        t = time.perf_counter()
        await node.call("echo", PAYLOAD, provider=provider)
        out.append(time.perf_counter() - t)
    await node.close()
    return out


def _thespian_rtt(rt: RuntimeSystem, n: int) -> list[float]:
    from benchmarks.runtime_messaging import RawPinger, RawPonger

    ping, pong, sink = (rt.asys.createActor(c) for c in (RawPinger, RawPonger, RawPonger))
    for raw in (ping, pong):
        rt.tell(raw, ("poke", sink))
    rt.asys.ask(ping, ("rtt", pong, 20), 60)
    return list(rt.asys.ask(ping, ("rtt", pong, n), 600))


def _wait_member(rt: RuntimeSystem, node: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            rt.request(RemoteRef(node, name="nobody"), "?", 5)
        except RemoteError as exc:
            if exc.code == "noproc":
                return
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _stats(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": round(pct(xs, 0.5) * 1e3, 3), "p99_ms": round(pct(xs, 0.99) * 1e3, 3),
            "n": len(xs)}  # fmt: skip


def measure(mode: str, n_rtt: int, n_burst: int, tmp: Path) -> dict[str, Any]:
    worker, winfo = _spawn([sys.executable, "-m", "actors", "worker", "--mode", mode,
                            "--key", str(tmp / f"w-{mode}.key")])  # fmt: skip
    echo_node, einfo = _spawn([sys.executable, str(Path(__file__).resolve()), "--echo-node"])
    try:
        raw = asyncio.run(_mesh_rpc(einfo["listen"], einfo["node_id"], n_rtt))
        cfg = GatewayConfig(key_file=str(tmp / f"c-{mode}.key"), bootstrap=(winfo["listen"],))
        with RuntimeSystem(mode=mode) as rt:
            rt.start_root(remote_node_spec(cfg), timeout=60)
            driver = rt.start_root(ChildSpec("driver", "actors.remote.demo_actors.Driver"))
            local = rt.start_root(ChildSpec("echo", "actors.remote.demo_actors.Echo"))
            _wait_member(rt, winfo["node_id"])
            echo = rt.spawn(winfo["node_id"], "echo")
            rec = rt.spawn(winfo["node_id"], "recorder", 0)
            rt.request(driver, ("rtt", echo, 20, PAYLOAD), 60)  # warm up
            rt.request(driver, ("rtt", local, 20, PAYLOAD), 60)
            remote = rt.request(driver, ("rtt", echo, n_rtt, PAYLOAD), 600)
            loc = rt.request(driver, ("rtt", local, n_rtt, PAYLOAD), 600)
            thes = _thespian_rtt(rt, n_rtt) if mode == "local" else []
            took = rt.request(driver, ("burst", rec, n_burst, 190), 900)
    finally:
        _kill(worker)
        _kill(echo_node)
    out = {
        "mode": mode,
        "remote_request": _stats(remote),
        "mesh_rpc": _stats(raw),
        "local_request": _stats(loc),
        "one_way_msgs_per_s": round(n_burst / took, 1),
        "one_way_n": n_burst,
    }
    if thes:
        out["thespian_rtt"] = _stats(thes)
    out["remote_vs_mesh_p50"] = round(statistics.median(remote) / statistics.median(raw), 2)
    return out


def _dpnv_tasks(run_seed: int, generations: int) -> list[tuple[int, Any]]:
    """The tasks a DPNV run's population monitor sends in its first ``generations``
    generations (the run driven here, in one process, as ``simple`` mode would): (generation,
    EvaluateAgent)."""
    from actors.evolution.config import EvolutionConfig
    from actors.evolution.exoself import EvaluateAgent, run_exoself
    from actors.evolution.monitor_core import EvalOutcome, EvolutionCore
    from actors.evolution.setup import morphology_spec
    from actors.genotype import decode_agent, encode_agent
    from morphologies import get_morphology

    cfg = EvolutionConfig()
    core = EvolutionCore.new(morphology_spec(get_morphology("dpnv")), cfg, "dpnv", run_seed)
    out: list[tuple[int, Any]] = []
    gen = 0
    while gen < generations and not core.finished:
        task = core.take_task()
        if task is None:
            break
        msg = EvaluateAgent(encode_agent(core.agents[task.agent_id]), "dpnv", task.seed,
                            tune=task.tune, fitness_goal=cfg.stopping.fitness_goal,
                            min_improvement=cfg.tuning.min_improvement)  # fmt: skip
        res = run_exoself(msg)
        out.append((gen, msg))
        outcome = EvalOutcome(decode_agent(res.agent), res.fitness, res.evaluations,
                              res.goal_reached, res.solved, res.behaviour)  # fmt: skip
        if core.complete(task, outcome) is not None:
            gen += 1
    return out


def _cpu(procs: list[Any]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(Exception):  # a process that ended: its time is gone
            t = p.cpu_times()
            total += t.user + t.system
    return total


def measure_dpnv(mode: str, sets: dict[str, list[Any]], tmp: Path) -> list[dict[str, Any]]:
    import psutil

    from actors.evolution.exoself import run_exoself

    worker, winfo = _spawn([sys.executable, "-m", "actors", "worker", "--mode", mode,
                            "--key", str(tmp / f"w-dpnv-{mode}.key")])  # fmt: skip
    rows = []
    try:
        cfg = GatewayConfig(key_file=str(tmp / f"c-dpnv-{mode}.key"),
                            bootstrap=(winfo["listen"],))  # fmt: skip
        with RuntimeSystem(mode=mode) as rt:
            rt.start_root(remote_node_spec(cfg), timeout=60)
            _wait_member(rt, winfo["node_id"])
            exo = rt.spawn(winfo["node_id"], "exoself")
            me, wp = psutil.Process(), psutil.Process(worker.pid)
            # this process's children include the worker and its actors: each process once
            found = [me, *me.children(recursive=True), wp, *wp.children(recursive=True)]
            procs = list({p.pid: p for p in found}.values())
            for label, tasks in sets.items():
                for t in tasks[:5]:  # warm up both paths
                    run_exoself(t)
                    rt.request(exo, t, 600)
                t0 = time.process_time()
                own_results = [run_exoself(t) for t in tasks]
                own = time.process_time() - t0
                before = rt.request("megabrain.gateway", "stats", 10)
                c0 = _cpu(procs)
                remote_results = [rt.request(exo, t, 600) for t in tasks]
                remote = _cpu(procs) - c0
                after = rt.request("megabrain.gateway", "stats", 10)
                assert [r.agent for r in remote_results] == [r.agent for r in own_results]
                evals = sum(r.evaluations for r in own_results)
                nbytes = sum(after.get(k, 0) - before.get(k, 0)
                             for k in ("bytes_sent", "bytes_received"))  # fmt: skip
                over = remote - own
                rows.append({
                    "mode": mode, "tasks": label, "n": len(tasks), "evaluations": evals,
                    "own_cpu_us_per_task": round(own / len(tasks) * 1e6, 1),
                    "remote_cpu_us_per_task": round(remote / len(tasks) * 1e6, 1),
                    "overhead_cpu_us_per_task": round(over / len(tasks) * 1e6, 1),
                    "overhead_cpu_us_per_evaluation": round(over / evals * 1e6, 2),
                    "overhead_share": round(over / own, 4),
                    "bytes_per_task": round(nbytes / len(tasks), 1),
                    "bytes_per_evaluation": round(nbytes / evals, 1),
                })  # fmt: skip
    finally:
        _kill(worker)
    return rows


def dpnv_task_sets(quick: bool) -> dict[str, list[Any]]:
    """Two sets: the tuned tasks of a DPNV run's first generations, and the same agents
    untuned (``tune=False``: one evaluation each, plus the success test when it reaches the
    goal; the cheaper tasks, so the larger share of overhead)."""
    import dataclasses

    run = [t for _, t in _dpnv_tasks(1, 2 if quick else 12)]
    step = max(1, len(run) // (40 if quick else 200))
    tuned = run[::step]
    single = [dataclasses.replace(t, tune=False) for t in tuned]
    return {"tuned": tuned, "untuned": single}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--modes", default="local,simple")
    ap.add_argument("--parts", default="rpc,dpnv", help="rpc, dpnv or both (default)")
    ap.add_argument("--echo-node", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.echo_node:
        asyncio.run(_echo_node())
        return 0
    n_rtt = 100 if args.quick else 1000
    parts = set(args.parts.split(","))
    results: list[dict[str, Any]] = []
    dpnv: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        for mode in args.modes.split(",") if "rpc" in parts else ():
            burst = (2000 if args.quick else 20000) if mode == "local" else (
                5000 if args.quick else 40000)  # fmt: skip
            results.append(measure(mode, n_rtt, burst, Path(d)))
        if "dpnv" in parts:
            sets = dpnv_task_sets(args.quick)
            for mode in args.modes.split(","):
                dpnv.extend(measure_dpnv(mode, sets, Path(d)))
    goals = {"remote_vs_mesh_p50": 1.3, "one_way_msgs_per_s": 20000, "overhead_share": 0.05}
    print(json.dumps({"results": results, "dpnv_remote_evaluation": dpnv, "goals": goals},
                     indent=1))  # fmt: skip
    if dpnv:
        print("\n| mode | DPNV tasks | tasks | evaluations | own CPU µs/task | remote CPU "
              "µs/task | overhead µs/task | overhead µs/evaluation | overhead ÷ own "
              "(goal ≤ 5%) | bytes/task |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in dpnv:
            print(f"| {r['mode']} | {r['tasks']} | {r['n']} | {r['evaluations']} | "
                  f"{r['own_cpu_us_per_task']:,} | "
                  f"{r['remote_cpu_us_per_task']:,} | {r['overhead_cpu_us_per_task']:,} | "
                  f"{r['overhead_cpu_us_per_evaluation']:,} | {r['overhead_share']:.1%} | "
                  f"{r['bytes_per_task']:,} |")  # fmt: skip
    if not results:
        return 0
    print("\n| mode | remote request p50 / p99 ms | raw mesh RPC p50 / p99 ms | remote ÷ mesh "
          "(goal ≤ 1.3) | local request p50 ms | Thespian rtt p50 ms | one-way msgs/s "
          "(goal ≥ 20,000) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        th = r.get("thespian_rtt", {}).get("p50_ms", "—")
        print(f"| {r['mode']} | {r['remote_request']['p50_ms']} / {r['remote_request']['p99_ms']} "
              f"| {r['mesh_rpc']['p50_ms']} / {r['mesh_rpc']['p99_ms']} | "
              f"{r['remote_vs_mesh_p50']}x | {r['local_request']['p50_ms']} | {th} | "
              f"{r['one_way_msgs_per_s']:,} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
