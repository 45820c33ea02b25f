"""The population monitor: its pure core (determinism, checkpoints, steady state) and the
actor run in simple and local mode (solving XOR, determinism, crashes, validation)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest

from actors.evolution.backends import register_backend
from actors.evolution.checkpoint import RunRecord, commit, load_run, state_from_json
from actors.evolution.exoself import EvaluateAgent, run_exoself
from actors.evolution.monitor_core import EvalOutcome, EvolutionCore, StepReport
from actors.evolution.reporters import JsonlStatsReporter, Reporter, read_stats
from actors.evolution.run import EvolveOptions, RunResult, evolve
from actors.evolution.setup import morphology_spec
from actors.genotype import GenotypeStore, decode_agent, encode_agent
from morphologies import get_morphology
from tests.evolution.helpers import CrashingPhenotype, RefusingPhenotype, small_config

XOR = morphology_spec(get_morphology("xor"))
register_backend("test-crashing", CrashingPhenotype, replace=True)
register_backend("test-refusing", RefusingPhenotype, replace=True)


def drive(
    core: EvolutionCore, *, reverse: bool = False, steps: int | None = None
) -> list[StepReport]:
    """Run the core synchronously (the monitor's job without actors)."""
    reports: list[StepReport] = []
    while not core.finished and (steps is None or len(reports) < steps):
        tasks = []
        while (t := core.take_task()) is not None:
            tasks.append(t)
            if core.steady:
                break
        for t in reversed(tasks) if reverse else tasks:
            r = run_exoself(
                EvaluateAgent(encode_agent(core.agents[t.agent_id]), "xor", t.seed, tune=t.tune)
            )
            out = EvalOutcome(decode_agent(r.agent), r.fitness, r.evaluations, r.goal_reached,
                              r.solved, r.behaviour)  # fmt: skip
            rep = core.complete(t, out)
            if rep is not None:
                reports.append(rep)
    return reports


def champion_bytes(core: EvolutionCore) -> bytes:
    assert core.state.champion is not None
    return encode_agent(core.state.champion)


def test_core_is_deterministic_whatever_the_completion_order() -> None:
    cfg = small_config()
    a = EvolutionCore.new(XOR, cfg, "p", 11)
    b = EvolutionCore.new(XOR, cfg, "p", 11)
    ra, rb = drive(a), drive(b, reverse=True)
    assert a.finished == "solved"
    assert [r.total_evaluations for r in ra] == [r.total_evaluations for r in rb]
    assert champion_bytes(a) == champion_bytes(b)
    c = EvolutionCore.new(XOR, cfg, "p", 12)
    drive(c)
    assert champion_bytes(c) != champion_bytes(a)


@pytest.mark.parametrize("algorithm", ["competition", "top3", "hof_rank", "hof_random"])
def test_generational_population_size_is_kept(algorithm: str) -> None:
    cfg = small_config(6, max_generations=4, selection_algorithm=algorithm,
                       fitness_postprocessor="none")  # fmt: skip
    core = EvolutionCore.new(XOR, cfg, "p", 3)
    reports = drive(core)
    assert all(len(r.candidates) == 6 for r in reports)
    assert len(reports) <= 4 and core.finished in ("solved", "generation limit")
    assert len(core.agents) <= 6 + sum(len(h) for h in core.state.halls.values())


def test_novelty_postprocessor_keeps_an_archive() -> None:
    cfg = small_config(6, max_generations=3, fitness_postprocessor="novelty_proportional")
    core = EvolutionCore.new(XOR, cfg, "p", 4)
    drive(core)
    assert core.state.archive is not None


def test_steady_state_reports_every_population_size_completions() -> None:
    cfg = small_config(5, max_evaluations=1500, evolution_type="steady_state",
                       selection_algorithm="competition")  # fmt: skip
    core = EvolutionCore.new(XOR, cfg, "p", 2)
    reports = drive(core)
    assert core.finished in ("solved", "evaluation limit")
    assert all(len(r.candidates) == 5 for r in reports[:-1])
    assert reports[-1].total_evaluations == core.state.evaluations
    again = EvolutionCore.new(XOR, cfg, "p", 2)
    drive(again)
    assert champion_bytes(again) == champion_bytes(core)


def test_checkpoint_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    cfg = small_config(6, max_generations=6, fitness_goal=1e9)
    record = RunRecord("xor", 5, "compiled", cfg)
    whole = EvolutionCore.new(XOR, cfg, "xor-5", 5)
    drive(whole)
    part = EvolutionCore.new(XOR, cfg, "xor-5", 5)
    with GenotypeStore(tmp_path / "s.db") as store:
        commit(store, part, record)
        for rep in drive(part, steps=3):
            assert rep.generation < 3
            commit(store, part, record)
        loaded = load_run(store, "xor-5", XOR)
        assert loaded is not None
        rec, resumed = loaded
        assert rec.seed == 5 and resumed.state.generation == 3
        cp = store.last_checkpoint("xor-5")
        assert cp is not None and state_from_json(cp.state)[2].generation == 3
    drive(resumed)
    assert resumed.finished == whole.finished == "generation limit"
    assert resumed.state.evaluations == whole.state.evaluations
    assert champion_bytes(resumed) == champion_bytes(whole)


class Collect(Reporter):
    def __init__(self) -> None:
        self.infos: list[str] = []
        self.solutions: list[str] = []

    def info(self, message: str) -> None:
        self.infos.append(message)

    def found_solution(self, stats: object, agent_id: str) -> None:
        self.solutions.append(agent_id)


def run(seed: int = 1, **kw: object) -> RunResult:
    opts = EvolveOptions("xor", seed=seed, config=small_config(), **kw)  # type: ignore[arg-type]
    return evolve(opts)


def test_xor_is_solved_end_to_end_in_simple_mode(tmp_path: Path) -> None:
    col = Collect()
    stats = tmp_path / "stats.jsonl"
    opts = EvolveOptions("xor", seed=1, config=small_config(), store=str(tmp_path / "r.db"))
    result = evolve(opts, [col, JsonlStatsReporter(stats)])
    assert result.solved and result.reason == "solved"
    assert result.champion is not None and col.solutions == [result.champion.id]
    assert result.evaluations_to_solve is not None
    # the generation stops at the first solver: nothing is evaluated after it
    assert result.evaluations_to_solve == result.evaluations <= 4000
    # the champion really solves XOR
    check = run_exoself(EvaluateAgent(encode_agent(result.champion), "xor", 0, tune=False))
    assert check.goal_reached
    lines = read_stats(stats)
    assert [s.generation for s in lines] == list(range(result.generations))
    assert lines[-1].total_evaluations == result.evaluations
    with GenotypeStore(tmp_path / "r.db") as store:
        assert store.list_checkpoints("xor-1")[-1] == result.generations - 1


def test_same_seed_same_champion_and_evaluations() -> None:
    a, b = run(seed=4), run(seed=4)
    assert a.champion is not None and b.champion is not None
    assert encode_agent(a.champion) == encode_agent(b.champion)
    assert a.evaluations == b.evaluations and a.generations == b.generations


@pytest.mark.parametrize(
    ("backend", "failures", "error"),
    [
        # the exoself crashes: its supervisor restarts it, the monitor finds the new one
        ("test-crashing", CrashingPhenotype, "crashed"),
        # the exoself refuses the task (bad_request) and stays: asked again in place
        ("test-refusing", RefusingPhenotype, "bad_request"),
    ],
)
def test_a_failed_task_is_repeated_and_the_run_unchanged(
    backend: str, failures: Any, error: str
) -> None:
    failures.remaining = 2
    col = Collect()
    result = evolve(EvolveOptions("xor", seed=4, config=small_config(), backend=backend), [col])
    assert failures.remaining == 0
    repeated = [m for m in col.infos if "repeating the evaluation" in m]
    assert len(repeated) == 2 and all(f"({error}:" in m for m in repeated)
    plain = run(seed=4)
    assert result.champion is not None and plain.champion is not None
    assert encode_agent(result.champion) == encode_agent(plain.champion)


def test_validation_mode_measures_the_champion() -> None:
    cfg = small_config(max_generations=3, fitness_goal=1e9)
    cfg = dataclasses.replace(
        cfg, monitor=dataclasses.replace(cfg.monitor, op_mode="validation", validation_interval=100)
    )
    result = evolve(EvolveOptions("xor", seed=2, config=cfg))
    vals = [s.validation_fitness for s in result.history]
    assert all(v is not None and v > 0 for v in vals)


@pytest.mark.multiproc
def test_local_mode_with_workers_matches_simple_mode() -> None:
    local = run(seed=4, runtime="local", workers=2)
    simple = run(seed=4)
    assert local.champion is not None and simple.champion is not None
    assert encode_agent(local.champion) == encode_agent(simple.champion)
    assert local.evaluations == simple.evaluations


def test_random_is_not_global() -> None:
    state = random.getstate()
    run(seed=3)
    assert random.getstate() == state


def test_steady_state_through_the_monitor_with_two_workers() -> None:
    cfg = small_config(5, max_evaluations=3000, evolution_type="steady_state",
                       selection_algorithm="hof_competition")  # fmt: skip
    a = evolve(EvolveOptions("xor", seed=6, config=cfg, workers=2))
    b = evolve(EvolveOptions("xor", seed=6, config=cfg, workers=2))
    assert a.reason in ("solved", "evaluation limit")
    assert all(s.population == 5 for s in a.history[:-1])
    assert a.champion is not None and b.champion is not None
    assert encode_agent(a.champion) == encode_agent(b.champion)  # simple mode: deterministic
