"""OTP supervisors on Thespian.

A :class:`Supervisor` is itself a supervised actor (it reports its exit like any
child), so trees nest. Its args are one
:class:`~actors.runtime.messages.SupervisorArgs` (flags + child specs).

Behaviour mirrors OTP's ``supervisor``:

* children start in spec order; they stop in reverse order, one at a time, each
  with its spec's shutdown (``brutal_kill``: killed at once; ``N`` ms: asked to
  stop, killed when the timeout passes; ``infinity``: asked, waited for);
* strategies ``one_for_one``, ``one_for_all``, ``rest_for_one``,
  ``simple_one_for_one`` (one template, children added by ``start_child``);
* restart types permanent / transient / temporary (see :mod:`actors.runtime.supervisor_core`);
* more than ``intensity`` restarts in ``period`` seconds: stop every child and
  exit with ``shutdown`` (``reached_max_restart_intensity``), which the parent
  supervisor handles like any child exit (escalation);
* operations arrive as :class:`~actors.runtime.messages.Request` payloads
  (``StartChild``, ``TerminateChild``, ``RestartChild``, ``DeleteChild``,
  ``WhichChildren``, ``CountChildren``). While a stop sequence runs, later
  operations wait their turn. Unknown messages are logged and dropped.

Differences from OTP, by construction: a child's ``on_start`` runs after the
supervisor has created it, so a failing ``on_start`` is an ``abnormal`` exit counted
against the restart intensity rather than a failed ``start_child``.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, WakeupMessage

from actors.runtime.child import SupervisedActor
from actors.runtime.errors import ChildSpecError
from actors.runtime.messages import (
    KILLED,
    SHUTDOWN,
    ChildCounts,
    ChildDown,
    ChildInfo,
    ChildUp,
    CountChildren,
    DeleteChild,
    Exit,
    ExitReport,
    Init,
    Reply,
    Request,
    RestartChild,
    Shutdown,
    StartChild,
    Started,
    SupervisorArgs,
    TerminateChild,
    WhichChildren,
)
from actors.runtime.spec import ChildSpec, SupFlags, check_children
from actors.runtime.supervisor_core import IntensityWindow, restart_plan, restart_wanted

__all__ = ["Supervisor", "check_children"]

log = logging.getLogger(__name__)
MAX_INTENSITY_REASON = "reached_max_restart_intensity"


@dataclass
class _Child:
    spec: ChildSpec
    address: Any = None
    pid: int | None = None
    incarnation: int = 0
    killing: bool = False
    dynamic: bool = False
    system: str | None = None
    start_timer: str | None = None
    waiters: list[tuple[Any, str]] | None = None  # (caller, ref) told once started


@dataclass(frozen=True, slots=True)
class _StopTimeout:
    child_id: str
    incarnation: int


@dataclass(frozen=True, slots=True)
class _Exited:
    child_id: str
    reason: Exit


class Supervisor(SupervisedActor):
    """An OTP-style supervisor actor (see the module docstring)."""

    is_supervisor = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flags = SupFlags()
        self._children: dict[str, _Child] = {}
        self._order: list[str] = []
        self._template: ChildSpec | None = None
        self._dyn_counter = 0
        self._window = IntensityWindow(1, 5.0)
        self._stop_queue: list[str] = []
        self._stopping: str | None = None
        self._start_queue: list[str] = []
        self._starting: str | None = None
        self._after: Callable[[], None] | None = None
        self._deferred: list[tuple[Any, Any]] = []
        self._terminating = False

    # -- lifecycle as a child ----------------------------------------------------

    def _on_init(self, msg: Init) -> bool:
        (args,) = msg.args
        if not isinstance(args, SupervisorArgs):
            raise ChildSpecError(f"Supervisor args must be SupervisorArgs, got {args!r}")
        check_children(args.flags, args.children)
        self.flags = args.flags
        if msg.mode == "cluster":
            self.notifyOnSystemRegistrationChanges(True)
        self._window = IntensityWindow(args.flags.intensity, args.flags.period)
        if args.flags.strategy == "simple_one_for_one":
            self._template = args.children[0]
            return True
        for spec in args.children:
            self._add(spec)
        # OTP: a supervisor has started once all its children have, one by one.
        self._sequence([], [spec.id for spec in args.children], self._announce_started)
        return False

    def _on_shutdown(self, msg: Shutdown) -> None:
        self._terminate_all(Exit(SHUTDOWN))

    def _on_exit_request(self) -> None:
        self._terminating = True

    def _terminate_all(self, reason: Exit) -> None:
        self._terminating = True
        self._deferred.clear()
        self._start_queue.clear()
        self._starting = None
        self._sequence(list(reversed(self._order)), [], lambda: self._report(reason))

    # -- message dispatch ----------------------------------------------------------

    def _dispatch(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, ExitReport):
            self._on_report(msg, sender)
        elif isinstance(msg, Started):
            self._on_started(msg, sender)
        elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, _StopTimeout):
            self._on_stop_timeout(msg.payload)
        elif self._busy():
            self._deferred.append((msg, sender))
        elif isinstance(msg, _Exited):
            self._decide(msg.child_id, msg.reason)
        elif isinstance(msg, Request):
            self._operation(msg, sender)
        else:
            log.warning("supervisor %s dropped unknown message %r", self.name, msg)

    def _busy(self) -> bool:
        return (
            self._stopping is not None
            or self._starting is not None
            or bool(self._stop_queue or self._start_queue)
        )

    def _drain(self) -> None:
        while self._deferred and not self._busy() and not self._gone:
            msg, sender = self._deferred.pop(0)
            self._dispatch(msg, sender)

    # -- child bookkeeping ------------------------------------------------------------

    def _add(self, spec: ChildSpec, dynamic: bool = False) -> None:
        self._children[spec.id] = _Child(spec, dynamic=dynamic)
        self._order.append(spec.id)

    def _remove(self, child_id: str) -> None:
        self._children.pop(child_id, None)
        if child_id in self._order:
            self._order.remove(child_id)

    def _running(self) -> set[str]:
        return {cid for cid, c in self._children.items() if c.address is not None}

    def _start(self, child_id: str) -> Any:
        child = self._children[child_id]
        spec = child.spec
        child.incarnation += 1
        child.killing = False
        child.pid = None
        try:
            address = self.createActor(
                spec.actor, targetActorRequirements=spec.requirements or None
            )
        except Exception as exc:  # e.g. no system meets the requirements
            log.error("supervisor %s could not create %s: %s", self.name, child_id, exc)
            failed = Exit("abnormal", f"start failed: {exc}")
            self._fail_waiters(child, failed)
            self._deferred.append((_Exited(child_id, failed), None))
            return None
        child.address = address
        assert self.init_msg is not None
        if self.init_msg.mode != "simple":
            inc = child.incarnation
            child.start_timer = self.call_later(
                self.flags.start_timeout, lambda: self._start_timed_out(child_id, inc)
            )
        self.send(
            address,
            Init(
                child_id=child_id,
                args=spec.args,
                supervisor=self.myAddress,
                registry=self.registry,
                name=spec.name,
                mode=self.init_msg.mode,
                incarnation=child.incarnation,
                parent_pid=os.getpid(),
            ),
        )
        return address

    def _on_started(self, msg: Started, sender: Any) -> None:
        child = self._children.get(msg.child_id)
        if child is None or child.incarnation != msg.incarnation or child.address is None:
            return
        child.address = sender
        child.pid = msg.pid
        if child.start_timer is not None:
            self.cancel(child.start_timer)
            child.start_timer = None
        child.system = msg.system
        self.send(self.registry, ChildUp(sender, self.myAddress, child.spec.name, msg.system))
        for caller, ref in child.waiters or ():
            self._reply(caller, ref, sender)
        child.waiters = None
        if self._starting == msg.child_id:
            self._starting = None
            self._continue()

    def _on_report(self, msg: ExitReport, sender: Any) -> None:
        child = self._children.get(msg.child_id)
        if child is None or child.incarnation != msg.incarnation or child.address is None:
            return
        self.send(sender, ActorExitRequest())
        self._exited(msg.child_id, Exit(KILLED) if child.killing else msg.reason)

    def _start_timed_out(self, child_id: str, incarnation: int) -> None:
        child = self._children.get(child_id)
        if child is None or child.incarnation != incarnation:
            return
        child.start_timer = None
        if child.pid is None and child.address is not None:
            log.error("supervisor %s: %s did not start in time", self.name, child_id)
            self.send(child.address, ActorExitRequest())
            self._exited(child_id, Exit("abnormal", "start timed out"))

    def _on_system_lost(self, system: str) -> None:
        """Children placed on a vanished convention member are dead (``killed``):
        Thespian 4.0.1 does not always tell their parent."""
        for cid, child in list(self._children.items()):
            if child.address is not None and child.system == system:
                self._exited(cid, Exit(KILLED, f"actor system {system} lost"))

    def _on_child_exited(self, address: Any) -> None:
        for cid, child in self._children.items():
            if child.address is not None and child.address == address:
                self._exited(cid, Exit(KILLED))
                return

    def _exited(self, child_id: str, reason: Exit) -> None:
        """Child ``child_id`` is gone: tell the registry, then continue a stop
        sequence or decide on a restart."""
        child = self._children[child_id]
        if child.address is not None:
            self.send(self.registry, ChildDown(child.address, reason))
        self._fail_waiters(child, reason)
        if child.start_timer is not None:
            self.cancel(child.start_timer)
            child.start_timer = None
        child.address = None
        child.pid = None
        if self._stopping == child_id:
            self._stopping = None
            self._continue()
        elif self._starting == child_id:  # died before reporting Started
            self._starting = None
            self._deferred.append((_Exited(child_id, reason), None))
            self._continue()
        elif child_id in self._stop_queue:
            self._stop_queue.remove(child_id)
        elif self._terminating or self._gone:
            return
        elif self._busy():
            self._deferred.append((_Exited(child_id, reason), None))
        else:
            self._decide(child_id, reason)

    def _fail_waiters(self, child: _Child, reason: Exit) -> None:
        for caller, ref in child.waiters or ():
            self.send(
                caller,
                Reply(
                    ref,
                    ok=False,
                    error="crashed",
                    reason=reason.reason or reason.kind,
                    traceback=reason.traceback,
                ),
            )
        child.waiters = None

    # -- restarts ------------------------------------------------------------------

    def _decide(self, child_id: str, reason: Exit) -> None:
        child = self._children.get(child_id)
        if child is None or child.address is not None:
            return
        if not restart_wanted(child.spec.restart, reason):
            if child.spec.restart == "temporary" or child.dynamic:
                self._remove(child_id)
            return
        if not self._window.add(time.monotonic()):
            log.error("supervisor %s: %s; shutting down", self.name, MAX_INTENSITY_REASON)
            self._terminate_all(Exit(SHUTDOWN, MAX_INTENSITY_REASON))
            return
        plan = restart_plan(self.flags.strategy, self._order, self._running(), child_id)
        # OTP drops the temporary children that a restart stops.
        temporary = {c for c in plan.stop if self._children[c].spec.restart == "temporary"}

        def drop_temporary() -> None:
            for cid in temporary:
                self._remove(cid)

        start = [c for c in plan.start if c not in temporary]
        self._sequence(list(plan.stop), start, drop_temporary)

    # -- ordered stopping and starting ----------------------------------------------

    def _sequence(self, stop: list[str], start: list[str], then: Callable[[], None] | None) -> None:
        """Stop ``stop`` one at a time in this order, then start ``start`` one at a
        time (each waits for the previous one's ``Started``), then call ``then``."""
        running = self._running()
        self._stop_queue = [cid for cid in stop if cid in running]
        self._start_queue = list(start)
        self._after = then
        self._continue()

    def _continue(self) -> None:
        while self._stopping is None and self._stop_queue:
            cid = self._stop_queue.pop(0)
            child = self._children.get(cid)
            if child is None or child.address is None:
                continue
            self._stopping = cid
            seconds = child.spec.shutdown_seconds()
            if seconds == 0.0:
                self._kill(child)
            else:
                self.send(child.address, Shutdown())
                if seconds is not None:
                    self.wakeupAfter(
                        timedelta(seconds=seconds), payload=_StopTimeout(cid, child.incarnation)
                    )
        if self._stopping is not None or self._stop_queue:
            return
        while self._starting is None and self._start_queue and not self._terminating:
            cid = self._start_queue.pop(0)
            child = self._children.get(cid)
            if child is None or child.address is not None:
                continue
            if self._start(cid) is not None:
                self._starting = cid
        if self._starting is not None or self._start_queue:
            return
        then, self._after = self._after, None
        if then is not None:
            then()
        self._drain()

    def _on_stop_timeout(self, timeout: _StopTimeout) -> None:
        child = self._children.get(timeout.child_id)
        if (
            self._stopping == timeout.child_id
            and child is not None
            and child.incarnation == timeout.incarnation
            and child.address is not None
        ):
            log.warning("supervisor %s: %s ignored shutdown; killing", self.name, child.spec.id)
            self._kill(child)

    def _kill(self, child: _Child) -> None:
        """Brutal kill: SIGKILL in the multi-process modes, else an exit request."""
        child.killing = True
        assert self.init_msg is not None
        if self.init_msg.mode != "simple" and child.pid and child.pid != os.getpid():
            try:
                os.kill(child.pid, signal.SIGKILL)
                return
            except ProcessLookupError:
                pass
        self.send(child.address, ActorExitRequest())

    # -- operations ------------------------------------------------------------------

    def _reply(self, to: Any, ref: str, value: Any = None, refused: str = "") -> None:
        if refused:
            self.send(to, Reply(ref, ok=False, error="refused", reason=refused))
        else:
            self.send(to, Reply(ref, ok=True, value=value))

    def _find(self, key: Any) -> str | None:
        if isinstance(key, str):
            return key if key in self._children else None
        for cid, child in self._children.items():
            if child.address is not None and child.address == key:
                return cid
        return None

    def _operation(self, req: Request, sender: Any) -> None:
        op, ref = req.payload, req.ref
        simple = self.flags.strategy == "simple_one_for_one"
        if isinstance(op, WhichChildren):
            rows = [
                ChildInfo(
                    cid,
                    c.address if c.pid is not None else None,
                    str(c.spec.type),
                    c.spec.restart,
                    c.spec.name,
                    c.pid,
                    c.incarnation,
                )
                for cid in self._order
                for c in (self._children[cid],)
            ]
            self._reply(sender, ref, rows)
        elif isinstance(op, CountChildren):
            kids = list(self._children.values())
            self._reply(
                sender,
                ref,
                ChildCounts(
                    specs=len(kids),
                    active=sum(1 for c in kids if c.address is not None),
                    supervisors=sum(1 for c in kids if c.spec.type == "supervisor"),
                    workers=sum(1 for c in kids if c.spec.type == "worker"),
                ),
            )
        elif isinstance(op, StartChild):
            self._op_start(op, ref, sender, simple)
        elif isinstance(op, TerminateChild):
            cid = self._find(op.id)
            if cid is None:
                self._reply(sender, ref, refused="not_found")
                return
            child, found = self._children[cid], cid

            def done() -> None:
                if child.spec.restart == "temporary" or child.dynamic:
                    self._remove(found)
                self._reply(sender, ref, None)

            self._sequence([cid], [], done)
        elif isinstance(op, RestartChild | DeleteChild):
            cid = self._find(op.id)
            if simple:
                self._reply(sender, ref, refused="simple_one_for_one")
            elif cid is None:
                self._reply(sender, ref, refused="not_found")
            elif self._children[cid].address is not None:
                self._reply(sender, ref, refused="running")
            elif isinstance(op, RestartChild):
                self._start_replying(cid, sender, ref)
            else:
                self._remove(cid)
                self._reply(sender, ref, None)
        else:
            log.warning("supervisor %s: unknown request %r", self.name, op)
            self.send(sender, Reply(ref, ok=False, error="bad_request", reason=repr(op)[:200]))

    def _op_start(self, op: StartChild, ref: str, sender: Any, simple: bool) -> None:
        if simple:
            assert self._template is not None
            self._dyn_counter += 1
            dyn = replace(
                self._template,
                id=f"{self._template.id}-{self._dyn_counter}",
                args=self._template.args + tuple(op.extra_args),
                name=None,
            )
            self._add(dyn, dynamic=True)
            self._start_replying(dyn.id, sender, ref)
            return
        spec: ChildSpec | None = op.spec
        if not isinstance(spec, ChildSpec):
            self._reply(sender, ref, refused="bad_spec")
        elif spec.id in self._children:
            running = self._children[spec.id].address is not None
            self._reply(sender, ref, refused="already_started" if running else "already_present")
        elif spec.name and any(c.spec.name == spec.name for c in self._children.values()):
            self._reply(sender, ref, refused="name_taken")
        else:
            self._add(spec)
            self._start_replying(spec.id, sender, ref)

    def _start_replying(self, child_id: str, caller: Any, ref: str) -> None:
        """Start a child; reply with its address once it reports ``Started``."""
        self._children[child_id].waiters = [(caller, ref)]
        self._sequence([], [child_id], None)
