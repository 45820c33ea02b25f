"""Shared helpers of the monitor/exoself tests: seed agents, small configurations, and
phenotype backends that misbehave on purpose (registered by the tests that use them)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from actors.evolution.backends import CompiledPhenotype, PhenotypeDied
from actors.evolution.config import EvolutionConfig, config_from_mapping
from actors.evolution.errors import EvolutionError
from actors.evolution.setup import build_constraint, morphology_spec
from actors.genotype import Agent, construct_agent
from actors.neural.spec import NetworkSpec
from morphologies import get_morphology


def seed_agent(morphology: str = "xor", seed: int = 1, **constraint: Any) -> Agent:
    cfg = small_config(constraint=constraint)
    spec = morphology_spec(get_morphology(morphology))
    return construct_agent(spec, build_constraint(morphology, cfg), random.Random(seed))


def small_config(
    population: int = 8,
    *,
    max_evaluations: int | str = 4000,
    max_generations: int | str = "none",
    fitness_goal: float | str = "none",
    constraint: Mapping[str, Any] | None = None,
    **monitor: Any,
) -> EvolutionConfig:
    """XOR-sized settings: tanh only, feedforward (so it takes a few generations)."""
    table = {"connection_architecture": "feedforward", "neural_afs": ["tanh"]}
    table.update(constraint or {})
    return config_from_mapping(
        {
            "monitor": {"population_size": population, **monitor},
            "stopping": {
                "max_evaluations": max_evaluations,
                "max_generations": max_generations,
                "fitness_goal": fitness_goal,
            },
            "constraint": table,
        }
    )


class DyingPhenotype(CompiledPhenotype):
    """Dies (PhenotypeDied) in the middle of an episode while ``deaths`` remain."""

    deaths = 0
    built = 0

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__(spec)
        type(self).built += 1
        self._steps = 0
        self.closed = False
        inner = self.step_flat  # the compiled step function (an instance attribute)

        def step_flat(x: Sequence[float]) -> list[float]:
            self._steps += 1
            if self._steps == 2 and type(self).deaths > 0:
                type(self).deaths -= 1
                raise PhenotypeDied("neuron n-0000000000000000 exited (killed)")
            return inner(x)

        self.step_flat = step_flat  # type: ignore[method-assign]

    def close(self) -> None:
        self.closed = True


class CrashingPhenotype(CompiledPhenotype):
    """Raises a plain error when built while ``remaining`` crashes are left: the exoself worker
    crashes (let it crash) and its supervisor restarts it."""

    remaining = 0

    def __init__(self, spec: NetworkSpec) -> None:
        if type(self).remaining > 0:
            type(self).remaining -= 1
            raise RuntimeError("phenotype host lost")
        super().__init__(spec)


class RefusingPhenotype(CompiledPhenotype):
    """Raises an :class:`EvolutionError` (a task the exoself cannot run) when built while
    ``remaining`` refusals are left: the exoself answers ``bad_request`` and stays up."""

    remaining = 0

    def __init__(self, spec: NetworkSpec) -> None:
        if type(self).remaining > 0:
            type(self).remaining -= 1
            raise EvolutionError("cannot build this phenotype now")
        super().__init__(spec)


class NeuronKillingPhenotype:
    """The ``actors`` backend, whose first neuron actor is killed (``ActorExitRequest``)
    during an episode while ``kills`` remain: a real element death mid-evaluation."""

    kills = 0

    def __new__(cls, spec: NetworkSpec) -> Any:
        from thespian.actors import ActorExitRequest

        from actors.phenotype.hosted import HostedActorPhenotype, private_system

        class _Killing(HostedActorPhenotype):
            steps = 0

            def step_flat(self, x: Sequence[float]) -> list[float]:
                self.steps += 1
                if self.steps == 2 and NeuronKillingPhenotype.kills > 0:
                    NeuronKillingPhenotype.kills -= 1
                    neuron = next(k for k in self.net.addresses if k.startswith("neuron"))
                    private_system().tell(self.net.addresses[neuron], ActorExitRequest())
                return super().step_flat(x)

        return _Killing(spec)
