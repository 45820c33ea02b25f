"""The phenotype's elements as supervised Thespian actors (thin shells over
:mod:`actors.phenotype.elements_core`): :class:`Cortex`, :class:`Sensor`, :class:`Neuron`,
:class:`Actuator`, and :class:`ScapeHost` (DXNN's private scape, holding a morphology's scape).

They are :class:`~actors.runtime.child.Worker` s, so they run under a supervisor, report why
they exit, and crash on an exception (the owner sees a ``Down``). The per-cycle messages
(:class:`Forward`, :class:`Sync`, :class:`ActuatorSync`, :class:`Percept`, :class:`ActResult`)
are the phenotype's hot loop: each element lists them in the runtime's ``fast_handlers``
(:class:`~actors.runtime.child.SupervisedActor`), which serves them ahead of the wrapper's
dispatch chain with the same crash semantics; everything else goes through the wrapper. The
protocol is described in :mod:`actors.phenotype.messages`.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from actors.neural.spec import NeuronSpec
from actors.phenotype.elements_core import CortexCore, NeuronCore
from actors.phenotype.errors import PhenotypeProtocolError, PhenotypeUsageError
from actors.phenotype.messages import (
    Act,
    ActResult,
    ActuatorMode,
    ActuatorModeSet,
    ActuatorSync,
    ActuatorWire,
    CortexWire,
    Evaluate,
    EvaluationCompleted,
    Forward,
    GetBackup,
    GetWeights,
    NeuronBackup,
    NeuronControl,
    NeuronWire,
    NewScape,
    Percept,
    Reset,
    ResetPrep,
    ScapeReady,
    Sense,
    SensorWire,
    SetWeights,
    StepDone,
    StepRequest,
    Sync,
    Target,
    WeightBackup,
    WeightPerturb,
    WeightRestore,
)
from actors.runtime.child import Worker
from actors.runtime.messages import Reply, Request

__all__ = ["Actuator", "Cortex", "Neuron", "ScapeHost", "Sensor"]

log = logging.getLogger(__name__)


class Neuron(Worker):
    """DXNN's neuron. Args: ``(NeuronSpec, heredity)``."""

    fast_handlers = {Forward: "_forward"}

    def on_start(self, spec: NeuronSpec, heredity: str = "darwinian") -> None:
        self.core = NeuronCore(spec, heredity)
        self.targets: tuple[Target, ...] = ()
        self._out: list[tuple[Any, int]] = []
        self.epoch = 0
        self._deferred: list[tuple[Request, Any]] = []

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, NeuronWire):
            self.targets = payload.targets
            self._out = [(t.address, t.slot) for t in payload.targets]
            self._prime()
            return "ok"
        raise PhenotypeUsageError(f"neuron cannot handle {type(payload).__name__}")

    def _dispatch(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Request) and isinstance(msg.payload, NeuronControl):
            self._deferred.append((msg, sender))
            self._drain()
        else:
            super()._dispatch(msg, sender)

    def _forward(self, msg: Forward, sender: Any) -> None:
        if msg.epoch != self.epoch:
            if msg.epoch < self.epoch:
                return  # a stale signal from before the last reset
            raise PhenotypeProtocolError(f"signal of epoch {msg.epoch} at epoch {self.epoch}")
        out = self.core.receive(msg.slot, msg.values)
        if out is not None:
            vals = (out,)
            epoch = self.epoch
            send = self.send
            for address, slot in self._out:
                send(address, Forward(slot, epoch, vals))
            if self._deferred:
                self._drain()

    def _prime(self) -> None:
        """neuron.erl: ``fanout(RO_PIds, {self(), forward, [?RO_SIGNAL]})``."""
        for t in self.targets:
            if t.recurrent:
                self.send(t.address, Forward(t.slot, self.epoch, (0.0,)))

    def _drain(self) -> None:
        """Apply control requests in arrival order once their barrier is passed."""
        while self._deferred and self._deferred[0][0].payload.after <= self.core.fired:
            req, sender = self._deferred.pop(0)
            try:
                reply = Reply(req.ref, ok=True, value=self._control(req.payload))
            except PhenotypeUsageError as exc:  # bad input from the owner: refuse, live on
                reply = Reply(req.ref, ok=False, error="refused", reason=str(exc))
            self.send(sender, reply)

    def _control(self, op: NeuronControl) -> Any:
        core = self.core
        if isinstance(op, WeightPerturb):
            core.weight_perturb(op.spread, random.Random(op.seed))
        elif isinstance(op, WeightBackup):
            core.weight_backup()
        elif isinstance(op, WeightRestore):
            core.weight_restore()
        elif isinstance(op, GetWeights):
            return tuple(core.current)
        elif isinstance(op, GetBackup):
            return NeuronBackup(core.spec.id, tuple(core.backup), tuple(core.backup_deltas))
        elif isinstance(op, SetWeights):
            core.set_weights(op.weights)
        elif isinstance(op, ResetPrep):
            core.reset()
            self.epoch = op.epoch
            return "ready"
        elif isinstance(op, Reset):
            self._prime()
        else:
            raise PhenotypeUsageError(f"unknown neuron control {type(op).__name__}")
        return "ok"


