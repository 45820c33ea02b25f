"""The population monitor's injection point: immigrants join the running population."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import pytest

from actors.evolution.config import EvolutionConfig
from actors.evolution.errors import EvolutionError
from actors.evolution.monitor import Immigrated, StepDone, StepProgress
from actors.evolution.monitor_core import EvolutionCore
from actors.evolution.run import EvolveOptions, evolve
from actors.evolution.setup import build_constraint, morphology_spec
from actors.genotype import construct_agent, encode_agent
from morphologies import get_morphology


def _config(pop: int = 4, generations: int = 3) -> EvolutionConfig:
    cfg = EvolutionConfig()
    return dataclasses.replace(
        cfg,
        monitor=dataclasses.replace(cfg.monitor, population_size=pop),
        stopping=dataclasses.replace(
            cfg.stopping, max_evaluations=None, max_generations=generations
        ),
    )


def _foreign(morph: str = "xor", seed: int = 99):
    spec = morphology_spec(get_morphology(morph))
    return construct_agent(spec, build_constraint(morph, _config()), random.Random(seed))


def test_core_immigrate_clones_under_local_ids_and_queues() -> None:
    spec = morphology_spec(get_morphology("xor"))
    core = EvolutionCore.new(spec, _config(), "xor-1", 1)
    before = len(core.state.pending)
    foreign = dataclasses.replace(_foreign(), fitness=3.5)
    local = core.immigrate(foreign)
    assert local.id != foreign.id and local.id in core.agents
    assert local.fitness is None and local.population_id == "xor-1"
    assert local.neurons[0].id != foreign.neurons[0].id
    assert len(core.state.pending) == before + 1
    assert core.state.pending[-1].agent_id == local.id


def test_core_immigrate_refuses_other_morphology() -> None:
    core = EvolutionCore.new(morphology_spec(get_morphology("xor")), _config(), "xor-1", 1)
    with pytest.raises(EvolutionError):
        core.immigrate(_foreign("dpnv"))


class _Hook:
    def __init__(self, give: Sequence[bytes]) -> None:
        self.give = list(give)
        self.steps = 0
        self.results: list[Immigrated] = []

    def after_step(self, step: StepDone) -> Sequence[bytes]:
        self.steps += 1
        out, self.give = self.give, []
        return out

    def adopted(self, data: bytes, result: Immigrated) -> None:
        self.results.append(result)


def test_evolve_hook_adopts_into_running_population() -> None:
    hook = _Hook([encode_agent(_foreign("dpnv")), encode_agent(_foreign("xor"))])
    result = evolve(EvolveOptions("dpnv", seed=3, config=_config()), hook=hook)
    assert result.reason == "generation limit"
    assert hook.steps == result.generations
    ok, refused = hook.results
    assert ok.agent_id is not None and ok.error == ""
    assert refused.agent_id is None and "xor" in refused.error
    # adopted between steps: the second generation is the 4 planned agents + the immigrant
    assert [h.population for h in result.history] == [4, 5, 4]


class _ProgressHook(_Hook):
    wants_progress = True

    def __init__(self, give: Sequence[bytes] = ()) -> None:
        super().__init__(())
        self.give_mid = list(give)
        self.news: list[StepProgress] = []

    def progress(self, news: StepProgress) -> Sequence[bytes]:
        self.news.append(news)
        out, self.give_mid = self.give_mid, []
        return out


def _digest(result) -> tuple:  # type: ignore[no-untyped-def]
    return (
        result.evaluations,
        result.best_fitness,
        encode_agent(result.champion),
        [(h.fitness_max, h.evaluations) for h in result.history],
    )


@pytest.mark.parametrize("runtime", ["simple", pytest.param("local", marks=pytest.mark.multiproc)])
def test_progress_news_within_steps_leave_the_run_unchanged(runtime: str) -> None:
    opts = EvolveOptions("dpnv", seed=5, config=_config(pop=5, generations=3))
    plain = evolve(opts, hook=_Hook([]))
    hook = _ProgressHook()
    workers = 2 if runtime == "local" else 1
    with_news = evolve(dataclasses.replace(opts, runtime=runtime, workers=workers), hook=hook)
    assert _digest(with_news) == _digest(plain)
    assert hook.steps == plain.generations
    assert hook.news, "a run that improves reports it within its steps"
    fits = [n.fitness[0] for n in hook.news]
    assert fits == sorted(fits) and len(set(fits)) == len(fits)  # strictly better each time
    assert all(n.evaluations <= plain.evaluations for n in hook.news)
    # news is never worse than what the run knew at the step before
    for n in hook.news:
        before = [h.fitness_max for h in plain.history[: n.generation]]
        assert not before or n.fitness[0] > max(before)


def test_genotypes_handed_back_with_news_are_adopted_at_once() -> None:
    hook = _ProgressHook([encode_agent(_foreign("dpnv"))])
    result = evolve(EvolveOptions("dpnv", seed=5, config=_config(pop=5, generations=3)), hook=hook)
    (ok,) = hook.results
    assert ok.agent_id is not None
    # it joins the step under way, or the next one if that step ended meanwhile (the
    # monitor goes on while the driver handles the news)
    first = hook.news[0].generation
    sizes = [h.population for h in result.history]
    assert sum(sizes) == 5 * 3 + 1 and 6 in sizes[first : first + 2]
