"""One running node per key (:mod:`actors.cli.keyfile`): a second ``megabrain node`` (or
``evolve --mesh``) with a key that a running node holds is refused in one line, exit 2, and
leaves the first node's control file alone; once the holder is gone (even by SIGKILL) the
key can be used again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.control import ControlClient
from tests.runtime.lifeline_procs import ROOT, env, stop

pytestmark = pytest.mark.multiproc


def _node(key: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``megabrain node --key KEY`` and its ready line."""
    proc = subprocess.Popen([sys.executable, "-m", "actors", "node", "--key", str(key)],
                            cwd=ROOT, env=env(), stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the node exited before it was ready"
    return proc, json.loads(line)


def _refused(*args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "actors", *args], cwd=ROOT, env=env(),
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.returncode == 2 and res.stdout == "", res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_a_second_node_with_a_held_key_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "node.key"
    first, ready = _node(key)
    try:
        control = Path(ready["control_file"])
        before = control.read_bytes()
        line = _refused("node", "--key", str(key))
        assert line == (
            f"megabrain node: error: key {key} is in use by a running node "
            f"(pid {first.pid}): give this node its own --key"
        )
        line = _refused("evolve", "xor", "--quiet", "--mesh", "--key", str(key))
        assert line.startswith(f"megabrain evolve: error: key {key} is in use by a running node")
        assert control.read_bytes() == before  # intact, and the first node still answers
        assert ControlClient(control).request("status")["node_id"] == ready["node_id"]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    again, ready2 = _node(key)  # the kernel released the dead node's lock
    try:
        assert ready2["node_id"] == ready["node_id"]  # the same key, the same identity
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=30) == 0
        assert not Path(ready2["control_file"]).exists()
    finally:
        stop(again)
