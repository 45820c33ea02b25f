"""The island model without a network: N runs in one process, sharing at zero latency.

:func:`run_lockstep` drives ``nodes`` :class:`~actors.evolution.monitor_core.EvolutionCore`
instances one evaluation at a time, always advancing the node whose clock (its
evaluations, re-evaluations of immigrants included) is lowest, so the nodes move as if they
ran side by side at the same speed. Champions travel between them as the islands of
:mod:`actors.distributed.island` send them -- the same :class:`~.policy.PublishPolicy`, the
same re-evaluation before adoption (one untuned evaluation on the receiver, counted), the
same ``adopt_only_better`` rule -- but instantly (or after ``latency`` evaluations of the
receiver's clock), with no rate limit, and the receiver adopts at its next evaluation
instead of waiting for its generation to end.

It separates the algorithm from the transport: **what does sharing champions save on a
problem when messages cost nothing and take no time?** ``benchmarks/island.py`` reports its
isolated/sharing ratio beside the QUIC islands'. It is a reference, not a bound: latency
also slows the spread of one lineage, which can keep islands diverse, so real islands may do
better on a given seed set (they did on DPNV, see ``docs/distributed.md``). It is also a
reproducible test bed for migration policies: everything is seeded and no clock is
read, so a run is a pure function of its options. Node ``k`` of seed ``s`` is seeded
``1000 * s + k``, as the benchmark seeds its processes; an isolated node is exactly the run
``megabrain evolve MORPHOLOGY --seed 1000*s+k`` makes in ``simple`` mode.

The observer (``on_result``) sees every exoself result, which the DPNV plateau analysis in
``benchmarks/island.py`` uses to relate fitness to the success test.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from actors.distributed.errors import ShareUsageError
from actors.distributed.policy import PublishPolicy
from actors.evolution.config import EvolutionConfig
from actors.evolution.errors import EvolutionError
from actors.evolution.exoself import EvaluateAgent, ExoselfResult, run_exoself
from actors.evolution.monitor_core import EvalOutcome, EvolutionCore
from actors.evolution.setup import morphology_spec
from actors.genotype import Agent
from morphologies import get_morphology

__all__ = ["LockstepOptions", "LockstepResult", "node_seed", "run_lockstep"]

PUBLISH_MODES = ("generation", "evaluation")
#: The cores' generation limit (the driver's evaluation limit ends a run first).
UNLIMITED_GENERATIONS = 10**9


def node_seed(seed: int, k: int) -> int:
    """The seed of node ``k`` in run ``seed`` (the benchmark's convention)."""
    return 1000 * seed + k


@dataclass(frozen=True)
class LockstepOptions:
    """One simulated island run.

    ``publish``: ``"generation"`` offers the node's champion to the policy after each of its
    generations (what the mesh islands do); ``"evaluation"`` offers every tuned agent as its
    result comes in (the fastest a node could publish). ``latency``: evaluations of the
    receiver's clock between publication and delivery (0: at its next evaluation).
    ``max_evaluations``: per node clock; the run stops unsolved when every node passed it.
    """

    morphology: str
    nodes: int
    seed: int = 1
    config: EvolutionConfig = field(default_factory=EvolutionConfig)
    sharing: bool = True
    publish: str = "generation"
    latency: int = 0
    publish_threshold: float = 0.0
    publish_relative: float = 0.01
    adopt_only_better: bool = False
    max_evaluations: int = 100_000
    backend: str = "compiled"

    def __post_init__(self) -> None:
        if self.nodes < 1:
            raise ShareUsageError("nodes must be >= 1")
        if self.publish not in PUBLISH_MODES:
            raise ShareUsageError(f"publish must be one of {PUBLISH_MODES}, not {self.publish!r}")
        if self.latency < 0 or self.max_evaluations < 1:
            raise ShareUsageError("latency must be >= 0 and max_evaluations >= 1")


@dataclass(frozen=True)
class LockstepResult:
    """How the run ended. ``evaluations[k]``: node ``k``'s own evaluations (tuning
    included); ``reevaluations[k]``: its evaluations of immigrants; both at the moment the
    first solution came in (or the limit). ``evals_per_node``: the mean of their sums."""

    solved: bool
    solved_by: int | None
    evaluations: tuple[int, ...]
    reevaluations: tuple[int, ...]
    generations: tuple[int, ...]
    published: tuple[int, ...]
    adopted: tuple[int, ...]

    @property
    def evals_per_node(self) -> float:
        return statistics.fmean(
            e + r for e, r in zip(self.evaluations, self.reevaluations, strict=True)
        )


Observer = Callable[[int, ExoselfResult], None]


@dataclass
class _Node:
    core: EvolutionCore
    policy: PublishPolicy
    inbox: list[tuple[int, int, float, Agent]] = field(default_factory=list)
    evaluations: int = 0
    reevaluations: int = 0
    generations: int = 0
    published: int = 0
    adopted: int = 0

    @property
    def clock(self) -> int:
        return self.evaluations + self.reevaluations

    @property
    def best(self) -> float | None:
        fit = self.core.state.champion_fitness
        return None if fit is None else fit[0]


def _config(opts: LockstepOptions) -> EvolutionConfig:
    """The cores' own limits are lifted: the driver stops the run (``max_evaluations``)."""
    stopping = dataclasses.replace(
        opts.config.stopping, max_evaluations=None, max_generations=UNLIMITED_GENERATIONS
    )
    return dataclasses.replace(opts.config, stopping=stopping)


def run_lockstep(opts: LockstepOptions, on_result: Observer | None = None) -> LockstepResult:
    """Run ``opts.nodes`` islands until the first solution on any of them (see the module
    docstring); a node reaching ``fitness_goal`` (if set) also ends it. Raises
    :class:`~actors.evolution.errors.EvolutionError` if a node has nothing to evaluate."""
    spec = morphology_spec(get_morphology(opts.morphology))
    nodes = [
        _Node(
            EvolutionCore.new(spec, _config(opts), f"island-{k}", node_seed(opts.seed, k)),
            PublishPolicy(opts.publish_threshold, opts.publish_relative, 0.0),
        )
        for k in range(opts.nodes)
    ]
    order = itertools.count()  # ties in the inboxes: first sent, first delivered
    goal = opts.config.stopping.fitness_goal
    min_improvement = opts.config.tuning.min_improvement

    def result(solver: int | None) -> LockstepResult:
        return LockstepResult(
            solved=solver is not None,
            solved_by=solver,
            evaluations=tuple(n.evaluations for n in nodes),
            reevaluations=tuple(n.reevaluations for n in nodes),
            generations=tuple(n.generations for n in nodes),
            published=tuple(n.published for n in nodes),
            adopted=tuple(n.adopted for n in nodes),
        )

    def publish(k: int, fitness: float, agent: Agent) -> None:
        node = nodes[k]
        if not opts.sharing or not node.policy.consider(fitness, node.clock):
            return
        node.policy.published(fitness, node.clock)
        node.published += 1
        for j, other in enumerate(nodes):
            if j != k:
                heapq.heappush(
                    other.inbox, (other.clock + opts.latency, next(order), fitness, agent)
                )

    def deliver(node: _Node) -> None:
        while node.inbox and node.inbox[0][0] <= node.clock:
            _, _, claimed, agent = heapq.heappop(node.inbox)
            best = node.best
            if opts.adopt_only_better and best is not None and claimed <= best:
                continue
            task = EvaluateAgent(
                agent=agent, morphology=opts.morphology, backend=opts.backend,
                seed=node.core.rng.getrandbits(63), tune=False, check=False,
            )  # fmt: skip
            check = run_exoself(task)
            node.reevaluations += check.evaluations
            node.policy.seen(claimed)
            node.core.immigrate(agent)
            node.adopted += 1

    while True:
        k = min(range(len(nodes)), key=lambda i: (nodes[i].clock, i))
        node = nodes[k]
        if node.clock >= opts.max_evaluations:
            return result(None)
        deliver(node)
        task = node.core.take_task()
        if task is None:
            raise EvolutionError(f"island {k} stopped: {node.core.finished or 'no task'}")
        job = EvaluateAgent(
            agent=node.core.agents[task.agent_id], morphology=opts.morphology,
            seed=task.seed, backend=opts.backend, tune=task.tune, fitness_goal=goal,
            min_improvement=min_improvement,
        )  # fmt: skip
        res = run_exoself(job)
        if on_result is not None:
            on_result(k, res)
        node.evaluations += res.evaluations
        agent = res.agent
        assert isinstance(agent, Agent)
        outcome = EvalOutcome(
            agent, res.fitness, res.evaluations, res.goal_reached, res.solved, res.behaviour
        )
        report = node.core.complete(task, outcome)
        if res.solved:
            return result(k)
        if report is not None:
            node.generations += 1
            if report.stop:  # the fitness goal (the cores' other limits are lifted)
                return result(k if report.solved_by is not None else None)
        if opts.publish == "evaluation" and res.fitness:
            publish(k, res.fitness[0], agent)
        elif report is not None and node.core.state.champion is not None and node.best is not None:
            publish(k, node.best, node.core.state.champion)
