"""The population monitor's injection point: immigrants join the running population."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import pytest

from actors.evolution.config import EvolutionConfig
from actors.evolution.errors import EvolutionError
from actors.evolution.monitor import Immigrated, StepDone
from actors.evolution.population import EvolutionCore
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
