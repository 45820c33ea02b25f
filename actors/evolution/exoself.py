"""The exoself: builds an agent's phenotype, tunes it against its morphology, writes back.

DXNN's exoself is the process that owns one agent's network while it is evaluated. Here
:func:`run_exoself` does that job for one :class:`EvaluateAgent` task:

1. decode the genotype, build its :class:`~actors.neural.spec.NetworkSpec` and the
   phenotype with the chosen backend (:mod:`actors.evolution.backends`);
2. run the tuning phase (:class:`~actors.evolution.exoself_core.TuningSession`): every
   evaluation sets the candidate weights, resets the network and runs one episode on a new
   scape; the scape's goal (and the fitness goal, if any) ends tuning early;
3. if the phenotype dies mid-evaluation (:class:`~actors.phenotype.errors.PhenotypeDied`,
   e.g. a neuron actor crashed), close it, build a new one and repeat that evaluation --
   same weights, same scape seed -- counting and logging the restart; after
   ``max_restarts`` the task fails with :class:`ExoselfError` (no genotype is lost: the
   monitor still holds it);
4. write the best weights (and their last changes) back into a copy of the genotype
   (darwinian: the weights the network started with; lamarckian: the learned ones), with
   the best main fitness;
5. if the best evaluation reached the goal and the morphology has a success test
   (:mod:`actors.evolution.success`), run it on the best weights;
6. always close the phenotype.

:class:`ExoselfWorker` is the supervised actor (a :class:`~actors.runtime.Worker`) that
serves these tasks for the population monitor, one at a time; in ``local`` mode each
worker is its own OS process, so agents are evaluated in parallel.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.evolution.backends import Phenotype, PhenotypeDied, build_phenotype
from actors.evolution.errors import EvolutionError
from actors.evolution.exoself_core import Episode, TuningSession, run_episode_flat
from actors.evolution.success import success_test
from actors.genotype import Agent, GenotypeDecodeError, decode_agent, encode_agent
from actors.genotype.network import agent_with_weights, spec_from_agent
from actors.neural.errors import SpecError
from actors.remote.wire import register_message
from actors.runtime import NOREPLY, Caller, Reply, Worker
from morphologies import MorphologyError, get_morphology

__all__ = [
    "EvaluateAgent",
    "ExoselfError",
    "ExoselfResult",
    "ExoselfWorker",
    "run_exoself",
]

log = logging.getLogger(__name__)


class ExoselfError(EvolutionError):
    """An agent could not be evaluated (its phenotype kept dying, or could not be built)."""


@register_message("megabrain.evolution.EvaluateAgent")
@dataclass(frozen=True, slots=True)
class EvaluateAgent:
    """Evaluate (and, with ``tune``, tune) one agent.

    ``agent`` is the genotype's canonical encoding -- or, inside one process (``simple``
    mode), the :class:`~actors.genotype.Agent` itself, which saves encoding and decoding
    (the result then carries an ``Agent`` too); ``seed`` seeds everything random
    in the task (perturbations, scapes), so a repeated task gives the same result.
    ``fitness_goal`` ends tuning when reached together with the scape's goal; ``check``
    runs the morphology's success test when the goal was reached.
    """

    agent: bytes | Agent
    morphology: str
    seed: int
    backend: str = "compiled"
    tune: bool = True
    fitness_goal: float | None = None
    min_improvement: float = 0.0
    max_restarts: int = 3
    check: bool = True


@register_message("megabrain.evolution.ExoselfResult")
@dataclass(frozen=True, slots=True)
class ExoselfResult:
    """What the exoself reports to the monitor.

    ``agent`` is the updated genotype's encoding (best weights written back, ``fitness``
    set; an ``Agent`` when the task carried one); ``evaluations`` counts episodes (tuning
    included, repeats after a restart not counted twice); ``goal_reached`` is the best
    evaluation's flag; ``solved`` is ``goal_reached`` and the success test's verdict;
    ``tested`` tells whether a test ran and ``success`` carries the test's figures;
    ``restarts`` counts phenotype rebuilds.
    """

    agent_id: str
    agent: bytes | Agent
    fitness: tuple[float, ...]
    evaluations: int
    goal_reached: bool
    solved: bool
    behaviour: tuple[float, ...]
    restarts: int = 0
    cycles: int = 0
    success: tuple[tuple[str, float], ...] = ()
    tested: bool = False


Logger = Callable[[str], None]


def _meets_goal(episode: Episode, goal: float | None) -> bool:
    return episode.result.goal_reached and (goal is None or episode.result.fitness >= goal)


def run_exoself(task: EvaluateAgent, info: Logger | None = None) -> ExoselfResult:
    """Run one exoself task (see the module docstring). Raises :class:`ExoselfError`."""
    as_bytes = not isinstance(task.agent, Agent)
    agent = decode_agent(task.agent) if not isinstance(task.agent, Agent) else task.agent
    morphology = get_morphology(task.morphology)
    try:
        spec = spec_from_agent(agent)
    except SpecError as exc:
        raise ExoselfError(f"agent {agent.id} has no phenotype: {exc}") from exc
    rng = random.Random(task.seed)
    session = TuningSession(
        agent, rng, tune=task.tune, min_improvement=task.min_improvement, spec=spec
    )
    sensors = [s.name for s in spec.sensors]
    actuators = [(a.name, len(a.sources)) for a in spec.actuators]
    plastic = any(n.plasticity != "none" for n in spec.neurons)
    restarts = 0
    cycles = 0
    phenotype: Phenotype = build_phenotype(task.backend, spec)
    try:
        while not session.done:
            weights = session.candidate()
            scape_seed = rng.getrandbits(64)
            while True:
                try:
                    phenotype.set_weights(weights)
                    phenotype.reset()
                    episode = run_episode_flat(
                        morphology, phenotype, sensors, actuators, random.Random(scape_seed)
                    )
                    learned = phenotype.get_weights() if plastic and session.lamarckian else None
                    break
                except PhenotypeDied as exc:
                    restarts += 1
                    msg = (
                        f"agent {agent.id}: phenotype died mid-evaluation ({exc}); "
                        f"rebuilding and repeating the evaluation (restart {restarts})"
                    )
                    log.warning(msg)
                    if info is not None:
                        info(msg)
                    _close(phenotype)
                    if restarts > task.max_restarts:
                        raise ExoselfError(
                            f"agent {agent.id}: phenotype died {restarts} times"
                        ) from exc
                    phenotype = build_phenotype(task.backend, spec)
            cycles += episode.result.cycles
            session.record(
                episode.result.fitness,
                _meets_goal(episode, task.fitness_goal),
                learned=learned,
                behaviour=episode.behaviour,
            )
    finally:
        _close(phenotype)
    assert session.best_fitness is not None
    best = agent_with_weights(agent, session.best_weights, session.best_deltas)
    best = dataclasses.replace(best, fitness=float(session.best_fitness[0]))
    solved = session.best_goal
    details: tuple[tuple[str, float], ...] = ()
    tested = False
    test = success_test(task.morphology)
    if solved and task.check and test is not None:
        report = test(spec_from_agent(best))
        solved = report.solved
        details = tuple(sorted(report.details.items()))
        tested = True
    return ExoselfResult(
        agent_id=agent.id,
        agent=encode_agent(best) if as_bytes else best,
        fitness=session.best_fitness,
        evaluations=session.evaluations,
        goal_reached=session.best_goal,
        solved=solved,
        behaviour=session.best_behaviour,
        restarts=restarts,
        cycles=cycles,
        success=details,
        tested=tested,
    )


def _close(phenotype: Phenotype) -> None:
    try:
        phenotype.close()
    except Exception:  # a dead phenotype may fail to close; nothing more to release
        log.debug("closing a phenotype failed", exc_info=True)


#: What a task that cannot be run raises (it is answered, the worker goes on).
_BAD_TASK = (GenotypeDecodeError, MorphologyError, EvolutionError, TypeError, ValueError)


class ExoselfWorker(Worker):
    """Serves :class:`EvaluateAgent` requests (replying :class:`ExoselfResult`), one at a
    time. Messages about restarts go to the requester as ``("info", text)``. A task it
    cannot run (not an ``EvaluateAgent``, a genotype that does not decode or has no
    phenotype, an unknown morphology or backend) is answered ``Reply(ok=False,
    error="bad_request")`` and the worker goes on: both its wire messages are registered
    (:mod:`actors.remote.wire`), so it can be spawned by other nodes (``megabrain worker``
    offers it as ``exoself``)."""

    def on_start(self, *args: Any) -> None:
        self.served = 0

    def handle_call(self, payload: Any, sender: Any) -> Any:
        caller = self.deferred()
        if not isinstance(payload, EvaluateAgent):
            return self._refuse(caller, f"unexpected request {type(payload).__name__}")
        self.served += 1
        try:
            return run_exoself(payload, info=lambda text: self.send(sender, ("info", text)))
        except _BAD_TASK as exc:  # bad input (maybe from another node), not a broken worker
            return self._refuse(caller, f"{type(exc).__name__}: {exc}")

    def _refuse(self, caller: Caller, why: str) -> Any:
        self.send(caller.address, Reply(caller.ref, ok=False, error="bad_request", reason=why))
        return NOREPLY
