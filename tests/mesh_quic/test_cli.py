"""``megabrain node`` and ``megabrain mesh peers|find|call|stats`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mesh_quic.procs import ROOT, NodeProc, status_of, wait_for

pytestmark = pytest.mark.multiproc


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "actors", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProc, NodeProc]]:
    tmp: Path = tmp_path_factory.mktemp("cli")
    nodes: list[NodeProc] = []
    try:
        nodes.append(NodeProc(tmp, "a", [], ["--realm", "lab"]))
        nodes.append(NodeProc(tmp, "b", [nodes[0].listen], ["--realm", "lab"]))
        wait_for(lambda: status_of(nodes[0], nodes[1].node_id) == "alive", 15, "b alive at a")
        yield nodes[0], nodes[1]
    finally:
        for n in nodes:
            n.kill()


def test_peers_call_find_stats(two: tuple[NodeProc, NodeProc]) -> None:
    a, b = two
    cf = ["mesh", "--control-file", a.info["control_file"]]
    out = cli(*cf, "peers")
    assert out.returncode == 0, out.stderr
    assert b.node_id[:16] in out.stdout and "alive" in out.stdout and "lab" in out.stdout
    b.request("register", procedure="echo", kind="echo")
    out = cli(*cf, "call", "echo", "hello mesh")
    assert (out.returncode, out.stdout.strip()) == (0, "hello mesh"), out.stderr
    out = cli(*cf, "call", "echo", "00ff", "--hex")
    assert out.stdout.strip() == "00ff"
    out = cli(*cf, "call", "nobody-offers-this", "x", "--timeout", "3")
    assert out.returncode == 1 and "no provider" in out.stderr
    b.request("advertise", problem="xor", payload=b"g".hex(), meta={"fitness": 1.5})
    found = json.loads(cli(*cf, "find", "xor").stdout)
    assert [bytes.fromhex(r["value"]) for r in found] == [b"g"]
    stats = json.loads(cli(*cf, "stats").stdout)
    assert stats["transport.authenticated"] >= 1 and stats["core.received"] > 0


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    out = cli("mesh", "--control-file", str(tmp_path / "missing.json"), "peers")
    assert out.returncode == 2 and "cannot read control file" in out.stderr
    out = cli("node", "--key", str(tmp_path / "k"), "--listen", "no-port-here")
    assert out.returncode == 2 and "HOST:PORT" in out.stderr
    key = tmp_path / "open.key"
    key.write_text("not a key")
    key.chmod(0o644)
    out = cli("node", "--key", str(key))
    assert out.returncode == 2 and "group/others" in out.stderr