class Sensor(Worker):
    """DXNN's sensor. Args: ``(name,)``. On :class:`Sync` it forwards the given vector, or
    senses the scape and forwards the percept."""

    fast_handlers = {Sync: "_sync", Percept: "_percept"}

    def on_start(self, name: str) -> None:
        self.sensor = name
        self.targets: tuple[Target, ...] = ()
        self.scape: Any = None
        self.epoch = 0

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, SensorWire):
            self.targets, self.scape = payload.targets, payload.scape
            return "ok"
        raise PhenotypeUsageError(f"sensor cannot handle {type(payload).__name__}")

    def _sync(self, msg: Sync, sender: Any) -> None:
        self.epoch = msg.epoch
        if msg.vector is not None:
            self._fanout(msg.vector)
        elif self.scape is None:
            raise PhenotypeProtocolError(f"sensor {self.sensor!r} has no scape to sense")
        else:
            self.send(self.scape, Sense(self.sensor, msg.cycle))

    def _percept(self, msg: Percept, sender: Any) -> None:
        self._fanout(msg.vector)

    def _fanout(self, vector: tuple[float, ...]) -> None:
        epoch, send = self.epoch, self.send
        for t in self.targets:
            send(t.address, Forward(t.slot, epoch, vector))


class Actuator(Worker):
    """DXNN's actuator. Args: ``(name, index, n_sources, scape_index)``: ``index`` in the
    spec's actuator order (for the cortex), ``scape_index`` in the morphology's (for the
    scape), ``n_sources`` the neurons it gathers from, in order."""

    fast_handlers = {Forward: "_forward", ActResult: "_act_result"}

    def on_start(self, name: str, index: int, n_sources: int, scape_index: int = -1) -> None:
        self.actuator = name
        self.index = index
        self.scape_index = scape_index
        self.n = n_sources
        self.buf: list[float | None] = [None] * n_sources
        self.count = 0
        self.cycle = 0
        self.cortex: Any = None
        self.scape: Any = None
        self.use_scape = False
        self.outputs: tuple[float, ...] = ()

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, ActuatorWire):
            self.cortex, self.scape = payload.cortex, payload.scape
            return "ok"
        raise PhenotypeUsageError(f"actuator cannot handle {type(payload).__name__}")

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, ActuatorMode):
            if msg.scape and self.scape is None:
                raise PhenotypeProtocolError(f"actuator {self.actuator!r} has no scape")
            self.use_scape = msg.scape
            self.send(sender, ActuatorModeSet(self.index, msg.scape))
        else:
            super().handle(msg, sender)

    def _forward(self, msg: Forward, sender: Any) -> None:
        if self.buf[msg.slot] is not None:
            raise PhenotypeProtocolError(f"actuator {self.actuator!r}: two signals on a link")
        self.buf[msg.slot] = msg.values[0]
        self.count += 1
        if self.count < self.n:
            return
        outputs: tuple[float, ...] = tuple(self.buf)  # type: ignore[arg-type]  # all set
        self.buf = [None] * self.n
        self.count = 0
        self.cycle += 1
        if self.use_scape:
            self.outputs = outputs
            self.send(self.scape, Act(self.scape_index, self.cycle, outputs))
        else:
            self.send(self.cortex, ActuatorSync(self.index, self.cycle, outputs))

    def _act_result(self, msg: ActResult, sender: Any) -> None:
        self.send(
            self.cortex,
            ActuatorSync(
                self.index, msg.cycle, self.outputs, msg.fitness, msg.halt, msg.goal_reached,
                msg.error,
            ),
        )  # fmt: skip


