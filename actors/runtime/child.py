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
import itertools
import logging
import math
import os
import time
import traceback as tb
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ActorSystemConventionUpdate,
    ChildActorExited,
    PoisonMessage,
    ThespianWatch,
    WakeupMessage,
    WatchMessage,
)

from actors.runtime.errors import RuntimeConfigError
from actors.runtime.lifeline import tie_to_parent
from actors.runtime.messages import (
    ABNORMAL,
    KILLED,
    NORMAL,
    SHUTDOWN,
    Demonitor,
    Down,
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
from actors.runtime.remote_ref import (
    GATEWAY_NAME,
    Batch,
    GenotypeAdvertise,
    GenotypeFind,
    GlobalRegister,
    GlobalUnregister,
    GlobalWhereIs,
    RemoteCall,
    RemoteDemonitor,
    RemoteMonitor,
    RemoteRef,
    RemoteTell,
    RemoteTells,
    TopicPublish,
    TopicSubscribe,
    TopicUnsubscribe,
)
from actors.runtime.supervisor_core import DeadlineTable

__all__ = [
    "NOREPLY",
    "Caller",
    "ReplyCallback",
    "SupervisedActor",
    "Worker",
    "crash_exit",
    "system_key",
]

log = logging.getLogger(__name__)

#: Remote tells one actor holds in a turn before it hands them to the gateway.
_TURN_TELLS = 512

ReplyCallback = Callable[[Reply], None]


def system_key(address: Any) -> str | None:
    """``host:port`` of a Thespian TCP address (an Admin's), else None."""
    sockname = getattr(getattr(address, "addressDetails", None), "sockname", None)
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        return f"{sockname[0]}:{sockname[1]}"
    return None


def crash_exit(exc: BaseException) -> Exit:
    """The ``abnormal`` exit reason for an exception (type, message, traceback)."""
    text = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
    return Exit(ABNORMAL, f"{type(exc).__name__}: {exc}", text)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a link, OTP-wise).

    Only when the supervisor's process forked this one; an actor placed on another
    actor system (cluster mode) has that system's Admin as OS parent, and its death
    reaches the supervisor through Thespian instead.
    """
    tie_to_parent(parent_pid)


def _ignore(reply: Reply) -> None:
    """The reply callback of a caller that does not wait for the answer: a failure is
    logged."""
    if not reply.ok:
        log.warning("a request to the gateway failed: %s %s", reply.error, reply.reason)


class _NoReply:
    """Type of :data:`NOREPLY`."""

    def __repr__(self) -> str:
        return "NOREPLY"


#: Returned by ``handle_call`` when the reply will be sent later with ``reply``.
NOREPLY: Any = _NoReply()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asked: the address to answer and the request's correlation id."""

    address: Any
    ref: str


class _Sweep:
    """Wakeup payload: time to expire the requests whose deadline has passed."""

    __slots__ = ()


