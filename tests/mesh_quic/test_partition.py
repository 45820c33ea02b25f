"""A network partition between two namespaces: each side declares the other dead; healed, they
rejoin. Needs root and ``ip netns``; skipped with the reason otherwise."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mesh_quic.procs import ROOT, wait_for

pytestmark = pytest.mark.multiproc

_TAG = f"mbq{os.getpid() % 100_000}"
_NET = f"10.213.{os.getpid() % 250}"
NS_A, NS_B = f"{_TAG}a", f"{_TAG}b"
IP_A, IP_B = f"{_NET}.1", f"{_NET}.2"
# one long-lived helper per namespace relays control requests (JSON lines on stdin/stdout):
# starting a Python process per query would dominate the test's time on a busy machine
_AGENT = (
    "import json, sys\n"
    "from mesh.control import ControlClient, ControlError\n"
    "for line in sys.stdin:\n"
    "    f, op = json.loads(line)\n"
    "    try:\n"
    "        out = {'ok': ControlClient(f).request(op)}\n"
    "    except ControlError as exc:\n"
    "        out = {'error': str(exc)}\n"
    "    print(json.dumps(out), flush=True)\n"
)


class NsAgent:
    """A Python process inside a namespace that forwards control requests to its nodes."""

    def __init__(self, ns: str) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", _AGENT],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip

    def request(self, control_file: str, op: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([control_file, op]).encode() + b"\n")
        self.proc.stdin.flush()
        r, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if r else b""
        if not line:
            raise AssertionError(f"no answer from the namespace agent to {op}")
        out = json.loads(line)
        if "error" in out:
            raise AssertionError(out["error"])
        return out["ok"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


def _create_namespaces() -> str | None:
    """Create two namespaces joined by a veth pair; None, or why it is impossible here."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the `ip` tool (iproute2) is not installed"
    try:
        _sh("ip", "netns", "add", NS_A)
        _sh("ip", "netns", "add", NS_B)
        _sh("ip", "link", "add", f"{_TAG}x", "type", "veth", "peer", "name", f"{_TAG}y")
        _sh("ip", "link", "set", f"{_TAG}x", "netns", NS_A)
        _sh("ip", "link", "set", f"{_TAG}y", "netns", NS_B)
        for ns, dev, ip in ((NS_A, f"{_TAG}x", IP_A), (NS_B, f"{_TAG}y", IP_B)):
            _sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        _delete_namespaces()
        return f"cannot create network namespaces here: {exc} {err.decode(errors='replace')}"
    return None


def _delete_namespaces() -> None:
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


class NsNode:
    """A ``megabrain node`` process inside a namespace, queried through ``ip netns exec``."""

    def __init__(
        self, ns: str, ip: str, tmp: Path, name: str, seed: str | None, agent: NsAgent
    ) -> None:
        self.ns = ns
        self.agent = agent
        cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "actors", "node",
               "--key", str(tmp / f"{name}.key"), "--listen", f"{ip}:0",
               "--swim-period", "0.5", "--idle-timeout", "10"]  # fmt: skip
        if seed:
            cmd += ["--bootstrap", seed]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # `ip netns exec` execs the command: the PID is the node's
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        r, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if r else b""
        if not line:
            self.kill()
            raise RuntimeError(f"node {name} did not start in {ns}")
        self.info: dict[str, Any] = json.loads(line)
        self.node_id: str = self.info["node_id"]

    def request(self, op: str) -> Any:
        return self.agent.request(self.info["control_file"], op)

    def statuses(self) -> dict[str, str]:
        return {p["node_id"]: p["status"] for p in self.request("peers")}

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def two_sides(tmp_path: Path) -> Iterator[tuple[list[NsNode], list[NsNode]]]:
    why = _create_namespaces()
    if why is not None:
        pytest.skip(why)
    nodes: list[NsNode] = []
    agents: list[NsAgent] = []
    try:
        agents += [NsAgent(NS_A), NsAgent(NS_B)]
        a0 = NsNode(NS_A, IP_A, tmp_path, "a0", None, agents[0])
        nodes.append(a0)
        seed = a0.info["listen"]
        nodes.append(NsNode(NS_A, IP_A, tmp_path, "a1", seed, agents[0]))
        nodes.append(NsNode(NS_B, IP_B, tmp_path, "b0", seed, agents[1]))
        nodes.append(NsNode(NS_B, IP_B, tmp_path, "b1", seed, agents[1]))
        yield nodes[:2], nodes[2:]
    finally:
        for n in nodes:
            n.kill()
        for a in agents:
            a.kill()
        _delete_namespaces()


def _all(side: list[NsNode], others: list[NsNode], status: str) -> bool:
    for n in side:
        st = n.statuses()
        if any(st.get(o.node_id) != status for o in others):
            return False
    return True


def test_partition_is_detected_and_heals(two_sides: tuple[list[NsNode], list[NsNode]]) -> None:
    side_a, side_b = two_sides
    everyone = side_a + side_b
    for n in everyone:
        wait_for(lambda n=n: _all([n], [o for o in everyone if o is not n], "alive"), 30,
                 "the four nodes to see each other alive", interval=0.2)  # fmt: skip
    _sh("ip", "-n", NS_A, "link", "set", f"{_TAG}x", "down")  # cut the only link
    t0 = time.monotonic()
    wait_for(lambda: _all(side_a, side_b, "dead") and _all(side_b, side_a, "dead"), 20,
             "each side to declare the other dead", interval=0.2)  # fmt: skip
    assert time.monotonic() - t0 < 20
    # each side still works within itself
    assert side_a[0].statuses().get(side_a[1].node_id) == "alive"
    assert side_b[0].statuses().get(side_b[1].node_id) == "alive"
    _sh("ip", "-n", NS_A, "link", "set", f"{_TAG}x", "up")  # heal
    try:
        wait_for(lambda: _all(side_a, side_b, "alive") and _all(side_b, side_a, "alive"), 60,
                 "the partition to heal", interval=0.2)  # fmt: skip
    except AssertionError as exc:
        names = {n.node_id: f"n{i}" for i, n in enumerate(everyone)}
        views = {names[n.node_id]: {names.get(k, k[:6]): v for k, v in n.statuses().items()}
                 for n in everyone}  # fmt: skip
        stats = [{k: v for k, v in n.request("stats").items() if "node." in k or "dial" in k
                  or "auth" in k or "disconn" in k} for n in everyone]  # fmt: skip
        raise AssertionError(f"{exc}\nviews: {views}\nstats: {stats}") from None
