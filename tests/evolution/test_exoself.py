"""The exoself: tuning, write-back, heredity, phenotype deaths, backends, success tests."""

from __future__ import annotations

import dataclasses
import random

import pytest

from actors.evolution import exoself, exoself_core
from actors.evolution.backends import (
    BackendError,
    backend_names,
    build_phenotype,
    check_backend,
    register_backend,
)
from actors.evolution.exoself import EvaluateAgent, ExoselfError, run_exoself
from actors.evolution.exoself_core import TuningSession
from actors.evolution.success import SUCCESS_TESTS
from actors.genotype import decode_agent, encode_agent, mutate
from actors.genotype.network import spec_from_agent
from tests.evolution.helpers import DyingPhenotype, NeuronKillingPhenotype, seed_agent

register_backend("test-dying", DyingPhenotype, replace=True)
register_backend("test-killing", NeuronKillingPhenotype, replace=True)


def task(agent_bytes: bytes, seed: int = 7, **kw: object) -> EvaluateAgent:
    return EvaluateAgent(agent_bytes, "xor", seed, **kw)  # type: ignore[arg-type]


def test_tuning_improves_and_writes_the_best_weights_back() -> None:
    agent = seed_agent(seed=3)
    data = encode_agent(agent)
    untuned = run_exoself(task(data, tune=False))
    tuned = run_exoself(task(data))
    assert untuned.evaluations == 1
    assert tuned.evaluations > 10  # wsize_proportional: at least 10 attempts
    assert tuned.fitness[0] >= untuned.fitness[0]
    best = decode_agent(tuned.agent)
    assert best.id == agent.id and best.fitness == tuned.fitness[0]
    assert spec_from_agent(best).flat_weights() != spec_from_agent(agent).flat_weights()
    # darwinian write-back: the stored weights reproduce the reported fitness untuned
    again = run_exoself(task(tuned.agent, tune=False))
    assert again.fitness == tuned.fitness


def test_same_seed_same_result_other_seed_other_result() -> None:
    data = encode_agent(seed_agent(seed=5))
    a, b, c = run_exoself(task(data, 1)), run_exoself(task(data, 1)), run_exoself(task(data, 2))
    assert a == b
    assert a.agent != c.agent


