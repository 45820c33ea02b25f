"""The population monitor actor: drives an :class:`EvolutionCore` with exoself workers.

:class:`PopulationMonitor` is a supervised :class:`~actors.runtime.Worker`. It holds the
run's pure core, the genotype store and a set of :class:`~actors.evolution.exoself.ExoselfWorker`
actors, registered as ``exoself-0``, ``exoself-1``... (their own supervisor restarts one that
crashes; the monitor then resolves the name again and repeats the task: same seed, same
result). It speaks two requests:

* :class:`StartRun` -- open the store, start or resume the run, resolve the workers; the
  reply is a :class:`RunStatus`;
* :class:`RunStep` -- evaluate until the core reports a generation (steady state: a
  reporting step), commit it to the store, validate the champion if the op mode asks, and
  reply with a :class:`StepDone`. Evaluations are spread over every idle worker, so in
  ``local`` mode (one OS process per worker) agents are evaluated in parallel.

The caller (:func:`actors.evolution.run.evolve`) turns the replies into statistics for the
reporters; the monitor reads no clock. Replies are deferred (a :class:`StepDone` is sent when
the last exoself of the generation answered), so the monitor stays responsive.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.evolution.checkpoint import RunRecord, commit, load_run
from actors.evolution.config import config_from_mapping
from actors.evolution.errors import EvolutionError
from actors.evolution.exoself import EvaluateAgent, ExoselfResult
from actors.evolution.monitor_core import EvalOutcome, EvolutionCore, StepReport, Task
from actors.evolution.setup import morphology_spec
from actors.genotype import Agent, GenotypeDecodeError, GenotypeStore, decode_agent, encode_agent
from actors.runtime import Reply, Request, Worker
from morphologies import get_morphology

__all__ = [
    "Immigrate",
    "Immigrated",
    "PopulationMonitor",
    "RunStart",
    "RunStatus",
    "RunStep",
    "StartRun",
    "StepDone",
    "StepProgress",
]

log = logging.getLogger(__name__)
#: Seconds an exoself may take for one agent before the monitor gives up on it.
TASK_TIMEOUT = 3600.0
#: A task whose exoself crashed is repeated at most this many times.
TASK_RETRIES = 3
#: After a crash, look the restarted worker up this many times, this many seconds apart.
RESOLVE_ATTEMPTS = 100
RESOLVE_DELAY = 0.05


@dataclass(frozen=True, slots=True)
class RunStart:
    """What to run. ``config`` is :meth:`EvolutionConfig.to_dict` output (plain data, so the
    message pickles); ``store`` a SQLite path or ``None`` (no checkpoints); ``workers`` the
    addresses of the exoself workers ``exoself-0``, ``exoself-1``... in order."""

    morphology: str
    seed: int
    config: Mapping[str, Any]
    backend: str = "compiled"
    store: str | None = None
    resume: bool = False
    workers: tuple[Any, ...] = ()
    #: the workers stand in for exoselves on other nodes: tasks travel as bytes
    remote: bool = False


@dataclass(frozen=True, slots=True)
class StartRun:
    start: RunStart


@dataclass(frozen=True, slots=True)
class RunStep:
    """Evaluate the next generation (or steady-state step). With ``progress`` the monitor
    may answer before the step is over, with a :class:`StepProgress` each time a tuned agent
    beats every fitness seen in the run so far; the driver then sends ``RunStep`` again and
    the same step goes on (its agents were never stopped). The core's decisions do not
    depend on it: a run with progress replies is the run without them."""

    progress: bool = False


@dataclass(frozen=True, slots=True)
class StepProgress:
    """Mid-step news (see :class:`RunStep`): ``agent`` (canonical encoding, tuned weights)
    scored ``fitness``; ``evaluations`` is the run's count including the step's finished
    agents."""

    agent: bytes
    fitness: tuple[float, ...]
    generation: int
    evaluations: int


@dataclass(frozen=True, slots=True)
class Immigrate:
    """Adopt a genotype from outside (``agent``: its canonical encoding) into the running
    population: see :meth:`EvolutionCore.immigrate`. Answered at once, even during a step,
    with :class:`Immigrated`."""

    agent: bytes


@dataclass(frozen=True, slots=True)
class Immigrated:
    """The local id the immigrant got, or ``None`` and why it was refused."""

    agent_id: str | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class RunStatus:
    """Where the run stands. ``champion`` is the champion's encoding."""

    population_id: str
    generation: int
    evaluations: int
    finished: str
    solved_by: str | None
    evaluations_to_solve: int | None
    champion: bytes | None
    champion_fitness: tuple[float, ...] | None
    resumed_from: int | None = None
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepDone:
    """One reported step: the core's report, messages, a validation result. ``details`` are
    messages for verbose output only (failed success tests)."""

    report: StepReport
    status: RunStatus
    infos: tuple[str, ...] = ()
    validation_fitness: float | None = None
    restarts: int = 0
    details: tuple[str, ...] = ()


