"""Kademlia's RPCs on one realm node (paper section 2.3): PING, FIND_NODE, STORE, FIND_VALUE.

Also: joining (look up our own id, section 2.3), bucket refresh, least-recently-seen eviction
by ping (section 4.1), and republishing the records we author (section 2.5). Stored records
must carry a valid signature for this realm (a record signed for another realm is refused).

Against a hostile member: a STORE is charged to the peer that sent it (see
:mod:`mesh.dht.storage` for the quotas and the fair share of a key), and is refused for a stale
seq or a full quota *before* its signature is verified (the same record again is a renewal and
needs no new check). A Value answer carries the records that fit in the frame limit, smallest
first; a newcomer is handed at most what our own per-storer quota would accept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from mesh.dht.lookup import DisjointLookup, Lookup
from mesh.dht.records import KINDS, SUBSCRIPTION
from mesh.dht.routing import RoutingTable
from mesh.dht.storage import Storage
from mesh.errors import FrameError, MeshUsageError
from mesh.events import LookupCompleted, RejectReason, StoreCompleted
from mesh.frames import (
    Ack,
    Contact,
    FindNode,
    FindValue,
    Frame,
    Nodes,
    Ping,
    Pong,
    Record,
    Store,
    Subscribe,
    Unsubscribe,
    Value,
    decode,
    encode,
)
from mesh.signing import verify_record

if TYPE_CHECKING:
    from mesh.core import RealmNode

__all__ = ["Dht"]

LookupCallback = Callable[[Lookup | DisjointLookup], None]


def _make_store(
    frame: type[Store | Subscribe | Unsubscribe], realm: bytes, record: Record, rid: int
) -> Frame:
    return frame(realm, rid, record)


def _ignore(reply: Frame | None) -> None:
    return None


class Dht:
    """The DHT protocol of one realm node."""

    def __init__(self, node: RealmNode) -> None:
        self.node = node
        cfg = node.config
        self.routing = RoutingTable(node.key.node_id, cfg.k, ping_after=cfg.ping_after)
        self.storage = Storage(cfg.storage)
        self._own: dict[bytes, tuple[Record, type[Store | Subscribe | Unsubscribe]]] = {}
        self._handover = [cfg.handover_burst, node.now]  # token bucket: bytes, last refill
        self._next_op = 0
        if cfg.refresh_interval > 0:
            node.later(cfg.refresh_interval, self._refresh)
        if cfg.republish_interval > 0:
            node.later(cfg.republish_interval, self._republish)

    def handlers(self) -> dict[type[Frame], Callable[[Contact, Any], None]]:
        return {
            Ping: self._on_ping,
            FindNode: self._on_find_node,
            FindValue: self._on_find_value,
            Store: self._on_store,
            Subscribe: self._on_store,
            Unsubscribe: self._on_store,
        }

    # ------------------------------------------------------------------ routing upkeep
    def peer_seen(self, contact: Contact) -> None:
        new = contact.node_id not in self.routing
        stale = self.routing.add(contact, self.node.now)
        if new and contact.node_id in self.routing and len(self.storage):
            self._welcome(contact)
        if stale is not None:  # section 4.1: ping the least-recently-seen before evicting it
            self.node.request(
                stale,
                lambda rid: Ping(self.node.id, rid),
                self.node.config.request_timeout,
                lambda reply: self._stale_answered(stale, reply),
            )

    def _welcome(self, contact: Contact) -> None:
        """Section 2.5: hand a newcomer the records it is now among the closest nodes for.

        Sent when the newcomer is closer to a key than our farthest of the k closest known and
        we are closer than our nearest, so that one node (not all k) does the handing over;
        at most our per-storer quota per newcomer, and within the hand-over budget
        (``MeshConfig.handover_rate`` / ``handover_burst``) over all newcomers.
        """
        node = self.node
        me = int.from_bytes(node.key.node_id, "big")
        new = int.from_bytes(contact.node_id, "big")
        lim = self.storage.limits
        bucket, cfg = self._handover, node.config
        bucket[0] = min(cfg.handover_burst, bucket[0] + (node.now - bucket[1]) * cfg.handover_rate)
        bucket[1] = node.now
        room_n, room_b = lim.max_storer_records, min(lim.max_storer_bytes, bucket[0])
        for record, charge in self.storage.sized_records(node.now):
            if record.kind == SUBSCRIPTION:
                frame: type[Store | Subscribe | Unsubscribe] = (
                    Unsubscribe if record.deleted else Subscribe
                )
            else:
                frame = Store
            key = int.from_bytes(record.key, "big")
            near = self.routing.closest(record.key)
            others = [c for c in near if c.node_id != contact.node_id]
            if others:
                last = key ^ int.from_bytes(others[-1].node_id, "big")
                first = key ^ int.from_bytes(others[0].node_id, "big")
                if not (key ^ new < last and key ^ me < first):
                    continue
            if room_n < 1 or room_b < charge:  # the newcomer would refuse it (same quota)
                node.core.stats["handover_skipped"] += 1
                continue
            room_n, room_b = room_n - 1, room_b - charge
            bucket[0] -= charge
            node.request(
                contact, partial(_make_store, frame, node.id, record),
                node.config.request_timeout, _ignore,
            )  # fmt: skip

    def _stale_answered(self, stale: Contact, reply: Frame | None) -> None:
        if reply is None:
            self.routing.remove(stale.node_id)  # promotes the freshest replacement
        else:
            self.routing.add(stale, self.node.now)

    def add_contacts(self, contacts: list[Contact]) -> None:
        """Seed the table (bootstrap); these peers are contacted when first used."""
        for c in contacts:
            self.routing.add(c, self.node.now)

    # ------------------------------------------------------------------ server side
    def _on_ping(self, peer: Contact, f: Ping) -> None:
        self.node.send(peer, Pong(self.node.id, f.rid))

    def _on_find_node(self, peer: Contact, f: FindNode) -> None:
        closest = self.routing.closest(f.target, self.node.config.k + 1)
        out = tuple(c for c in closest if c.node_id != peer.node_id)[: self.node.config.k]
        self.node.send(peer, Nodes(self.node.id, f.rid, out))

    def _on_find_value(self, peer: Contact, f: FindValue) -> None:
        """Answer with the records under the key that fit in one frame (smallest first) and
        the closest contacts; the answer never exceeds ``limits.max_frame_bytes``."""
        node = self.node
        limits = node.config.limits
        closest = self.routing.closest(f.key, node.config.k + 1)
        out = tuple(c for c in closest if c.node_id != peer.node_id)[: node.config.k]
        # the records array's header grows by 2 bytes past 15 items (msgpack array16)
        budget = limits.max_frame_bytes - len(encode(Value(node.id, f.rid, (), out))) - 2
        held = len(self.storage.get(f.key, node.now, include_deleted=True))
        records = self.storage.select(f.key, node.now, budget, limits.max_collection)
        if len(records) < held:
            node.core.stats["answers_truncated"] += 1
        node.send(peer, Value(node.id, f.rid, tuple(records), out))

    def _on_store(self, peer: Contact, f: Store | Subscribe | Unsubscribe) -> None:
        r = f.record
        if r.kind not in KINDS:
            self.node.reject(peer.node_id, RejectReason.UNKNOWN_RECORD_KIND)
            return
        if isinstance(f, Subscribe | Unsubscribe) and (
            r.kind != SUBSCRIPTION or r.deleted != isinstance(f, Unsubscribe)
        ):
            self.node.reject(peer.node_id, RejectReason.BAD_SUBSCRIPTION)
            return
        # cheap checks first: a stale seq or a full quota is refused unverified
        plan = self.storage.plan(r, peer.node_id, self.node.now)
        if (
            not plan.refused
            and not plan.renewal
            and not verify_record(self.node.crypto, self.node.id, r)
        ):
            self.node.reject(peer.node_id, RejectReason.FORGED_RECORD)
            return
        if self.storage.commit(plan):
            self.update_gauges()
            self.node.send(peer, Ack(self.node.id, f.rid))
            if r.kind == SUBSCRIPTION:
                self.node.pubsub.subscription_stored(r)
        else:
            self.node.core.stats["records_refused"] += 1
            self.node.reject(peer.node_id, RejectReason.RECORD_REFUSED, plan.refused)

    def update_gauges(self) -> None:
        """Publish the storage gauges (records, charged bytes over every realm) in the core's
        counters."""
        core = self.node.core
        realms = core.realms.values()
        core.stats["dht_records"] = sum(len(n.dht.storage) for n in realms)
        core.stats["dht_bytes"] = sum(n.dht.storage.total_bytes for n in realms)

    # ------------------------------------------------------------------ client side
    def _op(self) -> int:
        self._next_op += 1
        return self._next_op

    def lookup(
        self,
        target: bytes,
        *,
        find_value: bool = False,
        on_done: LookupCallback | None = None,
        initial: list[Contact] | None = None,
    ) -> int:
        """Start an iterative lookup; reports :class:`LookupCompleted` (or calls ``on_done``)."""
        node = self.node
        cfg = node.config
        op = self._op()
        seed = initial if initial is not None else self.routing.closest(target, cfg.k)
        lk: Lookup | DisjointLookup
        if cfg.disjoint_paths > 1:
            lk = DisjointLookup(target, seed, node.key.node_id, k=cfg.k, alpha=cfg.alpha,
                                d=cfg.disjoint_paths, find_value=find_value,
                                slow=self.routing.is_slow)  # fmt: skip
        else:
            lk = Lookup(target, seed, node.key.node_id, k=cfg.k, alpha=cfg.alpha,
                        find_value=find_value, slow=self.routing.is_slow)  # fmt: skip
        if find_value:  # our own storage counts as a responder
            lk.add_records(self.storage.get(target, node.now, include_deleted=True))
        state = {"finished": False}

        def finish() -> None:
            if state["finished"]:
                return
            state["finished"] = True
            if on_done is not None:
                on_done(lk)
            else:
                node.emit(
                    LookupCompleted(
                        node.id, op, target, tuple(lk.result()), tuple(lk.records()),
                        lk.rounds, lk.queries,
                    )
                )  # fmt: skip

        def find_value_frame(rid: int) -> Frame:
            return FindValue(node.id, rid, target)

        def find_node_frame(rid: int) -> Frame:
            return FindNode(node.id, rid, target)

        stall = cfg.lookup_stall if 0 < cfg.lookup_stall < cfg.request_timeout else 0.0

        def drive() -> None:
            for c in lk.next_queries():
                make = find_value_frame if find_value else find_node_frame
                node.request(c, make, cfg.request_timeout, partial(answered, c))
                if stall:
                    node.later(stall, partial(stalled, c.node_id))
            if lk.done:
                finish()

        def stalled(nid: bytes) -> None:
            if not state["finished"] and lk.on_stall(nid):
                self.routing.mark_slow(nid)
                drive()

        def answered(c: Contact, reply: Frame | None) -> None:
            if reply is not None:
                self.routing.answered(c.node_id)
            if state["finished"]:  # a stalled query answering after the end
                if reply is None:
                    self.routing.failed(c.node_id)
                return
            if isinstance(reply, Nodes):
                lk.on_response(c.node_id, reply.contacts)
            elif isinstance(reply, Value):
                good = tuple(
                    r for r in reply.records
                    if r.key == target and verify_record(node.crypto, node.id, r)
                )  # fmt: skip
                lk.on_response(c.node_id, reply.contacts, good)
            else:
                lk.on_failure(c.node_id)
                self.routing.failed(c.node_id)  # section 4.1: lazy replacement
            drive()

        drive()
        return op

    def join(self, bootstrap: list[Contact]) -> int:
        """Join through ``bootstrap`` contacts: look up our own id (section 2.3)."""
        self.add_contacts(bootstrap)
        return self.lookup(self.node.key.node_id)

    def put(
        self,
        record: Record,
        *,
        frame: type[Store | Subscribe | Unsubscribe] = Store,
        republish: bool = True,
        on_done: Callable[[int], None] | None = None,
    ) -> int:
        """Store ``record`` at the k nodes closest to its key (and locally if we are one).

        MeshUsageError if no node with our storage limits would store it, or its STORE frame
        would exceed the frame limit.
        """
        node = self.node
        why = self.storage.too_large(record)
        if not why:  # the STORE must decode at a peer with our limits (size, texts, meta)
            try:
                decode(encode(frame(node.id, (1 << 64) - 1, record)), node.config.limits)
            except FrameError as exc:
                why = str(exc)
        if why:
            raise MeshUsageError(f"record refused: {why}")
        op = self._op()
        if republish:
            self._own[record.key + record.author] = (record, frame)

        def located(lk: Lookup | DisjointLookup) -> None:
            targets = lk.result()
            stored = {"n": 0, "left": len(targets)}
            me = node.key.node_id
            tk = int.from_bytes(record.key, "big")
            mine = tk ^ int.from_bytes(me, "big")
            near = len(targets) < node.config.k or mine < tk ^ int.from_bytes(
                targets[-1].node_id, "big"
            )
            if near and self.storage.put(record, me, node.now):  # we are among the k closest
                stored["n"] += 1
                self.update_gauges()

            def done_one(reply: Frame | None) -> None:
                if isinstance(reply, Ack):
                    stored["n"] += 1
                stored["left"] -= 1
                if stored["left"] == 0:
                    report()

            def report() -> None:
                if on_done is not None:
                    on_done(stored["n"])
                else:
                    node.emit(StoreCompleted(node.id, op, record.key, stored["n"]))

            if not targets:
                report()
            for c in targets:
                node.request(
                    c, lambda rid: frame(node.id, rid, record), node.config.request_timeout,
                    done_one,
                )  # fmt: skip

        self.lookup(record.key, on_done=located)
        return op

    def get(self, key: bytes, on_done: Callable[[list[Record]], None]) -> int:
        """Find every live record under ``key`` (merged over the k closest nodes)."""
        return self.lookup(key, find_value=True, on_done=lambda lk: on_done(lk.records()))

    def forget(self, key: bytes) -> None:
        """Stop republishing our records under ``key``."""
        me = self.node.key.public_key
        self._own.pop(key + me, None)

    # ------------------------------------------------------------------ periodic
    def _refresh(self) -> None:
        node = self.node
        for target in self.routing.refresh_targets(
            node.now, node.config.refresh_interval, node.rng
        ):
            self.lookup(target, on_done=lambda lk: None)
        node.later(node.config.refresh_interval, self._refresh)

    def _republish(self) -> None:
        for record, frame in list(self._own.values()):
            self.put(record, frame=frame, republish=False, on_done=lambda n: None)
        self.node.later(self.node.config.republish_interval, self._republish)
