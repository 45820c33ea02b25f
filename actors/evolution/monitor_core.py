"""The population monitor's pure core: one evolution run as a deterministic state machine.

:class:`EvolutionCore` owns the population (genotypes by id), the per-species halls of fame,
the species table, the novelty archive, the counters and one :class:`random.Random`. The
monitor actor only moves data: it asks the core for tasks (:meth:`EvolutionCore.take_task`),
hands them to exoselves, feeds the results back (:meth:`EvolutionCore.complete`), reports
the :class:`StepReport` that comes out, and commits :meth:`EvolutionCore.checkpoint` to the
genotype store. Given the same seed and configuration the core makes the same decisions in
the same order whatever the order in which results arrive (generational evolution processes
a generation's results in population order), so a run is reproducible: same champion bytes,
same evaluation count. The core reads no clock.

Generational (DXNN's ``generational``): a generation's agents are evaluated; the fitness
postprocessor scores them; the selection algorithm plans the next generation
(:func:`~actors.evolution.selection.select_generation`): survivors are evaluated again,
allotments become mutant offspring (:func:`~actors.genotype.offspring`). Steady state
(DXNN2's ``steady_state``): each finished agent is offered to its species' pool
(:func:`~actors.evolution.selection.steady_state_select`) and replaced at once by an offspring
of a parent drawn from it (or by the parent itself, re-evaluated); statistics and checkpoints
come every ``population_size`` completions.

Stopping, checked after each generation (steady state: after each completion): an agent
solved the task (its scape's goal, the fitness goal if set, and the morphology's success
test; a generation ends as soon as the results of every agent up to the first solver, in
population order, are in: the rest are not needed, and the cut does not depend on the order
in which results arrive), the best fitness reached the fitness goal, the evaluations
limit, the generations limit.

Deviations from DXNN2 (documented in ``docs/evolve.md``): species are keyed by the
structural fingerprint (see :mod:`actors.evolution.setup`); at most ``population_size``
species halls of fame are kept, those with the best champions.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from actors.evolution.candidate import Candidate
from actors.evolution.config import EvolutionConfig
from actors.evolution.errors import EvolutionError
from actors.evolution.fitness import NoveltyArchive, PostprocessContext, postprocess
from actors.evolution.hall_of_fame import HallOfFame
from actors.evolution.selection import select_generation, steady_state_select
from actors.evolution.setup import build_constraint, species_key
from actors.evolution.species import Innovation, assign_species, update_innovation
from actors.genotype import (
    Agent,
    IdFactory,
    MorphologySpec,
    MutationNotApplicable,
    clone_agent,
    construct_agent,
    fingerprint_digest,
    offspring,
)
from actors.genotype.network import spec_from_agent
from actors.neural.errors import SpecError

__all__ = ["EvalOutcome", "EvolutionCore", "StepReport", "Task"]


@dataclass(frozen=True, slots=True)
class Task:
    """Evaluate agent ``agent_id`` with seed ``seed`` (tuning unless ``tune`` is false)."""

    agent_id: str
    seed: int
    tune: bool = True


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    """What the core needs of an exoself's result."""

    agent: Agent
    fitness: tuple[float, ...]
    evaluations: int
    goal_reached: bool
    solved: bool
    behaviour: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class StepReport:
    """A generation (steady state: ``population_size`` completions) is over.

    ``candidates`` are the evaluated agents in population order, ``evaluations`` the
    evaluations they took, ``stop`` the reason the run ends (empty: it goes on).
    """

    generation: int
    candidates: tuple[Candidate, ...]
    evaluations: int
    total_evaluations: int
    solved_by: str | None
    stop: str
    champion_id: str | None
    champion_fitness: tuple[float, ...] | None


