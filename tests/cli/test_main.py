import subprocess
import sys

import pytest

from actors import __version__
from actors.cli import main


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"megabrain {__version__}"


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_help_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "actors", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert "usage: megabrain" in out.stdout


def test_a_module_is_a_command_exactly_when_it_is_named_cmd() -> None:
    from pathlib import Path

    import actors.cli
    from actors.cli import COMMAND_MODULES

    here = Path(actors.cli.__file__).parent
    named = {f"actors.cli.{p.stem}" for p in here.glob("*_cmd.py")}
    assert set(COMMAND_MODULES) == named
