"""Realm-scoped publish/subscribe over the DHT.

* Subscribing stores a signed SUBSCRIPTION record (value = topic, ``meta.addr`` = our address)
  at the k nodes closest to ``record_key(SUBSCRIPTION, realm, topic)``, with SUBSCRIBE frames;
  it is republished like any record we author. Unsubscribing stores a tombstone (higher seq).
* Publishing signs an :class:`~mesh.frames.Event` ``(topic, author, seq, payload)``, finds the
  subscribers with a value lookup of the topic key and sends each a PUBLISH (fan-out). The
  subscriber set of a topic is cached for ``subscriber_ttl`` (an empty set only for
  ``empty_retry``): publications within it send at once, without a lookup, and concurrent
  publications on a stale topic share one lookup. Every lookup replaces the cached set (so a
  withdrawn subscription -- a tombstone -- leaves it); our own unsubscribe drops our entry and a
  member SWIM declares dead leaves every set. A cached set is therefore stale by at most
  ``subscriber_ttl``: a new subscriber may miss unreliable publications for that long (reliable
  ones reach it at the next re-resolution).
* At-most-once (``reliable=False``): one send per subscriber, no ack. At-least-once
  (``reliable=True``): each subscriber acks; unacked sends are retried with capped exponential
  backoff, and the subscriber set is re-resolved every ``resolve_interval`` (while no subscriber
  is known: after ``empty_retry``, doubling up to ``resolve_interval``), until
  ``publish_ttl`` passes -- so a publication made during a partition reaches the other side
  after the partition heals. Receivers ack duplicates but deliver each ``(author, seq)`` once.
* Superseding (``supersede=True``): the publication replaces this node's previous superseding
  one on the same topic, which stops at once (no more retries, re-resolutions or deliveries to
  subscribers that appear later; its PublishCompleted reports what it reached). For a stream of
  states where only the latest matters -- a champion that improves -- this bounds the pending
  work to one publication per topic, and a subscriber that joins late gets the latest state,
  not the whole history.
* Receivers check the event's signature for this realm, then :class:`~mesh.signing.ReplayGuard`
  (TTL'd dedup cache + per-author high-water mark): forged, cross-realm and replayed events are
  rejected.
* Outgoing deliveries go through a bounded per-peer queue (oldest dropped when full) drained
  under a per-peer token bucket (``rate`` frames/s, ``burst``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh.dht.records import SUBSCRIPTION, record_key
from mesh.events import EventReceived, PublishCompleted, RejectReason
from mesh.frames import Ack, Contact, Event, Frame, Publish, Record, Subscribe, Unsubscribe
from mesh.identity import node_id_of
from mesh.membership import DEAD
from mesh.rate import TokenBucket
from mesh.signing import ReplayGuard, sign_event, sign_record, verify_event

if TYPE_CHECKING:
    from mesh.core import RealmNode

__all__ = ["PubSub", "PubSubConfig"]

#: Events whose first copy (an uncharged retry) is remembered at once, oldest forgotten first.
_MAX_RETRIED = 16_384


@dataclass(frozen=True)
class PubSubConfig:
    """Pub/sub settings (seconds, frames)."""

    #: How long an at-least-once publication keeps being retried.
    publish_ttl: float = 600.0
    #: First retry delay of an unacked delivery; doubles up to ``max_retry``.
    retry: float = 2.0
    max_retry: float = 30.0
    #: Re-resolve the subscribers of a pending reliable publication this often.
    resolve_interval: float = 30.0
    #: Reuse a topic's resolved subscriber set this long without a new lookup.
    subscriber_ttl: float = 5.0
    #: An empty subscriber set is reused only this long; a reliable publication that found
    #: no subscriber looks again after it, doubling up to ``resolve_interval``.
    empty_retry: float = 0.25
    #: Topics whose subscriber sets are cached at once (least recently resolved evicted).
    max_cached_topics: int = 1024
    #: Dedup cache entry lifetime.
    dedup_ttl: float = 900.0
    #: Per-peer outgoing queue bound and token bucket.
    queue_limit: int = 1024
    rate: float = 200.0
    burst: float = 100.0
    #: TTL of subscription records.
    subscription_ttl: int = 3600


class _Peer:
    __slots__ = ("bucket", "contact", "queue", "timer")

    def __init__(self, contact: Contact, limit: int, bucket: TokenBucket) -> None:
        self.contact = contact
        self.queue: deque[tuple[_Pub | None, Event]] = deque(maxlen=limit)
        self.bucket = bucket
        self.timer: Any = None


class _Topic:
    """The cached subscriber set of one topic."""

    __slots__ = ("expires", "subscribers", "waiting")

    def __init__(self) -> None:
        self.subscribers: dict[bytes, Contact] = {}
        self.expires = -1.0  # stale until a lookup completes
        self.waiting: list[_Pub] | None = None  # not None while a lookup runs


class _Pub:
    __slots__ = ("acked", "backoff", "deadline", "event", "known", "op", "reliable", "retry")

    def __init__(self, op: int, event: Event, reliable: bool, deadline: float) -> None:
        self.op = op
        self.event = event
        self.reliable = reliable
        self.deadline = deadline
        self.known: set[bytes] = set()
        self.acked: set[bytes] = set()
        self.retry: dict[bytes, float] = {}
        self.backoff = 0.0


class PubSub:
    """Pub/sub of one realm node."""

    def __init__(self, node: RealmNode) -> None:
        self.node = node
        self.config: PubSubConfig = node.config.pubsub
        self.topics: set[str] = set()
        self.guard = ReplayGuard(ttl=self.config.dedup_ttl)
        self.stats = {"delivered": 0, "duplicates": 0, "forged": 0, "dropped": 0}
        self._op = 0
        self._peers: dict[bytes, _Peer] = {}
        self._pubs: dict[int, _Pub] = {}
        self._topics: dict[str, _Topic] = {}
        self._latest: dict[str, _Pub] = {}  # topic -> the pending superseding publication
        self._retried: dict[tuple[bytes, int], None] = {}  # events repeated once already

    def handlers(self) -> dict[type[Frame], Callable[[Contact, Any], None]]:
        return {Publish: self._on_publish}

    # ------------------------------------------------------------------ subscriptions
    def _subscription(self, topic: str, deleted: bool) -> Record:
        node = self.node
        return sign_record(
            node.crypto, node.key, node.id,
            kind=SUBSCRIPTION, record_key=record_key(SUBSCRIPTION, node.id, topic),
            seq=node.core.next_seq(), ttl=self.config.subscription_ttl,
            value=topic.encode("utf-8"), meta=(("addr", node.core.address),), deleted=deleted,
        )  # fmt: skip

    def subscribe(self, topic: str) -> int:
        """Subscribe to ``topic``; returns the DHT store operation id (StoreCompleted)."""
        self.topics.add(topic)
        return self.node.dht.put(self._subscription(topic, False), frame=Subscribe)

    def unsubscribe(self, topic: str) -> int:
        """Stop delivering ``topic`` and record a tombstone in the DHT."""
        self.topics.discard(topic)
        cached = self._topics.get(topic)
        if cached is not None:
            cached.subscribers.pop(self.node.key.node_id, None)
        return self.node.dht.put(self._subscription(topic, True), frame=Unsubscribe)

    # ------------------------------------------------------------------ publishing
    def publish(
        self, topic: str, payload: bytes, *, reliable: bool = True, supersede: bool = False
    ) -> int:
        """Publish ``payload`` on ``topic``; returns an op id (PublishCompleted when done).
        With ``supersede``, this publication ends our previous superseding one on ``topic``."""
        node = self.node
        event = sign_event(node.crypto, node.key, node.id, topic, node.core.next_seq(), payload)
        self.guard.accept(event.author, event.seq, node.now)
        self._op += 1
        pub = _Pub(self._op, event, reliable, node.now + self.config.publish_ttl)
        self._pubs[pub.op] = pub
        if supersede:
            old = self._latest.get(topic)
            self._latest[topic] = pub
            if old is not None:
                self._finish(old)
        if topic in self.topics:  # local subscriber
            self._deliver_local(event, node.key.node_id)
        if reliable:
            node.later(self.config.publish_ttl, lambda: self._finish(pub))
        self._resolve(pub)
        return pub.op

    def _resolve(self, pub: _Pub) -> None:
        """Send ``pub`` to the topic's subscribers: from the cache when fresh, else after one
        (shared) lookup; then schedule the next re-resolution of a reliable publication."""
        if pub.op not in self._pubs:
            return
        node = self.node
        topic = pub.event.topic
        cached = self._topics.get(topic)
        if cached is not None and cached.expires > node.now:
            self._deliver(pub, cached)
            return
        if cached is None:
            if len(self._topics) >= self.config.max_cached_topics:
                idle = [t for t, c in self._topics.items() if c.waiting is None]
                if idle:
                    del self._topics[min(idle, key=lambda t: self._topics[t].expires)]
            cached = self._topics[topic] = _Topic()
        if cached.waiting is not None:
            cached.waiting.append(pub)
            return
        cached.waiting = [pub]
        entry = cached

        def found(records: list[Record]) -> None:
            want = topic.encode("utf-8")
            subs: dict[bytes, Contact] = {}
            for r in records:
                if r.kind != SUBSCRIPTION or r.value != want:
                    continue
                nid = node_id_of(r.author)
                if nid == node.key.node_id or node.swim.status(nid) == DEAD:
                    continue
                addr = next((v for k, v in r.meta if k == "addr" and isinstance(v, str)), "")
                subs[nid] = Contact(nid, addr)
            entry.subscribers = subs
            ttl = self.config.subscriber_ttl if subs else self.config.empty_retry
            entry.expires = node.now + ttl
            waiting, entry.waiting = entry.waiting or [], None
            if self._topics.get(topic) is not entry:  # evicted meanwhile: keep it for them
                self._topics[topic] = entry
            for p in waiting:
                if p.op in self._pubs:
                    self._deliver(p, entry)

        node.dht.get(record_key(SUBSCRIPTION, node.id, topic), found)

    def _deliver(self, pub: _Pub, cached: _Topic) -> None:
        node = self.node
        for nid, contact in list(cached.subscribers.items()):
            if nid not in pub.known:
                pub.known.add(nid)
                self._enqueue(contact, pub)
        if not pub.reliable:
            self._finish(pub)
            return
        cfg = self.config
        if pub.known:
            delay = cfg.resolve_interval
        else:  # nobody yet: look again soon, backing off
            pub.backoff = min(cfg.resolve_interval, pub.backoff * 2 or cfg.empty_retry)
            delay = pub.backoff
        if node.now + delay < pub.deadline:
            node.later(delay, lambda: self._resolve(pub))

    def subscription_stored(self, record: Record) -> None:
        """A verified SUBSCRIPTION record was stored here: a cached set of its topic follows
        it at once (added, or removed by a tombstone) instead of waiting for the TTL."""
        try:
            topic = record.value.decode("utf-8")
        except UnicodeDecodeError:
            return
        cached = self._topics.get(topic)
        if cached is None or record.key != record_key(SUBSCRIPTION, self.node.id, topic):
            return
        nid = node_id_of(record.author)
        if record.deleted:
            cached.subscribers.pop(nid, None)
        elif nid != self.node.key.node_id:
            addr = next((v for k, v in record.meta if k == "addr" and isinstance(v, str)), "")
            cached.subscribers[nid] = Contact(nid, addr)

    def peer_dead(self, node_id: bytes) -> None:
        """SWIM declared ``node_id`` dead: no cached subscriber set holds it any more."""
        for cached in self._topics.values():
            cached.subscribers.pop(node_id, None)
        peer = self._peers.pop(node_id, None)
        if peer is not None and peer.timer is not None:
            peer.timer.cancel()

    def _enqueue(self, contact: Contact, pub: _Pub) -> None:
        node = self.node
        peer = self._peers.get(contact.node_id)
        if peer is None:
            cfg = self.config
            peer = _Peer(contact, cfg.queue_limit, TokenBucket(cfg.rate, cfg.burst, node.now))
            self._peers[contact.node_id] = peer
        if len(peer.queue) == peer.queue.maxlen:
            self.stats["dropped"] += 1
        peer.queue.append((pub, pub.event))
        self._pump(peer)

    def _pump(self, peer: _Peer) -> None:
        node = self.node
        cfg = self.config
        now = node.now
        while peer.queue and peer.bucket.take(now, 1.0 - 1e-9):
            peer.bucket.tokens -= 1e-9  # took one token (the tolerance absorbs refill rounding)
            pub, event = peer.queue.popleft()
            self._send(peer.contact, pub, event)
        if peer.queue and peer.timer is None:

            def wake() -> None:
                peer.timer = None
                self._pump(peer)

            peer.timer = node.later(max((1.0 - peer.bucket.tokens) / cfg.rate, 1e-6), wake)

    def _send(self, contact: Contact, pub: _Pub | None, event: Event) -> None:
        node = self.node
        nid = contact.node_id
        if pub is None or not pub.reliable:
            node.send(contact, Publish(node.id, 0, event, False))
            return
        if nid in pub.acked or pub.op not in self._pubs:
            return

        def answered(reply: Frame | None) -> None:
            if isinstance(reply, Ack):
                pub.acked.add(nid)
                return
            delay = pub.retry.get(nid, self.config.retry)
            pub.retry[nid] = min(delay * 2, self.config.max_retry)
            if node.now + delay < pub.deadline:
                node.later(delay, lambda: self._retry(contact, pub))

        node.request(
            contact, lambda rid: Publish(node.id, rid, event, True),
            node.config.request_timeout, answered,
        )  # fmt: skip

    def _retry(self, contact: Contact, pub: _Pub) -> None:
        if pub.op in self._pubs and contact.node_id not in pub.acked:
            self._enqueue(contact, pub)

    def _finish(self, pub: _Pub) -> None:
        topic = pub.event.topic
        if self._latest.get(topic) is pub:
            del self._latest[topic]
        if self._pubs.pop(pub.op, None) is not None:
            self.node.emit(PublishCompleted(self.node.id, pub.op, len(pub.acked), len(pub.known)))

    def pending(self) -> int:
        """Publications still being delivered."""
        return len(self._pubs)

    # ------------------------------------------------------------------ receiving
    def _on_publish(self, peer: Contact, f: Publish) -> None:
        """Receive an event: the cheap dedup check before the signature check, so a replayed
        frame costs a dict lookup, not an Ed25519 verification. A copy is acked (at-least-once:
        its sender may have lost our ack) and never delivered; the first copy of an event is a
        retry and goes uncharged, every further one is rejected as REPLAYED_EVENT."""
        node = self.node
        ev = f.event
        if self.guard.seen(ev.author, ev.seq):
            self.stats["duplicates"] += 1
            if f.want_ack:
                node.send(peer, Ack(node.id, f.rid))
            name = (ev.author, ev.seq)
            if name in self._retried:
                node.reject(peer.node_id, RejectReason.REPLAYED_EVENT)
            else:
                if len(self._retried) >= _MAX_RETRIED:
                    del self._retried[next(iter(self._retried))]
                self._retried[name] = None
            return
        if not verify_event(node.crypto, node.id, ev):
            self.stats["forged"] += 1
            node.reject(peer.node_id, RejectReason.FORGED_EVENT)
            return
        if f.want_ack:
            node.send(peer, Ack(node.id, f.rid))
        self.guard.accept(ev.author, ev.seq, node.now)
        if ev.topic in self.topics:
            self._deliver_local(ev, peer.node_id)

    def _deliver_local(self, ev: Event, via: bytes) -> None:
        self.stats["delivered"] += 1
        self.node.emit(
            EventReceived(self.node.id, ev.topic, node_id_of(ev.author), ev.seq, ev.payload, via)
        )

    def housekeeping(self) -> None:
        """Expire dedup entries; forget idle peers (empty queue, no pending wake-up)."""
        self.guard.expire(self.node.now)
        for nid in [n for n, p in self._peers.items() if not p.queue and p.timer is None]:
            del self._peers[nid]
