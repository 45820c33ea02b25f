"""The sans-I/O node: :class:`MeshCore` composes DHT, pub/sub, RPC and SWIM per realm.

Outward interface (the transport -- QUIC, or :mod:`mesh.sim` -- drives it; the core never reads
a clock, opens a socket or draws from the global RNG)::

    core.peer_authenticated(info, now)      # transport ran mesh.handshake with that peer
    core.peer_unreachable(peer_id, now)     # a connection attempt failed / connection lost:
                                            # its pending requests fail at once (None)
    core.receive(peer_id, frame_bytes, now) # one whole frame from an authenticated peer
    core.handle_timer(now)                  # at (or after) core.next_timer()
    core.frames_to_send() -> [Transmit(peer_id, address, data)]
    core.connections_to_open() -> [Contact]  # peers to connect to and authenticate
    core.next_event() -> MeshEvent | None    # past-tense events for the application

Frames are sent only on authenticated sessions, and a realm's frames only to peers that proved
membership of that realm in their handshake; frames for a peer without a session wait (bounded)
until it is authenticated or ``connect_timeout`` passes. ``receive`` never raises on bad input:
it drops the frame, counts it and reports :class:`~mesh.events.FrameRejected`.

No frame above ``limits.max_frame_bytes`` ever leaves the core: answers built from stored data
(a DHT Value) carry what fits; an API call whose frame would not fit raises MeshUsageError at
the call; any other oversized frame is dropped and counted (``stats["oversized_dropped"]``).
A reply that arrives after its request timed out is dropped uncharged, once
(``stats["late_responses"]``); any other unexpected response is rejected.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mesh.dht.protocol import Dht
from mesh.dht.records import GENOTYPE, record_key
from mesh.dht.storage import StorageLimits
from mesh.errors import AuthError, FrameError, MeshUsageError
from mesh.events import FrameRejected, MeshEvent, RejectReason
from mesh.frames import (
    Ack,
    Call,
    Contact,
    ErrorReply,
    Event,
    Frame,
    Limits,
    Nodes,
    Pong,
    ProbeAck,
    Publish,
    Result,
    Value,
    decode,
    encode,
)
from mesh.handshake import PeerInfo
from mesh.identity import ED25519, CryptoSuite, NodeKey, realm_id
from mesh.membership import Swim, SwimConfig
from mesh.pubsub import PubSub, PubSubConfig
from mesh.rate import TokenBucket
from mesh.realms import Realm
from mesh.rpc import Handler, Rpc, RpcConfig
from mesh.signing import sign_record

__all__ = ["MeshConfig", "MeshCore", "RealmNode", "Transmit"]

_RESPONSES = (Pong, Nodes, Value, Ack, Result, ErrorReply, ProbeAck)
_MAX_U64 = (1 << 64) - 1
#: An API frame whose variable part (payload, names) is this far below the frame limit fits
#: without being encoded to check (the fixed part of any frame is a few hundred bytes).
_SLACK = 4096
#: Timed-out requests remembered at once, so that their late replies go uncharged.
_MAX_LATE = 4096


@dataclass(frozen=True, slots=True)
class Transmit:
    """One frame to send to ``peer`` (``address`` is its last-known, opaque address)."""

    peer: bytes
    address: str
    data: bytes


@dataclass(frozen=True)
class MeshConfig:
    """Node configuration; every field has a default. Times in seconds."""

    #: Bucket size and replication factor (Kademlia k).
    k: int = 20
    #: Ping a full bucket's least-recently-seen contact only if silent this long (4.1);
    #: contacts that miss 2 lookup requests in a row are replaced without a ping.
    ping_after: float = 3600.0
    #: Lookup parallelism (Kademlia alpha), per path.
    alpha: int = 3
    #: Disjoint lookup paths (S/Kademlia); 1 = the classic single lookup.
    disjoint_paths: int = 1
    #: Time to wait for the answer to one request.
    request_timeout: float = 2.0
    #: A lookup query unanswered this long stops holding one of the ``alpha`` slots (paper
    #: section 2.3: nodes that fail to respond quickly are removed from consideration until
    #: and unless they do respond); it may still answer until ``request_timeout``. 0: off.
    lookup_stall: float = 0.5
    #: Time a frame waits for the peer's session before it is dropped.
    connect_timeout: float = 5.0
    #: Frames queued per peer while its session is being set up.
    max_pending_per_peer: int = 256
    #: Inbound token bucket per peer (frames/s and burst); frames beyond it are dropped and
    #: only counted (``stats["rate_limited"]``), so a flooding peer cannot flood the events.
    inbound_rate: float = 2000.0
    inbound_burst: float = 4000.0
    #: Refresh buckets untouched this long (paper section 2.3); 0 disables.
    refresh_interval: float = 3600.0
    #: Re-store our own records this often (paper section 2.5); 0 disables.
    republish_interval: float = 3600.0
    #: Records handed to newcomers (section 2.5), in charged bytes: a token bucket shared by
    #: all newcomers (rate per second, burst), so that logging in again and again under new
    #: keys does not make this node send its storage each time. One newcomer never gets more
    #: than the per-storer quota of ``storage``.
    handover_rate: float = 256 * 1024
    handover_burst: float = 8 * 1024 * 1024
    #: Default TTL of records we author, in seconds.
    record_ttl: int = 86_400
    #: Expire stored records / dedup entries this often.
    housekeeping_interval: float = 60.0
    #: A reply arriving at most this long after its request timed out is dropped uncharged
    #: (once per request); later or unasked-for responses are rejected (UNEXPECTED_RESPONSE).
    late_reply_window: float = 30.0
    limits: Limits = field(default_factory=Limits)
    #: Bounds of the DHT record storage: quotas per storing peer, per key and in all.
    storage: StorageLimits = field(default_factory=StorageLimits)
    pubsub: PubSubConfig = field(default_factory=PubSubConfig)
    rpc: RpcConfig = field(default_factory=RpcConfig)
    swim: SwimConfig = field(default_factory=SwimConfig)


class _Timer:
    __slots__ = ("cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class RealmNode:
    """This node's presence in one realm: routing table, storage, pub/sub, RPC, SWIM."""

    def __init__(self, core: MeshCore, realm: Realm) -> None:
        self.core = core
        self.realm = realm
        self.id = realm.id
        self.config = core.config
        self.key = core.key
        self.crypto = core.crypto
        self.rng = core.rng
        self.dht = Dht(self)
        self.pubsub = PubSub(self)
        self.rpc = Rpc(self)
        self.swim = Swim(self)
        self.handlers: dict[type[Frame], Callable[[Contact, Any], None]] = {}
        for service in (self.dht, self.pubsub, self.rpc, self.swim):
            self.handlers.update(service.handlers())

    @property
    def now(self) -> float:
        return self.core.now

    @property
    def contact(self) -> Contact:
        return Contact(self.key.node_id, self.core.address)

    def send(self, peer: Contact, frame: Frame) -> bool:
        """Send ``frame`` to ``peer``; False if it exceeds the frame limit (dropped, counted)."""
        return self.core._send(peer, self.id, frame)

    def request(
        self,
        peer: Contact,
        make: Callable[[int], Frame],
        timeout: float,
        on_reply: Callable[[Frame | None], None],
        rid: int | None = None,
    ) -> int:
        """Send ``make(rid)`` to ``peer``; ``on_reply`` gets the answer, or None on timeout."""
        return self.core._request(peer, self.id, make, timeout, on_reply, rid)

    def later(self, delay: float, fn: Callable[[], None]) -> _Timer:
        return self.core._later(delay, fn)

    def emit(self, event: MeshEvent) -> None:
        self.core._events.append(event)

    def reject(self, peer: bytes, code: RejectReason, detail: str = "") -> None:
        self.core._reject(peer, code, detail)

    def peer_seen(self, contact: Contact) -> None:
        """Section 2.2: any message from a realm member refreshes its routing entry."""
        self.dht.peer_seen(contact)
        self.swim.peer_seen(contact)

    def add_contacts(self, contacts: Iterable[Contact]) -> None:
        """Seed the routing table and SWIM member list (bootstrap); no frames are sent."""
        for c in contacts:
            self.dht.routing.add(c, self.now)
            self.swim.peer_seen(c)

    def peer_dead(self, node_id: bytes) -> None:
        self.dht.routing.remove(node_id)
        self.pubsub.peer_dead(node_id)

    def peer_revived(self, contact: Contact) -> None:
        """SWIM revived a dead member: it may serve the routing table again."""
        self.dht.peer_seen(contact)


