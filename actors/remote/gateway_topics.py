"""The gateway's side of the mesh's topics, genotype records and peers: local actors
subscribe to the realm's topics and publish on them, advertise and find genotype records,
and read the node's peers and counters, through the node's
:class:`~actors.remote.gateway.RemoteGateway`.

:class:`GatewayTopics` is a part of the gateway (a base class of it) kept apart from the
actor operations. It handles the local requests of :mod:`actors.runtime.remote_ref`
(``TopicSubscribe`` ... ``MeshStats``) on the actor thread and runs the mesh operations
(``MeshNode.subscribe / unsubscribe / publish / advertise / find / peers / stats``) on the
gateway's loop through ``_submit``:

* **subscribe**: one mesh subscription per topic, any number of local subscribers (a local
  actor's address, or a name registered on this node). Each event of the topic becomes one
  :class:`~actors.runtime.remote_ref.TopicEvent` sent to every subscriber, in the order they
  subscribed; its payload is handed on as the mesh delivered it (authentic: the mesh checked
  the author's signature and dropped replays), never decoded. The reply comes once the
  subscription record is stored: how many DHT nodes accepted it (0 if none answered in
  time; the subscription stands and the mesh stores its record again).
* The gateway **monitors** every subscriber. One given by address that exits is dropped
  from all its topics. One given by name is looked up again for :data:`NAME_GRACE` s (a
  supervised subscriber restarted under its name keeps its subscriptions; events that
  arrive meanwhile are not delivered to it) and dropped if the name does not come back.
  A topic whose last subscriber goes is unsubscribed on the mesh.
* **unsubscribe**: the reply is whether the subscriber was subscribed.
* **publish**: payload bytes (at most ``GatewayConfig.max_bytes``), ``reliable`` or not;
  the reply is the publication's op id.
* **advertise / find**: signed genotype records in the DHT (``MeshNode.advertise /
  find``); ``find`` answers :class:`~actors.runtime.remote_ref.GenotypeRecord` values.
* **peers / stats**: :class:`~actors.runtime.remote_ref.MeshPeer` values for the realm's
  peers, and the node's counters.

**A restarted gateway keeps its subscriptions.** They are kept in a :class:`TopicTable`
(registered as :data:`TOPICS_NAME`), a sibling that
:func:`~actors.remote.gateway.remote_node_spec` starts before the gateway, under a
``rest_for_one`` supervisor, so that a gateway that dies (even by SIGKILL) is restarted
without it. Every change is written to the table, and a subscribe or unsubscribe is
answered only once the table has it. A restarted gateway reads the table, subscribes to
every topic again on the mesh (with the same key: the same node id) and monitors the
subscribers again; those that exited meanwhile are dropped. A gateway started without a
table (not by ``remote_node_spec``) serves topics the same way, but forgets them when it
restarts.

Mesh procedures are not offered to local actors: a remote actor's request (a
``RemoteRef``) is the call between nodes.

Errors reach the caller as remote failures with a code: ``schema`` (a topic or problem
the mesh refuses, a reserved meta key), ``oversized`` (a payload above ``max_bytes``),
``noproc`` (a subscriber name not registered here), ``timeout`` / ``noconnection`` (the
mesh did not answer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actors.remote.wire import register_message
from actors.runtime.child import NOREPLY, Caller, Worker
from actors.runtime.errors import RuntimeConfigError
from actors.runtime.messages import Down, Reply
from actors.runtime.registry_core import addr_key
from actors.runtime.remote_ref import (
    GenotypeAdvertise,
    GenotypeFind,
    GenotypeRecord,
    MeshPeer,
    MeshPeers,
    MeshStats,
    TopicEvent,
    TopicPublish,
    TopicSubscribe,
    TopicSubscriptions,
    TopicUnsubscribe,
)
from mesh.errors import MeshUsageError
from mesh.events import EventReceived
from mesh.identity import node_id_of

__all__ = ["NAME_GRACE", "TOPICS_NAME", "TOPIC_OPS", "GatewayTopics", "TopicTable"]

log = logging.getLogger(__name__)

#: Registered name of the table that keeps the gateway's subscriptions across its restarts.
TOPICS_NAME = "megabrain.remote.topics"
#: How long (s) a subscriber given by name may be away (restarting) before it is dropped.
NAME_GRACE = 5.0
#: The local requests :meth:`GatewayTopics._topic_call` handles.
TOPIC_OPS = (
    TopicSubscribe,
    TopicUnsubscribe,
    TopicPublish,
    TopicSubscriptions,
    GenotypeAdvertise,
    GenotypeFind,
    MeshPeers,
    MeshStats,
)

# A remote actor may pass these on (e.g. answer the events it received).
for _cls in (TopicEvent, GenotypeRecord, MeshPeer):
    register_message(f"megabrain.{_cls.__name__}")(_cls)


# ------------------------------------------------------------------ the table
@dataclass(frozen=True, slots=True)
class TableSet:
    """(gateway -> table) ``subscriber`` is (``present``) or is no longer subscribed to
    ``topic``."""

    topic: str
    subscriber: Any
    present: bool


@dataclass(frozen=True, slots=True)
class TableRead:
    """(gateway -> table) The reply is ``(table address, ((topic, subscriber), ...))``."""


class TopicTable(Worker):
    """Keeps the subscriptions of the node's gateway while the gateway restarts (see the
    module docstring). Holds no mesh state: a topic -> subscribers map, in order."""

    def on_start(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, TableSet):
            subs = self.rows.setdefault(payload.topic, {})
            if payload.present:
                subs[_key(payload.subscriber)] = payload.subscriber
            else:
                subs.pop(_key(payload.subscriber), None)
                if not subs:
                    del self.rows[payload.topic]
            return True
        if isinstance(payload, TableRead):
            rows = tuple((t, s) for t, subs in self.rows.items() for s in subs.values())
            return (self.myAddress, rows)
        raise RuntimeConfigError(f"the topic table does not handle {type(payload).__name__}")


def _key(subscriber: Any) -> str:
    """A hashable key of a subscriber: its name, or its address."""
    return f"name:{subscriber}" if isinstance(subscriber, str) else f"addr:{addr_key(subscriber)}"


# ------------------------------------------------------------------ the gateway's part
@dataclass(slots=True)
class _Sub:
    """A local subscriber."""

    subscriber: Any  # as given: an address or a registered name
    address: Any  # where its events go (None while its name is looked up again)
    mref: str | None
    topics: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Topic:
    """A topic this node subscribes to on the mesh."""

    keys: list[str] = field(default_factory=list)  # its subscribers, in order
    stored: int | None = None  # DHT nodes holding the record (None: being stored)
    waiting: list[Callable[[int], None]] = field(default_factory=list)


class _TopicRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


class GatewayTopics:
    """Topics, genotype records and peers of a :class:`~actors.remote.gateway.RemoteGateway`
    (see the module docstring). Uses the gateway's ``cfg``, ``node``, ``stats``, ``_submit``,
    ``_fail`` and the worker's ``request``, ``monitor``, ``whereis``, ``reply``, ``send``."""

    cfg: Any
    node: Any
    stats: Any

    if TYPE_CHECKING:  # provided by RemoteGateway and Worker

        def _fail(self, caller: Caller, code: str, detail: str) -> None: ...
        def _submit(self, coro: Any, then: Callable[[Any, BaseException | None], None]) -> None: ...
        def _post(self, fn: Callable[[], None]) -> None: ...
        def reply(self, caller: Caller, value: Any) -> None: ...
        def send(self, target: Any, msg: Any) -> None: ...
        def monitor(self, target: Any) -> str: ...
        def demonitor(self, ref: str) -> None: ...
        def request(
            self, target: Any, payload: Any, timeout: float, on_reply: Callable[[Reply], None]
        ) -> str: ...
        def whereis(
            self, name: str, on_reply: Callable[[Reply], None], timeout: float = 5.0
        ) -> str: ...
        def call_later(self, seconds: float, fn: Callable[[], None]) -> str: ...

    # ------------------------------------------------------------------ actor thread
    def _topics_start(self) -> None:
        """Read the table (after a restart: subscribe to its topics again)."""
        self._topics: dict[str, _Topic] = {}
        self._tsubs: dict[str, _Sub] = {}
        self._tmons: dict[str, str] = {}  # monitor ref -> subscriber key
        self._table: Any = None
        self._table_known = False
        self._table_queue: list[tuple[TableSet, Callable[[], None]]] = []
        self.request(TOPICS_NAME, TableRead(), 5.0, self._table_read)

    def _table_read(self, reply: Reply) -> None:
        self._table_known = True
        if not reply.ok:
            log.info("no topic table (%s): subscriptions will not survive a restart", reply.error)
        else:
            self._table, rows = reply.value
            for topic, subscriber in rows:
                self.stats.add("topics.restored")
                self._topic_restore(topic, subscriber)
        queued, self._table_queue = self._table_queue, []
        for op, then in queued:
            self._table_write(op, then)

    def _topic_restore(self, topic: str, subscriber: Any) -> None:
        """Attach a subscription read from the table, in the table's order; a name is looked
        up next (with the grace a restarting subscriber gets)."""
        if not isinstance(subscriber, str):
            self._topic_attach(topic, subscriber, subscriber)
            return
        key = self._topic_attach(topic, subscriber, None)
        if key is not None:
            self._topic_find_again(key, time.monotonic() + NAME_GRACE)

    def _table_write(self, op: TableSet, then: Callable[[], None]) -> None:
        if not self._table_known:  # the table is being read: write after it
            self._table_queue.append((op, then))
        elif self._table is None:
            then()
        else:

            def written(reply: Reply) -> None:
                if not reply.ok:
                    log.warning("topic table: %s not written: %s", op, reply.error)
                then()

            self.request(self._table, op, 10.0, written)

    def _topic_call(self, op: Any, caller: Caller) -> Any:
        """One of :data:`TOPIC_OPS`: answered now or later."""
        try:
            handler = _HANDLERS[type(op)]
            handler(self, op, caller)
        except _TopicRefused as exc:
            self.stats.add(f"topics.refused.{exc.code}")
            self._fail(caller, exc.code, exc.detail)
        return NOREPLY

    def _check_text(self, text: str, what: str) -> None:
        limit = self.node.core.config.limits.max_text
        if len(text) > limit:
            raise _TopicRefused("schema", f"a {what} is at most {limit} characters")

    def _check_payload(self, payload: bytes) -> None:
        if len(payload) > self.cfg.max_bytes:
            raise _TopicRefused(
                "oversized", f"{len(payload)} bytes, more than max_bytes ({self.cfg.max_bytes})"
            )

    def _mesh(
        self, coro: Any, timeout: float, caller: Caller, answer: Callable[[Any], Any]
    ) -> None:
        """Run ``coro`` on the loop within ``timeout`` s; reply ``answer(result)``."""

        def then(res: Any, err: BaseException | None) -> None:
            if err is None:
                self.reply(caller, answer(res))
            else:
                self._fail(caller, *_mesh_error(err))

        self._submit(asyncio.wait_for(coro, timeout), then)

    # -- subscriptions
    def _t_subscribe(self, op: TopicSubscribe, caller: Caller) -> None:
        self._check_text(op.topic, "topic")

        def attach(address: Any) -> None:
            key = self._topic_attach(op.topic, op.subscriber, address, op.timeout)
            if key is None:  # subscribed already
                self._topic_stored(op.topic, lambda n: self.reply(caller, n))
                return
            self.stats.add("topics.subscribed")
            write = TableSet(op.topic, op.subscriber, True)
            self._table_write(
                write, lambda: self._topic_stored(op.topic, lambda n: self.reply(caller, n))
            )

        if not isinstance(op.subscriber, str):
            attach(op.subscriber)
            return

        def found(reply: Reply) -> None:
            if reply.ok and reply.value is not None:
                attach(reply.value)
            else:
                self._fail(caller, "noproc", f"no actor registered as {op.subscriber!r} here")

        self.whereis(op.subscriber, found, 5.0)

    def _topic_attach(
        self, topic: str, subscriber: Any, address: Any, timeout: float = 10.0
    ) -> str | None:
        """Subscribe ``subscriber`` (at ``address``, None: being looked up) to ``topic``;
        its key, or None if it was subscribed already."""
        key = _key(subscriber)
        sub = self._tsubs.get(key)
        if sub is None:
            mref = self.monitor(address) if address is not None else None
            sub = self._tsubs[key] = _Sub(subscriber, address, mref)
            if mref is not None:
                self._tmons[mref] = key
        if topic in sub.topics:
            return None
        sub.topics.add(topic)
        t = self._topics.get(topic)
        if t is None:
            t = self._topics[topic] = _Topic()
            coro = self.node.subscribe(topic, self._topic_heard, realm=self.cfg.realm)
            self._submit(
                asyncio.wait_for(coro, timeout), lambda r, e: self._topic_done(topic, t, r, e)
            )
        t.keys.append(key)
        return key

    def _topic_done(self, topic: str, t: _Topic, res: Any, err: BaseException | None) -> None:
        """The mesh subscription of ``topic`` is stored (or not, in time)."""
        if err is not None:
            log.info("topic %r: subscription record not stored: %s", topic, err)
            self.stats.add("topics.store_failed")
        t.stored = int(res.stored) if err is None else 0
        waiting, t.waiting = t.waiting, []
        for fn in waiting:
            fn(t.stored)

    def _topic_stored(self, topic: str, fn: Callable[[int], None]) -> None:
        t = self._topics.get(topic)
        if t is None:  # unsubscribed meanwhile
            fn(0)
        elif t.stored is None:
            t.waiting.append(fn)
        else:
            fn(t.stored)

    def _t_unsubscribe(self, op: TopicUnsubscribe, caller: Caller) -> None:
        key = _key(op.subscriber)
        sub = self._tsubs.get(key)
        if sub is None or op.topic not in sub.topics:
            self.reply(caller, False)
            return
        self.stats.add("topics.unsubscribed")
        self._topic_detach(key, op.topic, lambda: self.reply(caller, True))

    def _topic_detach(self, key: str, topic: str, then: Callable[[], None]) -> None:
        sub = self._tsubs[key]
        sub.topics.discard(topic)
        if not sub.topics:
            del self._tsubs[key]
            if sub.mref is not None:
                self._tmons.pop(sub.mref, None)
                self.demonitor(sub.mref)
        t = self._topics.get(topic)
        if t is not None and key in t.keys:
            t.keys.remove(key)
            if not t.keys:
                del self._topics[topic]
                self._submit(
                    self.node.unsubscribe(topic, realm=self.cfg.realm), _logged("unsubscribe")
                )
        self._table_write(TableSet(topic, sub.subscriber, False), then)

    def _topic_owns(self, down: Down) -> bool:
        """Whether ``down`` is of a subscriber (then handled)."""
        key = self._tmons.pop(down.ref, None)
        if key is None:
            return False
        sub = self._tsubs.get(key)
        if sub is None:
            return True
        sub.address, sub.mref = None, None
        if isinstance(sub.subscriber, str):  # may come back under its name
            self._topic_find_again(key, time.monotonic() + NAME_GRACE)
        else:
            self._topic_drop(key, down.reason.kind)
        return True

    def _topic_find_again(self, key: str, deadline: float) -> None:
        sub = self._tsubs.get(key)
        if sub is None or sub.address is not None:
            return

        def found(reply: Reply) -> None:
            if self._tsubs.get(key) is not sub or sub.address is not None:
                return  # dropped, or found by another lookup
            if reply.ok and reply.value is not None:
                sub.address = reply.value
                sub.mref = self.monitor(reply.value)
                self._tmons[sub.mref] = key
            elif time.monotonic() < deadline:
                self.call_later(0.1, lambda: self._topic_find_again(key, deadline))
            else:
                self._topic_drop(key, "not registered again")

        self.whereis(sub.subscriber, found, 5.0)

    def _topic_drop(self, key: str, why: str) -> None:
        sub = self._tsubs.get(key)
        if sub is None:
            return
        log.debug("subscriber %s dropped: %s", sub.subscriber, why)
        self.stats.add("topics.subscribers_dropped")
        for topic in list(sub.topics):
            self._topic_detach(key, topic, lambda: None)

    def _topic_deliver(self, ev: EventReceived) -> None:
        """An event of a subscribed topic: to every subscriber of it."""
        t = self._topics.get(ev.topic)
        if t is None:
            return
        out = TopicEvent(
            self.cfg.realm, ev.topic, ev.author.hex(), int(ev.seq),
            bytes(ev.payload), ev.via.hex(),
        )  # fmt: skip
        self.stats.add("topics.events")
        for key in t.keys:
            sub = self._tsubs.get(key)
            if sub is not None and sub.address is not None:
                self.send(sub.address, out)
            else:
                self.stats.add("topics.events_undelivered")

    def _t_subscriptions(self, op: TopicSubscriptions, caller: Caller) -> None:
        self.reply(
            caller,
            {t: [self._tsubs[k].subscriber for k in v.keys] for t, v in self._topics.items()},
        )

    # -- publications, records, peers
    def _t_publish(self, op: TopicPublish, caller: Caller) -> None:
        self._check_text(op.topic, "topic")
        self._check_payload(op.payload)
        self.stats.add("topics.published")
        coro = self.node.publish(op.topic, op.payload, realm=self.cfg.realm, reliable=op.reliable)
        self._mesh(coro, op.timeout, caller, int)

    def _t_advertise(self, op: GenotypeAdvertise, caller: Caller) -> None:
        self._check_text(op.problem, "problem")
        self._check_payload(op.payload)
        meta = dict(op.meta or {})
        if "addr" in meta:
            raise _TopicRefused("schema", "meta key 'addr' is the mesh's (the author's address)")
        coro = self.node.advertise(op.problem, op.payload, meta=meta, realm=self.cfg.realm)
        self._mesh(coro, op.timeout, caller, lambda st: int(st.stored))

    def _t_find(self, op: GenotypeFind, caller: Caller) -> None:
        self._check_text(op.problem, "problem")

        def records(found: list[Any]) -> list[GenotypeRecord]:
            return [
                GenotypeRecord(
                    node_id_of(r.author).hex(),
                    int(r.seq),
                    bytes(r.value),
                    tuple((str(k), v) for k, v in r.meta),
                )
                for r in found
            ]

        coro = self.node.find(op.problem, realm=self.cfg.realm)
        self._mesh(coro, op.timeout, caller, records)

    def _t_peers(self, op: MeshPeers, caller: Caller) -> None:
        self._mesh(self._peers_now(), 10.0, caller, lambda ps: ps)

    def _t_stats(self, op: MeshStats, caller: Caller) -> None:
        self._mesh(self._stats_now(), 10.0, caller, lambda st: st)

    # ------------------------------------------------------------------ loop thread
    def _topic_heard(self, ev: EventReceived) -> None:
        """(loop thread) The mesh's handler of every subscribed topic."""
        self._post(lambda: self._topic_deliver(ev))

    async def _peers_now(self) -> list[MeshPeer]:
        return [
            MeshPeer(p.node_id.hex(), p.address, p.status, bool(p.connected), tuple(p.realms))
            for p in self.node.peers(self.cfg.realm)
        ]

    async def _stats_now(self) -> dict[str, int]:
        return dict(self.node.stats())


_HANDLERS: dict[type, Callable[..., None]] = {
    TopicSubscribe: GatewayTopics._t_subscribe,
    TopicUnsubscribe: GatewayTopics._t_unsubscribe,
    TopicPublish: GatewayTopics._t_publish,
    TopicSubscriptions: GatewayTopics._t_subscriptions,
    GenotypeAdvertise: GatewayTopics._t_advertise,
    GenotypeFind: GatewayTopics._t_find,
    MeshPeers: GatewayTopics._t_peers,
    MeshStats: GatewayTopics._t_stats,
}


def _mesh_error(err: BaseException) -> tuple[str, str]:
    if isinstance(err, TimeoutError):
        return ("timeout", "the mesh did not answer in time")
    if isinstance(err, MeshUsageError):
        return ("schema", str(err)[:400])
    return ("noconnection", f"the mesh operation failed: {type(err).__name__}: {err}"[:400])


def _logged(what: str) -> Callable[[Any, BaseException | None], None]:
    def then(_: Any, err: BaseException | None) -> None:
        if err is not None:
            log.info("topics: %s failed: %s", what, err)

    return then
