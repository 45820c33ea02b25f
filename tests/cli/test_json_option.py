"""``--json PATH`` means the same in every command that has it: JSON to PATH; ``-``: JSON to
standard output and nothing else there (no file named ``-``); an unwritable PATH is one
line, exit 2, before any work is done."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.cli import main
from tests.runtime.lifeline_procs import ROOT, env, stop

XOR = """
[monitor]
population_size = 10

[constraint]
connection_architecture = "feedforward"
neural_afs = ["tanh"]
"""


@pytest.fixture
def cwd(tmp_path: Path) -> Iterator[Path]:
    """Run in an empty directory, to see that ``--json -`` creates no file there."""
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def test_evolve_json_dash_is_stdout_alone(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = cwd / "xor.toml"
    config.write_text(XOR)
    assert main(["evolve", "xor", "--seed", "2", "--config", str(config), "--json", "-"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)  # the whole of stdout is one JSON document
    assert summary["solved"] and summary["morphology"] == "xor"
    assert summary["champion_json"] is None  # no champion file for "-"
    assert "evolving xor" in err  # the progress text went to stderr
    assert sorted(p.name for p in cwd.iterdir()) == ["xor.toml"]


def test_runtime_check_json_dash_and_path(cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runtime", "check", "--mode", "simple", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["ok"] is True
    assert "runtime check (simple): OK" in err
    assert main(["runtime", "check", "--mode", "simple", "--json", "r.json"]) == 0
    assert json.loads((cwd / "r.json").read_text())["ok"] is True
    assert "runtime check (simple): OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["evolve", "xor", "--quiet"], "evolve"),
        (["runtime", "check", "--mode", "simple"], "runtime"),
        (["run", "champion.json"], "run"),
        (["mesh", "--control-file", "nowhere.json", "nodes"], "mesh"),
        (["mesh", "--control-file", "nowhere.json", "best"], "mesh"),
    ],
)
def test_an_unwritable_json_path_is_one_line_before_any_work(
    cwd: Path, capsys: pytest.CaptureFixture[str], argv: list[str], command: str
) -> None:
    (cwd / "adir").mkdir()
    for target, why in ((cwd / "no" / "x.json", f"no directory {cwd / 'no'}"),
                        (cwd / "adir", "it is a directory")):  # fmt: skip
        t0 = time.monotonic()
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--json", str(target)])
        assert exc.value.code == 2 and time.monotonic() - t0 < 5.0
        err = capsys.readouterr().err
        assert err == f"megabrain {command}: error: cannot write {target}: {why}\n"


@pytest.mark.multiproc
def test_mesh_nodes_and_best_json(tmp_path: Path) -> None:
    node = subprocess.Popen([sys.executable, "-m", "actors", "node", "--key",
                             str(tmp_path / "k"), "--realm", "r"], cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert node.stdout is not None
        control = json.loads(node.stdout.readline())["control_file"]

        def mesh(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "actors", "mesh", "--control-file",
                                   control, *args], cwd=tmp_path, env=env(),
                                  capture_output=True, text=True, timeout=60)  # fmt: skip

        res = mesh("nodes", "--json", "-")
        assert res.returncode == 0 and json.loads(res.stdout) == []  # no island advertised
        res = mesh("nodes", "--json", str(tmp_path / "nodes.json"))
        assert res.returncode == 0 and res.stdout == ""
        assert json.loads((tmp_path / "nodes.json").read_text()) == []
        res = mesh("best", "xor", "--json", "-")  # no champion: a message, on stderr only
        assert res.returncode == 1 and res.stdout == ""
        assert res.stderr == "no xor champion advertised (0 unverifiable records)\n"
        assert not (tmp_path / "-").exists()
    finally:
        stop(node)