def test_a_task_turns_its_agent_into_a_spec_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def counted(agent: object, **kw: object) -> object:
        built.append(getattr(agent, "id", ""))
        return spec_from_agent(agent, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(exoself, "spec_from_agent", counted)
    monkeypatch.setattr(exoself_core, "spec_from_agent", counted)
    agent = seed_agent(seed=3)
    result = run_exoself(task(encode_agent(agent), check=False))
    assert result.evaluations > 10 and built == [agent.id]


def test_tuning_session_bookkeeping() -> None:
    agent = seed_agent(seed=2)
    s = TuningSession(agent, random.Random(0))
    first = s.candidate()
    assert not s.record(0.5, False)  # the first evaluation always improves
    assert s.best_weights == first and s.best_fitness == (0.5,)
    assert s.candidate() != first  # perturbed from the backup
    s.record(0.1, False)  # worse: restored
    assert s.best_fitness == (0.5,)
    while not s.done:
        s.record(0.1, False)
    assert s.evaluations == s.max_attempts + 1
    with pytest.raises(RuntimeError):
        s.record(1.0, False)
    g = TuningSession(agent, random.Random(0))
    assert g.record(0.2, True)  # the goal ends tuning at once


def test_lamarckian_keeps_learned_weights() -> None:
    rng = random.Random(4)
    agent = seed_agent(seed=4, neural_pfns=["hebbian_w"], heredity_types=["lamarckian"])
    for _ in range(3):
        agent = mutate(agent, rng)
    assert agent.heredity_type == "lamarckian"
    lam = decode_agent(run_exoself(task(encode_agent(agent), tune=False)).agent)
    dar_agent = dataclasses.replace(agent, heredity_type="darwinian")
    dar = decode_agent(run_exoself(task(encode_agent(dar_agent), tune=False)).agent)
    assert spec_from_agent(dar).flat_weights() == spec_from_agent(agent).flat_weights()
    if any(n.pf != "none" for n in agent.neurons):
        assert spec_from_agent(lam).flat_weights() != spec_from_agent(agent).flat_weights()


def test_a_dying_phenotype_is_rebuilt_and_the_evaluation_repeated() -> None:
    data = encode_agent(seed_agent(seed=6))
    baseline = run_exoself(task(data, backend="compiled"))
    DyingPhenotype.deaths, DyingPhenotype.built = 2, 0
    messages: list[str] = []
    got = run_exoself(task(data, backend="test-dying"), info=messages.append)
    assert got.restarts == 2 and DyingPhenotype.built == 3
    assert len(messages) == 2 and "rebuilding" in messages[0]
    # the repeated evaluations used the same weights and scape: nothing changed
    assert (got.agent, got.fitness, got.evaluations) == (
        baseline.agent,
        baseline.fitness,
        baseline.evaluations,
    )
    DyingPhenotype.deaths = 10
    with pytest.raises(ExoselfError, match="died"):
        run_exoself(task(data, backend="test-dying", max_restarts=2))
    DyingPhenotype.deaths = 0


def test_backend_registry() -> None:
    assert "compiled" in backend_names(available_only=True)
    assert {"compiled", "actors"} <= set(backend_names())
    with pytest.raises(BackendError, match="unknown phenotype backend"):
        check_backend("nope")
    with pytest.raises(BackendError, match="already registered"):
        register_backend("compiled", DyingPhenotype)
    net = build_phenotype("compiled", spec_from_agent(seed_agent()))
    assert net.step({"xor_GetInput": [1.0, -1.0]})["xor_SendOutput"]
    net.close()
    try:
        import actors.phenotype  # noqa: F401
    except ImportError:
        with pytest.raises(BackendError, match="not available"):
            check_backend("actors")


def test_success_tests_of_pole_balancing() -> None:
    assert {"single_pole", "dpv", "dpnv"} <= set(SUCCESS_TESTS)
    spec = spec_from_agent(seed_agent("dpnv", seed=1))
    report = SUCCESS_TESTS["dpnv"](spec)
    assert not report.solved and report.details["balanced_steps"] < 100_000
    # a goal that the scape never reports is never "solved"
    result = run_exoself(EvaluateAgent(encode_agent(seed_agent("dpnv", 2)), "dpnv", 3))
    assert not result.solved and not result.tested


def test_fitness_goal_gates_the_goal() -> None:
    data = encode_agent(seed_agent(seed=8, neural_afs=["cos"]))
    easy = run_exoself(task(data, fitness_goal=None))
    hard = run_exoself(task(data, fitness_goal=1e9))
    assert not hard.solved
    assert easy.solved == easy.goal_reached


def test_the_actor_backend_agrees_with_the_compiled_one() -> None:
    agent = seed_agent(seed=9)
    for _ in range(2):
        agent = mutate(agent, random.Random(9))
    data = encode_agent(agent)
    assert run_exoself(task(data, backend="actors")) == run_exoself(task(data))


def test_a_neuron_actor_killed_mid_evaluation_is_rebuilt_and_repeated() -> None:
    data = encode_agent(seed_agent(seed=6))
    baseline = run_exoself(task(data))
    NeuronKillingPhenotype.kills = 1
    messages: list[str] = []
    got = run_exoself(task(data, backend="test-killing"), info=messages.append)
    assert NeuronKillingPhenotype.kills == 0
    assert got.restarts == 1 and "neuron" in messages[0] and "exited" in messages[0]
    assert (got.agent, got.fitness, got.evaluations) == (
        baseline.agent,
        baseline.fitness,
        baseline.evaluations,
    )
