"""Sybil attacks on three mesh node processes: honest RPC during and after, with ablations.

    python benchmarks/mesh_sybils.py [--quick] [--only NAME]

Three honest node processes on 127.0.0.1 -- the seed V, and A, B bootstrapped through it; B
offers ``echo``, A ``echo_a`` -- and one attacker process
(``python -m tests.mesh_quic.sybil_attackers``) whose sybils target all three. Attacks:

* ``logins``: 200 fresh identities authenticate to each node and answer nothing; after
  ``hold`` seconds the attacker process is SIGKILLed (every sybil vanishes at once, no
  CONNECTION_CLOSE).
* ``providers``: 5 full nodes with fresh keys join, offer ``echo`` and ``echo_a`` (their
  SERVICE records outlive them), call ``echo``, then are SIGKILLed.

Measured per attack and node configuration, A->B and B->A calls (10 s deadline, one pair at a
time, back to back):

* ``during``: calls made while the sybils are in: succeeded / made, worst duration;
* ``after``: calls made in the 30 s after the kill: succeeded / made, worst duration, and
  ``recovered``: seconds from the kill until the first pair after which every pair took less
  than 1 s (None: not within the 30 s);
* ``admitted``: new identities the busiest node admitted (its per-address budget's spent
  tokens), ``rss_mb``: the busiest node's resident memory growth over the attack.

Configurations: ``defaults``; ``no_caps`` (per-address caps off: new_ids_per_address and
max_connections_per_address 100,000); ``no_stall`` (lookup_stall 0: every silent contact costs
request_timeout). Prints JSON, then a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from mesh.control import ControlClient, ControlError, ControlServer  # noqa: E402
from mesh.identity import NodeKey  # noqa: E402
from mesh.node import MeshNode, NodeConfig  # noqa: E402

CONFIGS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no_caps": {"caps": False},
    "no_stall": {"stall": 0.0},
}


def node_config(spec: dict[str, Any]) -> NodeConfig:
    cfg = NodeConfig()
    if not spec.get("caps", True):
        cfg = replace(cfg, transport=replace(
            cfg.transport, new_ids_per_address=100_000, max_connections_per_address=100_000
        ))  # fmt: skip
    if "stall" in spec:
        cfg = replace(cfg, mesh=replace(cfg.mesh, lookup_stall=spec["stall"]))
    return cfg


async def serve_node(spec: dict[str, Any]) -> None:
    """``--serve-node SPEC``: one honest node with its control endpoint, until SIGTERM."""
    node = MeshNode(NodeKey.generate(), ["default"], config=node_config(spec))
    await node.start("127.0.0.1", 0, bootstrap=spec.get("bootstrap", []))
    control = ControlServer(node)
    await control.start("127.0.0.1", 0)
    control.write_file(spec["control_file"])
    print(json.dumps(control.info()), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await node.close()


class Proc:
    """A child process of this script, killed by PID."""

    def __init__(self, cmd: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE)

    def line(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        text = self.proc.stdout.readline() if r else b""
        if not text:
            raise RuntimeError(f"no output from {self.proc.args}")
        return dict(json.loads(text))

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


class Honest:
    def __init__(self, tmp: Path, name: str, spec: dict[str, Any], bootstrap: list[str]) -> None:
        control_file = str(tmp / f"{name}.control.json")
        doc = {**spec, "bootstrap": bootstrap, "control_file": control_file}
        self.proc = Proc([sys.executable, __file__, "--serve-node", json.dumps(doc)])
        self.info = self.proc.line(20.0)
        self.listen: str = self.info["listen"]
        self.ctl = ControlClient(control_file)

    def rss(self) -> int:
        return int(psutil.Process(self.proc.proc.pid).memory_info().rss)

    def admitted(self) -> int:
        return int(self.ctl.request("stats").get("transport.new_identities", 0))


def call(src: Honest, procedure: str) -> tuple[bool, float]:
    t0 = time.monotonic()
    try:
        src.ctl.request("call", procedure=procedure, args="00", timeout=10.0)
        return True, time.monotonic() - t0
    except ControlError:
        return False, time.monotonic() - t0


def pair(a: Honest, b: Honest) -> list[tuple[bool, float]]:
    return [call(a, "echo"), call(b, "echo_a")]


def attack_args(name: str, quick: bool) -> list[str]:
    if name == "logins":
        return ["--count", "100" if quick else "200", "--hold", "3600"]
    return ["--nodes", "--count", "5", "--register", "echo", "--register", "echo_a",
            "--call", "echo", "--hold", "3600"]  # fmt: skip


def run_one(attack: str, config: str, quick: bool, hold: float) -> dict[str, Any]:
    spec = CONFIGS[config]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nodes: list[Honest] = []
        attacker: Proc | None = None
        try:
            nodes.append(Honest(tmp, "v", spec, []))
            nodes.append(Honest(tmp, "a", spec, [nodes[0].listen]))
            nodes.append(Honest(tmp, "b", spec, [nodes[0].listen]))
            _, a, b = nodes
            b.ctl.request("register", procedure="echo", kind="echo")
            a.ctl.request("register", procedure="echo_a", kind="echo")
            deadline = time.monotonic() + 30
            while not all(ok for ok, _ in pair(a, b)):
                if time.monotonic() > deadline:
                    raise RuntimeError("honest RPC never worked")
            rss0 = [n.rss() for n in nodes]
            cmd = [sys.executable, "-m", "tests.mesh_quic.sybil_attackers"]
            for n in nodes:
                cmd += ["--target", n.listen]
            attacker = Proc(cmd + attack_args(attack, quick))
            attacker.line(120.0)
            during: list[tuple[bool, float]] = []
            end = time.monotonic() + hold
            while time.monotonic() < end:
                during += pair(a, b)
            rss = max(n.rss() - r for n, r in zip(nodes, rss0, strict=True))
            admitted = max(n.admitted() for n in nodes)
            attacker.kill()
            gone = time.monotonic()
            after: list[tuple[bool, float]] = []
            recovered: float | None = None
            while time.monotonic() - gone < (15.0 if quick else 30.0):
                t = time.monotonic() - gone
                got = pair(a, b)
                after += got
                if all(ok and took < 1.0 for ok, took in got):
                    if recovered is None:
                        recovered = t
                else:
                    recovered = None
            return {
                "attack": attack, "config": config,
                "during_ok": sum(ok for ok, _ in during), "during_calls": len(during),
                "during_worst_s": round(max(t for _, t in during), 3),
                "after_ok": sum(ok for ok, _ in after), "after_calls": len(after),
                "after_worst_s": round(max(t for _, t in after), 3),
                "recovered_s": None if recovered is None else round(recovered, 2),
                "admitted": admitted, "rss_mb": round(rss / 1e6, 1),
            }  # fmt: skip
        finally:
            if attacker is not None:
                attacker.kill()
            for n in nodes:
                n.proc.kill()


def markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "| attack | config | during: ok / calls, worst | after: ok / calls, worst | "
        "recovered after | new ids admitted (max node) | RSS growth (max node) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rec = "not within the window" if r["recovered_s"] is None else f"{r['recovered_s']} s"
        out.append(
            f"| {r['attack']} | {r['config']} | {r['during_ok']} / {r['during_calls']}, "
            f"{r['during_worst_s']} s | {r['after_ok']} / {r['after_calls']}, "
            f"{r['after_worst_s']} s | {rec} | {r['admitted']} | {r['rss_mb']} MB |"
        )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 logins, shorter windows")
    ap.add_argument("--only", choices=["logins", "providers"], help="one attack")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated")
    ap.add_argument("--serve-node", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_node:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_node(json.loads(args.serve_node)))
        return 0
    hold = 10.0 if args.quick else 20.0
    rows = []
    for attack in [args.only] if args.only else ["logins", "providers"]:
        for config in args.configs.split(","):
            rows.append(run_one(attack, config, args.quick, hold))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"hold_s": hold, "rows": rows}, indent=1))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
