"""``megabrain demo`` end to end (three island processes) and ``megabrain mesh best|nodes``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.distributed.procs import ROOT, IslandProc, wait_for

pytestmark = pytest.mark.multiproc


def _cli(*args: str, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "actors", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_demo_runs_three_islands_until_one_solves(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = _cli("demo", "--morphology", "xor", "--population", "6", "--timeout", "120",
               "--out", str(out), "--no-live")  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert " solved xor after " in res.stdout
    assert (out / "demo.png").stat().st_size > 10_000
    statuses = [json.loads((out / f"n{k}.status.json").read_text()) for k in range(3)]
    assert any(s["solved"] for s in statuses)
    assert all(s["address"] and s["realm"] == "demo" for s in statuses)
    assert all(f"n{k} " in res.stdout for k in range(3))  # the summary table
    assert not list(out.glob("*.control.json"))  # every node's control file is gone
    # every node process is gone (stopped by PID)
    for s in statuses:
        with pytest.raises(ProcessLookupError):
            os.kill(s["pid"], 0)


def test_mesh_best_and_nodes(tmp_path: Path) -> None:
    a = IslandProc(tmp_path, "a", seed=1)
    try:
        b = IslandProc(tmp_path, "b", seed=2, bootstrap=(a.address,))
        try:
            wait_for(lambda: b.status().get("accepted", 0) >= 1, 90.0, "b adopts from a")
            ctl = str(b.control_file)

            def best() -> dict | None:
                r = _cli("mesh", "--control-file", ctl, "best", "dpnv", "--realm", "test",
                         "--json", "-", timeout=60)  # fmt: skip
                return json.loads(r.stdout) if r.returncode == 0 else None

            top = wait_for(best, 60.0, "a champion advertised", interval=1.0)
            assert top["origin"] in (a.node_id, b.node_id) and top["unverified"] == 0
            assert top["fitness"][0] > 0 and "generation" in top and "lineage" in top

            def nodes() -> list | None:
                r = _cli("mesh", "--control-file", ctl, "nodes", "--realm", "test", "--json",
                         "-", timeout=60)  # fmt: skip
                rows = json.loads(r.stdout) if r.returncode == 0 else []
                return rows if {x["node_id"] for x in rows} >= {a.node_id, b.node_id} else None

            rows = wait_for(nodes, 60.0, "both islands listed", interval=1.0)
            by = {r["node_id"]: r for r in rows}
            assert by[b.node_id]["state"] == "self" and by[a.node_id]["state"] == "alive"
            assert by[a.node_id]["morphology"] == "dpnv" and by[a.node_id]["label"] == "a"
            text = _cli("mesh", "--control-file", ctl, "nodes", "--realm", "test", timeout=60)
            assert "label" in text.stdout and a.node_id[:16] in text.stdout
        finally:
            b.kill()
    finally:
        a.kill()


def test_demo_reports_a_node_killed_mid_run_and_removes_its_control_file(tmp_path: Path) -> None:
    """SIGKILL one island while the demo runs: the demo says so at once (progress line), shows
    its state in the summary table, keeps the other island running to the end, and removes the
    control file the killed node could not remove itself."""
    out = tmp_path / "demo"
    cfg = tmp_path / "hard.toml"
    cfg.write_text("[stopping]\nfitness_goal = 1e9\n", encoding="utf-8")  # nobody solves
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    demo = subprocess.Popen(
        [sys.executable, "-m", "actors", "demo", "--morphology", "dpnv", "--nodes", "2",
         "--population", "4", "--timeout", "20", "--no-live", "--out", str(out),
         "--config", str(cfg)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        status = out / "n1.status.json"

        def generation_of_n1() -> dict | None:
            try:
                st = json.loads(status.read_text())
            except (OSError, ValueError):
                return None
            return st if st.get("generation", 0) >= 1 else None

        victim = wait_for(generation_of_n1, 90.0, "n1 evolving")
        assert (out / "n1.control.json").exists()
        os.kill(victim["pid"], 9)
        stdout, stderr = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=10)
    assert demo.returncode == 1, stdout + stderr  # nobody solved
    assert "Traceback" not in stderr
    progress = [ln for ln in stdout.splitlines() if ln.startswith("[")]
    killed = [ln for ln in progress if "n1 killed (SIGKILL) at " in ln]
    assert len(killed) == 1, stdout  # reported once, when it happened
    later = progress[progress.index(killed[0]) + 1 :]
    assert later and all("n1 KILLED (SIGKILL)" in ln for ln in later if " gen " in ln), stdout
    rows = {ln.split()[0]: ln for ln in stdout.splitlines() if ln.startswith(("n0 ", "n1 "))}
    assert "killed (SIGKILL)" in rows["n1"] and "stopped" in rows["n0"], stdout
    assert not (out / "n1.control.json").exists()
    assert not list(out.glob("*.control.json"))
    with pytest.raises(ProcessLookupError):
        os.kill(victim["pid"], 0)
