"""The remote-actor gateway: a supervised :class:`~actors.runtime.child.Worker` that carries
actor operations between this runtime and other nodes of a mesh realm.

Local actors reach it by its registered name (:data:`~actors.runtime.remote_ref.GATEWAY_NAME`);
the runtime routes every operation on a :class:`~actors.runtime.remote_ref.RemoteRef` to it
(``RuntimeSystem.tell/request/monitor/spawn``, a worker's ``tell/request/monitor``). It runs a
:class:`~mesh.node.MeshNode` on an asyncio loop in a thread of its own and offers one mesh
procedure, :data:`PROCEDURE`; each call carries one operation as a :mod:`actors.remote.wire`
value (registered message types only, never pickle):

``spawn``    start a class this node registered as remotable (``GatewayConfig.remotable``) as a
             temporary child of the spawn supervisor (:data:`SPAWNED_NAME`); answer its ref
``call``     a request to a local actor (by spawned-actor id or registered name); answer its reply
``tell``     a batch of plain messages, delivered in order; answered once all are delivered
``monitor``  watch a local actor for a remote watcher; its exit is sent back as ``down``
``stop``     stop an actor the caller spawned here
``demonitor``, ``down``, ``ping`` (liveness and the gateway's boot id).

Local actors also subscribe to the realm's topics, publish, advertise and find genotype
records and read the node's peers through it (:mod:`actors.remote.gateway_topics`), and
register realm-wide names (:mod:`actors.remote.gateway_names`).

A gateway that registers remotable classes advertises its capacity
(:class:`~actors.remote.placement.Capacity`: cores, free memory, load, morphologies, the
remotable names, tags) as a signed DHT record (:data:`CAPACITY_RECORD`), refreshed every
``advert_interval`` s; a spawn by placement query reads those records, keeps the nodes that
SWIM holds alive and that answered their last ping, and spawns on the best one.

Semantics (see ``docs/remote.md``): messages from one sender gateway to one node arrive in the
order sent (one ``tell`` batch in flight per destination node, the next sent once the last is
delivered); delivery is at most once (a batch that fails is dropped and counted, never resent);
a request's caller gets exactly one reply: the callee's, or a typed failure. A monitor fires
``Down`` with the actor's exit reason, or ``noconnection`` when SWIM declares its node dead or
no ping has been answered for ``ping_deadline`` s. The actor side of the gateway is single
threaded: the loop thread only moves bytes, through a queue. In ``local`` and ``cluster`` modes
the loop thread writes a byte to a pipe the actor's select loop watches (``watch_fds``), so the
actor drains the queue as soon as something is put in it; ``simple`` mode (one thread, no
select loop of its own) drains it on a short timer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import math
import os
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.remote import wire
from actors.remote.gateway_names import NAME_OPS, GatewayNames
from actors.remote.gateway_topics import TOPIC_OPS, TOPICS_NAME, GatewayTopics, TopicTable
from actors.remote.names import NamesConfig
from actors.remote.placement import (
    Capacity,
    CapacityTable,
    PlacementError,
    Requirements,
    encode_capacity,
    measure_capacity,
)
from actors.runtime import (
    NOREPLY,
    Caller,
    ChildSpec,
    Down,
    Exit,
    Reply,
    Supervisor,
    SupervisorArgs,
    SupFlags,
    Worker,
)
from actors.runtime.errors import RuntimeConfigError
from actors.runtime.messages import StartChild, TerminateChild, WhichChildren
from actors.runtime.remote_ref import (
    GATEWAY_NAME,
    Batch,
    RemoteCall,
    RemoteDemonitor,
    RemoteMonitor,
    RemotePlace,
    RemoteRef,
    RemoteSpawn,
    RemoteStop,
    RemoteTell,
    RemoteTells,
    WhoAmI,
)
from mesh.events import MemberDied
from mesh.identity import NodeKey, node_id_of
from mesh.node import CallError, MeshNode, NodeConfig
from mesh.rate import TokenBucket
from mesh.wire import Contact

__all__ = [
    "CAPACITY_RECORD",
    "PROCEDURE",
    "SPAWNED_NAME",
    "GatewayConfig",
    "GatewayStats",
    "Quotas",
    "RemoteGateway",
    "remote_node_spec",
]

log = logging.getLogger(__name__)

#: The mesh procedure every gateway offers.
PROCEDURE = "megabrain.actors"
#: Name of the DHT value records carrying the nodes' capacity adverts.
CAPACITY_RECORD = "megabrain.capacity"
#: A node whose monitors fired ``noconnection`` is left out of placements this long (s),
#: unless it answers a ping again.
UNREACHABLE_FOR = 30.0
#: Registered name of the supervisor of actors spawned here by other nodes.
SPAWNED_NAME = "megabrain.remote.spawned"
#: Names remote peers may not address (the runtime's own actors).
_RESERVED = "megabrain."
_BATCH_MSGS = 512
_BATCH_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Quotas:
    """What one remote node may take of this one."""

    #: Actors it spawned here and that are alive.
    actors: int = 256
    #: Messages (tells, requests, spawns) per second, with a burst of ``burst``.
    messages_per_s: float = 50_000.0
    burst: float = 100_000.0
    #: Bytes of its requests being served here at once (the share of our mailboxes it holds).
    mailbox_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("actors", "messages_per_s", "burst", "mailbox_bytes"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or isinstance(v, bool) or not v > 0:
                raise RuntimeConfigError(f"quota {name} must be a number > 0, got {v!r}")


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """How a gateway joins the mesh and what it lets other nodes do here."""

    #: The node's key file (created, mode 0600, if missing): the node id survives restarts.
    key_file: str
    realm: str = "default"
    host: str = "127.0.0.1"
    port: int = 0
    bootstrap: tuple[str, ...] = ()
    #: Name -> ``module.Class`` of the classes other nodes may spawn here.
    remotable: Mapping[str, str] = field(default_factory=dict)
    #: Node ids (hex) allowed to spawn here; None: every member of the realm.
    spawn_from: tuple[str, ...] | None = None
    quotas: Quotas = field(default_factory=Quotas)
    #: Liveness of nodes we monitor actors on.
    ping_interval: float = 1.0
    ping_deadline: float = 6.0
    #: Longest a served request may take (seconds).
    max_timeout: float = 300.0
    max_bytes: int = wire.MAX_BYTES
    #: What this node advertises for placement queries (with its cores, memory, load and
    #: remotable names), every ``advert_interval`` s while it registers remotable classes
    #: (0: never).
    morphologies: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    advert_interval: float = 5.0
    #: Global names: TTL and refresh of this node's claims (see actors.remote.names).
    names: NamesConfig = field(default_factory=NamesConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.key_file, str) or not self.key_file:
            raise RuntimeConfigError("GatewayConfig.key_file must be a path")
        if not isinstance(self.bootstrap, tuple):
            raise RuntimeConfigError("GatewayConfig.bootstrap must be a tuple of HOST:PORT")
        for name, path in dict(self.remotable).items():
            if (
                not isinstance(name, str)
                or not name
                or not isinstance(path, str)
                or "." not in path
            ):
                raise RuntimeConfigError(f"remotable {name!r}: {path!r} is not 'module.Class'")
        if self.spawn_from is not None:
            for nid in self.spawn_from:
                RemoteRef(nid, name="x")  # validates the hex id
        if not 0 < self.ping_interval < self.ping_deadline:
            raise RuntimeConfigError("need 0 < ping_interval < ping_deadline")
        if not isinstance(self.advert_interval, int | float) or not self.advert_interval >= 0:
            raise RuntimeConfigError("advert_interval must be seconds >= 0")
        try:  # the advert's names, checked without reading the host
            Capacity(0, 0, 0.0, self.morphologies, self.tags, tuple(self.remotable))
        except PlacementError as exc:
            raise RuntimeConfigError(f"GatewayConfig: {exc}") from None


@dataclass(slots=True)
class GatewayStats:
    """Counters a gateway answers to ``"stats"`` requests with."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def remote_node_spec(config: GatewayConfig, id: str = "remote") -> ChildSpec:
    """A supervisor (rest_for_one) holding the spawn supervisor, the topic table and the
    gateway: start it with ``rt.start_root`` or as a child of your own tree. The gateway is
    restarted by it, and finds the actors spawned before its restart under the spawn
    supervisor and its subscriptions in the topic table
    (:mod:`actors.remote.gateway_topics`)."""
    spawned = ChildSpec(
        "spawned", Supervisor, (SupervisorArgs(SupFlags("one_for_one", 1_000_000, 1.0)),),
        name=SPAWNED_NAME,
    )  # fmt: skip
    topics = ChildSpec("topics", TopicTable, name=TOPICS_NAME)
    gateway = ChildSpec("gateway", RemoteGateway, (config,), name=GATEWAY_NAME)
    flags = SupFlags("rest_for_one", intensity=5, period=10.0)
    return ChildSpec(id, Supervisor, (SupervisorArgs(flags, (spawned, topics, gateway)),))


