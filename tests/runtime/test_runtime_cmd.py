"""``megabrain runtime check``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from actors.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_check_simple_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    assert main(["runtime", "check", "--mode", "simple", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["ok"] and report["mode"] == "simple" and report["registry_ok"]
    assert report["restart_ms"] is not None and report["leftover_processes"] == []
    assert "runtime check (simple): OK" in capsys.readouterr().out


@pytest.mark.multiproc
def test_check_local_as_a_user_runs_it(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "actors", "runtime", "check", "--mode", "local", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["ok"] and report["mode"] == "local"
    assert report["restart_ms"] > 0 and report["registry_ok"]
    assert len({x["pid"] for x in report["listening"]}) >= 5
    assert report["non_loopback"] == [] and report["leftover_processes"] == []
    assert all(x["host"] == "127.0.0.1" for x in report["listening"])


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["runtime", "check", "--mode", "galaxy"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["runtime", "check", "--timeout", "0"])
    assert exc.value.code == 2


def test_unwritable_json_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["runtime", "check", "--mode", "simple", "--json", str(tmp_path / "no" / "x.json")])
    assert exc.value.code == 2