class PopulationMonitor(Worker):
    """See the module docstring. Args: none (everything comes with :class:`StartRun`)."""

    def on_start(self, *args: Any) -> None:
        self.core: EvolutionCore | None = None
        self.record: RunRecord | None = None
        self.store: GenotypeStore | None = None
        self.workers: dict[str, Any] = {}
        self.remote = False
        self.idle: list[str] = []
        self.running: dict[str, tuple[Task, int, bool]] = {}  # worker -> (task, tries, val.)
        self.waiting: Request | None = None
        self.waiting_sender: Any = None
        self.infos: list[str] = []
        self.details: list[str] = []
        self.report: StepReport | None = None
        self.validation: float | None = None
        self.validating = False
        self.restarts = 0
        self.resumed_from: int | None = None
        self.next_validation = 0
        self.pending_validation: Task | None = None
        # progress replies (RunStep.progress): a step may span several requests
        self.in_step = False
        self.progress_wanted = False
        self.progress_best: float | None = None
        self.step_evals = 0
        self.held: StepProgress | StepDone | None = None  # ready while no request waits
        self.held_failure: str | None = None

    # -- requests -----------------------------------------------------------------------

    def _dispatch(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Request) and isinstance(msg.payload, StartRun | RunStep):
            if self.waiting is not None:
                self.send(sender, Reply(msg.ref, ok=False, error="busy", reason="busy"))
                return
            self.waiting, self.waiting_sender = msg, sender
            if isinstance(msg.payload, StartRun):
                self._start(msg.payload.start)
                return
            self.progress_wanted = msg.payload.progress
            if self.held_failure is not None:
                error, self.held_failure = self.held_failure, None
                self._fail(error)
            elif self.held is not None:
                value, self.held = self.held, None
                self._reply(value)
            elif not self.in_step:
                self._step()
            # else: a progress reply went out and the step goes on; this request waits
            return
        super()._dispatch(msg, sender)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, Immigrate):
            return self._immigrate(payload)
        return super().handle_call(payload, sender)

    def _immigrate(self, msg: Immigrate) -> Immigrated:
        if self.core is None:
            return Immigrated(None, "no run started")
        try:
            local = self.core.immigrate(decode_agent(msg.agent))
        except (EvolutionError, GenotypeDecodeError) as exc:
            return Immigrated(None, str(exc))
        self.infos.append(f"adopted {local.id} from outside the run")
        if self.in_step:
            self._pump()  # a step is running: an idle worker may take it at once
        return Immigrated(local.id)

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, tuple) and len(msg) == 2 and msg[0] == "info":
            self.infos.append(str(msg[1]))
        else:
            super().handle(msg, sender)

    def on_stop(self, reason: str) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def _reply(self, value: Any) -> None:
        req, sender = self.waiting, self.waiting_sender
        self.waiting = self.waiting_sender = None
        if req is not None:
            self.send(sender, Reply(req.ref, ok=True, value=value))

    def _fail(self, error: str) -> None:
        req, sender = self.waiting, self.waiting_sender
        self.waiting = self.waiting_sender = None
        if req is not None:
            self.send(sender, Reply(req.ref, ok=False, error="failed", reason=error))
        elif self.in_step:  # between two requests of a step: the next one gets it
            self.held_failure = error
        self.in_step = False

    # -- starting -----------------------------------------------------------------------

    def _start(self, start: RunStart) -> None:
        if self.core is not None:
            self._fail("a run is already started")
            return
        config = config_from_mapping(start.config)
        spec = morphology_spec(get_morphology(start.morphology))
        pop_id = f"{start.morphology}-{start.seed}"
        self.record = RunRecord(start.morphology, start.seed, start.backend, config)
        if start.store is not None:
            self.store = GenotypeStore(start.store)
        loaded = None
        if self.store is not None:
            loaded = load_run(self.store, pop_id, spec) if start.resume else None
            if not start.resume and self.store.last_checkpoint(pop_id) is not None:
                self._fail(
                    f"store {start.store} already holds run {pop_id}: pass --resume to "
                    "continue it, or use another store"
                )
                return
        if loaded is not None:
            stored, core = loaded
            # the stored run decides everything but the stopping limits
            merged = dict(stored.config.to_dict())
            merged["stopping"] = config.to_dict()["stopping"]
            config = config_from_mapping(merged)
            core.config = config
            self.record = RunRecord(start.morphology, start.seed, stored.backend, config)
            self.core = core
            self.resumed_from = core.state.generation
        else:
            self.core = EvolutionCore.new(spec, config, pop_id, start.seed)
            if self.store is not None:
                commit(self.store, self.core, self.record)
        interval = config.monitor.validation_interval
        self.next_validation = (self.core.state.evaluations // interval + 1) * interval
        if not start.workers:
            self._fail("no exoself workers")
            return
        self.remote = start.remote
        for k, address in enumerate(start.workers):
            self.workers[f"exoself-{k}"] = address
            self.idle.append(f"exoself-{k}")
        self._reply(self._status())

    def _status(self) -> RunStatus:
        assert self.core is not None and self.record is not None
        st = self.core.state
        return RunStatus(
            population_id=self.core.population_id,
            generation=st.generation,
            evaluations=st.evaluations,
            finished=st.finished,
            solved_by=st.solved_by,
            evaluations_to_solve=st.evaluations_to_solve,
            champion=None if st.champion is None else encode_agent(st.champion),
            champion_fitness=st.champion_fitness,
            resumed_from=self.resumed_from,
            config=self.record.config.to_dict(),
        )

    # -- stepping -----------------------------------------------------------------------

    def _step(self) -> None:
        if self.core is None:
            self._fail("no run started")
            return
        if self.core.finished:
            self._fail(f"the run is over ({self.core.finished})")
            return
        self.report = None
        self.validation = None
        self.in_step = True
        self.step_evals = 0
        self._pump()

    def _pump(self) -> None:
        core = self.core
        assert core is not None and self.record is not None
        if self.report is not None:
            if not self.running:
                self._finish_step()
            return
        # steady state: never more agents in flight than one reporting step holds, so no
        # step can end while the previous one's reply is still pending
        limit = core.config.monitor.population_size if core.steady else len(self.workers)
        while self.idle and len(self.running) < limit:
            task = core.take_task()
            if task is None:
                break
            self._send_task(self.idle.pop(0), task, 0, validation=False)

    def _task_message(self, task: Task, validation: bool) -> EvaluateAgent:
        core, record = self.core, self.record
        assert core is not None and record is not None
        agent = core.state.champion if validation else core.agents[task.agent_id]
        assert agent is not None
        # inside one process the immutable record itself travels; between processes, bytes
        data: bytes | Agent = agent if self._in_process() else encode_agent(agent)
        return EvaluateAgent(
            agent=data,
            morphology=record.morphology,
            seed=task.seed,
            backend=record.backend,
            tune=task.tune,
            fitness_goal=record.config.stopping.fitness_goal,
            min_improvement=record.config.tuning.min_improvement,
        )

    def _in_process(self) -> bool:
        return self.init_msg is not None and self.init_msg.mode == "simple" and not self.remote

    def _send_task(self, worker: str, task: Task, tries: int, *, validation: bool) -> None:
        self.running[worker] = (task, tries, validation)
        self.request(
            self.workers[worker],
            self._task_message(task, validation),
            TASK_TIMEOUT,
            functools.partial(self._done, worker),
        )

    def _done(self, worker: str, reply: Reply) -> None:
        task, tries, validation = self.running.pop(worker)
        core = self.core
        assert core is not None
        if not reply.ok:
            self._retry(worker, task, tries, validation, reply)
            return
        result: ExoselfResult = reply.value
        self.restarts += result.restarts
        self.idle.append(worker)
        if validation:
            self.validation = result.fitness[0]
            self.validating = False
            self._pump()
            return
        outcome = EvalOutcome(
            result.agent if isinstance(result.agent, Agent) else decode_agent(result.agent),
            result.fitness,
            result.evaluations,
            result.goal_reached,
            result.solved,
            result.behaviour,
        )
        if result.tested:
            verdict = "passed" if result.solved else "failed"
            figures = ", ".join(f"{k} {v:g}" for k, v in result.success)
            line = f"{result.agent_id}: success test {verdict} ({figures})"
            (self.infos if result.solved else self.details).append(line)
        report = core.complete(task, outcome)
        self.step_evals += outcome.evaluations
        if report is not None and self.report is None:
            self.report = report
            self._after_report()
        elif report is None and self.report is None and not outcome.solved:
            self._progress(outcome)
        self._pump()

    def _progress(self, outcome: EvalOutcome) -> None:
        """Tell the driver of a tuned agent better than anything seen in the run yet."""
        core = self.core
        assert core is not None
        if not self.progress_wanted or not outcome.fitness:
            return
        fit = outcome.fitness[0]
        champion = core.state.champion_fitness
        seen = (self.progress_best, champion[0] if champion else None)
        bar = max((f for f in seen if f is not None), default=None)
        if bar is not None and not fit > bar:
            return
        self.progress_best = fit
        news = StepProgress(
            encode_agent(outcome.agent),
            outcome.fitness,
            core.state.generation,
            core.state.evaluations + self.step_evals,
        )
        if self.waiting is not None:
            self._reply(news)
        else:  # the driver is busy with earlier news: this better one replaces it
            self.held = news

    def _retry(self, worker: str, task: Task, tries: int, validation: bool, reply: Reply) -> None:
        self.restarts += 1
        what = f"exoself {worker} failed on {task.agent_id} ({reply.error}: {reply.reason})"
        log.warning(what)
        if tries + 1 > TASK_RETRIES:
            self._fail(f"{what}; giving up after {TASK_RETRIES} retries")
            return
        self.infos.append(f"{what}; repeating the evaluation")
        if reply.error == "crashed":  # its supervisor restarts it: wait for the new address
            self._reresolve(worker, str(self.workers[worker]), 0, task, tries + 1, validation)
        else:  # it answered (a refused task, a remote timeout): it is still there
            self._send_task(worker, task, tries + 1, validation=validation)

    def _reresolve(
        self, worker: str, old: str, attempt: int, task: Task, tries: int, validation: bool
    ) -> None:
        """Find the restarted worker: its name must point to a new address (right after a
        crash the registry may still hold the old one); poll a few times, then give up."""

        def resolved(r: Reply) -> None:
            if r.ok and r.value is not None and str(r.value) != old:
                self.workers[worker] = r.value
                self._send_task(worker, task, tries, validation=validation)
            elif attempt < RESOLVE_ATTEMPTS:
                self.call_later(
                    RESOLVE_DELAY,
                    lambda: self._reresolve(worker, old, attempt + 1, task, tries, validation),
                )
            else:
                self._fail(f"exoself {worker} did not come back after a crash")

        self.whereis(worker, resolved)

    def _after_report(self) -> None:
        core, record = self.core, self.record
        assert core is not None and record is not None and self.report is not None
        if self.store is not None:
            commit(self.store, core, record)
        cfg = record.config.monitor
        if (
            cfg.op_mode in ("validation", "test")
            and core.state.champion is not None
            and core.state.evaluations >= self.next_validation
        ):
            interval = cfg.validation_interval
            self.next_validation = (core.state.evaluations // interval + 1) * interval
            self.validating = True
            seed = core.state.evaluations  # a fixed, reproducible validation seed
            task = Task(core.state.champion.id, seed, tune=False)
            if self.idle:
                self._send_task(self.idle.pop(0), task, 0, validation=True)
            else:
                self.pending_validation = task

    def _finish_step(self) -> None:
        if self.validating:
            pending = self.pending_validation
            if pending is not None and self.idle:
                self.pending_validation = None
                self._send_task(self.idle.pop(0), pending, 0, validation=True)
            return
        assert self.report is not None
        done = StepDone(
            report=self.report,
            status=self._status(),
            infos=tuple(self.infos),
            validation_fitness=self.validation,
            restarts=self.restarts,
            details=tuple(self.details),
        )
        self.infos.clear()
        self.details.clear()
        self.restarts = 0
        self.in_step = False
        if self.waiting is not None:
            self._reply(done)
        else:  # the driver is handling a progress reply: the next request gets it
            self.held = done
