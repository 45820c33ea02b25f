"""Run an evolution: start the actor system, the supervision tree and the monitor; report.

:func:`evolve` is what ``megabrain evolve`` calls, and the Python API::

    from actors.evolution.run import EvolveOptions, evolve
    result = evolve(EvolveOptions("xor", seed=1, config=cfg), reporters=[ConsoleReporter()])
    result.solved, result.evaluations, result.champion      # champion: an Agent
    net = result.network()                                  # the champion, callable
    net([-1.0, 1.0])

(:func:`actors.evolution.api.evolve`, also ``actors.evolve``, is the one-call form with
keyword settings.)

The supervision tree (``one_for_all``: if the monitor dies, its exoselves go with it)::

    evolution (Supervisor, one_for_all)
    ├── exoselves (Supervisor, one_for_one)
    │   ├── exoself-0 (ExoselfWorker)
    │   └── ...                        one per --workers
    └── monitor (PopulationMonitor)

In ``simple`` mode everything runs in this process, deterministically; in ``local`` mode
every actor is an OS process on 127.0.0.1 and the exoselves evaluate agents in parallel.
With ``remote`` (:mod:`actors.evolution.remote_workers`) a gateway is started first and each
``exoself-K`` is a :func:`~actors.remote.supervision.remote_child` (a local stand-in of an
exoself placed on a ``megabrain worker`` node).
This module is the shell that reads the clock: it times each step and turns the monitor's
replies into :class:`~actors.evolution.stats.GenerationStats` for the reporters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

from actors.evolution.backends import check_backend
from actors.evolution.cluster import ClusterOptions, wait_for_placement
from actors.evolution.config import EvolutionConfig
from actors.evolution.errors import EvolutionError, EvolutionUsageError
from actors.evolution.exoself import ExoselfWorker
from actors.evolution.exoself_core import phenotype_network
from actors.evolution.monitor import (
    Immigrate,
    Immigrated,
    PopulationMonitor,
    RunStart,
    RunStatus,
    RunStep,
    StartRun,
    StepDone,
    StepProgress,
)
from actors.evolution.remote_workers import (
    RemoteWorkers,
    remote_exoselves,
    wait_for_workers,
    where_exoselves,
)
from actors.evolution.reporters import Reporter, ReporterSet
from actors.evolution.species import species_stats
from actors.evolution.stats import GenerationStats, RunInfo, RunSummary, generation_stats
from actors.genotype import Agent, decode_agent
from actors.genotype.network import spec_from_agent
from actors.neural.compiled import CompiledNetwork
from actors.remote.gateway import remote_node_spec
from actors.runtime import (
    ChildSpec,
    SupervisorArgs,
    SupFlags,
    start_system,
)
from actors.runtime.supervisor import Supervisor
from morphologies import StepNetwork, get_morphology

__all__ = ["EvolveOptions", "ProgressHook", "RunResult", "StepHook", "evolve"]

#: Seconds one generation may take before the driver gives up on the monitor.
STEP_TIMEOUT = 6 * 3600.0


@dataclass(frozen=True)
class EvolveOptions:
    """One run. ``config`` holds every monitor, stopping, selection, tuning and constraint
    knob; the rest is how the run is executed. ``cluster`` (required by, and only for,
    ``runtime="cluster"``) says how to join the convention and where the exoselves go
    (:mod:`actors.evolution.cluster`). ``remote`` places the ``workers`` exoselves on other
    nodes of a mesh realm (:mod:`actors.evolution.remote_workers`)."""

    morphology: str
    seed: int = 1
    config: EvolutionConfig = field(default_factory=EvolutionConfig)
    backend: str = "compiled"
    runtime: str = "simple"
    workers: int = 1
    store: str | None = None
    resume: bool = False
    cluster: ClusterOptions | None = None
    remote: RemoteWorkers | None = None


class StepHook(Protocol):
    """Called by :func:`evolve` between steps, e.g. to share champions with other nodes
    (:mod:`actors.distributed`). ``after_step`` sees every step's reply and returns genotypes
    (canonical encodings) to adopt into the population; each is sent to the monitor as an
    :class:`Immigrate` and ``adopted`` gets the monitor's answer.

    A hook with a true ``wants_progress`` attribute and a ``progress`` method (see
    :class:`ProgressHook`) is also called within steps, each time a tuned agent beats every
    fitness seen in the run (:class:`StepProgress`); what it returns is adopted at once and
    joins the step under way."""

    def after_step(self, step: StepDone) -> Sequence[bytes]: ...

    def adopted(self, data: bytes, result: Immigrated) -> None: ...


class ProgressHook(StepHook, Protocol):
    """A :class:`StepHook` that also hears of improvements within a step."""

    wants_progress: bool

    def progress(self, news: StepProgress) -> Sequence[bytes]: ...


@dataclass(frozen=True)
class RunResult:
    """How a run ended (see :class:`RunSummary` for the reporters' view). ``config`` is the
    run's effective configuration as TOML tables (:meth:`EvolutionConfig.to_dict`; on resume
    the stored settings with the new stopping limits). ``placement`` (``cluster`` runs) says
    where each exoself was started: ``(child id, pid on its host, actor address)``."""

    morphology: str
    seed: int
    solved: bool
    reason: str
    evaluations: int
    evaluations_to_solve: int | None
    generations: int
    best_fitness: float
    champion: Agent | None
    wall_seconds: float
    resumed_from: int | None
    history: tuple[GenerationStats, ...] = ()
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    placement: tuple[tuple[str, int | None, str], ...] = ()

    @property
    def champion_size(self) -> tuple[int, int] | None:
        return None if self.champion is None else self.champion.size()

    def network(self) -> StepNetwork:
        """The champion as a callable network, compiled: ``net(inputs) -> outputs`` with the
        flat vectors of the morphology (its sensors' values in order in, its actuators' out),
        ``net.reset()`` to zero its recurrent state -- the network a fitness function gets.
        Raises :class:`EvolutionError` when the run has no champion."""
        if self.champion is None:
            raise EvolutionError("the run has no champion")
        spec = spec_from_agent(self.champion)
        return phenotype_network(
            get_morphology(self.morphology),
            CompiledNetwork(spec),
            [s.name for s in spec.sensors],
            [(a.name, len(a.sources)) for a in spec.actuators],
        )


def _tree(
    workers: int,
    requirements: Mapping[str, Any] | None = None,
    remote: tuple[ChildSpec, ...] | None = None,
) -> tuple[ChildSpec, ...]:
    exoselves = remote or tuple(
        ChildSpec(
            f"exoself-{k}",
            ExoselfWorker,
            name=f"exoself-{k}",
            requirements=dict(requirements) if requirements else None,
        )
        for k in range(workers)
    )
    # a remote node that dies takes all its exoselves at once: room for two such losses
    flags = SupFlags("one_for_one", intensity=max(10, 2 * workers), period=60.0)
    return (
        ChildSpec("exoselves", Supervisor, (SupervisorArgs(flags, exoselves),)),
        ChildSpec("monitor", PopulationMonitor, name="monitor"),
    )


def _result(
    opts: EvolveOptions,
    status: RunStatus,
    started: float,
    history: Sequence[GenerationStats],
    generations: int,
    placement: tuple[tuple[str, int | None, str], ...] = (),
) -> RunResult:
    champion = None if status.champion is None else decode_agent(status.champion)
    best = status.champion_fitness[0] if status.champion_fitness else float("nan")
    return RunResult(
        morphology=opts.morphology,
        seed=opts.seed,
        solved=status.solved_by is not None,
        reason=status.finished,
        evaluations=status.evaluations,
        evaluations_to_solve=status.evaluations_to_solve,
        generations=generations,
        best_fitness=best,
        champion=champion,
        wall_seconds=time.monotonic() - started,
        resumed_from=status.resumed_from,
        history=tuple(history),
        config=MappingProxyType(dict(status.config)),
        placement=placement,
    )


def _placement(rt: Any, top: Any) -> tuple[tuple[str, int | None, str], ...]:
    """Where each exoself runs: (child id, pid on its host, actor address)."""
    rows = {row.id: row for row in rt.which_children(top)}
    return tuple(
        (row.id, row.pid, str(row.address)) for row in rt.which_children(rows["exoselves"].address)
    )


@contextmanager
def _end_on_interrupt(
    out: ReporterSet, history: list[GenerationStats], started: float
) -> Iterator[None]:
    """On Ctrl-C (or SIGTERM, which the CLI turns into the same): the reporters end the run
    with reason ``interrupted`` (the plot is drawn, the stats file closed), then the actor
    system shuts down. The store keeps the last generation the monitor committed."""
    try:
        yield
    except KeyboardInterrupt:
        last = history[-1] if history else None
        out.end_run(
            RunSummary(
                solved=False,
                evaluations=last.total_evaluations if last else 0,
                generations=last.generation + 1 if last else 0,
                best_fitness=max((s.fitness_max for s in history), default=float("nan")),
                champion_id=None,
                wall_seconds=time.monotonic() - started,
                reason="interrupted",
            )
        )
        raise


def evolve(
    opts: EvolveOptions, reporters: Sequence[Reporter] = (), hook: StepHook | None = None
) -> RunResult:
    """Run (or resume) an evolution to its end; see the module docstring. ``hook`` (see
    :class:`StepHook`) is called after every step and may hand genotypes to adopt.

    Raises :class:`~actors.evolution.errors.EvolutionError` subclasses for bad settings
    (unknown morphology or backend, a store that already holds the run without ``resume``)
    and :class:`~actors.runtime.RequestFailed` if the monitor fails.
    """
    get_morphology(opts.morphology)
    check_backend(opts.backend)
    if opts.workers < 1:
        raise EvolutionUsageError("workers must be >= 1")
    if (opts.runtime == "cluster") != (opts.cluster is not None):
        raise EvolutionUsageError("runtime 'cluster' needs cluster options, and only it takes them")
    system_options = opts.cluster.system_options() if opts.cluster is not None else {}
    requirements = opts.cluster.exoself_requirements if opts.cluster is not None else None
    out = ReporterSet(reporters)
    started = time.monotonic()
    history: list[GenerationStats] = []
    cfg = opts.config
    start = RunStart(
        morphology=opts.morphology,
        seed=opts.seed,
        config=cfg.to_dict(),
        backend=opts.backend,
        store=opts.store,
        resume=opts.resume,
    )
    with (
        start_system(opts.runtime, **system_options) as rt,
        _end_on_interrupt(out, history, started),
    ):
        if opts.cluster is not None and requirements:
            wait_for_placement(rt, requirements, opts.cluster.placement_timeout)
        remote = None
        if opts.remote is not None:
            rt.start_root(remote_node_spec(opts.remote.gateway), timeout=60.0)
            wait_for_workers(rt, opts.remote, opts.morphology)
            remote = remote_exoselves(opts.remote, opts.morphology, opts.workers)
        top = rt.start_supervisor(
            SupFlags("one_for_all", intensity=1, period=60.0),
            _tree(opts.workers, requirements, remote),
            id="evolution",
            timeout=60.0 + 30.0 * opts.workers if remote else 10.0,
        )
        placement: tuple[tuple[str, int | None, str], ...] = ()
        if opts.cluster is not None:
            placement = _placement(rt, top)
        elif remote is not None:
            placement = where_exoselves(rt, opts.workers)
        monitor = rt.whereis("monitor")
        start = replace(
            start,
            workers=tuple(rt.whereis(f"exoself-{k}") for k in range(opts.workers)),
            remote=remote is not None,
        )
        watch = rt.monitor(monitor)
        status: RunStatus = rt.request(monitor, StartRun(start), 120.0, watch=watch)
        out.start_run(
            RunInfo(
                morphology=opts.morphology,
                seed=opts.seed,
                population_size=cfg.monitor.population_size,
                max_evaluations=cfg.stopping.max_evaluations,
                max_generations=cfg.stopping.max_generations,
                fitness_goal=cfg.stopping.fitness_goal,
                resumed_from_generation=(
                    None if status.resumed_from is None else status.resumed_from - 1
                ),
            )
        )
        generations = status.generation + (1 if status.finished else 0)
        wants = hook is not None and bool(getattr(hook, "wants_progress", False))
        while not status.finished:
            t0 = time.monotonic()
            out.start_generation(status.generation)
            step = rt.request(monitor, RunStep(progress=wants), STEP_TIMEOUT, watch=watch)
            while isinstance(step, StepProgress):
                assert hook is not None
                for data in hook.progress(step):  # type: ignore[attr-defined]
                    hook.adopted(data, rt.request(monitor, Immigrate(data), 120.0, watch=watch))
                step = rt.request(monitor, RunStep(progress=True), STEP_TIMEOUT, watch=watch)
            now = time.monotonic()
            report = step.report
            stats = generation_stats(
                report.generation,
                report.candidates,
                evaluations=report.evaluations,
                total_evaluations=report.total_evaluations,
                wall_seconds=now - t0,
                elapsed_seconds=now - started,
                validation_fitness=step.validation_fitness,
            )
            history.append(stats)
            for text in step.infos:
                out.info(text)
            for text in step.details:
                out.detail(text)
            out.end_generation(stats, species_stats(report.candidates))
            if report.solved_by is not None and step.status.finished == "solved":
                out.found_solution(stats, report.solved_by)
            status = step.status
            generations = report.generation + 1
            if hook is not None and not status.finished:
                for data in hook.after_step(step):
                    hook.adopted(data, rt.request(monitor, Immigrate(data), 120.0, watch=watch))
            elif hook is not None:
                hook.after_step(step)
    result = _result(opts, status, started, history, generations, placement)
    out.end_run(
        RunSummary(
            solved=result.solved,
            evaluations=result.evaluations,
            generations=result.generations,
            best_fitness=result.best_fitness,
            champion_id=None if result.champion is None else result.champion.id,
            wall_seconds=result.wall_seconds,
            reason=result.reason,
        )
    )
    return result
