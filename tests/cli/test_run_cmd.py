"""``megabrain run``: champions of short real ``evolve`` runs (xor, CartPole), ``.mbg`` files,
``--store``, JSON output, video recording, and bad input (one line, exit 2)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from actors.cli import main
from actors.genotype import agent_from_json, encode_agent
from tests.evolution.test_evolve_cli import CONFIG as XOR_CONFIG
from tests.morphologies.gym_envs import needs_gym, track_envs


def _evolve(tmp: Path, morphology: str, seed: int, *extra: str) -> dict[str, Any]:
    out = tmp / "sum.json"
    argv = ["evolve", morphology, "--seed", str(seed), "--json", str(out),
            "--store", str(tmp / "s.db"), "--quiet", *extra]  # fmt: skip
    assert main(argv) == 0
    summary: dict[str, Any] = json.loads(out.read_text())
    assert summary["solved"] is True
    return summary


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("xor")
    (tmp / "run.toml").write_text(XOR_CONFIG, encoding="utf-8")
    summary = _evolve(tmp, "xor", 2, "--config", str(tmp / "run.toml"))
    summary["dir"] = tmp
    return summary


@pytest.fixture(scope="module")
def gym_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if importlib.util.find_spec("gymnasium") is None:
        pytest.skip("gymnasium not installed (extra 'gym')")
    tmp = tmp_path_factory.mktemp("cartpole")
    summary = _evolve(tmp, "gym:CartPole-v1", 104)  # the defaults
    summary["dir"] = tmp
    return summary


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["run", *argv, "--json", "-"]) == 0
    out = capsys.readouterr().out
    doc: dict[str, Any] = json.loads(out)  # stdout holds the JSON alone
    return doc


def test_run_an_xor_champion(xor_run: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    path = xor_run["champion_json"]
    champion = agent_from_json(Path(path).read_bytes())
    assert main(["run", path, "--episodes", "3", "--seed", "7"]) == 0
    text = capsys.readouterr().out
    assert champion.id in text and "over 3 episodes" in text
    assert "success test none" in text and "reached in 3 of 3 episodes" in text
    doc = _run_json(capsys, path, "--episodes", "3", "--seed", "7")
    assert [e["seed"] for e in doc["episodes"]] == [7, 8, 9]
    # xor's episode is deterministic: every episode scores the fitness evolution recorded
    assert all(e["fitness"] == champion.fitness for e in doc["episodes"])
    assert doc["mean"] == champion.fitness and doc["std"] == 0.0
    assert doc["success_test"] is None and doc["morphology"] == "xor"
    # the same agent from the store, by id and as the run's champion
    store = str(xor_run["dir"] / "s.db")
    by_id = _run_json(capsys, champion.id, "--store", store, "--episodes", "1")
    by_champion = _run_json(capsys, "champion", "--store", store, "--episodes", "1")
    assert by_id["agent_id"] == by_champion["agent_id"] == champion.id
    # --json PATH writes the same document and still prints the table
    out = xor_run["dir"] / "run.json"
    assert main(["run", path, "--episodes", "3", "--seed", "7", "--json", str(out)]) == 0
    assert "fitness      mean" in capsys.readouterr().out
    assert json.loads(out.read_text()) == doc


def test_run_an_mbg_file(
    xor_run: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    champion = agent_from_json(Path(xor_run["champion_json"]).read_bytes())
    mbg = tmp_path / "champion.mbg"
    mbg.write_bytes(encode_agent(champion))
    assert _run_json(capsys, str(mbg), "--episodes", "2")["mean"] == champion.fitness
    assert main(["show", str(mbg)]) == 0  # show resolves GENOTYPE the same way
    assert champion.id in capsys.readouterr().out
    # a seed genotype written by `megabrain genotype seed` for xor's sensors and actuator
    seed = tmp_path / "seed.mbg"
    assert main(["genotype", "seed", "--sensor", "xor_GetInput:2", "--actuator",
                 "xor_SendOutput:1", "--morphology", "xor", "-o", str(seed)]) == 0  # fmt: skip
    capsys.readouterr()
    assert _run_json(capsys, str(seed), "--episodes", "1")["morphology"] == "xor"
    # one named for no morphology runs with --morphology
    other = tmp_path / "cli.mbg"
    assert main(["genotype", "seed", "--sensor", "xor_GetInput:2", "--actuator",
                 "xor_SendOutput:1", "-o", str(other)]) == 0  # fmt: skip
    capsys.readouterr()
    doc = _run_json(capsys, str(other), "--morphology", "xor", "--episodes", "1")
    assert doc["morphology"] == "xor"


@needs_gym
def test_run_a_cartpole_champion(
    gym_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = gym_run["champion_json"]
    log = track_envs(monkeypatch)
    doc = _run_json(capsys, path, "--episodes", "4", "--seed", "30")
    assert [e["seed"] for e in doc["episodes"]] == [30, 31, 32, 33]
    assert log.made[0] == ("CartPole-v1", {}) and log.seeds(0) == [30, 31, 32, 33]
    assert log.seeds(1) == list(range(100))  # the success test's own environment
    assert log.open == 0
    returns = [e["fitness"] for e in doc["episodes"]]
    assert [e["cycles"] for e in doc["episodes"]] == [int(r) for r in returns]
    assert doc["mean"] == sum(returns) / 4 and doc["threshold"] == 475
    test = doc["success_test"]
    assert test["solved"] is True  # evolve stopped as solved: the champion passed it
    assert test["details"]["episodes"] == 100 and test["details"]["mean_return"] >= 475
    # running the success test's seeds reproduces its mean
    again = _run_json(capsys, path, "--episodes", "100", "--seed", "0")
    assert again["mean"] == test["details"]["mean_return"]
    assert main(["run", path, "--episodes", "2"]) == 0
    assert "success test passed" in capsys.readouterr().out


@pytest.fixture
def cartpole_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A seed network for CartPole (short episodes: rendering and recording cost per frame)."""
    path = tmp_path / "seed.mbg"
    assert main(["genotype", "seed", "--sensor", "observation:4", "--actuator", "action:2",
                 "--morphology", "gym:CartPole-v1", "-o", str(path)]) == 0  # fmt: skip
    capsys.readouterr()
    return str(path)