class SupervisedActor(Actor):
    """Base of every actor that runs under a megabrain supervisor (the child wrapper).

    Subclasses implement :meth:`_on_init`, :meth:`_on_shutdown` and
    :meth:`_dispatch`; they never override ``receiveMessage``.
    """

    #: True for supervisors (sets a ChildSpec's default ``type``).
    is_supervisor: ClassVar[bool] = False
    #: Message type -> name of the method ``(msg, sender)`` that handles it ahead of the
    #: wrapper's dispatch chain: an actor's hot loop (exact types; never ``Request`` or
    #: ``Reply``). Same semantics as every handler: an exception crashes the actor, and an
    #: actor that has exited drops these messages too.
    fast_handlers: ClassVar[Mapping[type, str]] = {}

    @staticmethod
    def actorSystemCapabilityCheck(
        capabilities: dict[str, Any], requirements: dict[str, Any] | None
    ) -> bool:
        """Placement (cluster mode): a system qualifies when every requirement of the
        child spec equals the system's capability of that name."""
        return all(capabilities.get(k) == v for k, v in (requirements or {}).items())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.init_msg: Init | None = None
        self._gone = False
        self._refs = itertools.count()
        self._ref_prefix = uuid.uuid4().hex[:12]
        self._pending: dict[str, ReplyCallback] = {}
        self._unresolved: dict[str, str] = {}  # request ref -> the name not resolved yet
        self._deadlines = DeadlineTable()
        self._next_sweep = math.inf  # when the earliest sweep timer set will fire
        self._sweeping = False  # in _sweep: it arms one timer for all, after its callbacks
        self._gateway: Any = None  # the gateway's address, once resolved (for 1 s)
        self._gateway_until = 0.0
        self._to_gateway: list[RemoteTell] | None = None  # tells held while resolving it
        self._turn_tells: list[RemoteTell] = []  # tells of this turn, for the gateway
        self._turn_gateway: Any = None  # ... at this address
        self._remote_monitors: set[str] = set()
        self._watch: ThespianWatch | None = None  # file descriptors select() watches for us
        self._fast: dict[type, Callable[[Any, Any], None]] = {
            t: getattr(self, n) for t, n in self.fast_handlers.items()
        }

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

    def receiveMessage(self, msg: Any, sender: Any) -> ThespianWatch | None:
        if type(msg) is Batch:
            for one in msg.msgs:
                self._receive_one(one, sender)
        else:
            self._receive_one(msg, sender)
        if self._turn_tells:
            self._flush_tells()
        return self._watch  # Thespian keeps watching only what the last message returned

    def _receive_one(self, msg: Any, sender: Any) -> None:
        kind = type(msg)
        if (kind is Request or kind is Reply) and not self._gone:  # the hot path first
            try:
                if kind is Request:
                    self._dispatch(msg, sender)
                elif msg.ref in self._pending:
                    self._deadlines.discard(msg.ref)
                    self._pending.pop(msg.ref)(msg)
            except Exception as exc:  # let it crash
                self._crash(exc, msg, sender)
            return
        fast = self._fast.get(kind)
        if fast is not None:
            if not self._gone:
                try:
                    fast(msg, sender)
                except Exception as exc:  # let it crash
                    self._crash(exc, msg, sender)
            return
        if isinstance(msg, ActorExitRequest):
            if not self._gone:
                self._on_exit_request()
                self._report(Exit(KILLED, "exit requested"))
            return
        if isinstance(msg, ChildActorExited):
            self._on_child_exited(msg.childAddress)
            return
        if isinstance(msg, ActorSystemConventionUpdate):
            key = system_key(msg.remoteAdminAddress)
            if not msg.remoteAdded and key is not None and not self._gone:
                self._on_system_lost(key)
            return
        if self._gone:
            return
        try:
            if isinstance(msg, Init):
                self._begin(msg)
            elif isinstance(msg, Shutdown):
                self._on_shutdown(msg)
            elif isinstance(msg, Reply) and msg.ref in self._pending:
                self._deadlines.discard(msg.ref)
                self._pending.pop(msg.ref)(msg)
            elif isinstance(msg, WakeupMessage) and isinstance(msg.payload, _Sweep):
                self._sweep()
            elif isinstance(msg, WatchMessage):
                self.on_readable(list(msg.ready))
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
            started = Started(msg.child_id, msg.incarnation, os.getpid(), self.system_key())
            self.send(msg.supervisor, started)

    def system_key(self) -> str | None:
        """``host:port`` of the Admin of the actor system this actor runs on (None in
        ``simple`` mode); compare with :func:`system_key` of a convention update."""
        return system_key(getattr(getattr(self, "_myRef", None), "_adminAddr", None))

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
        self._unresolved.clear()
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
        after ``timeout`` seconds. Late replies are dropped. Returns the ref.

        ``target`` is an address or a registered name. A name is resolved through the
        registry first; while it is not registered (its child is being restarted) it is
        looked up again until the deadline, and then ``on_reply`` gets
        ``Reply(ok=False, error="noproc", reason="no actor registered as 'NAME'")``.

        ``target`` may be a :class:`~actors.runtime.remote_ref.RemoteRef`: the request then
        goes through the node's gateway, and a failure comes as ``Reply(ok=False,
        error="remote", reason="CODE: detail")``."""
        if isinstance(target, RemoteRef):
            if self._turn_tells:  # after the tells sent before it
                self._flush_tells()
            payload, target = RemoteCall(target, payload, timeout), self._gateway_target()
            timeout += 2.0
        ref = f"{self._ref_prefix}.{next(self._refs)}"
        deadline = time.monotonic() + timeout
        self._pending[ref] = on_reply
        self._deadlines.add(ref, deadline)
        if isinstance(target, str):
            self._unresolved[ref] = target
            self._send_by_name(ref, target, payload, deadline, 0.002)
        else:
            self.send(target, Request(ref, payload))
        if deadline < self._next_sweep and not self._sweeping:
            self._arm(deadline)
        return ref

    def _send_by_name(
        self, ref: str, name: str, payload: Any, deadline: float, pause: float
    ) -> None:
        """Resolve ``name``, then send request ``ref``; look again after ``pause`` s (doubling,
        at most 50 ms) while it is not registered and ``ref`` is still pending."""

        def resolved(reply: Reply) -> None:
            if ref not in self._pending:  # expired (noproc) or cancelled meanwhile
                return
            if reply.ok and reply.value is not None:
                self._unresolved.pop(ref, None)
                self.send(reply.value, Request(ref, payload))
                return
            wait = min(pause, deadline - time.monotonic())
            if wait > 0:
                again = min(pause * 2, 0.05)
                self.call_later(
                    wait, lambda: self._send_by_name(ref, name, payload, deadline, again)
                )

        self.request(
            self.registry, WhereIs(name), max(0.001, deadline - time.monotonic()), resolved
        )

    def watch_fds(self, fds: Sequence[int]) -> None:
        """Have :meth:`on_readable` called (between messages) when one of the file
        descriptors ``fds`` is readable; ``[]`` stops watching. Thespian's ThespianWatch:
        ``local`` and ``cluster`` modes only (RuntimeConfigError in ``simple`` mode, whose
        single thread has no select loop to add them to)."""
        if self.init_msg is not None and self.init_msg.mode == "simple":
            raise RuntimeConfigError("watch_fds needs local or cluster mode")
        self._watch = ThespianWatch(list(fds)) if fds else None

    def on_readable(self, ready: list[int]) -> None:
        """Some of the descriptors given to :meth:`watch_fds` are readable (override)."""

    def call_later(self, seconds: float, fn: Callable[[], None]) -> str:
        """Call ``fn()`` after ``seconds`` unless :meth:`cancel` is called first or the
        actor exits meanwhile (served by the same single timer as request deadlines).
        Returns a ref."""
        ref = f"{self._ref_prefix}.{next(self._refs)}"
        deadline = time.monotonic() + seconds

        def due(reply: Reply) -> None:
            if reply.error != "exiting":
                fn()

        self._pending[ref] = due
        self._deadlines.add(ref, deadline)
        if deadline < self._next_sweep and not self._sweeping:
            self._arm(deadline)
        return ref

    def cancel(self, ref: str) -> None:
        """Forget a pending :meth:`call_later` (or request: its reply is then dropped)."""
        self._pending.pop(ref, None)
        self._unresolved.pop(ref, None)
        self._deadlines.discard(ref)

    def _arm(self, due: float) -> None:
        """Set a sweep timer for ``due``. One timer serves every request whose
        deadline is later (a timer per request would pile up: Thespian cannot cancel
        timers). Invariant: a timer is set no later than the earliest deadline."""
        self._next_sweep = due
        self.wakeupAfter(timedelta(seconds=max(0.0, due - time.monotonic())), _Sweep())

    def _sweep(self) -> None:
        now = time.monotonic() + 0.001
        if now >= self._next_sweep:
            self._next_sweep = math.inf
        # a callback that makes a request or sets a timer must not arm a timer of its own
        # (the sweep's was just spent, so any deadline would look earliest): Thespian
        # cannot cancel timers, and one per callback piles up (simpleSystemBase scans
        # them all on every message)
        self._sweeping = True
        try:
            for ref in self._deadlines.expired(now):
                cb = self._pending.pop(ref, None)
                name = self._unresolved.pop(ref, None)
                if cb is not None and name is not None:
                    why = f"no actor registered as {name!r}"
                    cb(Reply(ref, ok=False, error="noproc", reason=why))
                elif cb is not None:
                    cb(Reply(ref, ok=False, error="timeout"))
        finally:
            self._sweeping = False
        due = self._deadlines.next_deadline()
        if due is not None and due < self._next_sweep:
            self._arm(due)

    def monitor(self, target: Any) -> str:
        """Monitor ``target`` (a registered name, an address or a
        :class:`~actors.runtime.remote_ref.RemoteRef`); a :class:`Down` with the returned
        ref arrives when it exits (``noproc`` if it is not alive; for a remote actor
        ``noconnection`` if its node is lost or there is no gateway)."""
        ref = self.new_ref()
        if isinstance(target, RemoteRef):
            if self._turn_tells:
                self._flush_tells()
            self._remote_monitors.add(ref)

            def failed(reply: Reply) -> None:
                if not reply.ok and ref in self._remote_monitors:
                    self._remote_monitors.discard(ref)
                    why = Exit("noconnection", f"{reply.error}: {reply.reason}")
                    self.send(self.myAddress, Down(ref, target, target, why))

            self.request(GATEWAY_NAME, RemoteMonitor(target, ref, self.myAddress), 10.0, failed)
            return ref
        self.send(self.registry, Request(self.new_ref(), Monitor(ref, target, self.myAddress)))
        return ref

    def demonitor(self, ref: str) -> None:
        """Cancel a monitor (a ``Down`` already sent may still arrive)."""
        if ref in self._remote_monitors:
            self._remote_monitors.discard(ref)
            self.request(GATEWAY_NAME, RemoteDemonitor(ref), 10.0, lambda _reply: None)
            return
        self.send(self.registry, Request(self.new_ref(), Demonitor(ref)))

    def _gateway_target(self) -> Any:
        """The gateway's address if resolved within the last second, else its name."""
        if self._gateway is not None and time.monotonic() <= self._gateway_until:
            return self._gateway
        if self._to_gateway is None:  # not resolving already: resolve for the next ones
            self._to_gateway = []
            self.whereis(GATEWAY_NAME, self._gateway_resolved, 10.0)
        return GATEWAY_NAME

    def _gateway_resolved(self, reply: Reply) -> None:
        held, self._to_gateway = self._to_gateway or [], None
        if reply.ok and reply.value is not None:
            self._gateway = reply.value
            self._gateway_until = time.monotonic() + 1.0
            self._send_tells(self._gateway, held)
        elif held:
            who = type(self).__name__
            log.warning("%s: no gateway, %d remote tells dropped", who, len(held))

    def tell(self, target: Any, msg: Any) -> None:
        """Send ``msg`` to ``target``: an address, or a
        :class:`~actors.runtime.remote_ref.RemoteRef` (through the node's gateway; tells to
        remote refs keep their order, and are dropped, logged, if there is no gateway)."""
        if not isinstance(target, RemoteRef):
            self.send(target, msg)
            return
        tell = RemoteTell(target, msg)
        if self._gateway is not None and time.monotonic() > self._gateway_until:
            self._gateway = None  # looked up again: a restarted gateway has a new address
        if self._gateway is not None:
            # held until this turn ends (or 512 are held): one message to the gateway
            if self._turn_tells and self._turn_gateway is not self._gateway:
                self._flush_tells()
            self._turn_gateway = self._gateway
            self._turn_tells.append(tell)
            if len(self._turn_tells) >= _TURN_TELLS:
                self._flush_tells()
            return
        if self._turn_tells:  # before those waiting for the gateway's address
            self._flush_tells()
        if self._to_gateway is not None:  # resolving: keep the order
            self._to_gateway.append(tell)
            return
        self._to_gateway = [tell]
        self.whereis(GATEWAY_NAME, self._gateway_resolved, 10.0)

    def _flush_tells(self) -> None:
        held, self._turn_tells = self._turn_tells, []
        self._send_tells(self._turn_gateway, held)

    def _send_tells(self, gateway: Any, tells: list[RemoteTell]) -> None:
        """Hand ``tells`` to the gateway in order, at most :data:`_TURN_TELLS` a message."""
        for i in range(0, len(tells), _TURN_TELLS):
            chunk = tells[i : i + _TURN_TELLS]
            self.send(gateway, chunk[0] if len(chunk) == 1 else RemoteTells(tuple(chunk)))

    def whereis(self, name: str, on_reply: ReplyCallback, timeout: float = 5.0) -> str:
        """Resolve ``name`` through the registry; ``on_reply`` gets the :class:`Reply`."""
        return self.request(self.registry, WhereIs(name), timeout, on_reply)

    def register_global(
        self, name: str, on_reply: ReplyCallback, target: Any = None, timeout: float = 10.0
    ) -> str:
        """Register ``target`` (None: this actor, by its registered name if its spec has
        one, else its address, which must be an actor other nodes spawned here) under the
        realm-wide ``name`` through the gateway. ``on_reply`` gets the :class:`Reply`: its
        value is the :class:`~actors.runtime.remote_ref.RemoteRef` other nodes reach it by,
        or ``ok=False, error="remote", reason="name_taken: ..."`` (or another code). A
        registered actor whose name another node wins later gets
        :class:`~actors.runtime.remote_ref.NameLost`."""
        if target is None:
            target = self.name if self.name else self.myAddress
        op = GlobalRegister(name, target, timeout)
        return self.request(GATEWAY_NAME, op, timeout + 2.0, on_reply)

    def whereis_global(self, name: str, on_reply: ReplyCallback, timeout: float = 10.0) -> str:
        """Look ``name`` up across the realm; the reply's value is a RemoteRef or None."""
        return self.request(GATEWAY_NAME, GlobalWhereIs(name, timeout), timeout + 2.0, on_reply)

    def unregister_global(self, name: str, on_reply: ReplyCallback, timeout: float = 10.0) -> str:
        """Withdraw this node's registration of ``name``; the reply's value is whether it
        held one."""
        op = GlobalUnregister(name, timeout)
        return self.request(GATEWAY_NAME, op, timeout + 2.0, on_reply)

    # -- topics and genotype records of the mesh (through the gateway) -----------------

    def subscribe(
        self,
        topic: str,
        on_reply: ReplyCallback | None = None,
        subscriber: Any = None,
        timeout: float = 10.0,
    ) -> str:
        """Subscribe ``subscriber`` (None: this actor, by its registered name if its spec
        has one, so that it keeps its subscriptions when it is restarted; else its address)
        to the realm's ``topic``: each event arrives as a
        :class:`~actors.runtime.remote_ref.TopicEvent` message. ``on_reply`` gets the
        :class:`Reply` (its value: how many DHT nodes hold the subscription)."""
        op = TopicSubscribe(topic, self._subscriber(subscriber), timeout)
        return self.request(GATEWAY_NAME, op, timeout + 2.0, on_reply or _ignore)

    def unsubscribe(
        self,
        topic: str,
        on_reply: ReplyCallback | None = None,
        subscriber: Any = None,
        timeout: float = 10.0,
    ) -> str:
        """Undo :meth:`subscribe` (the same ``subscriber`` default); the reply's value is
        whether it was subscribed."""
        op = TopicUnsubscribe(topic, self._subscriber(subscriber), timeout)
        return self.request(GATEWAY_NAME, op, timeout + 2.0, on_reply or _ignore)

    def _subscriber(self, subscriber: Any) -> Any:
        """The default subscriber: this actor, by its registered name if it has one."""
        return subscriber if subscriber is not None else (self.name or self.myAddress)

    def publish(
        self,
        topic: str,
        payload: bytes,
        on_reply: ReplyCallback | None = None,
        reliable: bool = True,
        timeout: float = 10.0,
    ) -> str:
        """Publish ``payload`` on the realm's ``topic``; the reply's value is the op id."""
        op = TopicPublish(topic, payload, reliable, timeout)
        return self.request(GATEWAY_NAME, op, timeout + 2.0, on_reply or _ignore)

    def advertise(
        self,
        problem: str,
        payload: bytes,
        on_reply: ReplyCallback | None = None,
        meta: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> str:
        """Store this node's genotype record for ``problem``; the reply's value is how many
        DHT nodes accepted it."""
        op = GenotypeAdvertise(problem, payload, dict(meta or {}), timeout)
        return self.request(GATEWAY_NAME, op, timeout + 2.0, on_reply or _ignore)

    def find(self, problem: str, on_reply: ReplyCallback, timeout: float = 10.0) -> str:
        """The genotype records of ``problem``: the reply's value is a list of
        :class:`~actors.runtime.remote_ref.GenotypeRecord`."""
        return self.request(GATEWAY_NAME, GenotypeFind(problem, timeout), timeout + 2.0, on_reply)

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

    def _on_system_lost(self, system: str) -> None:
        """(cluster mode) The convention lost the actor system ``system``."""


class Worker(SupervisedActor):
    """Base class of supervised worker actors (let it crash).

    Override :meth:`on_start` (the ``args`` of the child spec), :meth:`handle`
    (plain messages), :meth:`handle_call` (the payload of a :class:`Request`; the
    return value is the reply), :meth:`on_stop`. Any exception raised by these
    crashes the worker: a caller waiting on a request gets ``Reply(ok=False,
    error="crashed")``, the supervisor gets ``abnormal`` with the traceback.
    Call :meth:`stop` to exit with ``normal`` (or another reason).
    """

    _call: tuple[Any, str] | None = None

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

    def deferred(self) -> Caller:
        """Inside :meth:`handle_call`: who to answer later. Return :data:`NOREPLY`
        from ``handle_call`` and call :meth:`reply` with this when the answer is
        ready (OTP's ``{noreply, State}`` + ``gen_server:reply/2``)."""
        if self._call is None:
            raise RuntimeError("deferred() is only valid inside handle_call")
        return Caller(self._call[0], self._call[1])

    def reply(self, caller: Caller, value: Any) -> None:
        """Answer a deferred request."""
        self.send(caller.address, Reply(caller.ref, ok=True, value=value))

    def _dispatch(self, msg: Any, sender: Any) -> None:
        if type(msg) is Request:
            self._call = (sender, msg.ref)
            try:
                value = self.handle_call(msg.payload, sender)
            finally:
                self._call = None
            if value is not NOREPLY:
                self.send(sender, Reply(msg.ref, True, value))
        else:
            self.handle(msg, sender)
