"""The child wrapper: the protocol every supervised actor speaks, and :class:`Worker`.

Thespian tells a parent only *that* a child exited (``ChildActorExited``, no reason)
and answers an exception in ``receiveMessage`` by retrying the message and then
returning it as ``PoisonMessage`` -- the actor and its state survive. megabrain
mirrors OTP instead:

* every supervised actor tells its supervisor why it exits, before it exits
  (:class:`~actors.runtime.messages.ExitReport` with ``normal``, ``shutdown`` or
  ``abnormal`` + reason + traceback);
* an exception in a worker's handler crashes the worker (let it crash): it reports
  ``abnormal``, drops every later message, and its supervisor ends it;
* a death with no report (SIGKILL, OOM) is seen by the supervisor as ``killed``;
* in the multi-process modes a child dies with its supervisor's process
  (``PR_SET_PDEATHSIG``), as linked processes do in OTP.

Contract for the supervisor: a child never exits on its own. It reports, then waits
for the ``ActorExitRequest`` its supervisor sends on receiving the report, so the
report always arrives before Thespian's ``ChildActorExited``.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import signal
import traceback as tb
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ChildActorExited,
    PoisonMessage,
    WakeupMessage,
)

from actors.runtime.messages import (
    ABNORMAL,
    KILLED,
    NORMAL,
    SHUTDOWN,
    Demonitor,
    Exit,
    ExitReport,
    Init,
    Monitor,
    Reply,
    Request,
    Shutdown,
    Started,
    WhereIs,
)

__all__ = ["ReplyCallback", "SupervisedActor", "Worker", "crash_exit"]

log = logging.getLogger(__name__)

ReplyCallback = Callable[[Reply], None]
_PR_SET_PDEATHSIG = 1


def crash_exit(exc: BaseException) -> Exit:
    """The ``abnormal`` exit reason for an exception (type, message, traceback)."""
    text = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    return Exit(ABNORMAL, f"{type(exc).__name__}: {exc}", text)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a link, OTP-wise)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - non-Linux
        return
    if os.getppid() != parent_pid:  # parent already gone before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


class _Deadline:
    """Wakeup payload: the deadline of an outstanding request."""

    __slots__ = ("ref",)

    def __init__(self, ref: str) -> None:
        self.ref = ref


class SupervisedActor(Actor):
    """Base of every actor that runs under a megabrain supervisor (the child wrapper).

    Subclasses implement :meth:`_on_init`, :meth:`_on_shutdown` and
    :meth:`_dispatch`; they never override ``receiveMessage``.
    """

    #: True for supervisors (sets a ChildSpec's default ``type``).
    is_supervisor: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.init_msg: Init | None = None
        self._gone = False
        self._refs = itertools.count()
        self._ref_prefix = uuid.uuid4().hex[:12]
        self._pending: dict[str, ReplyCallback] = {}

    # -- identity -------------------------------------------------------------

    @property
    def supervisor(self) -> Any:
        """The supervisor's address (for a root supervisor: the registry)."""
        return self.init_msg.supervisor if self.init_msg else None

    @property
    def registry(self) -> Any:
        """The runtime's registry address."""
        return self.init_msg.registry if self.init_msg else None

    @property
    def name(self) -> str | None:
        """The registered name of this child, if its spec has one."""
        return self.init_msg.name if self.init_msg else None

    def new_ref(self) -> str:
        """A fresh correlation id, unique in the runtime."""
        return f"{self._ref_prefix}.{next(self._refs)}"

    # -- Thespian entry point ----------------------------------------------------

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, ActorExitRequest):
            if not self._gone:
                self._on_exit_request()
                self._report(Exit(KILLED, "exit requested"))
            return
        if isinstance(msg, ChildActorExited):
            self._on_child_exited(msg.childAddress)
            return
        if self._gone:
            return
        try:
            if isinstance(msg, Init):
                self._begin(msg)
            elif isinstance(msg, Shutdown):
                self._on_shutdown(msg)
            elif isinstance(msg, Reply) and msg.ref in self._pending:
                self._pending.pop(msg.ref)(msg)
            elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, _Deadline):
                cb = self._pending.pop(msg.payload.ref, None)
                if cb is not None:
                    cb(Reply(msg.payload.ref, ok=False, error="timeout"))
            elif isinstance(msg, Reply | PoisonMessage):
                log.debug("%s dropped %r", type(self).__name__, msg)
            else:
                self._dispatch(msg, sender)
        except Exception as exc:  # let it crash
            self._crash(exc, msg, sender)

    def _begin(self, msg: Init) -> None:
        self.init_msg = msg
        if msg.mode != "simple" and msg.parent_pid != os.getpid():
            _die_with_parent(msg.parent_pid)
        if self._on_init(msg) and not self._gone:
            self._announce_started()

    def _announce_started(self) -> None:
        """Tell the supervisor this child has started (once ``_on_init`` is done)."""
        if self.init_msg is not None and not self._gone:
            msg = self.init_msg
            self.send(msg.supervisor, Started(msg.child_id, msg.incarnation, os.getpid()))

    def _crash(self, exc: BaseException, msg: Any, sender: Any) -> None:
        reason = crash_exit(exc)
        if isinstance(msg, Request):
            self.send(
                sender,
                Reply(
                    msg.ref,
                    ok=False,
                    error="crashed",
                    reason=reason.reason,
                    traceback=reason.traceback,
                ),
            )
        log.error("%s crashed: %s", type(self).__name__, reason.reason)
        self._report(reason)

    def _report(self, reason: Exit) -> None:
        """Tell the supervisor why we exit; from now on drop every message."""
        if self._gone:
            return
        self._gone = True
        for ref, cb in list(self._pending.items()):
            del self._pending[ref]
            with contextlib.suppress(Exception):
                cb(Reply(ref, ok=False, error="exiting"))
        if self.init_msg is not None:
            self.send(
                self.init_msg.supervisor,
                ExitReport(self.init_msg.child_id, self.init_msg.incarnation, reason),
            )

    # -- services for subclasses -------------------------------------------------

    def request(self, target: Any, payload: Any, timeout: float, on_reply: ReplyCallback) -> str:
        """Send ``Request(ref, payload)`` to ``target``; call ``on_reply`` exactly once
        with the matching :class:`Reply`, or with ``Reply(ok=False, error="timeout")``
        after ``timeout`` seconds. Late replies are dropped. Returns the ref."""
        ref = self.new_ref()
        self._pending[ref] = on_reply
        self.send(target, Request(ref, payload))
        self.wakeupAfter(timedelta(seconds=timeout), payload=_Deadline(ref))
        return ref

    def monitor(self, target: Any) -> str:
        """Monitor ``target`` (a registered name or an address); a :class:`Down` with
        the returned ref arrives when it exits (``noproc`` if it is not alive)."""
        ref = self.new_ref()
        self.send(self.registry, Request(self.new_ref(), Monitor(ref, target, self.myAddress)))
        return ref

    def demonitor(self, ref: str) -> None:
        """Cancel a monitor (a ``Down`` already sent may still arrive)."""
        self.send(self.registry, Request(self.new_ref(), Demonitor(ref)))

    def whereis(self, name: str, on_reply: ReplyCallback, timeout: float = 5.0) -> str:
        """Resolve ``name`` through the registry; ``on_reply`` gets the :class:`Reply`."""
        return self.request(self.registry, WhereIs(name), timeout, on_reply)

    # -- hooks ---------------------------------------------------------------------

    def _on_init(self, msg: Init) -> bool:
        """Start up; return True if started now, False if :meth:`_announce_started`
        will be called later."""
        raise NotImplementedError

    def _on_shutdown(self, msg: Shutdown) -> None:
        raise NotImplementedError

    def _dispatch(self, msg: Any, sender: Any) -> None:
        raise NotImplementedError

    def _on_exit_request(self) -> None:
        """Thespian is ending this actor (system shutdown or an explicit exit request)."""

    def _on_child_exited(self, address: Any) -> None:
        """A Thespian child of this actor exited."""


