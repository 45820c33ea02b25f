"""Every script in ``examples/`` runs, with a small budget, and prints what it promises."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(*argv: str, timeout: float = 100.0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=timeout,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_every_example_has_a_test() -> None:
    tested = {"xor.py", "parity.py", "cartpole_gym.py", "supervised_actors.py", "islands.py"}
    helpers = {"counters.py"}  # imported by supervised_actors.py
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested | helpers


def test_xor() -> None:
    proc = run(str(EXAMPLES / "xor.py"), "20000")
    assert proc.stdout.startswith("solved: ")
    table = re.findall(r"([+-]1) xor ([+-]1) -> ([+-][0-9.]+)", proc.stdout)
    assert len(table) == 4
    for a, b, out in table:
        assert (float(out) > 0) == (a != b), (a, b, out)  # the champion computes XOR
    assert "evolving xor" in proc.stderr  # progress on stderr


def test_parity_as_a_script_and_through_the_cli(tmp_path: Path) -> None:
    proc = run(str(EXAMPLES / "parity.py"), "50000")
    assert re.search(r"champion: fitness [0-9.]+, solved True", proc.stdout)
    out = tmp_path / "p.json"
    cli = run("-m", "actors", "evolve", "parity3", "--module", "examples/parity.py", "--quiet",
              "--json", str(out))  # fmt: skip
    assert cli.stdout == "" and json.loads(out.read_text())["solved"] is True


def test_cartpole_gym() -> None:
    pytest.importorskip("gymnasium")
    proc = run(str(EXAMPLES / "cartpole_gym.py"), "100")
    m = re.search(r"champion: mean return ([0-9.]+) over 100 unseen episodes", proc.stdout)
    # returns are 8..500; random networks average about 20, this seed's champion far more
    assert m is not None and 50.0 < float(m.group(1)) <= 500.0


def test_supervised_actors_simple() -> None:
    out = run(str(EXAMPLES / "supervised_actors.py"), "simple").stdout
    assert "1. counters: [1, 101, 201]" in out
    assert "2. caller: RuntimeError: asked to crash" in out
    assert "monitor: abnormal - RuntimeError: asked to crash" in out
    assert "restarted, fresh state: 5" in out
    assert "4. supervisor: reached_max_restart_intensity" in out


@pytest.mark.multiproc
def test_supervised_actors_local() -> None:
    out = run(str(EXAMPLES / "supervised_actors.py"), "local").stdout
    assert "restarted, fresh state: 5" in out
    assert "3. SIGKILL: killed" in out
    assert "4. supervisor: reached_max_restart_intensity" in out


def test_islands() -> None:
    out = run(str(EXAMPLES / "islands.py"), "5000").stdout
    rows = re.findall(r"(isolated|sharing) +seed (\d): solved (True|False), (\d+) evaluations "
                      r"per node, adopted (\d+)", out)  # fmt: skip
    assert len(rows) == 6
    assert all(int(adopted) == 0 for mode, _, _, _, adopted in rows if mode == "isolated")
    assert any(int(adopted) > 0 for mode, _, _, _, adopted in rows if mode == "sharing")