@dataclass
class CoreState:
    """Everything of a run besides the genotypes; serialised by :mod:`.checkpoint`."""

    generation: int = 0
    evaluations: int = 0
    pending: list[Task] = field(default_factory=list)
    halls: dict[str, HallOfFame] = field(default_factory=dict)
    species: dict[str, str] = field(default_factory=dict)
    archive: NoveltyArchive | None = None
    innovation: Innovation = field(default_factory=Innovation)
    champion: Agent | None = None
    champion_fitness: tuple[float, ...] | None = None
    solved_by: str | None = None
    evaluations_to_solve: int | None = None
    finished: str = ""
    step_done: int = 0


class EvolutionCore:
    """One run (see the module docstring). Build with :meth:`new` or :meth:`restore`."""

    def __init__(
        self,
        morphology: MorphologySpec,
        config: EvolutionConfig,
        population_id: str,
        rng: random.Random,
        state: CoreState,
        agents: Mapping[str, Agent],
    ) -> None:
        self.morphology = morphology
        self.config = config
        self.population_id = population_id
        self.rng = rng
        self.state = state
        self.agents: dict[str, Agent] = dict(agents)
        self.constraint = build_constraint(morphology.name, config)
        self.steady = config.monitor.evolution_type == "steady_state"
        self._running: list[Task] = []
        self._results: dict[str, EvalOutcome] = {}
        self._abandoned: set[str] = set()
        self._step: list[tuple[Candidate, tuple[float, ...]]] = []
        self._step_evals = 0
        self._solved_now = False

    # -- construction -------------------------------------------------------------------

    @classmethod
    def new(
        cls, morphology: MorphologySpec, config: EvolutionConfig, population_id: str, seed: int
    ) -> EvolutionCore:
        """A fresh run: ``population_size`` seed agents (DXNN2's ``construct_SeedNN``)."""
        core = cls(morphology, config, population_id, random.Random(seed), CoreState(), {})
        for _ in range(config.monitor.population_size):
            agent = construct_agent(morphology, core.constraint, core.rng)
            core._admit(agent)
        return core

    @classmethod
    def restore(
        cls,
        morphology: MorphologySpec,
        config: EvolutionConfig,
        population_id: str,
        rng_state: object,
        state: CoreState,
        agents: Mapping[str, Agent],
    ) -> EvolutionCore:
        """Continue a checkpointed run (see :mod:`actors.evolution.checkpoint`)."""
        rng = random.Random()
        rng.setstate(rng_state)  # type: ignore[arg-type]
        missing = [t.agent_id for t in state.pending if t.agent_id not in agents]
        if missing:
            raise EvolutionError(f"checkpoint lacks agents {missing[:3]}")
        return cls(morphology, config, population_id, rng, state, agents)

    def _admit(self, agent: Agent) -> Agent:
        """Give a new agent its population and species ids and queue its evaluation."""
        key = species_key(agent)
        known: dict[Hashable, str] = {k: v for k, v in self.state.species.items()}
        table = {str(k): v for k, v in assign_species([key], known).items()}
        self.state.species = table
        agent = dataclasses.replace(agent, population_id=self.population_id, specie_id=table[key])
        self.agents[agent.id] = agent
        self.state.pending.append(Task(agent.id, self.rng.getrandbits(63)))
        return agent

    def immigrate(self, agent: Agent) -> Agent:
        """Adopt a genotype from outside the run (another node's champion, DXNN's
        ``inject_genotype``): it is cloned under fresh local ids (none taken by this
        population), keeps its lineage, generation and search parameters, loses its
        fitness, and is queued for evaluation like any new agent -- in generational mode it
        joins the generation being evaluated (or the next one, between steps), so the
        selection weighs it against the local agents. Returns the local agent.

        Raises :class:`EvolutionError` when the run is over, the genotype is of another
        morphology, or it has no phenotype.
        """
        if self.state.finished:
            raise EvolutionError(f"the run is over ({self.state.finished})")
        if agent.morphology != self.morphology:
            raise EvolutionError(
                f"a {agent.morphology.name} genotype in a {self.morphology.name} run"
            )
        try:
            spec_from_agent(agent)
        except SpecError as exc:
            raise EvolutionError(f"genotype has no phenotype: {exc}") from exc
        ids = IdFactory(self.rng)
        ids.reserve(self.agents)
        local = dataclasses.replace(clone_agent(agent, self.rng, ids), fitness=None)
        return self._admit(local)

    def _child(self, parent: Agent) -> Agent:
        """A mutant of ``parent``; a plain clone if no mutation operator applies to it."""
        try:
            return offspring(parent, self.rng)
        except MutationNotApplicable:
            child = clone_agent(parent, self.rng)
            return dataclasses.replace(child, parent_ids=(parent.id,), fitness=None)

    # -- the driver's interface -----------------------------------------------------------

    @property
    def finished(self) -> str:
        """The reason the run ended, or ``""``."""
        return self.state.finished

    @property
    def running(self) -> tuple[Task, ...]:
        return tuple(self._running)

    def take_task(self) -> Task | None:
        """The next evaluation to start, or ``None`` (nothing pending, or finished)."""
        if self.state.finished or not self.state.pending:
            return None
        task = self.state.pending.pop(0)
        self._running.append(task)
        return task

    def complete(self, task: Task, outcome: EvalOutcome) -> StepReport | None:
        """Feed back a finished task; returns a report when a generation/step ends."""
        if task.agent_id in self._abandoned:
            self._abandoned.discard(task.agent_id)
            return None
        if task not in self._running:
            raise EvolutionError(f"task for {task.agent_id} is not running")
        if self.state.finished:
            self._running.remove(task)
            return None
        if outcome.agent.id != task.agent_id:
            raise EvolutionError("outcome for a different agent")
        if self.steady:
            self._running.remove(task)
            return self._steady_complete(outcome)
        self._results[task.agent_id] = outcome
        order = [t.agent_id for t in self._running] + [t.agent_id for t in self.state.pending]
        done = None
        for k, aid in enumerate(order):
            if aid not in self._results:
                break
            if self._results[aid].solved:
                done = k + 1  # the first solver in population order ends the run
                break
        if done is None and len(self._results) == len(order):
            done = len(order)
        if done is None:
            return None
        results = [self._results.pop(aid) for aid in order[:done]]
        self._abandoned.update(t.agent_id for t in self._running if t.agent_id in order[done:])
        self._running.clear()
        self.state.pending.clear()
        self._results.clear()
        return self._end_generation(results)

    # -- shared steps ---------------------------------------------------------------------

    def _account(self, outcome: EvalOutcome) -> Candidate:
        agent = outcome.agent
        self.agents[agent.id] = agent
        self.state.evaluations += outcome.evaluations
        self._step_evals += outcome.evaluations
        st = self.state
        if outcome.solved and (
            st.solved_by is None
            or (self._solved_now and outcome.fitness[0] > (st.champion_fitness or (0.0,))[0])
        ):
            # the champion is the best of the agents that solved the task in this step
            if st.solved_by is None:
                st.evaluations_to_solve = st.evaluations
            self._solved_now = True
            st.solved_by = agent.id
            st.champion, st.champion_fitness = agent, outcome.fitness
        elif st.solved_by is None and (
            st.champion_fitness is None or outcome.fitness[0] > st.champion_fitness[0]
        ):
            st.champion, st.champion_fitness = agent, outcome.fitness
        return Candidate(
            agent.id,
            outcome.fitness,
            max(1, len(agent.neurons)),
            agent.specie_id or "s0",
            fingerprint_digest(agent),
            agent.generation,
        )

    def _stop_reason(self) -> str:
        st, stop = self.state, self.config.stopping
        if st.solved_by is not None:
            return "solved"
        best = st.champion_fitness[0] if st.champion_fitness else None
        if stop.fitness_goal is not None and best is not None and best >= stop.fitness_goal:
            return "fitness goal"
        if stop.max_evaluations is not None and st.evaluations >= stop.max_evaluations:
            return "evaluation limit"
        if stop.max_generations is not None and st.generation + 1 >= stop.max_generations:
            return "generation limit"
        return ""

    def _scores(
        self, cands: Sequence[Candidate], behaviours: Mapping[str, Sequence[float]]
    ) -> tuple:
        out = postprocess(
            self.config.monitor.fitness_postprocessor,
            cands,
            PostprocessContext(behaviours, self.state.archive, self.config.novelty.params()),
        )
        if out.archive is not None:
            self.state.archive = out.archive
        return out.scored

    def _report(self, cands: Sequence[Candidate], stop: str) -> StepReport:
        st = self.state
        report = StepReport(
            generation=st.generation,
            candidates=tuple(cands),
            evaluations=self._step_evals,
            total_evaluations=st.evaluations,
            solved_by=st.solved_by,
            stop=stop,
            champion_id=st.champion.id if st.champion else None,
            champion_fitness=st.champion_fitness,
        )
        self._step_evals = 0
        self._solved_now = False
        st.innovation = update_innovation(st.innovation, max(c.main_fitness for c in cands))
        if stop:
            st.finished = stop
        else:
            st.generation += 1
        return report

    def _prune(self) -> None:
        """Keep at most ``population_size`` halls (best champions first) and only the
        genotypes someone still needs."""
        halls = self.state.halls
        limit = self.config.monitor.population_size
        if len(halls) > limit:
            ranked = sorted(
                halls.items(),
                key=lambda kv: -max((c.score for c in kv[1].champions), default=float("-inf")),
            )
            self.state.halls = dict(sorted(ranked[:limit]))
        keep = {t.agent_id for t in self.state.pending} | {t.agent_id for t in self._running}
        for hall in self.state.halls.values():
            keep.update(hall.ids())
        self.agents = {k: v for k, v in self.agents.items() if k in keep}

    # -- generational -------------------------------------------------------------------

    def _end_generation(self, results: Sequence[EvalOutcome]) -> StepReport:
        cands = [self._account(r) for r in results]
        behaviours = {r.agent.id: r.behaviour for r in results}
        stop = self._stop_reason()
        report = self._report(cands, stop)
        if stop:
            return report
        cfg = self.config
        plan = select_generation(
            cfg.monitor.selection_algorithm,
            self._scores(cands, behaviours),
            cfg.monitor.population_size,
            self.rng,
            halls=self.state.halls,
            params=cfg.selection.params(),
        )
        self.state.halls = dict(plan.halls)
        for aid in plan.survivors:
            self.state.pending.append(Task(aid, self.rng.getrandbits(63)))
        for allot in plan.allotments:
            parent = self.agents[allot.parent_id]
            for _ in range(allot.offspring):
                self._admit(self._child(parent))
        self._prune()
        return report

    # -- steady state ---------------------------------------------------------------------

    def _steady_complete(self, outcome: EvalOutcome) -> StepReport | None:
        cand = self._account(outcome)
        self._step.append((cand, outcome.behaviour))
        self.state.step_done += 1
        stop = self._stop_reason()
        cfg = self.config
        if not stop:
            scored = self._scores([cand], {cand.agent_id: outcome.behaviour})[0]
            sid = cand.specie_id
            pool = self.state.halls.get(sid, HallOfFame(sid))
            choice = steady_state_select(
                cfg.monitor.selection_algorithm,
                scored,
                pool,
                self.rng,
                pool_limit=cfg.monitor.population_size,
                params=cfg.selection.params(),
            )
            self.state.halls[sid] = choice.pool
            parent = self.agents[choice.parent_id]
            if choice.reevaluate:
                self.state.pending.append(Task(parent.id, self.rng.getrandbits(63)))
            else:
                self._admit(self._child(parent))
            self._prune()
        if stop or self.state.step_done >= cfg.monitor.population_size:
            cands = [c for c, _ in self._step]
            self._step.clear()
            self.state.step_done = 0
            return self._report(cands, stop)
        return None
