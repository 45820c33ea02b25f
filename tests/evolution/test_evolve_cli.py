"""``megabrain evolve / morphologies / show``: summaries, bad arguments (exit 2), and a run
SIGKILLed mid-way that resumes from its last committed generation and ends exactly as an
uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.cli import main

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[monitor]
population_size = 8

[stopping]
max_evaluations = 4000

[constraint]
connection_architecture = "feedforward"
neural_afs = ["tanh"]
"""


def write_config(tmp_path: Path, text: str = CONFIG) -> str:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_evolve_writes_a_summary_and_the_champion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sum.json"
    code = main(["evolve", "xor", "--seed", "2", "--config", write_config(tmp_path),
                 "--json", str(out), "--store", str(tmp_path / "s.db"), "--quiet"])  # fmt: skip
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["solved"] is True and summary["morphology"] == "xor"
    for key in ("evaluations", "generations", "best_fitness", "wall_seconds", "champion_id",
                "champion_neurons", "champion_json"):  # fmt: skip
        assert summary[key] is not None
    champion = Path(summary["champion_json"])
    assert champion.exists() and summary["champion_id"] in champion.read_text()
    assert capsys.readouterr().err == ""  # --quiet
    code = main(["show", str(champion), "--dot", str(tmp_path / "g.dot"),
                 "--png", str(tmp_path / "g.png")])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert summary["champion_id"] in text and "drawn with" in text
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["show", "champion", "--store", str(tmp_path / "s.db")]) == 0


def test_morphologies_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["morphologies"]) == 0
    out = capsys.readouterr().out
    for name in ("xor", "dpv", "dpnv", "single_pole", "discrete_tmaze"):
        assert name in out


#: ``evolve --remote-workers`` with its required options (for the usage errors below).
REMOTE = ["evolve", "xor", "--remote-workers", "--key", "k", "--bootstrap", "127.0.0.1:1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evolve", "nosuch"], "unknown morphology"),
        (["evolve", "xor", "--workers", "0"], "positive integer"),
        (["evolve", "xor", "--population", "-3"], "positive integer"),
        (["evolve", "xor", "--max-evaluations", "lots"], "positive integer"),
        (["evolve", "xor", "--fitness-goal", "nan"], "finite number"),
        (["evolve", "xor", "--runtime", "cloud"], "invalid choice"),
        (["evolve", "xor", "--phenotype", "quantum"], "unknown phenotype backend"),
        (["evolve", "xor", "--resume"], "--resume needs --store"),
        (["evolve", "xor", "--config", "/no/such.toml"], "cannot read configuration"),
        (
            ["evolve", "xor", "--start-file", "/no/such/go", "--start-timeout", "0.1"],
            "start file /no/such/go did not appear within 0.1 s",
        ),
        (["show", "/no/such.json"], "cannot read"),
        (["evolve", "xor", "--remote-workers"], "needs --key PATH and --bootstrap"),
        ([*REMOTE, "--mesh"], "not combined"),
        ([*REMOTE, "--listen", "nohost"], "--remote-workers:"),
        ([*REMOTE, "--remote-wait", "0"], "wait_timeout"),
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_config_key_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, "[monitor]\npopulaton_size = 3\n")
    with pytest.raises(SystemExit) as exc:
        main(["evolve", "xor", "--config", cfg])
    assert exc.value.code == 2
    assert "monitor.populaton_size" in capsys.readouterr().err


def test_a_store_holding_the_run_needs_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.db")
    assert main(["evolve", "xor", "--store", store, "--quiet", "--max-generations", "1"]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["evolve", "xor", "--store", store])
    assert exc.value.code == 2 and "--resume" in capsys.readouterr().err
    # resuming a finished run reports it again without evaluating anything
    out = tmp_path / "again.json"
    assert main(["evolve", "xor", "--store", store, "--resume", "--quiet", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["resumed_from_generation"] is not None


def _generations(db: Path) -> int:
    if not db.exists():
        return -1
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            row = con.execute("SELECT MAX(generation) FROM checkpoints").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return -1
    return -1 if row is None or row[0] is None else int(row[0])


SLOW_CONFIG = """
[monitor]
population_size = 12

[stopping]
max_generations = 14
fitness_goal = 1e9

[tuning]
duration = "const"
duration_parameter = 30

[constraint]
connection_architecture = "feedforward"
neural_afs = ["tanh"]
"""


@pytest.mark.multiproc
def test_sigkill_then_resume_ends_as_an_uninterrupted_run(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, SLOW_CONFIG)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def cmd(store: Path, summary: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "actors", "evolve", "xor", "--seed", "9", "--config", cfg,
                "--store", str(store), "--json", str(summary), "--quiet", *extra]  # fmt: skip

    whole = subprocess.run(cmd(tmp_path / "a.db", tmp_path / "a.json"), cwd=ROOT, env=env,
                           timeout=110, capture_output=True, text=True)  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    a = json.loads((tmp_path / "a.json").read_text())
    assert a["generations"] == 14

    db = tmp_path / "b.db"
    proc = subprocess.Popen(cmd(db, tmp_path / "b.json"), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _generations(db) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    killed_at = _generations(db)
    assert 4 <= killed_at < 14
    assert not (tmp_path / "b.json").exists()
    resumed = subprocess.run(cmd(db, tmp_path / "b.json", "--resume"), cwd=ROOT, env=env,
                             timeout=110, capture_output=True, text=True)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    b = json.loads((tmp_path / "b.json").read_text())
    assert b["resumed_from_generation"] == killed_at
    for key in ("evaluations", "generations", "best_fitness", "champion_id", "reason"):
        assert a[key] == b[key], key
    assert Path(a["champion_json"]).read_bytes() == Path(b["champion_json"]).read_bytes()


def test_a_start_file_that_appears_lets_the_run_begin(tmp_path: Path) -> None:
    go = tmp_path / "go"
    cmd = [sys.executable, "-m", "actors", "evolve", "xor", "--quiet", "--json",
           str(tmp_path / "r.json"), "--start-file", str(go), "--start-timeout", "60"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        time.sleep(1.0)
        assert proc.poll() is None, "the run must wait for its start file"
        assert not (tmp_path / "r.json").exists()
        go.touch()
        assert proc.wait(timeout=60) == 0
        assert json.loads((tmp_path / "r.json").read_text())["solved"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
