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

Goals (issue 15): remote request p50 <= 1.3x the raw mesh RPC p50; >= 20,000 one-way messages/s
per node pair. Prints JSON, then a markdown table.
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--modes", default="local,simple")
    ap.add_argument("--echo-node", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.echo_node:
        asyncio.run(_echo_node())
        return 0
    n_rtt = 100 if args.quick else 1000
    results = []
    with tempfile.TemporaryDirectory() as d:
        for mode in args.modes.split(","):
            burst = (2000 if args.quick else 20000) if mode == "local" else (
                5000 if args.quick else 40000)  # fmt: skip
            results.append(measure(mode, n_rtt, burst, Path(d)))
    goals = {"remote_vs_mesh_p50": 1.3, "one_way_msgs_per_s": 20000}
    print(json.dumps({"results": results, "goals": goals}, indent=1))
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