class MeshCore:
    """A sans-I/O mesh node (see the module docstring for the driving contract)."""

    def __init__(
        self,
        key: NodeKey,
        realms: Iterable[Realm],
        rng: random.Random,
        *,
        config: MeshConfig | None = None,
        crypto: CryptoSuite = ED25519,
        address: str = "",
        now: float = 0.0,
        seq_start: int = 0,
        incarnation_start: int = 0,
    ) -> None:
        """``seq_start`` / ``incarnation_start``: a node restarted with the same key must pass
        values above every sequence number / SWIM incarnation it used before (persisted, or
        derived from the wall clock by the shell), or peers refuse its publications and
        records as replays and keep it dead until it refutes (see :mod:`mesh.membership`)."""
        self.key = key
        self.node_id = key.node_id
        self.rng = rng
        self.config = config or MeshConfig()
        self.crypto = crypto
        self.address = address
        self.now = now
        self.sessions: dict[bytes, PeerInfo] = {}
        self.stats: dict[str, int] = {
            "sent": 0, "received": 0, "rejected": 0, "bytes_sent": 0, "rate_limited": 0,
            "oversized_dropped": 0, "late_responses": 0, "answers_truncated": 0,
            "records_refused": 0, "handover_skipped": 0, "dht_records": 0, "dht_bytes": 0,
        }  # fmt: skip
        #: Encoded bytes of the frames this node sent (or queued for a connection), by frame
        #: type name: where a node's bandwidth goes (transport overhead not included).
        self.frame_bytes: Counter[str] = Counter()
        self._inbound: dict[bytes, TokenBucket] = {}  # per peer
        self._out: list[Transmit] = []
        self._connect: list[Contact] = []
        self._waiting: dict[bytes, deque[tuple[bytes, bytes]]] = {}
        self._events: deque[MeshEvent] = deque()
        self._timers: list[tuple[float, int, _Timer]] = []
        self._timer_seq = 0
        self._pending: dict[int, tuple[bytes, Callable[[Frame | None], None], _Timer]] = {}
        self._pending_by_peer: dict[bytes, set[int]] = {}  # peer -> rids of _pending
        #: When each peer with a session last answered a request of ours: peers seen to
        #: serve, for callers that choose among several (RPC providers). Forgotten with the
        #: session, so it holds at most one entry per open session.
        self.answered: dict[bytes, float] = {}
        self._late: dict[int, tuple[bytes, float]] = {}  # timed-out rid -> (peer, until)
        self._next_rid = rng.getrandbits(32)
        self._seq = seq_start
        self.incarnation_start = incarnation_start
        self.realms: dict[bytes, RealmNode] = {}
        for r in realms:
            self.realms[r.id] = RealmNode(self, r)
        if self.config.housekeeping_interval > 0:
            self._later(self.config.housekeeping_interval, self._housekeeping)

    # ------------------------------------------------------------------ driving verbs
    def realm(self, realm: bytes | str) -> RealmNode:
        """This node's state in ``realm`` (id or name); MeshUsageError if not joined."""
        rid = realm_id(realm) if isinstance(realm, str) else realm
        node = self.realms.get(rid)
        if node is None:
            raise MeshUsageError("this node has not joined that realm")
        return node

    def peer_authenticated(self, info: PeerInfo, now: float) -> None:
        """The transport authenticated ``info`` (see :class:`mesh.handshake.Handshake`)."""
        self.now = now
        self.sessions[info.node_id] = info
        waiting = self._waiting.pop(info.node_id, None)
        contact = Contact(info.node_id, info.address)
        for rid in info.realms:
            node = self.realms.get(rid)
            if node is not None:
                node.dht.peer_seen(contact)
                node.swim.session_opened(contact)
        if waiting:
            for realm, data in waiting:
                if realm in info.realms:
                    self._emit_bytes(info.node_id, info.address, data)
                else:
                    self._reject(info.node_id, RejectReason.WRONG_REALM, "realm not proven")

    def peer_unreachable(self, peer: bytes, now: float) -> None:
        """A connection to ``peer`` failed or closed: drop its session and queued frames, and
        its routing entries -- a peer that left, or that we dropped, is not handed out to
        lookups until it authenticates again (SWIM would take its suspicion timeout) -- and
        fail every request pending on ``peer`` at once (its callback gets None, as on a
        timeout): no answer can come on a connection that is gone, so lookups move on to
        other contacts and callers retry elsewhere instead of waiting out the timeout."""
        self.now = now
        info = self.sessions.pop(peer, None)
        self._waiting.pop(peer, None)
        self._inbound.pop(peer, None)
        self.answered.pop(peer, None)
        for req in sorted(self._pending_by_peer.pop(peer, ())):
            entry = self._pending.pop(req, None)
            if entry is not None:
                entry[2].cancel()
                self._expect_late(req, peer)
                entry[1](None)
        for realm in self.realms.values():
            realm.dht.routing.remove(peer)
        for rid in info.realms if info is not None else ():
            node = self.realms.get(rid)
            if node is not None:
                node.swim.session_closed(peer)  # an established session ended: probe it now

    def receive(self, peer: bytes, data: bytes, now: float) -> None:
        """Handle one whole frame from authenticated ``peer``; never raises on bad input."""
        self.now = now
        info = self.sessions.get(peer)
        if info is None:
            self._reject(peer, RejectReason.NO_SESSION)
            return
        bucket = self._inbound.get(peer)
        cfg = self.config
        if bucket is None:
            bucket = self._inbound[peer] = TokenBucket(cfg.inbound_rate, cfg.inbound_burst, now)
        if not bucket.take(now):
            self.stats["rate_limited"] += 1
            return
        try:
            frame = decode(data, self.config.limits)
        except FrameError as exc:
            self._reject(peer, RejectReason.MALFORMED, str(exc))
            return
        self.stats["received"] += 1
        node = self.realms.get(frame.realm)
        if node is None or frame.realm not in info.realms:
            self._reject(peer, RejectReason.WRONG_REALM)
            return
        contact = Contact(peer, info.address)
        node.peer_seen(contact)
        if isinstance(frame, _RESPONSES):
            rid = frame.rid
            pending = self._pending.get(rid)
            if pending is None or pending[0] != peer:
                late = self._late.get(rid)
                if late is not None and late[0] == peer:
                    del self._late[rid]
                    if late[1] >= now:  # our request timed out: the peer is not to blame
                        self.stats["late_responses"] += 1
                        return
                self._reject(peer, RejectReason.UNEXPECTED_RESPONSE)
                return
            del self._pending[rid]
            self._unindex(peer, rid)
            pending[2].cancel()
            self.answered[peer] = now
            pending[1](frame)
            return
        handler = node.handlers.get(type(frame))
        if handler is None:
            self._reject(peer, RejectReason.UNEXPECTED_FRAME, type(frame).__name__)
            return
        try:
            handler(contact, frame)
        except AuthError as exc:
            self._reject(peer, RejectReason.AUTH_FAILED, str(exc))

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` should next be called (None: no timer armed)."""
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def handle_timer(self, now: float) -> None:
        """Run every timer due at ``now``."""
        self.now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, t = heapq.heappop(timers)
            if not t.cancelled:
                t.cancelled = True
                t.fn()

    def frames_to_send(self) -> list[Transmit]:
        out, self._out = self._out, []
        return out

    def connections_to_open(self) -> list[Contact]:
        out, self._connect = self._connect, []
        return out

    def next_event(self) -> MeshEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def seq(self) -> int:
        """The last sequence number this node used."""
        return self._seq

    def next_seq(self) -> int:
        """The next per-author sequence number (records, events).

        Receivers refuse sequence numbers they have seen or that fall far below the highest
        seen, so a shell that restarts a node with the same key must pass a ``seq_start`` above
        every number used before (e.g. persisted, or wall-clock microseconds).
        """
        self._seq += 1
        return self._seq

    # ------------------------------------------------------------------ application API
    def join(self, realm: bytes | str, bootstrap: list[Contact], now: float) -> int:
        """Join ``realm`` through ``bootstrap`` contacts (lookup of our own id)."""
        self.now = now
        return self.realm(realm).dht.join(bootstrap)

    def lookup(self, realm: bytes | str, target: bytes, now: float) -> int:
        """Find the k nodes closest to ``target``; reports LookupCompleted."""
        self.now = now
        return self.realm(realm).dht.lookup(target)

    def put(
        self,
        realm: bytes | str,
        kind: int,
        name: str,
        value: bytes,
        now: float,
        *,
        meta: Iterable[tuple[str, Any]] = (),
        ttl: int | None = None,
        deleted: bool = False,
    ) -> int:
        """Author, sign and store a record of ``kind`` named ``name``; reports StoreCompleted.

        The record is republished every ``republish_interval`` until replaced.
        """
        self.now = now
        node = self.realm(realm)
        record = sign_record(
            self.crypto, self.key, node.id,
            kind=kind, record_key=record_key(kind, node.id, name), seq=self.next_seq(),
            ttl=self.config.record_ttl if ttl is None else ttl, value=value,
            meta=tuple(meta), deleted=deleted,
        )  # fmt: skip
        return node.dht.put(record)

    def get(self, realm: bytes | str, kind: int, name: str, now: float) -> int:
        """Collect the live records of ``kind`` named ``name``; reports LookupCompleted."""
        self.now = now
        node = self.realm(realm)
        return node.dht.lookup(record_key(kind, node.id, name), find_value=True)

    def advertise_genotype(
        self,
        realm: bytes | str,
        problem: str,
        payload: bytes,
        now: float,
        *,
        meta: Iterable[tuple[str, Any]] = (),
    ) -> int:
        """Advertise an opaque genotype for ``problem`` (``meta``: e.g. fitness); signed."""
        return self.put(
            realm, GENOTYPE, problem, payload, now,
            meta=(("addr", self.address), *meta),
        )  # fmt: skip

    def find_genotypes(self, realm: bytes | str, problem: str, now: float) -> int:
        """Collect genotype advertisements for ``problem``; reports LookupCompleted."""
        return self.get(realm, GENOTYPE, problem, now)

    def subscribe(self, realm: bytes | str, topic: str, now: float) -> int:
        self.now = now
        return self.realm(realm).pubsub.subscribe(topic)

    def unsubscribe(self, realm: bytes | str, topic: str, now: float) -> int:
        self.now = now
        return self.realm(realm).pubsub.unsubscribe(topic)

    def publish(
        self,
        realm: bytes | str,
        topic: str,
        payload: bytes,
        now: float,
        *,
        reliable: bool = True,
        supersede: bool = False,
    ) -> int:
        """Publish on ``topic``; subscribers report EventReceived (``supersede``: see
        :mod:`mesh.pubsub`)."""
        self.now = now
        node = self.realm(realm)
        self._check_text(topic, "topic")
        self._check_fits(
            lambda: Publish(node.id, _MAX_U64, Event(topic, self.key.public_key, _MAX_U64,
                                                     payload, bytes(64)), True),
            len(payload) + len(topic.encode("utf-8")), "publication",
        )  # fmt: skip
        return node.pubsub.publish(topic, payload, reliable=reliable, supersede=supersede)

    def register(
        self, realm: bytes | str, procedure: str, now: float, handler: Handler | None = None
    ) -> int:
        """Offer ``procedure`` in ``realm`` (advertised in the DHT)."""
        self.now = now
        return self.realm(realm).rpc.register(procedure, handler)

    def call(
        self,
        realm: bytes | str,
        procedure: str,
        args: bytes,
        now: float,
        *,
        timeout: float | None = None,
        provider: Contact | None = None,
    ) -> int:
        """Call ``procedure``; reports CallSucceeded or CallFailed with the returned op id."""
        self.now = now
        node = self.realm(realm)
        self._check_text(procedure, "procedure name")
        self._check_fits(
            lambda: Call(node.id, _MAX_U64, procedure, args, 0.0),
            len(args) + len(procedure.encode("utf-8")), "call",
        )  # fmt: skip
        return node.rpc.call(procedure, args, timeout=timeout, provider=provider)

    def respond(
        self,
        realm: bytes | str,
        op: int,
        now: float,
        value: bytes | None = None,
        *,
        error: str | None = None,
    ) -> None:
        """Answer a CallReceived. A ``value`` too large for one frame is answered with a REMOTE
        error to the caller, and raises MeshUsageError here."""
        self.now = now
        self.realm(realm).rpc.respond(op, value, error=error)

    # ------------------------------------------------------------------ internals
    def _later(self, delay: float, fn: Callable[[], None]) -> _Timer:
        t = _Timer(self.now + delay, fn)
        self._timer_seq += 1
        heapq.heappush(self._timers, (t.when, self._timer_seq, t))
        return t

    def _check_text(self, text: str, what: str) -> None:
        if len(text) > self.config.limits.max_text:
            raise MeshUsageError(f"{what} longer than max_text ({self.config.limits.max_text})")

    def _check_fits(self, make: Callable[[], Frame], variable: int, what: str) -> None:
        """MeshUsageError if the frame ``make()`` (whose variable part is ``variable`` bytes)
        would exceed the frame limit; encoded to check only when it may."""
        limit = self.config.limits.max_frame_bytes
        if variable + _SLACK <= limit:
            return
        n = len(encode(make()))
        if n > limit:
            raise MeshUsageError(f"{what} frame of {n} bytes exceeds max_frame_bytes ({limit})")

    def _reject(self, peer: bytes, code: RejectReason, detail: str = "") -> None:
        self.stats["rejected"] += 1
        self._events.append(FrameRejected(peer, code, detail))

    def _emit_bytes(self, peer: bytes, address: str, data: bytes) -> None:
        self.stats["sent"] += 1
        self.stats["bytes_sent"] += len(data)
        self._out.append(Transmit(peer, address, data))

    def _send(self, peer: Contact, realm: bytes, frame: Frame) -> bool:
        """Queue ``frame`` for ``peer``; False (dropped, counted) if it exceeds the frame
        limit: no peer would accept it."""
        nid = peer.node_id
        if nid == self.node_id:
            return True
        data = encode(frame)
        if len(data) > self.config.limits.max_frame_bytes:
            self.stats["oversized_dropped"] += 1
            return False
        self.frame_bytes[type(frame).__name__] += len(data)
        info = self.sessions.get(nid)
        if info is not None:
            if realm in info.realms:
                self._emit_bytes(nid, info.address, data)
            # else: never deliver a realm's frames to a peer that did not prove membership
            return True
        queue = self._waiting.get(nid)
        if queue is None:
            queue = self._waiting[nid] = deque(maxlen=self.config.max_pending_per_peer)
            self._connect.append(peer)
            self._later(self.config.connect_timeout, lambda: self._connect_expired(nid))
        queue.append((realm, data))
        return True

    def _connect_expired(self, nid: bytes) -> None:
        if nid not in self.sessions:
            self._waiting.pop(nid, None)

    def _request(
        self,
        peer: Contact,
        realm: bytes,
        make: Callable[[int], Frame],
        timeout: float,
        on_reply: Callable[[Frame | None], None],
        rid: int | None,
    ) -> int:
        if rid is None:
            self._next_rid = (self._next_rid + 1) & 0xFFFFFFFFFFFFFFFF
            rid = self._next_rid
        old = self._pending.pop(rid, None)
        if old is not None:
            old[2].cancel()
            self._unindex(old[0], rid)

        def expire() -> None:
            entry = self._pending.pop(rid, None)
            if entry is not None:
                self._unindex(entry[0], rid)
                self._expect_late(rid, entry[0])
                on_reply(None)

        self._pending[rid] = (peer.node_id, on_reply, self._later(timeout, expire))
        self._pending_by_peer.setdefault(peer.node_id, set()).add(rid)
        self._send(peer, realm, make(rid))
        return rid

    def _expect_late(self, rid: int, peer: bytes) -> None:
        """Our request ``rid`` to ``peer`` gave up waiting: a reply that still comes within
        ``late_reply_window`` is not the peer's fault (counted, not rejected)."""
        late = self._late
        late.pop(rid, None)
        if len(late) >= _MAX_LATE:
            del late[next(iter(late))]
        late[rid] = (peer, self.now + self.config.late_reply_window)

    def _unindex(self, peer: bytes, rid: int) -> None:
        rids = self._pending_by_peer.get(peer)
        if rids is not None:
            rids.discard(rid)
            if not rids:
                del self._pending_by_peer[peer]

    def _housekeeping(self) -> None:
        for node in self.realms.values():
            node.dht.storage.expire(self.now)
            node.pubsub.housekeeping()
            node.rpc.housekeeping()
        for node in self.realms.values():
            node.dht.update_gauges()
        for rid in [r for r, (_, until) in self._late.items() if until < self.now]:
            del self._late[rid]
        self._later(self.config.housekeeping_interval, self._housekeeping)
