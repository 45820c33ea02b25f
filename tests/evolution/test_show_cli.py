"""``megabrain show`` and ``megabrain genotype show/export`` on genotype files: what they
accept (the msgpack encoding ``genotype seed`` writes, JSON exports, store agents, told
apart by content), what they refuse (empty, truncated, corrupt, other kinds of files: exit
2, one line naming the file), and pictures in the format the suffix names (``show
--draw`` / ``--png``, ``evolve --plot``)."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
from pathlib import Path

import pytest

from actors.cli import main
from actors.genotype import Specie, agent_to_json, decode_agent, encode_agent, encode_record, mutate
from actors.genotype.store import GenotypeStore
from tests.genotype.conftest import seed_agent

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


def seeded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "a.mbg"
    assert main(["genotype", "seed", "--sensor", "in:3", "--sensor", "b:1", "--actuator",
                 "out:2", "--seed", "3", "--generations", "5", "-o", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    return out


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_show_reads_the_mbg_that_genotype_seed_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mbg = seeded(tmp_path, capsys)
    agent = decode_agent(mbg.read_bytes())
    assert main(["show", str(mbg)]) == 0
    assert f"agent        {agent.id}" in capsys.readouterr().out
    # by content, not by name: msgpack under .json, JSON under .mbg, no suffix at all
    for name, data in (("x.json", mbg.read_bytes()),
                       ("y.mbg", agent_to_json(agent, indent=1).encode()),
                       ("genome", mbg.read_bytes()),
                       ("z.json", b"\n  " + agent_to_json(agent).encode())):  # fmt: skip
        path = tmp_path / name
        path.write_bytes(data)
        assert main(["show", str(path)]) == 0
        assert agent.id in capsys.readouterr().out
        assert main(["genotype", "show", str(path)]) == 0
        assert agent.id in capsys.readouterr().out


def test_show_reads_store_agents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "g.db"
    agent = dataclasses.replace(mutate(seed_agent(2), random.Random(1)), population_id="p1")
    with GenotypeStore(db) as store:
        store.put_agent(agent)
    assert main(["show", agent.id, "--store", str(db)]) == 0
    assert agent.id in capsys.readouterr().out
    assert "no agent 'g-nope'" in refused(["show", "g-nope", "--store", str(db)], capsys)
    assert "holds no champion" in refused(["show", "champion", "--store", str(db)], capsys)
    missing = tmp_path / "typo.db"
    assert f"no store at {missing}" in refused(["show", "champion", "--store", str(missing)],
                                               capsys)  # fmt: skip
    assert not missing.exists()  # not created by the attempt
    # a store given as the genotype file says how to read it
    line = refused(["show", str(db)], capsys)
    assert str(db) in line and "genotype store" in line and "--store" in line
    line = refused(["genotype", "show", str(db)], capsys)
    assert str(db) in line and "store-export" in line
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 50)
    assert str(bad) in refused(["show", "champion", "--store", str(bad)], capsys)


def bad_files(tmp_path: Path, good: bytes) -> dict[str, tuple[bytes | None, str]]:
    """name -> (content, or None for a directory; words the message must hold)."""
    agent = decode_agent(good)
    text = agent_to_json(agent).encode()
    specie = encode_record(Specie(id="p-0123456789abcdef", population_id="p-0123456789abcde0",
                                  fingerprint="0" * 64, constraint=agent.constraint,
                                  agent_ids=(agent.id,)))  # fmt: skip
    corrupt = bytearray(good)
    corrupt[1:7] = b"schemX"
    return {
        "empty.mbg": (b"", "empty"),
        "blank.json": (b" \n\t\n", "empty"),
        "cut1.mbg": (good[:1], "truncated or corrupt"),
        "cut10.mbg": (good[:10], "truncated or corrupt"),
        "half.mbg": (good[: len(good) // 2], "truncated or corrupt"),
        "last.mbg": (good[:-1], "not a genotype"),
        "extra.mbg": (good + b"\x00", "not a genotype"),
        "corrupt.mbg": (bytes(corrupt), "not a genotype"),
        "half.json": (text[: len(text) // 2], "not a genotype (JSON)"),
        "other.json": (b'{"morphology": "xor", "solved": true}', "not a genotype (JSON)"),
        "list.json": (b"[1, 2, 3]", "not a genotype (JSON)"),
        "specie.mbg": (specie, "record kind 'specie'"),
        "picture.png": (MAGIC["png"] + bytes(range(256)) * 4, "neither the msgpack"),
        "noise.bin": (random.Random(1).randbytes(3000), "not a genotype"),
        "text.txt": (b"hello\n", "not a genotype"),
        "adir": (None, "directory"),
    }


def test_bad_genotype_files_get_one_line_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = encode_agent(seed_agent(4))
    for name, (data, words) in bad_files(tmp_path, good).items():
        path = tmp_path / name
        if data is None:
            path.mkdir()
        else:
            path.write_bytes(data)
        for argv in (["show", str(path)], ["genotype", "show", str(path)],
                     ["genotype", "export", str(path), "--format", "json"]):  # fmt: skip
            line = refused(argv, capsys)
            assert str(path) in line and words in line, (argv, line)
            assert "Unpack" not in line and "Traceback" not in line
    missing = tmp_path / "missing.mbg"
    for argv in (["show", str(missing)], ["genotype", "show", str(missing)]):
        line = refused(argv, capsys)
        assert f"cannot read {missing}" in line and "No such file" in line


def test_every_truncation_of_an_mbg_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = encode_agent(mutate(seed_agent(6), random.Random(2)))
    path = tmp_path / "t.mbg"
    for cut in sorted(set(random.Random(3).sample(range(1, len(good)), 40))):
        path.write_bytes(good[:cut])
        line = refused(["genotype", "show", str(path)], capsys)
        assert str(path) in line


@pytest.mark.parametrize(("option", "fmt"), [("--draw", "svg"), ("--draw", "pdf"),
                                             ("--draw", "png"), ("--png", "pdf"),
                                             ("--png", "png")])  # fmt: skip
def test_show_draws_in_the_format_of_the_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, fmt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("PATH", str(tmp_path / "nobin"))  # the matplotlib drawing
    mbg = seeded(tmp_path, capsys)
    out = tmp_path / "pics" / f"net.{fmt}"
    assert main(["show", str(mbg), option, str(out), "--dot", str(tmp_path / "n.dot")]) == 0
    text = capsys.readouterr().out
    assert f"picture      {out} (drawn with matplotlib)" in text
    assert out.read_bytes().startswith(MAGIC[fmt])
    assert (tmp_path / "n.dot").read_text().startswith("digraph ")


@pytest.mark.parametrize("name", ["net.gif", "net", "net.jpeg"])
def test_show_refuses_an_unknown_picture_suffix_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    mbg = seeded(tmp_path, capsys)
    for option in ("--draw", "--png"):
        line = refused(["show", str(mbg), option, str(tmp_path / name)], capsys)
        assert name in line and ".png, .svg, .pdf" in line
    assert not (tmp_path / name).exists()


def test_evolve_plot_writes_the_format_of_the_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("svg", "pdf"):
        out = tmp_path / f"run.{fmt}"
        assert main(["evolve", "xor", "--max-generations", "2", "--quiet",
                     "--plot", str(out)]) == 0  # fmt: skip
        assert out.read_bytes().startswith(MAGIC[fmt])
    line = refused(["evolve", "xor", "--quiet", "--plot", str(tmp_path / "run.gif")], capsys)
    assert "run.gif" in line and ".png, .svg, .pdf" in line
    assert not (tmp_path / "run.gif").exists()


def test_a_store_file_is_sqlite(tmp_path: Path) -> None:
    """The store hint above relies on the SQLite header."""
    db = tmp_path / "s.db"
    with GenotypeStore(db):
        pass
    con = sqlite3.connect(db)
    con.close()
    assert db.read_bytes()[:16] == b"SQLite format 3\x00"
