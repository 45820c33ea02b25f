from __future__ import annotations

import dataclasses
import random
import sqlite3
from pathlib import Path

import pytest

from actors.cli import main
from actors.genotype import agent_from_json, decode_agent, mutate
from actors.genotype.store import GenotypeStore
from tests.genotype.conftest import seed_agent


def test_seed_show_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.mbg"
    args = ["genotype", "seed", "--sensor", "in:2", "--actuator", "out:1", "--seed", "3"]
    assert main([*args, "--generations", "4", "-o", str(out)]) == 0
    agent = decode_agent(out.read_bytes())
    assert agent.generation == 4 and agent.sensors[0].vl == 2
    assert main([*args, "-o", str(tmp_path / "b.json")]) == 0
    assert agent_from_json((tmp_path / "b.json").read_text()).generation == 0
    capsys.readouterr()
    assert main(["genotype", "show", str(out)]) == 0
    assert f"agent        {agent.id}" in capsys.readouterr().out
    assert main(["genotype", "export", str(out), "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith(f'digraph "{agent.id}"')
    assert (
        main(["genotype", "export", str(out), "--format", "json", "-o", str(tmp_path / "c")]) == 0
    )
    assert agent_from_json((tmp_path / "c").read_bytes()) == agent


def test_bad_input_and_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x93\x01\x02")
    for cmd in (["show", str(bad)], ["export", str(bad), "--format", "dot"]):
        with pytest.raises(SystemExit) as exc:
            main(["genotype", *cmd])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("megabrain genotype: error: ")
        assert f"{bad} is not a genotype" in err and "msgpack:" not in err
    with pytest.raises(SystemExit) as exc:
        main(["genotype", "seed", "--sensor", "in", "--actuator", "o:1", "-o", "x"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["genotype", "show", str(tmp_path / "missing")])
    assert exc.value.code == 2
    assert f"cannot read {tmp_path / 'missing'}" in capsys.readouterr().err


def test_a_store_with_an_undecodable_row_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "g.db"
    agent = mutate(seed_agent(2), random.Random(1))
    with GenotypeStore(db) as store:
        store.put_agent(agent)
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE agents SET data = ?", (b"\x93\x01\x02",))
    con.close()
    code = main(["genotype", "store-export", str(db), agent.id, "--format", "json", "-o",
                 str(tmp_path / "o.json")])  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err.startswith("megabrain genotype: ")


def test_store_list_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "g.db"
    agent = dataclasses.replace(mutate(seed_agent(2), random.Random(1)), population_id="p1")
    with GenotypeStore(db) as store:
        store.put_agent(agent)
    assert main(["genotype", "store-list", str(db), "--population", "p1"]) == 0
    assert capsys.readouterr().out.split() == [agent.id]
    out = tmp_path / "x.mbg"
    cmd = ["genotype", "store-export", str(db), agent.id, "--format", "msgpack", "-o", str(out)]
    assert main(cmd) == 0
    assert decode_agent(out.read_bytes()) == agent
    with pytest.raises(SystemExit):
        main(["genotype", "store-export", str(db), "g-nope", "--format", "json", "-o", str(out)])
