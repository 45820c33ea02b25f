"""The mesh gateway: a Thespian actor that bridges the local actor system to a :class:`MeshNode`.

Local actors talk to it with the plain messages of :mod:`mesh.gateway_messages` and receive
events (``TopicEvent``), remote calls (``IncomingCall``) and replies as messages. Works in
Thespian's ``simpleSystemBase`` and ``multiprocTCPBase``.

Design: the node runs on an asyncio event loop in a thread owned by the gateway. The actor
never blocks on the mesh: requests become coroutines submitted to the loop
(``run_coroutine_threadsafe``), and everything the loop has for local actors goes to a
thread-safe outbox that the actor drains on a short ``wakeupAfter`` period
(``GatewayConfig.poll``), since only the actor's own thread may send actor messages.

Restarts: after every subscription or registration change the gateway sends a
:class:`~mesh.gateway_messages.GatewayState` to its *owner* (the sender of ``StartGateway``).
Whoever restarts the gateway (its supervisor) sends ``StartGateway(config, last_state)`` to the
new instance: with the same key file the node comes back with the same node id, reconnects
through the bootstrap addresses, and re-subscribes and re-registers everything on the mesh,
delivering to the same local actors as before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import itertools
import queue
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from threading import Thread
from typing import Any

from thespian.actors import Actor as _Actor
from thespian.actors import ActorExitRequest, WakeupMessage

from mesh import gateway_messages as gm
from mesh.errors import MeshError
from mesh.events import EventReceived
from mesh.identity import NodeKey
from mesh.node import CallError, MeshNode, NodeConfig
from mesh.transport import parse_address

__all__ = ["MeshGateway"]

_POLL = "mesh-gateway-poll"
_START_TIMEOUT = 10.0  # binding a UDP socket; generous for a loaded machine


def _close_loop(loop: asyncio.AbstractEventLoop, node: MeshNode) -> None:
    """Close ``node`` and ``loop`` on the loop's own thread, leaving no thread behind.

    ``loop.getaddrinfo`` runs in the loop's default executor; ``loop.close()`` alone only
    *asks* that worker thread to exit, so it may still be alive when the hosting process next
    forks (Thespian's multiprocTCPBase forks its admin and actors), and a fork taken while
    another thread holds a lock can leave the child stuck for good. Joining the executor here
    makes a stopped gateway leave its process with no extra thread at all.
    """
    try:
        loop.run_until_complete(node.close())
    finally:
        try:
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _join_thread(thread: Thread, timeout: float) -> None:
    """Join ``thread``, then wait (bounded) until its OS thread has exited as well.

    ``Thread.join`` returns once the Python thread state is gone, but the OS thread still runs
    its thread-local destructors afterwards -- OpenSSL's among them, which take OpenSSL's global
    lock. A fork taken in that window (Thespian's multiprocTCPBase forks its admin, and the
    admin its actors) copies the lock *held*: the child's first OpenSSL call from a new thread
    (the next gateway's QUIC certificate) then blocks forever while holding the GIL, and that
    gateway never answers. On Linux, ``/proc/self/task/<native_id>`` shows when the thread
    has really gone; elsewhere this is a plain join.
    """
    thread.join(timeout)
    task = Path(f"/proc/self/task/{thread.native_id}")
    deadline = time.monotonic() + timeout
    while thread.native_id is not None and task.exists() and time.monotonic() < deadline:
        time.sleep(0.001)


class MeshGateway(_Actor):
    """See the module docstring. One gateway runs one node."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: Thread | None = None
        self._node: MeshNode | None = None
        self._owner: Any = None
        self._config: gm.GatewayConfig | None = None
        self._outbox: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()
        self._subs: dict[tuple[str | None, str], list[Any]] = {}
        self._procs: dict[tuple[str | None, str], Any] = {}
        self._calls: dict[int, asyncio.Future[bytes]] = {}  # touched on the loop thread only
        self._call_ids = itertools.count(1)
        self._handlers: dict[type, Callable[[Any, Any], None]] = {
            gm.StartGateway: self._start,
            gm.Subscribe: self._subscribe,
            gm.Unsubscribe: self._unsubscribe,
            gm.Publish: self._publish,
            gm.Register: self._register,
            gm.Reply: self._reply,
            gm.Call: self._call,
            gm.Advertise: self._advertise,
            gm.Find: self._find,
            gm.GetPeers: self._peers,
            gm.GetStats: self._stats,
        }

    # ------------------------------------------------------------------ actor side
    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, WakeupMessage):
            if message.payload == _POLL:
                self._drain()
                if self._node is not None and self._config is not None:
                    self.wakeupAfter(datetime.timedelta(seconds=self._config.poll), _POLL)
            return
        if isinstance(message, ActorExitRequest):
            self._stop()
            return
        handler = self._handlers.get(type(message))
        if handler is None:
            return
        if self._node is None and not isinstance(message, gm.StartGateway):
            self.send(sender, gm.GatewayError(getattr(message, "ref", None), "gateway not started"))
            return
        handler(message, sender)

    def _drain(self) -> None:
        while True:
            try:
                target, msg = self._outbox.get_nowait()
            except queue.Empty:
                return
            if target is not None:
                self.send(target, msg)

    def _submit(
        self,
        coro: Coroutine[Any, Any, Any],
        sender: Any,
        ok: Callable[[Any], Any],
        ref: Any,
    ) -> None:
        """Run ``coro`` on the node's loop; its result ``ok(result)`` (or an error) goes to
        ``sender`` through the outbox."""
        assert self._loop is not None
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        outbox = self._outbox

        def done(f: concurrent.futures.Future[Any]) -> None:
            try:
                outbox.put((sender, ok(f.result())))
            except CallError as exc:
                outbox.put((sender, gm.CallFailed(ref, exc.code, exc.message)))
            except (MeshError, TimeoutError, concurrent.futures.CancelledError) as exc:
                outbox.put((sender, gm.GatewayError(ref, f"{type(exc).__name__}: {exc}")))

        fut.add_done_callback(done)

    def _state_changed(self) -> None:
        state = gm.GatewayState(
            tuple((r, t, a) for (r, t), addrs in self._subs.items() for a in addrs),
            tuple((r, p, a) for (r, p), a in self._procs.items()),
        )
        if self._owner is not None:
            self.send(self._owner, state)

    # ------------------------------------------------------------------ lifecycle
    def _start(self, msg: gm.StartGateway, sender: Any) -> None:
        """Answer ``StartGateway`` with exactly one ``GatewayReady`` or ``GatewayError``.

        Every failure (bad config, unreadable key, a node that does not start in time, an
        unexpected exception) becomes a ``GatewayError``: a caller is never left without a reply.
        """
        if self._node is not None:
            self.send(sender, gm.GatewayError(None, "gateway already started"))
            return
        try:
            ready = self._boot(msg, sender)
        except Exception as exc:  # reported to the caller, never swallowed
            self._abort()
            self.send(sender, gm.GatewayError(None, f"{type(exc).__name__}: {exc}"))
            return
        self.send(sender, ready)
        self._state_changed()
        assert self._config is not None
        self.wakeupAfter(datetime.timedelta(seconds=self._config.poll), _POLL)

    def _boot(self, msg: gm.StartGateway, sender: Any) -> gm.GatewayReady:
        """Start the node on its own loop thread and restore ``msg.state``; raise on failure."""
        cfg = msg.config
        self._owner, self._config = sender, cfg
        host, port = parse_address(cfg.listen)
        path = Path(cfg.key_path)
        if not path.exists():
            NodeKey.generate().save(path)
        key = NodeKey.load(path)
        ncfg = NodeConfig()
        if cfg.swim_period is not None:
            swim = replace(ncfg.mesh.swim, period=cfg.swim_period)
            ncfg = replace(ncfg, mesh=replace(ncfg.mesh, swim=swim))
        node = MeshNode(key, cfg.realms, config=ncfg)
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[tuple[str, bool]] = concurrent.futures.Future()

        async def start() -> tuple[str, bool]:
            address = await node.start(host, port, cfg.bootstrap)
            if not cfg.bootstrap:
                return address, False
            try:
                await node.wait_joined(cfg.join_timeout)
            except TimeoutError:
                return address, False
            return address, True

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                started.set_result(loop.run_until_complete(start()))
            except BaseException as exc:  # reported to the actor, which reports to the owner
                started.set_exception(exc)
            else:
                loop.run_forever()
            _close_loop(loop, node)

        self._loop = loop
        self._thread = Thread(target=run, name="mesh-gateway-loop", daemon=True)
        self._thread.start()
        wait = _START_TIMEOUT + (cfg.join_timeout if cfg.bootstrap else 0.0)
        try:
            address, joined = started.result(timeout=wait)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"node did not start within {wait:g} s") from None
        self._node = node
        for realm, topic, actor in msg.state.subscriptions:
            self._subscribe(gm.Subscribe(topic, ("restore", topic), realm), actor, quiet=True)
        for realm, procedure, actor in msg.state.procedures:
            self._register(gm.Register(procedure, ("restore", procedure), realm), actor, quiet=True)
        return gm.GatewayReady(node.node_id, address, joined)

    def _abort(self) -> None:
        """Undo a failed :meth:`_boot`: stop the loop thread if it runs, forget the node."""
        loop, thread = self._loop, self._thread
        self._node = self._loop = self._thread = None
        self._subs.clear()
        self._procs.clear()
        if loop is None:
            return
        if thread is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the thread closed the loop already
                loop.call_soon_threadsafe(loop.stop)
            _join_thread(thread, 10)
        elif not loop.is_closed():  # the thread never ran
            loop.close()

    def _stop(self) -> None:
        loop, thread, node = self._loop, self._thread, self._node
        self._node = None
        if loop is None or thread is None or node is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        _join_thread(thread, 10)
        self._loop = self._thread = None

    # ------------------------------------------------------------------ requests
    def _deliver(self, realm: str | None, topic: str) -> Callable[[EventReceived], None]:
        outbox, subs = self._outbox, self._subs
        node = self._node
        assert node is not None
        names = {r.id: r.name for r in node.realms}

        def on_event(ev: EventReceived) -> None:
            out = gm.TopicEvent(names[ev.realm], ev.topic, ev.author, ev.seq, ev.payload)
            for actor in list(subs.get((realm, topic), ())):
                outbox.put((actor, out))

        return on_event

    def _subscribe(self, msg: gm.Subscribe, sender: Any, quiet: bool = False) -> None:
        node = self._node
        assert node is not None
        key = (msg.realm, msg.topic)
        first = key not in self._subs
        addrs = self._subs.setdefault(key, [])
        if sender not in addrs:
            addrs.append(sender)
        handler = self._deliver(msg.realm, msg.topic) if first else None
        target = None if quiet else sender
        self._submit(
            node.subscribe(msg.topic, handler, realm=msg.realm), target,
            lambda st: gm.Subscribed(msg.topic, msg.ref, st.stored), msg.ref,
        )  # fmt: skip
        if not quiet:
            self._state_changed()

    def _unsubscribe(self, msg: gm.Unsubscribe, sender: Any) -> None:
        node = self._node
        assert node is not None
        key = (msg.realm, msg.topic)
        addrs = self._subs.get(key, [])
        if sender in addrs:
            addrs.remove(sender)
        if not addrs:
            self._subs.pop(key, None)
            self._submit(
                node.unsubscribe(msg.topic, realm=msg.realm), sender,
                lambda st: gm.Unsubscribed(msg.topic, msg.ref), msg.ref,
            )  # fmt: skip
        else:
            self.send(sender, gm.Unsubscribed(msg.topic, msg.ref))
        self._state_changed()

    def _publish(self, msg: gm.Publish, sender: Any) -> None:
        node = self._node
        assert node is not None
        self._submit(
            node.publish(msg.topic, msg.payload, realm=msg.realm, reliable=msg.reliable), sender,
            lambda op: gm.Published(msg.ref, int(op)), msg.ref,
        )  # fmt: skip

    def _register(self, msg: gm.Register, sender: Any, quiet: bool = False) -> None:
        node = self._node
        assert node is not None
        self._procs[(msg.realm, msg.procedure)] = sender
        outbox, calls, ids = self._outbox, self._calls, self._call_ids
        procs, key = self._procs, (msg.realm, msg.procedure)
        timeout = node.config.mesh.rpc.default_timeout

        async def handler(caller: bytes, args: bytes) -> bytes:
            cid = next(ids)
            fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            calls[cid] = fut
            outbox.put((procs[key], gm.IncomingCall(cid, msg.procedure, args, caller)))
            try:
                return await asyncio.wait_for(fut, timeout)
            finally:
                calls.pop(cid, None)

        self._submit(
            node.register(msg.procedure, handler, realm=msg.realm), None if quiet else sender,
            lambda st: gm.Registered(msg.procedure, msg.ref, st.stored), msg.ref,
        )  # fmt: skip
        if not quiet:
            self._state_changed()

    def _reply(self, msg: gm.Reply, sender: Any) -> None:
        calls = self._calls

        def resolve() -> None:
            fut = calls.get(msg.call_id)
            if fut is None or fut.done():
                return
            if msg.error is not None:
                fut.set_exception(RuntimeError(msg.error))
            else:
                fut.set_result(bytes(msg.value))

        assert self._loop is not None
        self._loop.call_soon_threadsafe(resolve)

    def _call(self, msg: gm.Call, sender: Any) -> None:
        node = self._node
        assert node is not None
        self._submit(
            node.call(msg.procedure, msg.args, realm=msg.realm, timeout=msg.timeout), sender,
            lambda value: gm.CallResult(msg.ref, value), msg.ref,
        )  # fmt: skip

    def _advertise(self, msg: gm.Advertise, sender: Any) -> None:
        node = self._node
        assert node is not None
        self._submit(
            node.advertise(msg.problem, msg.payload, meta=dict(msg.meta), realm=msg.realm),
            sender, lambda st: gm.Advertised(msg.ref, st.stored), msg.ref,
        )  # fmt: skip

    def _find(self, msg: gm.Find, sender: Any) -> None:
        node = self._node
        assert node is not None

        def found(records: list[Any]) -> gm.FoundRecords:
            return gm.FoundRecords(
                msg.ref,
                tuple(gm.FoundRecord(r.author, r.seq, r.value, tuple(r.meta)) for r in records),
            )

        self._submit(node.find(msg.problem, realm=msg.realm), sender, found, msg.ref)

    def _peers(self, msg: gm.GetPeers, sender: Any) -> None:
        node = self._node
        assert node is not None

        async def peers() -> list[Any]:
            return node.peers()

        self._submit(
            peers(), sender,
            lambda ps: gm.PeerList(
                msg.ref, tuple((p.node_id, p.address, p.status, p.connected) for p in ps)
            ),
            msg.ref,
        )  # fmt: skip

    def _stats(self, msg: gm.GetStats, sender: Any) -> None:
        node = self._node
        assert node is not None

        async def stats() -> dict[str, int]:
            return node.stats()

        self._submit(
            stats(), sender, lambda c: gm.NodeStats(msg.ref, tuple(sorted(c.items()))), msg.ref
        )