class Worker(SupervisedActor):
    """Base class of supervised worker actors (let it crash).

    Override :meth:`on_start` (the ``args`` of the child spec), :meth:`handle`
    (plain messages), :meth:`handle_call` (the payload of a :class:`Request`; the
    return value is the reply), :meth:`on_stop`. Any exception raised by these
    crashes the worker: a caller waiting on a request gets ``Reply(ok=False,
    error="crashed")``, the supervisor gets ``abnormal`` with the traceback.
    Call :meth:`stop` to exit with ``normal`` (or another reason).
    """

    def on_start(self, *args: Any) -> None:
        """Called once with the child spec's args before any other message."""

    def handle(self, msg: Any, sender: Any) -> None:
        """A plain message (also :class:`Down`, user ``WakeupMessage``)."""
        log.warning("%s ignored unexpected message %r", type(self).__name__, msg)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        """A request; the return value is sent back as the reply's value."""
        raise NotImplementedError(f"{type(self).__name__} does not handle {payload!r}")

    def on_stop(self, reason: str) -> None:
        """Called on an orderly shutdown by the supervisor, before reporting it."""

    def accept_shutdown(self, reason: str) -> bool:
        """Return False to ignore a shutdown request (the supervisor then kills the
        worker when the child spec's shutdown timeout expires)."""
        return True

    def stop(self, reason: str = NORMAL) -> None:
        """Exit with ``reason`` (``normal``, ``shutdown``, or any text for abnormal)."""
        if reason in (NORMAL, SHUTDOWN):
            self._report(Exit(NORMAL if reason == NORMAL else SHUTDOWN))
        else:
            self._report(Exit(ABNORMAL, reason))

    def _on_init(self, msg: Init) -> bool:
        self.on_start(*msg.args)
        return True

    def _on_shutdown(self, msg: Shutdown) -> None:
        if not self.accept_shutdown(msg.reason):
            return
        self.on_stop(msg.reason)
        self._report(Exit(SHUTDOWN))

    def _dispatch(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Request):
            value = self.handle_call(msg.payload, sender)
            self.send(sender, Reply(msg.ref, ok=True, value=value))
        else:
            self.handle(msg, sender)
