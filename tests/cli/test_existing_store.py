"""Commands that read a genotype store refuse a store that is not there -- ``evolve --resume``
does not silently start a fresh run at generation 0 -- with one line and exit 2, and leave the
path as they found it (nothing created, an empty file stays empty)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from actors.cli import main

Make = Callable[[Path], Path]


def _missing(tmp: Path) -> Path:
    return tmp / "nothing.db"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.db").touch()
    return tmp / "empty.db"


def _directory(tmp: Path) -> Path:
    (tmp / "dir.db").mkdir()
    return tmp / "dir.db"


def _garbage(tmp: Path) -> Path:
    (tmp / "junk.db").write_bytes(b"not a database, " * 512)
    return tmp / "junk.db"


CASES: dict[str, tuple[Make, str]] = {
    "missing": (_missing, "no store at"),
    "empty": (_empty, "is empty"),
    "directory": (_directory, "is not a store file"),
    "garbage": (_garbage, "not a database"),
}

COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "evolve --resume": lambda s: ["evolve", "xor", "--store", s, "--resume", "--quiet"],
    "genotype store-list": lambda s: ["genotype", "store-list", s],
    "show --store": lambda s: ["show", "champion", "--store", s],
    "run --store": lambda s: ["run", "champion", "--store", s],
}


def _snapshot(path: Path) -> tuple[bool, bytes | None]:
    return path.exists(), path.read_bytes() if path.is_file() else None


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_store_that_is_not_there_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: str
) -> None:
    make, expected = CASES[case]
    path = make(tmp_path)
    before = _snapshot(path)
    with pytest.raises(SystemExit) as exc:
        main(COMMANDS[command](str(path)))
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2
    assert expected in err and str(path) in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert _snapshot(path) == before, "the command changed what it refused"


def test_resume_of_a_run_the_store_does_not_hold_names_the_runs_it_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.db")
    assert main(["evolve", "xor", "--seed", "3", "--store", store, "--quiet",
                 "--max-generations", "1"]) == 0  # fmt: skip
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["evolve", "xor", "--seed", "7", "--store", store, "--resume", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1
    assert "seed 7" in err and "xor-3" in err, err
