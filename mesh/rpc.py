"""Request/reply RPC, realm-scoped, with providers advertised in the DHT.

* :meth:`Rpc.register` registers a procedure in this realm and stores a SERVICE record under
  ``record_key(SERVICE, realm, name)`` (``meta.addr`` = our address). With a handler
  ``(args, caller_id) -> bytes`` the call is answered at once (an exception becomes a REMOTE
  error); without one, a :class:`~mesh.events.CallReceived` event is reported and the
  application answers with :meth:`Rpc.respond`.
* :meth:`Rpc.call` finds the providers through the DHT (or uses the given one) and sends CALL
  with a correlation id and the remaining deadline. Providers are tried best first: those that
  answered a request of ours most recently over an open session, then others with a session,
  then the rest (random among equals): a SERVICE record costs its author nothing, so a
  provider that vanished or never answers must not be anyone's first choice. An attempt
  unanswered within ``attempt_timeout`` -- or failed at once because the provider's
  connection is gone -- moves to the next provider; a provider that answers REFUSED (does not
  serve the procedure) too, while untried ones remain. A provider is attempted again at most
  once per ``attempt_timeout``, with the *same* correlation id, until the deadline; the callee
  remembers ``(caller, correlation id)`` (a TTL'd cache) so that a retried request is executed
  once by that provider: a retry of a running call is ignored, a retry of a finished one gets
  the cached reply again. (A slow provider and the next one may both run a call.) The
  deadline covers the provider lookup too.
* Typed failures (:class:`~mesh.events.CallFailed` ``code``): NO_ROUTE (no provider found),
  TIMEOUT (deadline passed), REFUSED (unknown procedure, expired deadline), REMOTE (the
  handler failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh.dht.records import SERVICE, record_key
from mesh.errors import MeshUsageError
from mesh.events import CallFailed, CallReceived, CallSucceeded
from mesh.frames import Call, Contact, ErrorReply, Frame, Record, Result
from mesh.identity import node_id_of
from mesh.signing import sign_record

if TYPE_CHECKING:
    from mesh.core import RealmNode

__all__ = ["NO_ROUTE", "REFUSED", "REMOTE", "TIMEOUT", "Handler", "Rpc", "RpcConfig"]

NO_ROUTE = 1
TIMEOUT = 2
REFUSED = 3
REMOTE = 4
ERROR_NAMES = {NO_ROUTE: "no route", TIMEOUT: "timeout", REFUSED: "refused", REMOTE: "remote"}

Handler = Callable[[bytes, bytes], bytes]


@dataclass(frozen=True)
class RpcConfig:
    """RPC settings (seconds)."""

    #: Default deadline of a call.
    default_timeout: float = 10.0
    #: Time to wait for one attempt before retrying with the same correlation id.
    attempt_timeout: float = 2.0
    #: How long a callee remembers a finished call's reply (dedup of retries).
    reply_cache_ttl: float = 120.0
    #: Most remembered replies.
    reply_cache_size: int = 10_000
    #: TTL of service records.
    service_ttl: int = 3600


class Rpc:
    """RPC of one realm node."""

    def __init__(self, node: RealmNode) -> None:
        self.node = node
        self.config: RpcConfig = node.config.rpc
        self.procedures: dict[str, Handler | None] = {}
        self.executions = 0
        self._op = 0
        # callee: (caller, rid) -> (reply frame or None while running, expiry)
        self._replies: dict[tuple[bytes, int], tuple[Frame | None, float]] = {}
        self._inbound: dict[int, tuple[Contact, int, float]] = {}  # op -> (caller, rid, deadline)

    def handlers(self) -> dict[type[Frame], Callable[[Contact, Any], None]]:
        return {Call: self._on_call}

    # ------------------------------------------------------------------ callee
    def register(self, name: str, handler: Handler | None = None) -> int:
        """Offer procedure ``name`` in this realm and advertise it; returns the store op id."""
        node = self.node
        self.procedures[name] = handler
        record = sign_record(
            node.crypto, node.key, node.id,
            kind=SERVICE, record_key=record_key(SERVICE, node.id, name), seq=node.core.next_seq(),
            ttl=self.config.service_ttl, value=name.encode("utf-8"),
            meta=(("addr", node.core.address),),
        )  # fmt: skip
        return node.dht.put(record)

    def _on_call(self, peer: Contact, f: Call) -> None:
        node = self.node
        key = (peer.node_id, f.rid)
        cached = self._replies.get(key)
        if cached is not None:
            if cached[0] is not None:  # finished: resend the same reply, do not re-execute
                node.send(peer, cached[0])
            return  # still running: ignore the retry
        if f.procedure not in self.procedures:
            self._reply(peer, f.rid, ErrorReply(node.id, f.rid, REFUSED, "unknown procedure"))
            return
        if f.timeout <= 0:
            self._reply(peer, f.rid, ErrorReply(node.id, f.rid, REFUSED, "deadline passed"))
            return
        handler = self.procedures[f.procedure]
        self.executions += 1
        if handler is None:
            self._replies[key] = (None, node.now + max(f.timeout, self.config.reply_cache_ttl))
            self._op += 1
            self._inbound[self._op] = (peer, f.rid, node.now + f.timeout)
            node.emit(
                CallReceived(node.id, self._op, peer.node_id, f.procedure, f.args,
                             node.now + f.timeout)
            )  # fmt: skip
            return
        try:
            value = handler(f.args, peer.node_id)
            reply: Frame = Result(node.id, f.rid, bytes(value))
        except Exception as exc:  # the handler's failure is reported, never raised here
            reply = ErrorReply(node.id, f.rid, REMOTE, f"{type(exc).__name__}: {exc}"[:512])
        self._reply(peer, f.rid, reply)

    def _reply(self, peer: Contact, rid: int, reply: Frame) -> bool:
        """Send (and remember) ``reply``; a reply too large for one frame is replaced by a
        REMOTE error (returns False then)."""
        if len(self._replies) >= self.config.reply_cache_size:
            self.housekeeping()
            while len(self._replies) >= self.config.reply_cache_size:
                del self._replies[next(iter(self._replies))]
        node = self.node
        fits = node.send(peer, reply)
        if not fits:
            reply = ErrorReply(node.id, rid, REMOTE, "reply exceeds max_frame_bytes")
            node.send(peer, reply)
        self._replies[(peer.node_id, rid)] = (reply, node.now + self.config.reply_cache_ttl)
        return fits

    def respond(self, op: int, value: bytes | None = None, *, error: str | None = None) -> None:
        """Answer the :class:`CallReceived` ``op`` with ``value`` or a REMOTE ``error``.

        MeshUsageError if ``op`` is unknown or was forgotten after its deadline passed, or if
        ``value`` is too large for one frame (the caller then gets a REMOTE error).
        """
        entry = self._inbound.pop(op, None)
        if entry is None:
            raise MeshUsageError(f"no pending call {op}")
        peer, rid, _ = entry
        node = self.node
        if error is not None:
            self._reply(peer, rid, ErrorReply(node.id, rid, REMOTE, error[:512]))
        elif not self._reply(peer, rid, Result(node.id, rid, value or b"")):
            raise MeshUsageError(
                f"reply of {len(value or b'')} bytes exceeds max_frame_bytes; "
                "the caller got a REMOTE error"
            )

    def housekeeping(self) -> None:
        """Forget expired replies and unanswered calls whose deadline has passed."""
        now = self.node.now
        for k in [k for k, (_, exp) in self._replies.items() if exp <= now]:
            del self._replies[k]
        for op in [op for op, (_, _, dl) in self._inbound.items() if dl <= now]:
            del self._inbound[op]

    # ------------------------------------------------------------------ caller
    def call(
        self,
        procedure: str,
        args: bytes = b"",
        *,
        timeout: float | None = None,
        provider: Contact | None = None,
        on_done: Callable[[Frame | None, int, str], None] | None = None,
    ) -> int:
        """Call ``procedure``; reports CallSucceeded / CallFailed (or calls ``on_done``)."""
        node = self.node
        self._op += 1
        op = self._op
        deadline = node.now + (self.config.default_timeout if timeout is None else timeout)

        def report(reply: Frame | None, code: int, message: str) -> None:
            if on_done is not None:
                on_done(reply, code, message)
            elif isinstance(reply, Result):
                node.emit(CallSucceeded(node.id, op, reply.value))
            else:
                node.emit(CallFailed(node.id, op, code, message))

        call = _Call(procedure, args, deadline, report)
        if provider is not None:
            call.providers = [provider]
            self._next(call)
            return op
        # the lookup too must end by the deadline (a slow one fails the call in time)
        call.timer = node.later(max(0.0, deadline - node.now), call.expired)

        def found(records: list[Record]) -> None:
            if call.done:
                return
            want = procedure.encode("utf-8")
            providers = []
            for r in records:
                if r.kind == SERVICE and r.value == want:
                    addr = next((v for k, v in r.meta if k == "addr" and isinstance(v, str)), "")
                    providers.append(Contact(node_id_of(r.author), addr))
            if not providers:
                call.end(None, NO_ROUTE, f"no provider of {procedure!r}")
                return
            call.providers = self._rank(providers)
            self._next(call)

        node.dht.get(record_key(SERVICE, node.id, procedure), found)
        return op

    def _rank(self, providers: list[Contact]) -> list[Contact]:
        """Providers best first: those that answered us most recently (over an open
        session), then others with an open session, then the rest; random among equals (a
        record costs its author nothing, so a provider must earn its place by answering)."""
        core = self.node.core
        self.node.rng.shuffle(providers)

        def key(c: Contact) -> tuple[int, float]:
            seen = core.answered.get(c.node_id)
            if seen is not None:
                return (0, -seen)
            return (1 if c.node_id in core.sessions else 2, 0.0)

        return sorted(providers, key=key)

    def _next(self, call: _Call) -> None:
        """Start the next attempt: the first provider (from the one after the last tried)
        whose previous attempt began at least ``attempt_timeout`` ago; if none is due yet,
        wait for the earliest."""
        if call.done:
            return
        node = self.node
        now = node.now
        if call.deadline <= now:
            call.expired()
            return
        n = len(call.providers)
        for i in range(n):
            c = call.providers[(call.turn + i) % n]
            if call.next_try.get(c.node_id, now) <= now:
                call.turn = (call.turn + i) % n
                self._attempt(call, c)
                return
        due = min(call.next_try.values())
        node.later(min(due, call.deadline) - now, lambda: self._next(call))

    def _attempt(self, call: _Call, provider: Contact) -> None:
        node = self.node
        nid = provider.node_id
        wait = min(self.config.attempt_timeout, call.deadline - node.now)
        call.next_try[nid] = node.now + self.config.attempt_timeout

        def answered(reply: Frame | None) -> None:
            if call.done:
                return
            if isinstance(reply, Result):
                call.end(reply, 0, "")
            elif isinstance(reply, ErrorReply):
                if reply.code == REFUSED and len(call.tried) < len(call.providers):
                    call.turn += 1  # this one does not serve it (a stale or lying record)
                    self._next(call)
                else:
                    call.end(reply, reply.code, reply.message)
            else:  # no answer in time, or the provider became unreachable: the next one
                call.turn += 1
                self._next(call)

        call.tried.add(nid)
        call.rids[nid] = node.request(
            provider,
            lambda r: Call(node.id, r, call.procedure, call.args, float(call.deadline - node.now)),
            wait,
            answered,
            rid=call.rids.get(nid),
        )


class _Call:
    """One outgoing call: its providers (best first) and, per provider, the correlation id
    (a retry to the same provider reuses it, so that provider runs the call once) and the
    earliest time of its next attempt."""

    __slots__ = ("args", "deadline", "done", "next_try", "procedure", "providers", "report",
                 "rids", "timer", "tried", "turn")  # fmt: skip

    def __init__(
        self,
        procedure: str,
        args: bytes,
        deadline: float,
        report: Callable[[Frame | None, int, str], None],
    ) -> None:
        self.procedure = procedure
        self.args = args
        self.deadline = deadline
        self.report = report
        self.providers: list[Contact] = []
        self.rids: dict[bytes, int] = {}
        self.next_try: dict[bytes, float] = {}
        self.tried: set[bytes] = set()
        self.turn = 0
        self.done = False
        self.timer: Any = None  # the deadline of the provider lookup

    def end(self, reply: Frame | None, code: int, message: str) -> None:
        if not self.done:
            self.done = True
            if self.timer is not None:
                self.timer.cancel()
            self.report(reply, code, message)

    def expired(self) -> None:
        self.end(None, TIMEOUT, "deadline passed")