@needs_gym
@pytest.mark.skipif(importlib.util.find_spec("moviepy") is None, reason="extra 'video'")
def test_run_records_a_video_per_episode(
    cartpole_seed: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    videos = tmp_path / "videos"
    log = track_envs(monkeypatch)
    doc = _run_json(capsys, cartpole_seed, "--episodes", "2", "--video", str(videos))
    assert doc["video"] == str(videos)
    assert log.made[0] == ("CartPole-v1", {"render_mode": "rgb_array"}) and log.open == 0
    files = sorted(p.name for p in videos.iterdir())
    assert files == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
    for name in files:
        assert (videos / name).read_bytes()[4:8] == b"ftyp"  # an MP4 container


@needs_gym
@pytest.mark.skipif(importlib.util.find_spec("pygame") is None, reason="extra 'video'")
def test_run_renders_in_a_window(
    cartpole_seed: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")  # no display here
    log = track_envs(monkeypatch)
    doc = _run_json(capsys, cartpole_seed, "--episodes", "1", "--render")
    assert log.made[0] == ("CartPole-v1", {"render_mode": "human"}) and log.open == 0
    assert doc["episodes"][0]["cycles"] >= 1


def _bad(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["run", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[-1].startswith("megabrain run: error: "), err
    assert len(lines) == 1 or lines[0].startswith("usage:"), err  # argparse adds its usage
    return lines[-1]


def test_bad_input_is_one_line_and_exit_2(
    xor_run: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    champion = Path(xor_run["champion_json"])
    text = champion.read_text()
    files = {
        "truncated.json": text[: len(text) // 2],
        "garbage.mbg": "\x93\x01\x02 not a genotype",
        "other.json": json.dumps({"kind": "agent", "version": 99}),
        "empty.mbg": "",
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        assert "not a genotype" in _bad(capsys, str(tmp_path / name))
    assert "cannot read" in _bad(capsys, str(tmp_path / "missing.json"))
    assert "is a directory" in _bad(capsys, str(tmp_path))
    store = str(xor_run["dir"] / "s.db")
    assert f"pass --store {store}" in _bad(capsys, store)  # a store given as the file
    assert "no agent 'g-nope'" in _bad(capsys, "g-nope", "--store", store)
    assert "no store at" in _bad(capsys, "champion", "--store", str(tmp_path / "none.db"))
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    assert "junk.db" in _bad(capsys, "champion", "--store", str(tmp_path / "junk.db"))
    empty_store = tmp_path / "empty.db"
    from actors.genotype import GenotypeStore

    GenotypeStore(empty_store).close()
    assert "holds no champion" in _bad(capsys, "champion", "--store", str(empty_store))
    assert "unknown morphology" in _bad(capsys, str(champion), "--morphology", "nosuch")
    assert "does not fit single_pole" in _bad(capsys, str(champion), "--morphology", "single_pole")
    assert "need a Gymnasium morphology" in _bad(capsys, str(champion), "--render")
    assert "positive integer" in _bad(capsys, str(champion), "--episodes", "0")
    assert "--seed must be >= 0" in _bad(capsys, str(champion), "--seed", "-1")
    assert "invalid int value" in _bad(capsys, str(champion), "--seed", "x")
    assert "cannot write" in _bad(capsys, str(champion), "--json", str(tmp_path / "no/such/x"))


@needs_gym
def test_bad_gym_names_exit_2(xor_run: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    champion = xor_run["champion_json"]
    assert "bad Gymnasium morphology name" in _bad(
        capsys, champion, "--morphology", "gym:CartPole-v1,episodes=0"
    )
    assert "cannot make gymnasium environment" in _bad(
        capsys, champion, "--morphology", "gym:NoSuchEnv-v0"
    )
