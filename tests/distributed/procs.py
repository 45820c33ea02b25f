"""Island processes (``megabrain evolve --mesh``) on 127.0.0.1 for the multi-process tests.

Every process is started with OS-assigned ports and killed by PID (``kill()``); tests read
the island's status file (JSON) and event log (JSONL).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from actors.distributed.island import read_events
from tests.mesh_quic.procs import wait_for

ROOT = Path(__file__).resolve().parents[2]

#: Short DPNV steps for the tests (a few tuning attempts per agent), and a fitness goal out
#: of reach, so that no island solves (solving ends its run): the islands keep evolving,
#: step after step, whatever the machine's load and however lucky a seed is.
FAST = """
[tuning]
duration = "const"
duration_parameter = 2.0

[stopping]
fitness_goal = 100.0
"""


class IslandProc:
    """``megabrain evolve MORPH --mesh`` as a child process."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        *,
        morphology: str = "dpnv",
        bootstrap: tuple[str, ...] = (),
        realm: str = "test",
        seed: int = 1,
        population: int = 4,
        mesh: str = "",
        extra: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.key = tmp / f"{name}.key"
        self.status_path = tmp / f"{name}.status.json"
        self.events_path = tmp / f"{name}.events.jsonl"
        self.control_file = tmp / f"{name}.control.json"
        self.status_path.unlink(missing_ok=True)
        cmd = [
            sys.executable, "-m", "actors", "evolve", morphology, "--mesh", "--quiet",
            "--seed", str(seed), "--population", str(population), "--realm", realm,
            "--max-evaluations", "none", "--max-generations", "100000",
            "--key", str(self.key), "--label", name, "--mesh-status", str(self.status_path),
            "--mesh-events", str(self.events_path), "--control-file", str(self.control_file),
            "--linger", "0", *extra,
        ]  # fmt: skip
        config = tmp / f"{name}.toml"
        config.write_text(FAST + mesh)
        cmd += ["--config", str(config)]
        for b in bootstrap:
            cmd += ["--bootstrap", b]
        self.log = open(tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed in kill()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        first = wait_for(self._started, 60.0, f"island {name} to start")
        self.address: str = first["address"]
        self.node_id: str = first["node_id"]

    def _started(self) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"island {self.name} exited with {self.proc.returncode}")
        st = self.status()
        return st if st and st.get("address") else None

    def status(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.status_path.read_text()))
        except (OSError, ValueError):
            return {}

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        return read_events(self.events_path, kind)

    def alive_peers(self) -> set[str]:
        return {p["node_id"] for p in self.status().get("peers", []) if p["status"] == "alive"}

    def kill(self) -> None:
        """SIGKILL by PID (idempotent)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.log.close()
