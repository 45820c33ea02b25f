"""``megabrain evolve NAME --module MODULE``: a user's own problem from the command line (a file
path or a dotted name found from the current directory, in simple and local mode), one-line
errors with exit status 2, and ``-v`` for the details the live display leaves out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors.cli import main

ROOT = Path(__file__).resolve().parents[2]

TASK = '''
import itertools
from morphologies import fitness_morphology

CASES = [(b, 1.0 if b.count(1.0) % 2 else -1.0) for b in itertools.product((-1.0, 1.0), repeat=3)]


def parity(net):
    """3-bit parity from a user's module."""
    error = 0.0
    for bits, target in CASES:
        net.reset()
        error += (net(bits)[0] - target) ** 2
    return 32.0 - error


fitness_morphology("{name}", inputs=3, outputs=1, evaluate=parity, goal={goal}, replace=True)
'''


def write_task(directory: Path, module: str, name: str, goal: float = 31.0) -> Path:
    path = directory / f"{module}.py"
    path.write_text(TASK.replace("{name}", name).replace("{goal}", str(goal)), encoding="utf-8")
    return path


def test_a_module_file_registers_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_task(tmp_path, "user_task_file", "user_parity_file")
    out = tmp_path / "s.json"
    code = main(["evolve", "user_parity_file", "--module", str(path), "--seed", "2",
                 "--quiet", "--json", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["solved"] and summary["modules"] == [str(path)]
    assert summary["best_fitness"] >= 31.0
    assert main(["morphologies", "--module", str(path)]) == 0
    assert "user_parity_file" in capsys.readouterr().out


def test_a_dotted_module_is_found_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_task(tmp_path, "user_task_dotted", "user_parity_dotted")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    try:
        code = main(["evolve", "user_parity_dotted", "--module", "user_task_dotted",
                     "--max-generations", "1", "--quiet"])  # fmt: skip
    finally:
        sys.modules.pop("user_task_dotted", None)
    assert code == 0


@pytest.mark.parametrize(
    ("module", "name", "message"),
    [
        ("no_such_module_xyz", "x", "cannot import module 'no_such_module_xyz': "
         "ModuleNotFoundError: No module named 'no_such_module_xyz'"),
        ("{dir}/missing.py", "x", "FileNotFoundError: no such file"),
        ("{dir}/raises.py", "x", "cannot import module '{dir}/raises.py': ValueError: boom"),
        ("{dir}/syntax.py", "x", "SyntaxError"),
        ("{dir}/json.py", "x", "ImportError: a module named 'json' is already loaded"),
        ("{dir}/user_task_err.py", "not_registered",
         "'not_registered' is not a morphology ({dir}/user_task_err.py registered: "
         "user_parity_err)"),
    ],
)  # fmt: skip
def test_import_and_name_errors_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], module: str, name: str, message: str
) -> None:
    (tmp_path / "raises.py").write_text('raise ValueError("boom\\nsecond line")\n')
    (tmp_path / "syntax.py").write_text("def broken(:\n")
    (tmp_path / "json.py").write_text("raise SystemExit('must not run: it would shadow json')\n")
    write_task(tmp_path, "user_task_err", "user_parity_err")
    module = module.replace("{dir}", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        main(["evolve", name, "--module", module])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message.replace("{dir}", str(tmp_path)) in err
    assert sys.modules["json"] is json
    assert err.count("\n") == 1 and "Traceback" not in err


def test_verbose_shows_failed_success_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from actors.evolution.success import SuccessReport, register_success_test

    write_task(tmp_path, "user_task_v", "user_parity_v", goal=20.0)  # reached at once
    register_success_test("user_parity_v", lambda spec: SuccessReport(False, {"tried": 1.0}))
    argv = ["evolve", "user_parity_v", "--module", str(tmp_path / "user_task_v.py"),
            "--max-evaluations", "3000"]  # fmt: skip
    assert main(argv) == 0
    quiet = capsys.readouterr()
    assert "success test failed" not in quiet.err + quiet.out
    assert quiet.out.startswith("not solved (evaluation limit)")
    assert main([*argv, "-v"]) == 0
    loud = capsys.readouterr()
    assert "success test failed (tried 1)" in loud.err
    assert loud.out.rsplit(",", 1)[0] == quiet.out.rsplit(",", 1)[0]  # the same run but its time


@pytest.mark.multiproc
def test_local_workers_run_a_module_problem(tmp_path: Path) -> None:
    path = write_task(tmp_path, "user_task_local", "user_parity_local")
    runs = {}
    for mode in ("simple", "local"):
        out = tmp_path / f"{mode}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "actors", "evolve", "user_parity_local", "--module", str(path),
             "--runtime", mode, "--workers", "2", "--seed", "3", "--json", str(out)],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=110,
            capture_output=True, text=True,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("solved: ")  # the summary alone on stdout
        runs[mode] = json.loads(out.read_text())
    for key in ("solved", "evaluations", "champion_id", "best_fitness"):
        assert runs["simple"][key] == runs["local"][key], key
