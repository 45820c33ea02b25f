"""``megabrain evolve`` ended by a signal, checked by PID: SIGTERM ends a run as Ctrl-C does
(exit 130, reporters finished, the store resumable), and no process of its actor system
outlives a SIGKILL of the run or of its Admin -- with and without ``--mesh``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.runtime.conftest import eventually
from tests.runtime.lifeline_procs import ROOT, cli, descendants, env, stop, survivors

pytestmark = pytest.mark.multiproc

EVOLVE = ["evolve", "dpnv", "--population", "6", "--max-evaluations", "none",
          "--max-generations", "100000", "--quiet"]  # fmt: skip


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


class Run:
    """``megabrain evolve dpnv --runtime local --workers 2`` running, two generations in."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.tmp = tmp
        self.stats = tmp / "stats.jsonl"
        self.proc = cli([*EVOLVE, "--runtime", "local", "--workers", "2",
                         "--stats", str(self.stats), *extra], tmp / "run")  # fmt: skip
        self.pids: list[int] = []
        eventually(self._going, 90.0)  # two generations
        self.pids = descendants(self.proc.pid)  # the Admin and every actor process
        assert len(self.pids) >= 8  # Admin, logger, registry, 2 supervisors, monitor, 2 exoselves

    def _going(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the run exited with {self.proc.returncode}: {self.stderr()}")
        return _lines(self.stats) >= 2

    @property
    def admin(self) -> int:
        return next(p for p in self.pids if psutil.Process(p).ppid() == self.proc.pid)

    def stderr(self) -> str:
        return (self.tmp / "run.stderr").read_text()

    def close(self) -> None:
        stop(self.proc, self.pids)


def test_sigterm_ends_a_local_run_as_ctrl_c_does_and_the_store_resumes(tmp_path: Path) -> None:
    store, plot = tmp_path / "run.db", tmp_path / "run.png"
    run = Run(tmp_path, "--store", str(store), "--plot", str(plot))
    try:
        os.kill(run.proc.pid, signal.SIGTERM)
        assert run.proc.wait(timeout=60) == 130
        assert survivors(run.pids, 10.0) == []
        assert "Traceback" not in run.stderr()
        assert plot.stat().st_size > 0  # the reporters finished the run
        done = _lines(run.stats)
    finally:
        run.close()
    resumed = subprocess.run(
        [sys.executable, "-m", "actors", "evolve", "dpnv", "--population", "6",
         "--max-evaluations", "none", "--max-generations", str(done + 1),
         "--store", str(store), "--resume", "--json", "-", "--quiet"],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed_from_generation"] >= done >= 2


def test_sigkill_of_a_local_run_takes_its_actor_system(tmp_path: Path) -> None:
    run = Run(tmp_path)
    try:
        os.kill(run.proc.pid, signal.SIGKILL)
        assert run.proc.wait(timeout=10) == -signal.SIGKILL
        assert survivors(run.pids, 10.0) == []
    finally:
        run.close()


def test_sigkill_of_the_admin_takes_the_actors_and_ends_the_run_in_one_line(
    tmp_path: Path,
) -> None:
    run = Run(tmp_path)
    try:
        admin = run.admin
        os.kill(admin, signal.SIGKILL)
        assert survivors(run.pids, 10.0) == []
        assert run.proc.wait(timeout=30) == 1
        assert run.stderr().splitlines() == [
            f"megabrain evolve: error: the actor system's Admin process (pid {admin}) is gone"
        ]
    finally:
        run.close()


def _island(tmp: Path) -> tuple[Run, Path, dict[str, Any]]:
    status, control = tmp / "status.json", tmp / "control.json"
    run = Run(tmp, "--mesh", "--realm", "lifecycle", "--linger", "0",
              "--mesh-status", str(status), "--control-file", str(control))  # fmt: skip
    info = eventually(lambda: control.exists() and json.loads(control.read_text()), 30.0)
    return run, control, info


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_an_island_run_ended_by_a_signal_leaves_no_process(tmp_path: Path, sig: int) -> None:
    run, control, info = _island(tmp_path)
    try:
        assert info["pid"] == run.proc.pid
        os.kill(run.proc.pid, sig)
        assert run.proc.wait(timeout=60) == (130 if sig == signal.SIGTERM else -signal.SIGKILL)
        assert survivors(run.pids, 10.0) == []
        if sig == signal.SIGTERM:
            assert not control.exists()  # closed cleanly: its control file removed
            assert "Traceback" not in run.stderr()
    finally:
        run.close()


def test_sigkill_of_a_demo_takes_its_nodes(tmp_path: Path) -> None:
    config = tmp_path / "slow.toml"
    config.write_text("[stopping]\nfitness_goal = 100.0\n")  # out of reach: the nodes go on
    out = tmp_path / "demo"
    args = ["demo", "--morphology", "dpnv", "--nodes", "2", "--population", "4", "--no-live",
            "--out", str(out), "--config", str(config)]  # fmt: skip
    demo = cli(args, tmp_path / "demo")
    pids: list[int] = []
    try:
        eventually(lambda: (out / "go").exists() or demo.poll() is not None, 90.0)  # both up
        assert demo.poll() is None, (tmp_path / "demo.stderr").read_text()
        pids = descendants(demo.pid)
        assert len(pids) >= 2
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait(timeout=10)
        assert survivors(pids, 10.0) == []
    finally:
        stop(demo, pids)
