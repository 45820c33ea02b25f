"""``megabrain config --defaults`` / ``--check``: the printed file is generated from the config
dataclasses, loads back to exactly the defaults (directly and through ``evolve --config``), and
its commented ``[constraint]`` values are the ones a run uses; ``--check`` lists what a file
changes and names a bad key."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from actors.cli import main
from actors.cli.config_cmd import defaults_toml, toml_value
from actors.distributed.config import MeshSettings, load_run_config
from actors.evolution.config import (
    CONSTRAINT_KEYS,
    EvolutionConfig,
    describe_fields,
    loads_config,
    section_classes,
)
from actors.evolution.setup import build_constraint


def write_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["config", "--defaults"]) == 0
    text = capsys.readouterr().out
    assert text == defaults_toml()
    path = tmp_path / "defaults.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load_back_to_exactly_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_defaults(tmp_path, capsys)
    cfg, mesh = load_run_config(path)
    assert cfg == EvolutionConfig() and mesh == MeshSettings()
    data = tomllib.loads(path.read_text())
    assert set(data) == {*section_classes(), "constraint", "mesh"}
    assert data["constraint"] == {}  # every constraint key is left to its derived default
    for table, cls in [*section_classes().items(), ("mesh", MeshSettings)]:
        assert set(data[table]) == {f.name for f in fields(cls)}, table


def test_every_key_is_commented_with_its_field_doc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = write_defaults(tmp_path, capsys).read_text()
    flat = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    for cls in [*section_classes().values(), MeshSettings]:
        for d in describe_fields(cls):
            assert " ".join(d.doc.split()) in flat, d.key  # the doc text, not a copy
            comment_block = text.split(f"\n{d.key} = ")[0].rsplit("\n[", 1)[-1]
            assert comment_block.splitlines()[-1].startswith("# "), d.key
    for key, kind in CONSTRAINT_KEYS.items():
        assert f"# {key} = " in text and kind in flat


def test_uncommented_constraint_values_are_the_ones_a_run_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = write_defaults(tmp_path, capsys).read_text()
    section = text.split("\n[constraint]\n")[1].split("\n[mesh]")[0]
    pinned = re.sub(r"^# (\w+ = )", r"\1", section, flags=re.M)
    evo_part = text.split("\n[constraint]\n")[0] + "\n[constraint]\n" + pinned
    evo_part = evo_part.split("\n# [mesh]")[0]
    cfg = loads_config(evo_part)
    assert set(cfg.constraint) == set(CONSTRAINT_KEYS)
    assert build_constraint("xor", cfg) == build_constraint("xor", EvolutionConfig())


def test_evolve_reads_the_defaults_and_records_the_whole_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_defaults(tmp_path, capsys)
    out = tmp_path / "run.json"
    code = main(["evolve", "xor", "--config", str(path), "--max-generations", "1", "--quiet",
                 "--json", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads(out.read_text())
    expected = EvolutionConfig().to_dict()
    expected["stopping"]["max_generations"] = 1  # the command line wins over the file
    assert summary["config"] == {**expected, "mesh": MeshSettings().to_dict()}
    from actors import __version__

    assert summary["megabrain_version"] == __version__ and summary["modules"] == []


def test_check_lists_changes_and_names_bad_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_defaults(tmp_path, capsys)
    assert main(["config", "--check", str(path)]) == 0
    assert "0 setting(s) differ" in capsys.readouterr().out
    run = tmp_path / "run.toml"
    run.write_text('[monitor]\npopulation_size = 6\n[constraint]\nneural_afs = ["tanh"]\n'
                   '[mesh]\nrealm = "lab"\n')  # fmt: skip
    assert main(["config", "--check", str(run)]) == 0
    out = capsys.readouterr().out
    assert "3 setting(s) differ" in out
    for line in ("monitor.population_size = 6", 'constraint.neural_afs = ["tanh"]',
                 'mesh.realm = "lab"'):  # fmt: skip
        assert line in out
    for text, message in (("[monitor]\npopulaton_size = 6\n", "monitor.populaton_size"),
                          ("[mesh]\nadopt_rate = 0\n", "mesh.adopt_rate"),
                          ('[constraint]\nneural_afs = ["nope"]\n', "unknown name 'nope'"),
                          ("[monitor\n", "invalid TOML")):  # fmt: skip
        run.write_text(text)
        assert main(["config", "--check", str(run)]) == 1
        err = capsys.readouterr().err
        assert message in err and str(run) in err and err.count("\n") == 1
    assert main(["config", "--check", str(tmp_path / "none.toml")]) == 1
    assert "cannot read configuration" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["config"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[mesh]\nrelam = 'lab'\n", "mesh.relam"),
        ("[tuning]\nanealing = 0.5\n", "tuning.anealing"),
        ("[stoping]\nmax_evaluations = 5\n", "stoping"),
    ],
)
def test_evolve_refuses_an_unknown_key_in_any_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str
) -> None:
    """The command line reads its file through the one loader: every table, [mesh] as well
    as the evolution tables, rejects a name it does not know (exit 2, one line)."""
    run = tmp_path / "run.toml"
    run.write_text(text)
    with pytest.raises(SystemExit) as exc:
        main(["evolve", "xor", "--config", str(run), "--max-evaluations", "10"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"unknown key {key}" in err and str(run) in err and err.count("\n") == 1


def test_toml_values() -> None:
    cases = {"s": 'a "quoted" ü', "b": True, "i": 3, "f": 1e-06, "none": None,
             "l": ["x", 1.5], "t": {"a": 1.0, "b": 2}, "nested": [["n", 0.5]]}  # fmt: skip
    text = "\n".join(f"{k} = {toml_value(v)}" for k, v in cases.items())
    assert tomllib.loads(text) == {**cases, "none": "none"}
    with pytest.raises(ValueError):
        toml_value(float("nan"))
    with pytest.raises(ValueError):
        toml_value(object())
