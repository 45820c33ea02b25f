"""Helpers that run ``megabrain node`` processes on 127.0.0.1 and talk to their control files."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mesh.control import ControlClient

ROOT = Path(__file__).resolve().parents[2]


class NodeProc:
    """One node process; ``kill()``/``stop()`` by PID; the control client in ``ctl``."""

    def __init__(self, tmp: Path, name: str, bootstrap: list[str], extra: list[str]) -> None:
        self.key = tmp / f"{name}.key"
        self.name = name
        cmd = [sys.executable, "-m", "actors", "node", "--key", str(self.key), *extra]
        for b in bootstrap:
            cmd += ["--bootstrap", b]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # stderr to a file, not a pipe: a pipe nobody reads fills (64 KiB of log) and then
        # blocks the node's event loop at its next log line
        self.stderr_path = tmp / f"{name}.stderr"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err
            )
        self.info = self._ready(20.0)
        self.listen: str = self.info["listen"]
        self.node_id: str = self.info["node_id"]
        self.ctl = ControlClient(self.info["control_file"])

    def _ready(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                if line:
                    return json.loads(line)
            if self.proc.poll() is not None:
                break
        err = self.stderr() if self.proc.poll() is not None else ""
        self.kill()
        raise RuntimeError(f"node {self.name} did not start: {err[-2000:]}")

    def stderr(self) -> str:
        """What the node wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def request(self, op: str, **fields: Any) -> Any:
        return self.ctl.request(op, **fields)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self.kill()


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``pred`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def status_of(node: NodeProc, other_id: str) -> str | None:
    for p in node.request("peers"):
        if p["node_id"] == other_id:
            return str(p["status"])
    return None