class _Refused(Exception):
    """An operation refused by ``code`` (answered to the remote caller as an error)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail


@dataclass(slots=True)
class _Watch:
    """A monitor this node holds on a remote actor."""

    ref: RemoteRef
    watcher: Any


@dataclass(slots=True)
class _Peer:
    """What we know of one remote node we talk to."""

    boot: str | None = None
    last_ok: float = 0.0
    pinging: bool = False
    out: deque[tuple[RemoteRef, Any]] = field(default_factory=deque)
    sending: bool = False


def _load_key(path: str) -> NodeKey:
    p = Path(path)
    if p.exists():
        return NodeKey.load(p)
    key = NodeKey.generate()
    p.parent.mkdir(parents=True, exist_ok=True)
    key.save(p)
    return key


class RemoteGateway(GatewayNames, GatewayTopics, Worker):
    """See the module docstring. Args: one :class:`GatewayConfig`. Global names: see
    :mod:`actors.remote.gateway_names`; topics, genotype records and peers:
    :mod:`actors.remote.gateway_topics`."""

    def on_start(self, config: GatewayConfig) -> None:
        if not isinstance(config, GatewayConfig):
            raise RuntimeConfigError(f"RemoteGateway takes a GatewayConfig, got {config!r}")
        self.cfg = config
        self.stats = GatewayStats()
        self.boot = uuid.uuid4().hex[:16]
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._classes = {
            name: self._remotable(name, path) for name, path in config.remotable.items()
        }
        self._spawn_from = None if config.spawn_from is None else frozenset(config.spawn_from)
        self._seq = itertools.count(1)
        # served side: spawned actor id -> (address, owner node hex)
        self._actors: dict[str, tuple[Any, str]] = {}
        self._actor_mon: dict[str, str] = {}  # local monitor ref -> spawned actor id
        self._retries: dict[str, int] = {}
        self._child_watchers: dict[str, set[str]] = {}  # spawned id -> served monitor refs
        self._served: dict[str, tuple[str, str]] = {}  # local monitor ref -> (watcher node, mref)
        self._served_by: dict[tuple[str, str], str] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._held: dict[str, int] = {}  # bytes of requests being served, per peer
        # calling side
        self._watches: dict[str, _Watch] = {}  # mref -> watch
        self._peers: dict[str, _Peer] = {}
        self._last_busy = 0.0
        self._unreachable: dict[str, float] = {}  # node -> when its monitors fired
        self._placed: dict[str, set[str]] = {}  # node -> actors we spawned there, not seen exit
        self._wake: tuple[int, int] | None = None
        if self.init_msg is not None and self.init_msg.mode != "simple":
            self._wake = os.pipe()
            for fd in self._wake:
                os.set_blocking(fd, False)
            self.watch_fds([self._wake[0]])
        self._start_node()
        self._rebuild()
        if self._wake is None:
            self.call_later(0.001, self._poll)
        self.call_later(config.ping_interval, self._ping_all)
        if self._classes and config.advert_interval > 0:
            self.call_later(0.0, self._advertise)
        self._name_start()
        self._topics_start()

    def _remotable(self, name: str, path: str) -> type:
        spec = ChildSpec("probe", path)  # imports and checks it is a Worker or Supervisor
        return spec.actor_class()  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ the loop thread
    def _start_node(self) -> None:
        key = _load_key(self.cfg.key_file)
        self.node_id = key.node_id.hex()
        self.node = MeshNode(key, (self.cfg.realm,), config=NodeConfig())
        self.loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(self.loop)

            async def boot() -> None:
                try:
                    addr = await self.node.start(self.cfg.host, self.cfg.port, self.cfg.bootstrap)
                    await self.node.register(PROCEDURE, self._serve_mesh)
                    self.node.add_listener(self._on_mesh_event)
                    ready.set_result(addr)
                except Exception as exc:  # reported to on_start below
                    ready.set_exception(exc)

            self.loop.create_task(boot())
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="remote-gateway", daemon=True)
        self._thread.start()
        try:
            self.address = ready.result(timeout=20.0)
        except Exception:
            self._stop_loop()
            raise

    def _stop_loop(self) -> None:
        loop = getattr(self, "loop", None)
        if loop is None or loop.is_closed():
            return

        async def close() -> None:
            with contextlib.suppress(Exception):
                await self.node.close()
            loop.stop()

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(close(), loop)
        self._thread.join(10.0)
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_default_executor())
        with contextlib.suppress(Exception):
            loop.close()
        task = Path(f"/proc/self/task/{self._thread.native_id}")
        deadline = time.monotonic() + 5.0
        # Thread.join returns before the OS thread has run its thread-local destructors
        # (OpenSSL's take OpenSSL's global lock): a fork in that window (Thespian forks
        # actors) would copy the lock held and hang the child's first QUIC handshake. Wait
        # (bounded) until /proc shows the thread gone.
        while task.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        wake, self._wake = self._wake, None
        if wake is not None and not self._thread.is_alive():  # else its write could hit a reused fd
            self.watch_fds([])
            for fd in wake:
                with contextlib.suppress(OSError):
                    os.close(fd)

    async def _serve_mesh(self, caller: bytes, args: bytes) -> bytes:
        """(loop thread) One operation from node ``caller``: handed to the actor thread."""
        fut: asyncio.Future[bytes] = self.loop.create_future()
        self._post(lambda: self._serve(caller.hex(), args, fut))
        return await asyncio.wait_for(fut, self.cfg.max_timeout + 5.0)

    def _on_mesh_event(self, ev: Any) -> None:
        if isinstance(ev, MemberDied):
            nid = ev.node_id.hex()
            self._post(lambda: self._node_down(nid, "SWIM declared the node dead"))
            self._post(lambda: self._owner_dead(nid))

    def _answer(
        self, fut: asyncio.Future[bytes], value: Any = None, err: tuple[str, str] | None = None
    ) -> None:
        """(actor thread) Complete a served operation."""
        body = {"ok": value} if err is None else {"err": list(err)}
        try:
            data = wire.encode(body, max_bytes=self.cfg.max_bytes)
        except wire.WireError as exc:
            data = wire.encode({"err": [exc.reason, f"the answer: {exc.detail}"]})

        def done() -> None:
            if not fut.done():
                fut.set_result(data)

        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.loop.call_soon_threadsafe(done)

    def _submit(
        self, coro: Coroutine[Any, Any, Any], then: Callable[[Any, BaseException | None], None]
    ) -> None:
        """Run ``coro`` on the loop; ``then(result, error)`` runs on the actor thread."""
        try:
            fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        except RuntimeError as exc:
            coro.close()
            then(None, exc)
            return

        def done(f: concurrent.futures.Future[Any]) -> None:
            try:
                res, err = f.result(), None
            except BaseException as exc:  # handed to ``then``
                res, err = None, exc
            self._post(lambda: then(res, err))

        fut.add_done_callback(done)

    def _post(self, fn: Callable[[], None]) -> None:
        """(loop thread) Hand ``fn`` to the actor thread, waking its select loop."""
        self._inbox.put(fn)
        if self._wake is not None:
            with contextlib.suppress(BlockingIOError, OSError):  # full: a wakeup is pending
                os.write(self._wake[1], b"\0")

    def on_readable(self, ready: list[int]) -> None:
        if self._wake is None:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._wake[0], 65536):  # drain first: a later put writes again
                pass
        self._drain()

    def _poll(self) -> None:
        """(``simple`` mode) Drain the queue, and look again soon."""
        n = self._drain()
        now = time.monotonic()
        if n:
            self._last_busy = now
        self.call_later(0.0005 if now - self._last_busy < 1.0 else 0.005, self._poll)

    def _drain(self) -> int:
        n = 0
        while True:
            try:
                fn = self._inbox.get_nowait()
            except queue.Empty:
                break
            n += 1
            try:
                fn()
            except Exception:  # one bad operation never takes the gateway down
                self.stats.add("internal_errors")
                log.exception("remote gateway: operation failed")
        return n

    # ------------------------------------------------------------------ calling side
    async def _call_node(self, node: str, data: bytes, timeout: float) -> bytes:
        """(loop thread) Call :data:`PROCEDURE` on ``node``, found among the live members."""
        nid = bytes.fromhex(node)
        contact = None
        if node == self.node_id:  # a ref of this node: served here, as a peer's call is
            return await self._serve_mesh(nid, data)
        else:
            for p in self.node.peers(self.cfg.realm):
                if p.node_id == nid and p.status != "dead":
                    contact = Contact(nid, p.address)
        if contact is None:
            raise _Refused("noconnection", f"node {node[:12]} is not a live member of the realm")
        return await self.node.call(
            PROCEDURE, data, realm=self.cfg.realm, timeout=timeout, provider=contact
        )

    def _op(
        self,
        node: str,
        body: dict[str, Any],
        timeout: float,
        then: Callable[[Any, tuple[str, str] | None], None],
    ) -> None:
        """Send operation ``body`` to ``node``; then ``then(value, None)`` or
        ``then(None, (code, detail))``."""
        try:
            data = wire.encode(body, max_bytes=self.cfg.max_bytes)
        except wire.WireError as exc:
            then(None, (exc.reason, exc.detail))
            return
        self.stats.add("ops_sent")
        self.stats.add("bytes_sent", len(data))

        def got(res: Any, err: BaseException | None) -> None:
            if isinstance(err, _Refused):
                then(None, (err.code, err.detail))
                return
            if err is not None:
                code = "timeout" if isinstance(err, CallError) and err.code == 2 else "noconnection"
                if isinstance(err, CallError) and err.code == 4:
                    code = "remote"
                then(None, (code, str(err)))
                return
            self.stats.add("bytes_received", len(res))
            try:
                ans = wire.decode(res, max_bytes=self.cfg.max_bytes)
            except wire.WireError as exc:
                then(None, (exc.reason, f"the answer: {exc.detail}"))
                return
            if isinstance(ans, dict) and "ok" in ans:
                peer = self._peer(node)
                peer.last_ok = time.monotonic()
                then(ans["ok"], None)
            elif (
                isinstance(ans, dict) and isinstance(ans.get("err"), list) and len(ans["err"]) == 2
            ):
                self._peer(node).last_ok = time.monotonic()
                then(None, (str(ans["err"][0]), str(ans["err"][1])))
            else:
                then(None, ("malformed", "the answer is not {ok} or {err}"))

        self._submit(self._call_node(node, data, timeout), got)

    def _peer(self, node: str) -> _Peer:
        p = self._peers.get(node)
        if p is None:
            p = self._peers[node] = _Peer(last_ok=time.monotonic())
        return p

    @staticmethod
    def _addr(ref: RemoteRef) -> list[Any]:
        return [ref.actor, ref.name]

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, RemoteCall):
            return self._call_remote(payload, self.deferred())
        if isinstance(payload, RemoteSpawn):
            return self._spawn_remote(payload, self.deferred())
        if isinstance(payload, RemotePlace):
            return self._place_remote(payload, self.deferred())
        if isinstance(payload, RemoteStop):
            return self._stop_remote(payload, self.deferred())
        if isinstance(payload, RemoteMonitor):
            return self._monitor_remote(payload, sender)
        if isinstance(payload, RemoteDemonitor):
            return self._demonitor_remote(payload)
        if isinstance(payload, NAME_OPS):
            return self._name_call(payload, self.deferred())
        if isinstance(payload, TOPIC_OPS):
            return self._topic_call(payload, self.deferred())
        if isinstance(payload, WhoAmI):
            return {"node": self.node_id, "address": self.address, "realm": self.cfg.realm}
        if payload == "stats":
            return dict(self.stats.counts)
        raise RuntimeConfigError(f"the gateway does not handle {type(payload).__name__}")

    def _fail(self, caller: Caller, code: str, detail: str) -> None:
        self.send(
            caller.address, Reply(caller.ref, ok=False, error="remote", reason=f"{code}: {detail}")
        )

    def _call_remote(self, op: RemoteCall, caller: Caller) -> Any:
        timeout = min(float(op.timeout), self.cfg.max_timeout)
        body = {"op": "call", "to": self._addr(op.ref), "msg": op.payload, "timeout": timeout}

        def then(value: Any, err: tuple[str, str] | None) -> None:
            if err is None:
                self.reply(caller, value)
            else:
                self._fail(caller, *err)

        self._op(op.ref.node, body, timeout + 1.0, then)
        return NOREPLY

    def _spawn_remote(self, op: RemoteSpawn, caller: Caller) -> Any:
        if op.node:
            self._spawn_on(op.node, op, caller)
            return NOREPLY
        reqs = dict(op.placement or {})
        reqs.setdefault("actor", op.actor)

        def placed(nodes: list[str] | None, err: tuple[str, str] | None) -> None:
            if err is not None:
                self._fail(caller, *err)
            elif not nodes:
                self._fail(caller, "no_placement", f"no live node meets {reqs}")
            else:
                self._spawn_on(nodes[0], op, caller)

        self._place(reqs, op.exclude, None, placed)
        return NOREPLY

    def _spawn_on(self, node: str, op: RemoteSpawn, caller: Caller) -> None:
        body = {"op": "spawn", "cls": op.actor, "args": tuple(op.args), "link": bool(op.link)}

        def then(value: Any, err: tuple[str, str] | None) -> None:
            if err is None and isinstance(value, str):
                self._placed.setdefault(node, set()).add(value)
                self.reply(caller, RemoteRef(node, actor=value))
            else:
                self._fail(caller, *(err or ("malformed", "no actor id")))

        self._op(node, body, float(op.timeout), then)

    def _stop_remote(self, op: RemoteStop, caller: Caller) -> Any:
        if op.ref.actor is None:
            self._fail(caller, "schema", "only an actor spawned there (a ref by id) is stopped")
            return NOREPLY

        def then(value: Any, err: tuple[str, str] | None) -> None:
            if err is None or err[0] == "noproc":
                self._placed.get(op.ref.node, set()).discard(str(op.ref.actor))
            if err is None:
                self.reply(caller, value)
            else:
                self._fail(caller, *err)

        body = {"op": "stop", "to": op.ref.actor}
        self._op(op.ref.node, body, float(op.timeout), then)
        return NOREPLY

    # ------------------------------------------------------------------ placement
    def _advertise(self) -> None:
        """Store this node's capacity advert (and again every ``advert_interval`` s)."""
        try:
            cap = measure_capacity(self.cfg.morphologies, self.cfg.tags, self._classes)
        except Exception:  # e.g. a host figure unreadable: try again next time
            log.exception("remote gateway: cannot measure capacity")
        else:
            ttl = max(10, math.ceil(self.cfg.advert_interval * 3))
            coro = self.node.put_value(
                CAPACITY_RECORD, encode_capacity(cap), ttl=ttl, realm=self.cfg.realm
            )
            self._submit(coro, self._advertised)
        self.call_later(self.cfg.advert_interval, self._advertise)

    def _advertised(self, _result: Any, err: BaseException | None) -> None:
        self.stats.add("adverts" if err is None else "advert_errors")

    async def _adverts(self) -> tuple[list[Any], set[str]]:
        """(loop thread) The capacity records, and the nodes SWIM holds alive now."""
        records = await self.node.get_values(CAPACITY_RECORD, realm=self.cfg.realm)
        live = {p.node_id.hex() for p in self.node.peers(self.cfg.realm) if p.status == "alive"}
        live.add(self.node_id)
        return records, live

    def _place(
        self,
        requirements: Any,
        exclude: Any,
        limit: int | None,
        then: Callable[[list[str] | None, tuple[str, str] | None], None],
    ) -> None:
        """The nodes meeting ``requirements`` among the live adverts, best first: fewest
        actors this gateway spawned there and has not seen exit (so successive placements
        spread), then the adverts' ranking (load per core, free memory, node id). Left out
        are ``exclude``, nodes SWIM does not hold alive, and nodes whose monitors fired
        ``noconnection`` within :data:`UNREACHABLE_FOR` s (unless they answered since)."""
        try:
            if not isinstance(requirements, Mapping):
                raise PlacementError("placement requirements are a mapping")
            req = Requirements.from_mapping(requirements)
            skip = {RemoteRef(n, name="x").node for n in exclude}
        except (PlacementError, RuntimeConfigError, TypeError) as exc:
            then(None, ("schema", str(exc)))
            return

        def got(res: Any, err: BaseException | None) -> None:
            if err is not None:
                then(None, ("noconnection", f"capacity lookup failed: {err}"))
                return
            records, live = res
            now = time.monotonic()
            table = CapacityTable()
            for r in records:
                table.heard(node_id_of(r.author), r.value, r.ttl, now)
            if table.rejected:
                self.stats.add("adverts_rejected", table.rejected)
            recent = {n for n, t in self._unreachable.items() if now - t < UNREACHABLE_FOR}
            ranked = [
                n.hex()
                for n in table.query(req, now)
                if n.hex() in live and n.hex() not in skip and n.hex() not in recent
            ]
            nodes = sorted(ranked, key=lambda n: len(self._placed.get(n, ())))  # stable
            then(nodes if limit is None else nodes[:limit], None)

        self._submit(self._adverts(), got)

    def _place_remote(self, op: RemotePlace, caller: Caller) -> Any:
        def then(nodes: list[str] | None, err: tuple[str, str] | None) -> None:
            if err is None:
                self.reply(caller, nodes)
            else:
                self._fail(caller, *err)

        self._place(op.requirements, op.exclude, op.limit, then)
        return NOREPLY

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, RemoteTell):
            self._tell(msg.ref, msg.msg)
        elif isinstance(msg, RemoteTells):
            for t in msg.tells:
                self._tell(t.ref, t.msg, flush=False)
            for node in {t.ref.node for t in msg.tells}:
                peer = self._peers[node]
                if not peer.sending:
                    self._flush(node, peer)
        elif isinstance(msg, Down) and self._name_owns(msg):
            pass  # a globally registered actor exited: its names were withdrawn
        elif isinstance(msg, Down) and self._topic_owns(msg):
            pass  # a subscriber exited: dropped (or, by name, looked up again)
        elif isinstance(msg, Down):
            self._local_down(msg)
        else:
            super().handle(msg, sender)

    def _tell(self, ref: RemoteRef, msg: Any, flush: bool = True) -> None:
        peer = self._peer(ref.node)
        peer.out.append((ref, msg))
        if flush and not peer.sending:
            self._flush(ref.node, peer)

    def _flush(self, node: str, peer: _Peer) -> None:
        """Send the next batch of tells to ``node`` (one batch in flight per node)."""
        items: list[list[Any]] = []
        size = 0
        while peer.out and len(items) < _BATCH_MSGS and size < _BATCH_BYTES:
            ref, msg = peer.out.popleft()
            try:
                enc = wire.encode(msg, max_bytes=self.cfg.max_bytes)
            except wire.WireError as exc:
                self.stats.add(f"tell_refused.{exc.reason}")
                log.warning("remote tell to %s refused: %s", ref, exc)
                continue
            size += len(enc)
            items.append([ref.actor, ref.name, msg])
        if not items:
            peer.sending = False
            return
        peer.sending = True

        def then(value: Any, err: tuple[str, str] | None) -> None:
            if err is not None:
                self.stats.add("tells_lost", len(items))
                log.warning("remote gateway: %d tells to %s lost: %s", len(items), node[:12], err)
            else:
                self.stats.add("tells_sent", len(items))
            self._flush(node, peer)

        self._op(node, {"op": "tell", "msgs": items}, 30.0, then)

    def _monitor_remote(self, op: RemoteMonitor, sender: Any) -> Any:
        watcher = op.watcher if op.watcher is not None else sender
        self._watches[op.mref] = _Watch(op.ref, watcher)
        self._peer(op.ref.node)

        def then(value: Any, err: tuple[str, str] | None) -> None:
            if err is not None:
                self._fire(op.mref, Exit("noconnection", f"{err[0]}: {err[1]}"))
            elif value == "noproc":
                self._fire(op.mref, Exit("noproc", f"{op.ref} is not alive"))

        self._op(
            op.ref.node, {"op": "monitor", "to": self._addr(op.ref), "mref": op.mref}, 10.0, then
        )
        return op.mref

    def _demonitor_remote(self, op: RemoteDemonitor) -> Any:
        w = self._watches.pop(op.mref, None)
        if w is not None:
            self._op(w.ref.node, {"op": "demonitor", "mref": op.mref}, 10.0, lambda v, e: None)
        return None

    def _fire(self, mref: str, reason: Exit) -> None:
        w = self._watches.pop(mref, None)
        if w is not None and w.ref.actor is not None:
            self._placed.get(w.ref.node, set()).discard(w.ref.actor)
        if w is not None:
            self.stats.add(f"down.{reason.kind}")
            self.send(w.watcher, Down(mref, w.ref, w.ref, reason))

    def _node_down(self, node: str, why: str) -> None:
        self._unreachable[node] = time.monotonic()
        self._placed.pop(node, None)
        for mref in [m for m, w in self._watches.items() if w.ref.node == node]:
            self._fire(mref, Exit("noconnection", why))

    def _owner_dead(self, node: str) -> None:
        """SWIM declared ``node`` dead: stop the actors it spawned here linked."""
        for child, (_, owner) in list(self._actors.items()):
            if child.endswith("l") and node.startswith(owner[:16]):
                log.info("stopping %s: its owner node %s is dead", child, node[:12])
                self.stats.add("linked_stopped")
                self.request(SPAWNED_NAME, TerminateChild(child), 30.0, lambda _r: None)

    def _ping_all(self) -> None:
        now = time.monotonic()
        nodes = {w.ref.node for w in self._watches.values()}
        for node in nodes:
            peer = self._peer(node)
            if now - peer.last_ok > self.cfg.ping_deadline:
                self._node_down(node, f"no answer for {self.cfg.ping_deadline} s")
                peer.last_ok = now
                continue
            if not peer.pinging:
                peer.pinging = True
                self._op(node, {"op": "ping"}, self.cfg.ping_interval * 2,
                         lambda v, e, n=node, p=peer: self._pinged(n, p, v, e))  # fmt: skip
        self.call_later(self.cfg.ping_interval, self._ping_all)

    def _pinged(self, node: str, peer: _Peer, value: Any, err: tuple[str, str] | None) -> None:
        peer.pinging = False
        if err is not None or not isinstance(value, str):
            return
        self._unreachable.pop(node, None)
        if peer.boot is not None and value != peer.boot:
            # the node's gateway restarted and forgot our monitors: set them again
            for mref, w in self._watches.items():
                if w.ref.node == node:
                    body = {"op": "monitor", "to": self._addr(w.ref), "mref": mref}
                    self._op(node, body, 10.0, lambda v, e, m=mref: self._renewed(m, v))
        peer.boot = value

    def _renewed(self, mref: str, value: Any) -> None:
        if value == "noproc":
            self._fire(mref, Exit("noproc", "gone when its node's gateway restarted"))

    # ------------------------------------------------------------------ served side
    def _serve(self, caller: str, data: bytes, fut: asyncio.Future[bytes]) -> None:
        """(actor thread) Decode and run one operation from node ``caller``."""
        self.stats.add("ops_served")
        try:
            body = wire.decode(data, max_bytes=self.cfg.max_bytes)
            if not isinstance(body, dict) or not isinstance(body.get("op"), str):
                raise _Refused("malformed", "an operation is a map with an op")
            op = body["op"]
            handler = self._served_ops.get(op)
            if handler is None:
                raise _Refused("malformed", f"unknown op {op[:40]!r}")
            n = len(body["msgs"]) if op == "tell" and isinstance(body.get("msgs"), list) else 1
            bucket = self._buckets.get(caller)
            now = time.monotonic()
            if bucket is None:
                q = self.cfg.quotas
                bucket = self._buckets[caller] = TokenBucket(q.messages_per_s, q.burst, now)
            if op != "ping" and not bucket.take(now, n):
                raise _Refused(
                    "over_quota", f"more than {self.cfg.quotas.messages_per_s:g} messages/s"
                )
            handler(self, caller, body, fut, len(data))
        except wire.WireError as exc:
            self.stats.add(f"refused.{exc.reason}")
            self._answer(fut, err=(exc.reason, exc.detail))
        except _Refused as exc:
            self.stats.add(f"refused.{exc.code}")
            self._answer(fut, err=(exc.code, exc.detail))

    def _local(self, to: Any) -> Any:
        """A local address, or a registered name, for a ``[actor, name]`` pair."""
        if not isinstance(to, list) or len(to) != 2:
            raise _Refused("malformed", "a target is [actor id, name]")
        actor, name = to
        if isinstance(actor, str):
            entry = self._actors.get(actor)
            if entry is None:
                raise _Refused("noproc", f"no actor {actor[:40]!r} here")
            return entry[0]
        if isinstance(name, str) and name:
            if name.startswith(_RESERVED):
                raise _Refused("noproc", f"{name[:40]!r} is not reachable from other nodes")
            return name
        raise _Refused("malformed", "a target names an actor id or a name")

    def _s_ping(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        self._answer(fut, self.boot)

    def _s_spawn(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        name, args = body.get("cls"), body.get("args", ())
        if self._spawn_from is not None and caller not in self._spawn_from:
            raise _Refused("spawn_denied", f"node {caller[:12]} may not spawn here")
        if not isinstance(name, str) or name not in self._classes:
            raise _Refused(
                "not_remotable", f"{str(name)[:80]!r} is not registered as remotable here"
            )
        if not isinstance(args, tuple | list):
            raise _Refused("schema", "spawn args are an array")
        owned = sum(1 for _, owner in self._actors.values() if owner == caller)
        if owned >= self.cfg.quotas.actors:
            raise _Refused("over_quota", f"{owned} actors spawned here already")
        # a linked actor's id ends in "l" (so a restarted gateway still knows it is linked)
        link = "l" if body.get("link") is True else ""
        child = f"{caller[:16]}-{self.boot[:6]}-{next(self._seq)}{link}"
        spec = ChildSpec(child, self.cfg.remotable[name], tuple(args), restart="temporary")
        self._actors[child] = (None, caller)  # counts against the quota while starting

        def started(reply: Reply) -> None:
            if not reply.ok:
                self._actors.pop(child, None)
                self._answer(fut, err=("spawn_failed", f"{reply.error}: {reply.reason}"[:2000]))
                return
            self._adopt(child, reply.value, caller)
            self.stats.add("spawned")
            self._answer(fut, child)

        self.request(SPAWNED_NAME, StartChild(spec), 30.0, started)

    def _adopt(self, child: str, address: Any, owner: str) -> None:
        self._actors[child] = (address, owner)
        self._actor_mon[self.monitor(address)] = child

    def _remonitor(self, child: str) -> None:
        entry = self._actors.get(child)
        if entry is not None:
            self._actor_mon[self.monitor(entry[0])] = child

    def _rebuild(self) -> None:
        """After a restart: find the actors spawned before it under the spawn supervisor."""

        def got(reply: Reply) -> None:
            if not reply.ok:
                return
            for info in reply.value:
                if info.address is not None and info.id not in self._actors:
                    owner = info.id.split("-", 1)[0]
                    self._adopt(info.id, info.address, owner)

        self.request(SPAWNED_NAME, WhichChildren(), 10.0, got)

    def _owner_ok(self, caller: str, owner: str) -> bool:
        return owner == caller or caller.startswith(owner)

    def _s_stop(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        child = body.get("to")
        entry = self._actors.get(child) if isinstance(child, str) else None
        if entry is None:
            raise _Refused("noproc", f"no actor {str(child)[:40]!r} here")
        if not self._owner_ok(caller, entry[1]):
            raise _Refused("not_owner", "only the node that spawned an actor stops it")

        def stopped(reply: Reply) -> None:
            if reply.ok:
                self._answer(fut, "ok")
            else:
                self._answer(fut, err=("noproc", f"{reply.error}: {reply.reason}"[:2000]))

        self.request(SPAWNED_NAME, TerminateChild(child), 30.0, stopped)

    def _s_call(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        target = self._local(body.get("to"))
        timeout = body.get("timeout")
        if not isinstance(timeout, int | float) or not 0 < timeout <= self.cfg.max_timeout:
            raise _Refused("schema", "a call's timeout is seconds in (0, max_timeout]")
        held = self._held.get(caller, 0)
        if held + size > self.cfg.quotas.mailbox_bytes:
            raise _Refused("over_quota", f"{held} bytes of requests being served already")
        self._held[caller] = held + size

        def replied(reply: Reply) -> None:
            self._held[caller] = self._held.get(caller, size) - size
            if reply.ok:
                self._answer(fut, reply.value)
            elif reply.error == "remote" and ":" in reply.reason:  # relayed: keep its code
                code, detail = reply.reason.split(":", 1)
                self._answer(fut, err=(code, detail.strip()[:4000]))
            else:
                self._answer(fut, err=(reply.error or "failed", reply.reason[:4000]))

        self.request(target, body.get("msg"), float(timeout), replied)

    def _s_tell(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        msgs = body.get("msgs")
        if not isinstance(msgs, list):
            raise _Refused("malformed", "a tell carries a list of messages")
        self._deliver(caller, deque(msgs), fut, 0, [])

    def _deliver(
        self, caller: str, msgs: deque[Any], fut: Any, done: int, refused: list[str]
    ) -> None:
        """Deliver ``msgs`` in order; a name is resolved (asynchronously) before the rest go.
        Consecutive messages to one spawned actor (a supervised actor) go as one
        :class:`~actors.runtime.remote_ref.Batch`, unpacked by its runtime wrapper."""
        run: list[Any] = []
        run_to: Any = None

        def send_run() -> None:
            if run:
                self.send(run_to, run[0] if len(run) == 1 else Batch(tuple(run)))
                run.clear()

        while msgs:
            item = msgs.popleft()
            if not isinstance(item, list) or len(item) != 3:
                refused.append("malformed")
                continue
            try:
                target = self._local(item[:2])
            except _Refused as exc:
                refused.append(exc.code)
                continue
            if isinstance(target, str):
                send_run()

                def resolved(reply: Reply, msg: Any = item[2], done: int = done) -> None:
                    if reply.ok and reply.value is not None:
                        self.send(reply.value, msg)
                        self._deliver(caller, msgs, fut, done + 1, refused)
                    else:
                        refused.append("noproc")
                        self._deliver(caller, msgs, fut, done, refused)

                self.whereis(target, resolved, 5.0)
                return
            if target is not run_to:
                send_run()
                run_to = target
            run.append(item[2])
            done += 1
        send_run()
        self.stats.add("tells_delivered", done)
        if refused:
            self.stats.add("tells_refused", len(refused))
        self._answer(fut, {"delivered": done, "refused": refused[:64]})

    def _s_monitor(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        mref = body.get("mref")
        if not isinstance(mref, str) or not 0 < len(mref) <= 128:
            raise _Refused("schema", "a monitor ref is 1-128 chars")
        try:
            target = self._local(body.get("to"))
        except _Refused as exc:
            if exc.code == "noproc":
                self._answer(fut, "noproc")
                return
            raise
        if (caller, mref) in self._served_by:
            self._answer(fut, "ok")
            return
        served = sum(1 for n, _ in self._served.values() if n == caller)
        if served >= 16 * self.cfg.quotas.actors:
            raise _Refused("over_quota", f"{served} monitors held for node {caller[:12]}")
        to = body["to"]
        if isinstance(to[0], str):  # a spawned actor: its exit is already watched here
            lref = f"child:{to[0]}:{mref}"
            self._child_watchers.setdefault(to[0], set()).add(lref)
        else:
            lref = self.monitor(target)
        self._served[lref] = (caller, mref)
        self._served_by[(caller, mref)] = lref
        self._answer(fut, "ok")

    def _s_demonitor(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        lref = self._served_by.pop((caller, str(body.get("mref"))), None)
        if lref is not None:
            self._served.pop(lref, None)
            if lref.startswith("child:"):
                self._child_watchers.get(lref.split(":")[1], set()).discard(lref)
            else:
                self.demonitor(lref)
        self._answer(fut, "ok")

    def _s_down(self, caller: str, body: dict[str, Any], fut: Any, size: int) -> None:
        mref, reason = body.get("mref"), body.get("reason")
        w = self._watches.get(mref) if isinstance(mref, str) else None
        if w is not None and w.ref.node == caller and isinstance(reason, Exit):
            self._fire(mref, reason)  # type: ignore[arg-type]
        self._answer(fut, "ok")

    _served_ops: dict[str, Callable[..., None]] = {
        "ping": _s_ping, "spawn": _s_spawn, "call": _s_call, "tell": _s_tell,
        "monitor": _s_monitor, "demonitor": _s_demonitor, "down": _s_down, "stop": _s_stop,
    }  # fmt: skip

    def _local_down(self, down: Down) -> None:
        child = self._actor_mon.pop(down.ref, None)
        if child is not None:
            entry = self._actors.get(child)
            tries = self._retries.pop(child, 0)
            if down.reason.kind == "noproc" and entry is not None and tries < 20:
                # the registry may hear of our monitor before the supervisor's ChildUp:
                # look again shortly (an actor that really died stays noproc)
                self._retries[child] = tries + 1
                self.call_later(0.01, lambda: self._remonitor(child))
            else:
                log.debug("spawned %s down: %s", child, down.reason)
                self._actors.pop(child, None)
                for lref in self._child_watchers.pop(child, set()):
                    self._send_down(lref, down.reason)
            return
        self._send_down(down.ref, down.reason)

    def _send_down(self, lref: str, reason: Exit) -> None:
        served = self._served.pop(lref, None)
        if served is not None:
            node, mref = served
            self._served_by.pop(served, None)
            body = {"op": "down", "mref": mref, "reason": reason}
            self._op(node, body, 10.0, lambda v, e: None)

    # ------------------------------------------------------------------ stopping
    def on_stop(self, reason: str) -> None:
        self._name_stop()
        self._stop_loop()

    def _on_exit_request(self) -> None:
        self._stop_loop()

    def _report(self, reason: Exit) -> None:
        super()._report(reason)
        if not reason.is_normal:
            self._stop_loop()