class Cortex(Worker):
    """DXNN's cortex. Args: ``(n_actuators,)``. Runs one cycle per :class:`StepRequest`, or an
    episode per :class:`Evaluate`, and answers the sender."""

    fast_handlers = {ActuatorSync: "_actuator_sync", StepRequest: "_step"}

    def on_start(self, n_actuators: int) -> None:
        self.core = CortexCore(n_actuators)
        self.sensors: tuple[Any, ...] = ()
        self.actuators: tuple[Any, ...] = ()
        self.scape: Any = None
        self.scape_mode = False
        self.job: StepRequest | Evaluate | None = None
        self.owner: Any = None
        self.pending = 0  # setup answers awaited before the first cycle
        self.error = ""
        self.started = 0.0

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, CortexWire):
            self.sensors, self.actuators, self.scape = (
                payload.sensors, payload.actuators, payload.scape,
            )  # fmt: skip
            return "ok"
        raise PhenotypeUsageError(f"cortex cannot handle {type(payload).__name__}")

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Evaluate):
            self._evaluate(msg, sender)
        elif isinstance(msg, ActuatorModeSet | ScapeReady):
            if isinstance(msg, ScapeReady) and msg.error:
                self.error = msg.error
            self.pending -= 1
            if self.pending == 0 and self.job is not None:
                self._start_cycles()
        else:
            super().handle(msg, sender)

    def _busy(self, job: StepRequest | Evaluate, sender: Any) -> bool:
        if self.job is None:
            return False
        reason = "the cortex is busy with another evaluation"
        if isinstance(job, StepRequest):
            self.send(sender, StepDone(job.ref, (), reason))
        else:
            self.send(sender, EvaluationCompleted(job.ref, 0.0, 0, 0.0, False, reason))
        return True

    def _step(self, msg: StepRequest, sender: Any) -> None:
        if self._busy(msg, sender):
            return
        if len(msg.inputs) != len(self.sensors):
            self.send(sender, StepDone(msg.ref, (), "wrong number of sensor vectors"))
            return
        self.job, self.owner, self.error = msg, sender, ""
        self._set_mode(False)
        if not self.pending:
            self._start_cycles()

    def _evaluate(self, msg: Evaluate, sender: Any) -> None:
        if self._busy(msg, sender):
            return
        if self.scape is None:
            self.send(sender, EvaluationCompleted(msg.ref, 0.0, 0, 0.0, False, "no scape"))
            return
        self.job, self.owner, self.error = msg, sender, ""
        self.started = time.monotonic()
        self._set_mode(True)
        self.pending += 1
        self.send(self.scape, NewScape(msg.seed))

    def _set_mode(self, scape: bool) -> None:
        if self.scape_mode != scape:
            self.scape_mode = scape
            for a in self.actuators:
                self.send(a, ActuatorMode(scape))
            self.pending += len(self.actuators)

    def _start_cycles(self) -> None:
        job = self.job
        assert job is not None
        if self.error:
            self._finish()
            return
        if isinstance(job, StepRequest):
            self.core.start(1)
            for s, vec in zip(self.sensors, job.inputs, strict=True):
                self.send(s, Sync(job.epoch, 1, vec))
        else:
            self.core.start(job.max_cycles)
            self._sync_all(job.epoch, 1)

    def _sync_all(self, epoch: int, cycle: int) -> None:
        for s in self.sensors:
            self.send(s, Sync(epoch, cycle, None))

    def _actuator_sync(self, msg: ActuatorSync, sender: Any) -> None:
        if self.job is None:
            raise PhenotypeProtocolError("actuator sync while the cortex is idle")
        if msg.error:
            self.error = msg.error
        end = self.core.actuator_sync(
            msg.index, msg.cycle, msg.outputs, msg.fitness, msg.halt or bool(msg.error),
            msg.goal_reached,
        )  # fmt: skip
        if end is None:
            return
        if end.done:
            self._finish(end.outputs)
        else:
            self._sync_all(self.job.epoch, end.next_cycle)

    def _finish(self, outputs: tuple[float, ...] = ()) -> None:
        job, owner = self.job, self.owner
        self.job = self.owner = None
        if isinstance(job, StepRequest):
            self.send(owner, StepDone(job.ref, outputs, self.error))
        elif isinstance(job, Evaluate):
            core = self.core
            self.send(
                owner,
                EvaluationCompleted(
                    job.ref, core.fitness, core.cycle, time.monotonic() - self.started,
                    core.goal_reached, self.error,
                ),
            )  # fmt: skip


class ScapeHost(Worker):
    """DXNN's private scape: holds one morphology scape. Args: ``(morphology_name,
    n_actuators)``. Actions of a cycle are applied in the morphology's actuator order once
    all have arrived, so the scape sees the same sequence as ``morphologies.run_episode``."""

    fast_handlers = {Sense: "_sense", Act: "_act"}

    def on_start(self, morphology: str, n_actuators: int) -> None:
        from morphologies import get_morphology

        self.morphology = get_morphology(morphology)
        self.n = n_actuators
        self.scape: Any = None
        self.acts: list[tuple[Act, Any]] = []

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, NewScape):
            try:
                self.scape = self.morphology.new_scape(random.Random(msg.seed))
                self.send(sender, ScapeReady(msg.seed))
            except Exception as exc:  # a scape factory failing is reported, not fatal
                self.scape = None
                self.send(sender, ScapeReady(msg.seed, f"{type(exc).__name__}: {exc}"))
        else:
            super().handle(msg, sender)

    def _sense(self, msg: Sense, sender: Any) -> None:
        if self.scape is None:
            raise PhenotypeProtocolError("sense before a scape was made")
        self.send(sender, Percept(msg.cycle, tuple(float(v) for v in self.scape.sense(msg.sensor))))

    def _act(self, msg: Act, sender: Any) -> None:
        self.acts.append((msg, sender))
        if len(self.acts) < self.n:
            return
        acts, self.acts = sorted(self.acts, key=lambda a: a[0].index), []
        names = self.morphology.actuators
        for act, to in acts:
            try:
                f, halt = self.scape.act(names[act.index].name, act.vector)
                res = ActResult(act.cycle, float(f), bool(halt), bool(self.scape.goal_reached))
            except Exception as exc:  # a bad action ends the episode with an error
                res = ActResult(act.cycle, 0.0, True, False, f"{type(exc).__name__}: {exc}")
            self.send(to, res)
