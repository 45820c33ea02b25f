"""The pure cores working together on a toy problem, as the monitor and exoself will use
them: tuning with backup/restore, postprocessing, selection, offspring by perturbation."""

from __future__ import annotations

import random

import numpy as np
import pytest

from actors.evolution.candidate import Candidate
from actors.evolution.fitness import postprocess
from actors.evolution.selection import HallOfFame, select_generation
from actors.evolution.tuning import (
    TunableNeuron,
    observe,
    perturb_weights,
    select_for_tuning,
    start_tuning,
    tuning_attempts,
)

TARGET = np.array([1.5, -2.0, 0.5, 2.5])


def fitness(w: np.ndarray) -> float:
    return 1.0 / (1e-3 + float(np.sum((w - TARGET) ** 2)))


def tune(
    block: tuple[np.ndarray, np.ndarray], rng: random.Random
) -> tuple[tuple[np.ndarray, np.ndarray], float, int]:
    """The exoself's loop for a one-neuron network: keep the best weights."""
    neurons = [TunableNeuron("n", 0, 4)]
    state = start_tuning(tuning_attempts("nsize_proportional", 0.5, neurons, 0) // 3)
    best = block
    current = block
    while True:
        step = observe(state, fitness(current[0]))
        state = step.state
        if step.improved:
            best = current
        if step.done:
            return best, state.best[0] if state.best else 0.0, state.evaluations
        ((_, spr),) = select_for_tuning("all", neurons, 0, 0.5, 0.5, rng)
        (current,) = perturb_weights([best], spr, rng)


@pytest.mark.parametrize("algorithm", ["competition", "top3", "hof_competition", "hof_rank"])
def test_evolution_improves_a_toy_objective(algorithm: str) -> None:
    rng = random.Random(2024)
    pop = {f"a{i}": (np.zeros(4), np.zeros(4)) for i in range(10)}
    halls: dict[str, HallOfFame] = {}
    archive: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    first_best = None
    best = 0.0
    evaluations = 0
    next_id = len(pop)
    for _gen in range(12):
        cands = []
        for aid, block in pop.items():
            block, fit, n = tune(block, rng)
            pop[aid] = block
            archive[aid] = block
            evaluations += n
            cands.append(Candidate(aid, (fit,), 1, specie_id="s", fingerprint=1))
        best = max(c.main_fitness for c in cands)
        first_best = best if first_best is None else first_best
        plan = select_generation(algorithm, postprocess("none", cands).scored, 10, rng, halls=halls)
        halls = dict(plan.halls)
        new = {aid: pop[aid] for aid in plan.survivors}
        for allot in plan.allotments:
            for _ in range(allot.offspring):
                (child,) = perturb_weights([archive[allot.parent_id]], 0.3, rng)
                new[f"a{next_id}"] = child
                next_id += 1
        assert len(new) == 10
        pop = new
    assert first_best is not None
    assert best > 20 * first_best  # squared error shrank more than 20-fold
    assert evaluations > 100
