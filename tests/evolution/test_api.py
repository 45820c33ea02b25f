"""The one-call API (``actors.evolve``) and fitness-function morphologies in real runs: one
call of the function is one evaluation, the champion's network is the one that was scored,
the backends and runtimes agree, and settings are validated like ``--config`` files."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import actors
from actors.evolution.errors import ConfigError, EvolutionError
from actors.genotype import encode_agent
from morphologies import MorphologyError, Network, fitness_morphology

CASES = [(bits, 1.0 if bits.count(1.0) % 2 else -1.0)
         for bits in itertools.product((-1.0, 1.0), repeat=3)]  # fmt: skip
CALLS = {"n": 0}


def parity3(net: Network) -> tuple[float, bool]:
    """3-bit parity (the test's copy): 32 - squared error; solved when every sign is right."""
    CALLS["n"] += 1
    error, right = 0.0, 0
    for bits, target in CASES:
        net.reset()
        out = net(bits)[0]
        error += (out - target) ** 2
        right += (out > 0) == (target > 0)
    return 32.0 - error, right == len(CASES)


fitness_morphology("api_parity3", inputs=3, outputs=1, evaluate=parity3, replace=True)


def test_one_call_of_the_function_is_one_evaluation_and_the_champion_is_what_was_scored() -> None:
    CALLS["n"] = 0
    result = actors.evolve("api_parity3", seed=2, population=10, max_evaluations=20_000)
    assert result.solved and result.reason == "solved"
    assert CALLS["n"] == result.evaluations  # tuning evaluations included, nothing else
    assert result.config["monitor"]["population_size"] == 10
    fitness, solved = parity3(result.network())
    assert solved and fitness == pytest.approx(result.best_fitness, abs=1e-9)
    net = result.network()  # reset() zeroes the recurrent state: the first output comes back
    first = net([1.0, -1.0, 1.0])
    net([-1.0, -1.0, 1.0])
    net.reset()
    assert net([1.0, -1.0, 1.0]) == first


def test_a_function_passed_directly_is_registered_and_replaced_on_a_second_call() -> None:
    def count_up(net: Network) -> float:
        return net([0.5])[0] + 1.0

    first = actors.evolve(count_up, inputs=1, outputs=1, max_generations=1, population=4)
    assert first.morphology == "count_up" and first.generations == 1
    assert actors.get_morphology("count_up").sensors[0].vl == 1

    def count_up(net: Network) -> float:  # type: ignore[no-redef] # a notebook's re-run cell
        return net([0.5, 0.5])[0]

    again = actors.evolve(count_up, inputs=2, outputs=1, max_generations=1, population=4)
    assert actors.get_morphology("count_up").sensors[0].vl == 2 and again.champion


def test_a_morphology_object_is_registered_once() -> None:
    def one(net: Network) -> float:
        return net([1.0])[0]

    m = fitness_morphology("api_object", inputs=1, outputs=1, evaluate=one, register=False)
    assert actors.evolve(m, max_generations=1, population=3).morphology == "api_object"
    assert actors.get_morphology("api_object") is m
    assert actors.evolve(m, max_generations=1, population=3).generations == 1  # same object
    other = fitness_morphology("api_object", inputs=2, outputs=1, evaluate=one, register=False)
    with pytest.raises(MorphologyError, match="already registered"):
        actors.evolve(other, max_generations=1)


def test_problems_that_cannot_be_registered_are_refused() -> None:
    def xor(net: Network) -> float:
        return 0.0

    with pytest.raises(MorphologyError, match="not a fitness function"):
        actors.evolve(xor, inputs=2, outputs=1)
    with pytest.raises(MorphologyError, match="name="):
        actors.evolve(lambda net: 0.0, inputs=2, outputs=1)
    with pytest.raises(MorphologyError, match="inputs= and outputs="):
        actors.evolve(xor)
    with pytest.raises(MorphologyError, match="unknown morphology"):
        actors.evolve("no_such_task")
    with pytest.raises(MorphologyError, match="expected a morphology name"):
        actors.evolve(42)  # type: ignore[arg-type]


def test_settings_are_validated_and_layered(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"monitor\.populaton_size"):
        actors.evolve("xor", monitor={"populaton_size": 3})
    with pytest.raises(ConfigError, match=r"tuning\.duration"):
        actors.evolve("xor", tuning={"duration": "forever"})
    with pytest.raises(ConfigError, match="constraint"):
        actors.evolve("xor", constraint={"neural_afs": ["no_such_function"]})
    with pytest.raises(ConfigError, match="stopping"):  # every limit off
        actors.evolve("xor", max_evaluations=None, max_generations=None)
    with pytest.raises(EvolutionError, match="resume needs a store"):
        actors.evolve("xor", resume=True)
    path = tmp_path / "run.toml"
    path.write_text("[monitor]\npopulation_size = 5\n[stopping]\nmax_generations = 2\n")
    # the file, then the tables, then the named settings
    r = actors.evolve("xor", config=path, stopping={"max_generations": 3}, population=4,
                         max_evaluations=None, fitness_goal=1e9)  # fmt: skip
    assert r.config["monitor"]["population_size"] == 4
    assert r.config["stopping"] == {"fitness_goal": 1e9, "max_evaluations": "none",
                                    "max_generations": 3}  # fmt: skip
    assert r.generations == 3 and r.reason == "generation limit"
    r = actors.evolve("xor", config={"monitor": {"population_size": 3}}, max_generations=1)
    assert r.config["monitor"]["population_size"] == 3


def test_backends_give_the_same_run() -> None:
    runs = [
        actors.evolve("api_parity3", seed=4, population=6, max_evaluations=400, phenotype=p)
        for p in ("compiled", "actors")
    ]
    assert runs[0].evaluations == runs[1].evaluations
    assert runs[0].champion is not None and runs[1].champion is not None
    assert encode_agent(runs[0].champion) == encode_agent(runs[1].champion)


@pytest.mark.multiproc
def test_local_workers_know_the_function_and_give_the_simple_run() -> None:
    kw = {"seed": 3, "population": 6, "max_evaluations": 1500}
    simple = actors.evolve("api_parity3", **kw)  # type: ignore[arg-type]
    for phenotype in ("compiled", "actors"):
        local = actors.evolve(
            "api_parity3",
            runtime="local",
            workers=2,
            phenotype=phenotype,
            **kw,  # type: ignore[arg-type]
        )
        assert local.evaluations == simple.evaluations and local.solved == simple.solved
        assert simple.champion is not None and local.champion is not None
        assert encode_agent(local.champion) == encode_agent(simple.champion), phenotype


def test_network_of_a_scape_morphology_runs_the_champion() -> None:
    r = actors.evolve("xor", seed=1)
    assert r.solved
    net = r.network()
    outs = [net([a, b])[0] for a, b in ((-1, -1), (1, -1), (-1, 1), (1, 1))]
    assert [o > 0 for o in outs] == [False, True, True, False]  # the scape's goal: every sign
    from actors.evolution.run import RunResult

    empty = RunResult("xor", 1, False, "", 0, None, 0, 0.0, None, 0.0, None)
    with pytest.raises(EvolutionError, match="no champion"):
        empty.network()


def test_local_misuse_raises_the_packages_usage_error() -> None:
    from actors.evolution.errors import EvolutionUsageError
    from actors.evolution.run import EvolveOptions, evolve
    from actors.evolution.success import register_success_family

    with pytest.raises(EvolutionUsageError, match="prefix"):
        register_success_family("", lambda name: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(EvolutionUsageError, match="workers"):
        evolve(EvolveOptions("xor", workers=0))
