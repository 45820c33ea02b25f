"""``MeshNode``: the asyncio runtime that drives a sans-I/O :class:`~mesh.core.MeshCore` over QUIC.

The node owns one :class:`~mesh.core.MeshCore` and one :class:`~mesh.transport.QuicTransport`
on a running event loop. It moves frames between them, arms the core's timer with
``loop.call_at`` (core time = ``loop.time()``), dials the peers the core asks for, and turns the
core's past-tense events into awaited results::

    node = MeshNode(NodeKey.generate(), realms=["lab"])
    await node.start("127.0.0.1", 0, bootstrap=["127.0.0.1:7000"])
    await node.subscribe("tweann.genotypes.xor", on_event)      # EventReceived -> on_event
    await node.publish("tweann.genotypes.xor", b"...")
    await node.register("echo", lambda caller, args: args)       # sync or async handler
    value = await node.call("echo", b"hi")                       # CallError on failure
    await node.advertise("xor", payload, meta={"fitness": 3.9})
    records = await node.find("xor")
    node.peers()                                                 # [PeerStatus, ...]
    await node.close()

Every API call takes an optional ``realm`` (default: the node's first realm). Misbehaving peers
(too many frames the core rejects) are dropped and banned by the transport; counters are in
:meth:`MeshNode.stats`.

Restarts: a node restarted with the same key starts its per-author sequence numbers at the
wall clock in microseconds and its SWIM incarnation at the wall clock in milliseconds (both
above anything the previous run used, as long as the clock does not step back by more than the
run's lifetime; ``NodeConfig.seq_start`` / ``incarnation_start`` override them, e.g. from a
persisted counter). Peers then accept its publications and revive it as soon as it
authenticates (see :mod:`mesh.membership`). The bootstrap learns seed node ids by
authenticating to the seed address before joining.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from mesh.core import MeshCore
from mesh.dht.records import GENOTYPE, SERVICE, VALUE
from mesh.errors import MeshUsageError
from mesh.events import (
    CallFailed,
    CallReceived,
    CallSucceeded,
    EventReceived,
    FrameRejected,
    LookupCompleted,
    MemberDied,
    MemberRejoined,
    MeshEvent,
    PublishCompleted,
    StoreCompleted,
)
from mesh.frames import Contact, Record
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import ED25519, CryptoSuite, NodeKey, realm_id
from mesh.membership import ALIVE, DEAD, SUSPECT
from mesh.node_types import CallError, NodeConfig, PeerStatus
from mesh.peer_policy import RejectBudget, dead_everywhere
from mesh.realms import Realm
from mesh.transport import QuicTransport

_log = logging.getLogger(__name__)

__all__ = ["CallError", "MeshNode", "NodeConfig", "PeerStatus"]

EventHandler = Callable[[EventReceived], Any]
CallHandler = Callable[[bytes, bytes], "bytes | Awaitable[bytes]"]
_STATUS = {ALIVE: "alive", SUSPECT: "suspect", DEAD: "dead"}


class MeshNode:
    """A mesh node on the running event loop (see the module docstring)."""

    def __init__(
        self,
        key: NodeKey,
        realms: Sequence[Realm | str] = ("default",),
        *,
        config: NodeConfig | None = None,
        crypto: CryptoSuite = ED25519,
        rng: random.Random | None = None,
    ) -> None:
        if not realms:
            raise MeshUsageError("a node joins at least one realm")
        self.key = key
        self.node_id = key.node_id
        self.realms = tuple(r if isinstance(r, Realm) else Realm(r) for r in realms)
        self.config = config or NodeConfig()
        self.crypto = crypto
        self.rng = rng or random.Random()
        self.core: MeshCore | None = None
        self.transport: QuicTransport | None = None
        self.counters: Counter[str] = Counter()
        self._names = {r.id: r.name for r in self.realms}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._flush_pending = False
        self._waiters: dict[tuple[type, bytes, int], asyncio.Future[Any]] = {}
        self._subs: dict[tuple[bytes, str], list[EventHandler]] = {}
        self._procs: dict[tuple[bytes, str], CallHandler] = {}
        self._listeners: list[Callable[[MeshEvent], None]] = []
        self._rejects = RejectBudget(self.config.rejects)
        self._seeds: list[str] = []
        self._seed_ids: dict[str, bytes] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def address(self) -> str:
        return self.transport.address if self.transport else ""

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, bootstrap: Iterable[str] = ()
    ) -> str:
        """Listen on ``host:port`` and start joining through ``bootstrap`` addresses.

        Returns the bound address. Joining continues in the background (see
        :meth:`wait_joined`).
        """
        self._loop = asyncio.get_running_loop()
        self.transport = QuicTransport(
            self.key, self._make_handshake, self, crypto=self.crypto,
            config=self.config.transport, rng=random.Random(self.rng.getrandbits(64)),
        )  # fmt: skip
        address = await self.transport.listen(host, port)
        cfg = self.config
        cap = cfg.transport.max_frame_bytes  # the core never builds a frame the transport refuses
        if cap < cfg.mesh.limits.max_frame_bytes:
            limits = replace(cfg.mesh.limits, max_frame_bytes=cap)
            cfg = replace(cfg, mesh=replace(cfg.mesh, limits=limits))
        wall_ns = time.time_ns()
        self.core = MeshCore(
            self.key, self.realms, random.Random(self.rng.getrandbits(64)),
            config=cfg.mesh, crypto=self.crypto, address=address, now=self._loop.time(),
            seq_start=wall_ns // 1000 if cfg.seq_start is None else cfg.seq_start,
            incarnation_start=(
                wall_ns // 1_000_000 if cfg.incarnation_start is None else cfg.incarnation_start
            ),
        )  # fmt: skip
        self._seeds = [s for s in bootstrap if s and s != address]
        self._spawn(self._bootstrap_loop())
        self._flush()
        return address

    def _make_handshake(self, initiator: bool) -> Handshake:
        return Handshake(
            self.key, self.realms, self.crypto, self.rng, initiator=initiator,
            address=self.address, limits=self.config.mesh.limits,
        )  # fmt: skip

    async def close(self) -> None:
        """Stop timers and tasks, close every connection (peers see CONNECTION_CLOSE)."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for t in list(self._tasks):
            t.cancel()
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(MeshUsageError("node closed"))
                fut.exception()
        self._waiters.clear()
        if self.transport is not None:
            await self.transport.close()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _bootstrap_loop(self) -> None:
        """Join through the seeds; then keep redialling any seed we are not connected to
        (every ``rebootstrap`` s, with the transport's backoff), so that a node cut off by a
        partition or a seed restart finds its way back and joins again."""
        while not self._closed:
            assert self.transport is not None
            todo = [
                s for s in self._seeds
                if s not in self._seed_ids or not self.transport.connected(self._seed_ids[s])
            ]  # fmt: skip
            if todo:
                await self._bootstrap_once(todo)
            await asyncio.sleep(self.config.rebootstrap)

    async def _bootstrap_once(self, seeds: list[str]) -> bool:
        assert self.transport is not None
        results = await asyncio.gather(
            *(self.transport.dial(s) for s in seeds), return_exceptions=True
        )
        contacts = []
        for r, s in zip(results, seeds, strict=True):
            if isinstance(r, PeerInfo):
                self._seed_ids[s] = r.node_id
                contacts.append(Contact(r.node_id, r.address or s))
        if not contacts:
            self.counters["bootstrap_failed"] += 1
            return False
        waits = []
        for realm in self.realms:
            op = self._core().join(realm.id, contacts, self._now())
            waits.append(self._wait(LookupCompleted, realm.id, op))
        self._flush()
        await asyncio.gather(*waits, return_exceptions=True)
        self.counters["joined"] += 1
        return True

    async def wait_joined(self, timeout: float = 10.0, peers: int = 1) -> None:
        """Wait until at least ``peers`` peers are authenticated (TimeoutError otherwise)."""
        loop = self._loop or asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._core().sessions) < peers or not self.counters["joined"]:
            if loop.time() > deadline:
                raise TimeoutError(f"not joined within {timeout} s")
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ transport callbacks
    def peer_authenticated(self, info: PeerInfo) -> None:
        self._core().peer_authenticated(info, self._now())
        self._flush()

    def peer_lost(self, node_id: bytes) -> None:
        self._core().peer_unreachable(node_id, self._now())
        self._flush_soon()

    def frame_received(self, node_id: bytes, data: bytes) -> None:
        self._core().receive(node_id, data, self._now())
        self._flush_soon()

    # ------------------------------------------------------------------ driving the core
    def _core(self) -> MeshCore:
        if self.core is None:
            raise MeshUsageError("node not started")
        return self.core

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _flush_soon(self) -> None:
        if not self._flush_pending and self._loop is not None:
            self._flush_pending = True
            self._loop.call_soon(self._flush)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        try:
            self._core().handle_timer(self._now())
        finally:  # whatever a timer raised, the next one is armed
            self._flush()

    def _flush(self) -> None:
        """Send what the core produced, dial who it asked for, dispatch events, re-arm.

        Nothing raised while handling one frame, dial or event stops the others: it is logged
        and counted (``node.flush_errors``)."""
        self._flush_pending = False
        if self._closed or self.core is None or self.transport is None:
            return
        core, tr = self.core, self.transport
        for _ in range(8):  # events may produce frames (respond) which produce nothing more
            for t in core.frames_to_send():
                if not self._step(tr.send, t.peer, t.data):
                    self.counters["frames_unsent"] += 1
            for c in core.connections_to_open():
                self._step(self._dial, c)
            ev = core.next_event()
            if ev is None:
                break
            while ev is not None:
                self._step(self._dispatch, ev)
                ev = core.next_event()
        when = core.next_timer()
        if when != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._timer_at = when
            if when is not None:
                assert self._loop is not None
                self._timer = self._loop.call_at(when, self._on_timer)

    def _step(self, fn: Callable[..., Any], *args: Any) -> Any:
        """One step of a flush; its exception is logged and counted, never raised."""
        try:
            return fn(*args)
        except Exception:
            self.counters["flush_errors"] += 1
            _log.exception("mesh node: %s failed", getattr(fn, "__name__", fn))
            return None

    def _dial(self, contact: Contact) -> None:
        assert self.transport is not None
        if self.transport.connected(contact.node_id):
            return
        if not contact.address:
            self._core().peer_unreachable(contact.node_id, self._now())
            return
        # every address the core hands us came from the network: the transport's checks for
        # peer-named addresses apply (mesh.addresses)
        fut = self.transport.dial(contact.address, contact.node_id, named_by_peer=True)

        def done(f: asyncio.Future[PeerInfo]) -> None:
            if self._closed or self.transport is None:
                return
            if f.exception() is not None and not self.transport.connected(contact.node_id):
                self._core().peer_unreachable(contact.node_id, self._now())
                self._flush()

        fut.add_done_callback(done)

    def _dispatch(self, ev: MeshEvent) -> None:
        self.counters[type(ev).__name__] += 1
        for fn in self._listeners:
            self._guarded(fn, ev)
        if isinstance(ev, EventReceived):
            for h in self._subs.get((ev.realm, ev.topic), ()):
                self._guarded(h, ev)
            return
        if isinstance(ev, CallReceived):
            self._serve_call(ev)
            return
        if isinstance(ev, FrameRejected):
            self._charge(ev)
            return
        if isinstance(ev, MemberDied):
            self._forget_dead(ev.node_id)
            return
        if isinstance(ev, MemberRejoined):
            self.counters["rejoined"] += 1
            return
        op = getattr(ev, "op", None)
        if op is None:
            return
        kind = CallSucceeded if isinstance(ev, CallFailed) else type(ev)
        fut = self._waiters.pop((kind, ev.realm, op), None)  # type: ignore[attr-defined]
        if fut is not None and not fut.done():
            fut.set_result(ev)

    def _guarded(self, fn: Callable[[Any], Any], ev: MeshEvent) -> None:
        """Run an application callback: its failure is logged and counted, never raised into
        the transport (which would lose the rest of the datagram's events)."""
        try:
            res = fn(ev)
            if inspect.isawaitable(res):
                self._spawn(res)
        except Exception:
            self.counters["callback_errors"] += 1
            _log.exception("mesh event callback failed")

    def _forget_dead(self, node_id: bytes) -> None:
        """Close the connection to a peer SWIM declared dead in every realm we share: if it
        is in fact alive it must authenticate afresh, which is what lets it rejoin."""
        if dead_everywhere(self._core(), node_id):
            assert self.transport is not None
            self.transport.disconnect(node_id)

    def _charge(self, ev: FrameRejected) -> None:
        """Spend the peer's rejected-frame budget; an empty budget drops and bans it."""
        if self._rejects.charge(ev.peer, ev.code, self._now()):
            self.counters["peers_dropped_bad_frames"] += 1
            assert self.transport is not None
            self.transport.drop(ev.peer, "bad_frames", ev.reason)

    def _serve_call(self, ev: CallReceived) -> None:
        handler = self._procs.get((ev.realm, ev.procedure))

        async def run() -> None:
            try:
                if handler is None:
                    raise MeshUsageError("procedure not registered here")
                res = handler(ev.caller, ev.args)
                if inspect.isawaitable(res):
                    res = await res
                value, error = bytes(res), None
            except Exception as exc:  # the handler's failure becomes the caller's REMOTE error
                value, error = None, f"{type(exc).__name__}: {exc}"[:500]
            if self._closed:
                return
            try:
                self._core().respond(ev.realm, ev.op, self._now(), value, error=error)
            except MeshUsageError:  # reply too large (the caller got REMOTE) or call forgotten
                self.counters["respond_refused"] += 1
            self._flush()

        self._spawn(run())

    def _wait(self, kind: type, realm: bytes, op: int) -> asyncio.Future[Any]:
        assert self._loop is not None
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._waiters[(kind, realm, op)] = fut
        return fut

    def _realm(self, realm: str | bytes | None) -> bytes:
        if realm is None:
            return self.realms[0].id
        rid = realm_id(realm) if isinstance(realm, str) else realm
        if rid not in self._names:
            raise MeshUsageError("this node has not joined that realm")
        return rid

    async def _op(self, kind: type, rid: bytes, start: Callable[[float], int]) -> Any:
        op = start(self._now())
        fut = self._wait(kind, rid, op)
        self._flush()
        return await fut

    # ------------------------------------------------------------------ application API
    def add_listener(self, fn: Callable[[MeshEvent], None]) -> None:
        """Call ``fn`` with every core event (on the loop thread; must not block)."""
        self._listeners.append(fn)

    async def subscribe(
        self, topic: str, handler: EventHandler | None = None, *, realm: str | None = None
    ) -> StoreCompleted:
        """Subscribe to ``topic``; ``handler`` gets each :class:`EventReceived` (may be async).
        Subscribing again re-stores the subscription record (e.g. for peers that restarted);
        a handler already registered for the topic is not added twice."""
        rid = self._realm(realm)
        if handler is not None:
            handlers = self._subs.setdefault((rid, topic), [])
            if handler not in handlers:
                handlers.append(handler)
        return await self._op(
            StoreCompleted, rid, lambda now: self._core().subscribe(rid, topic, now)
        )

    async def unsubscribe(self, topic: str, *, realm: str | None = None) -> StoreCompleted:
        rid = self._realm(realm)
        self._subs.pop((rid, topic), None)
        return await self._op(
            StoreCompleted, rid, lambda now: self._core().unsubscribe(rid, topic, now)
        )

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        realm: str | None = None,
        reliable: bool = True,
        supersede: bool = False,
        wait: bool = False,
    ) -> int | PublishCompleted:
        """Publish ``payload``; returns the op id, or with ``wait`` the PublishCompleted
        (reliable publications complete when retries stop: see ``PubSubConfig.publish_ttl``;
        ``supersede`` ends our previous superseding publication on ``topic``)."""
        rid = self._realm(realm)

        def start(now: float) -> int:
            return self._core().publish(
                rid, topic, payload, now, reliable=reliable, supersede=supersede
            )

        if wait:
            return await self._op(PublishCompleted, rid, start)
        op = start(self._now())
        self._flush()
        return op

    async def register(
        self, procedure: str, handler: CallHandler, *, realm: str | None = None
    ) -> StoreCompleted:
        """Offer ``procedure``: ``handler(caller_id, args) -> bytes`` (sync or async); an
        exception in it is returned to the caller as a REMOTE error."""
        rid = self._realm(realm)
        self._procs[(rid, procedure)] = handler
        return await self._op(
            StoreCompleted, rid, lambda now: self._core().register(rid, procedure, now)
        )

    async def call(
        self,
        procedure: str,
        args: bytes = b"",
        *,
        realm: str | None = None,
        timeout: float | None = None,
        provider: Contact | None = None,
    ) -> bytes:
        """Call ``procedure`` on a provider found in the DHT; CallError on failure."""
        rid = self._realm(realm)
        ev = await self._op(
            CallSucceeded, rid,
            lambda now: self._core().call(
                rid, procedure, args, now, timeout=timeout, provider=provider
            ),
        )  # fmt: skip
        if isinstance(ev, CallFailed):
            raise CallError(ev.code, ev.message)
        return bytes(ev.value)

    async def advertise(
        self,
        problem: str,
        payload: bytes,
        *,
        meta: dict[str, Any] | None = None,
        realm: str | None = None,
    ) -> StoreCompleted:
        """Store a signed genotype advertisement for ``problem`` in the DHT."""
        rid = self._realm(realm)
        items = tuple(sorted((meta or {}).items()))
        return await self._op(
            StoreCompleted, rid,
            lambda now: self._core().advertise_genotype(rid, problem, payload, now, meta=items),
        )  # fmt: skip

    async def find(self, problem: str, *, realm: str | None = None) -> list[Record]:
        """Genotype advertisements for ``problem`` (signed, live records)."""
        rid = self._realm(realm)
        ev: LookupCompleted = await self._op(
            LookupCompleted, rid, lambda now: self._core().find_genotypes(rid, problem, now)
        )
        return [r for r in ev.records if r.kind == GENOTYPE]

    async def find_service(self, procedure: str, *, realm: str | None = None) -> list[Record]:
        """Service advertisements of ``procedure``."""
        rid = self._realm(realm)
        ev: LookupCompleted = await self._op(
            LookupCompleted, rid, lambda now: self._core().get(rid, SERVICE, procedure, now)
        )
        return [r for r in ev.records if r.kind == SERVICE]

    async def put_value(
        self,
        name: str,
        value: bytes,
        *,
        meta: dict[str, Any] | None = None,
        ttl: int | None = None,
        deleted: bool = False,
        realm: str | None = None,
    ) -> StoreCompleted:
        """Store this node's signed VALUE record named ``name`` (replacing its previous one;
        ``deleted`` stores a tombstone). Other nodes may hold records under the same name:
        each author has its own. ``ttl`` seconds (default ``record_ttl``)."""
        rid = self._realm(realm)
        items = tuple(sorted((meta or {}).items()))
        return await self._op(
            StoreCompleted, rid,
            lambda now: self._core().put(
                rid, VALUE, name, value, now, meta=items, ttl=ttl, deleted=deleted
            ),
        )  # fmt: skip

    async def get_values(self, name: str, *, realm: str | None = None) -> list[Record]:
        """The live VALUE records named ``name``, newest per author (tombstones removed)."""
        rid = self._realm(realm)
        ev: LookupCompleted = await self._op(
            LookupCompleted, rid, lambda now: self._core().get(rid, VALUE, name, now)
        )
        return [r for r in ev.records if r.kind == VALUE]

    async def lookup(self, target: bytes, *, realm: str | None = None) -> list[Contact]:
        """The k closest nodes to ``target`` found by an iterative lookup."""
        rid = self._realm(realm)
        ev: LookupCompleted = await self._op(
            LookupCompleted, rid, lambda now: self._core().lookup(rid, target, now)
        )
        return list(ev.contacts)

    def peers(self, realm: str | None = None) -> list[PeerStatus]:
        """Every peer known to SWIM or connected, with its status (alive / suspect / dead)."""
        core = self._core()
        assert self.transport is not None
        connected = self.transport.peers()
        rids = [self._realm(realm)] if realm is not None else list(core.realms)
        seen: dict[bytes, PeerStatus] = {}
        for rid in rids:
            swim = core.realms[rid].swim
            for nid, m in swim.members.items():
                prev = seen.get(nid)
                names = (*(prev.realms if prev else ()), self._names[rid])
                status = _STATUS[m.status]
                if prev is not None and prev.status == "alive":
                    status = "alive"
                seen[nid] = PeerStatus(nid, m.contact.address, status, nid in connected, names)
        for nid, info in connected.items():
            if nid not in seen:
                names = tuple(self._names[r] for r in info.realms if r in self._names)
                seen[nid] = PeerStatus(nid, info.address, "connected", True, names)
        return sorted(seen.values(), key=lambda p: p.node_id)

    def stats(self) -> dict[str, int]:
        """Counters of the node, its core and its transport (flat, for printing)."""
        out: dict[str, int] = {f"node.{k}": v for k, v in self.counters.items()}
        if self.core is not None:
            out.update({f"core.{k}": v for k, v in self.core.stats.items()})
            out.update({f"core.bytes.{k}": v for k, v in self.core.frame_bytes.items()})
            swim: Counter[str] = Counter()
            for rn in self.core.realms.values():
                swim.update(rn.swim.counters())
            out.update({f"swim.{k}": v for k, v in swim.items()})
        if self.transport is not None:
            out.update({f"transport.{k}": v for k, v in self.transport.stats.items()})
            out["transport.connections"] = self.transport.connection_count()
            out["transport.queued_frames"] = self.transport.queued()
        return out
