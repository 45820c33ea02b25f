"""Deterministic discrete-event network of :class:`~mesh.core.MeshCore` nodes.

The simulator plays the transport: it delivers whole frames between nodes after a seeded random
latency, drops them with probability ``loss``, never across a partition nor to/from a dead
node (dead nodes are *silent*: nothing tells the others), and authenticates peers when a core
asks for a connection. One ``heapq`` event queue holds deliveries, timers and handshake
completions; the same seed gives the same run, event for event.

Fast paths, stated plainly (choose per simulation with :class:`SimConfig`):

* ``crypto``: :data:`mesh.identity.SIM_FAST` (default) replaces Ed25519 signatures with a
  forgeable hash, saving ~60 us per verification; tests about signatures use
  :data:`mesh.identity.ED25519`.
* ``handshake``: ``"full"`` runs the real :class:`~mesh.handshake.Handshake` frames between
  the two cores (in zero simulated time, the session then opening after one round trip);
  ``"trusted"`` skips them and hands both cores the realms they share, as the real handshake
  would for open realms (closed realms still need a valid certificate).
* :meth:`Simulation.oracle_bootstrap` fills routing tables from global knowledge instead of
  running joins (each bucket gets up to k random members of its id range), to start large
  networks quickly. :meth:`Simulation.join` is the real thing.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mesh.core import MeshConfig, MeshCore
from mesh.errors import MeshError
from mesh.events import MeshEvent
from mesh.frames import Contact
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import SIM_FAST, CryptoSuite, NodeKey
from mesh.realms import Realm

__all__ = ["SimConfig", "SimNode", "Simulation"]

_DELIVER, _TIMER, _AUTH = 0, 1, 2


@dataclass(frozen=True)
class SimConfig:
    """Network model of a simulation."""

    #: Mean one-way latency and the half-width of its uniform jitter, in seconds.
    latency: float = 0.02
    jitter: float = 0.01
    #: Probability that a frame is lost.
    loss: float = 0.0
    #: Signature suite of every node (see the module docstring).
    crypto: CryptoSuite = SIM_FAST
    #: "full" (real handshake frames) or "trusted" (see the module docstring).
    handshake: str = "full"
    #: Keep every node's events in ``SimNode.events`` (False: only count them).
    keep_events: bool = True


class SimNode:
    """One simulated node: its core, liveness, partition group and collected events."""

    __slots__ = (
        "_contact", "alive", "core", "events", "group", "index", "key", "realms", "timer_at",
    )  # fmt: skip

    def __init__(self, index: int, key: NodeKey, core: MeshCore, realms: tuple[Realm, ...]):
        self.index = index
        self.key = key
        self.core = core
        self.realms = realms
        self.alive = True
        self.group = 0
        self.timer_at: float | None = None
        self.events: list[MeshEvent] = []
        self._contact = Contact(key.node_id, core.address)

    @property
    def node_id(self) -> bytes:
        return self.key.node_id

    @property
    def contact(self) -> Contact:
        return self._contact

    def events_of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


class Simulation:
    """A seeded network of simulated nodes (see the module docstring)."""

    def __init__(
        self,
        seed: int = 0,
        config: SimConfig | None = None,
        mesh_config: MeshConfig | None = None,
        on_event: Callable[[SimNode, MeshEvent, float], None] | None = None,
    ) -> None:
        """``on_event(node, event, now)``, if given, sees every event as it is reported."""
        self.config = config or SimConfig()
        self.on_event = on_event
        self.mesh_config = mesh_config or MeshConfig()
        self.rng = random.Random(seed)
        self.now = 0.0
        self.nodes: list[SimNode] = []
        self.by_id: dict[bytes, SimNode] = {}
        self.stats: Counter[str] = Counter()
        self.frame_types: Counter[int] = Counter()
        self.event_counts: Counter[str] = Counter()
        self._queue: list[tuple[float, int, int, int, Any, Any]] = []
        self._seq = 0
        self._connecting: set[tuple[int, int]] = set()

    # ------------------------------------------------------------------ building
    def add_node(
        self, realms: Sequence[Realm] = (Realm("default"),), key: NodeKey | None = None
    ) -> SimNode:
        """Create a node (deterministic key from the seed unless ``key`` is given)."""
        index = len(self.nodes)
        key = key or NodeKey.generate(self.rng)
        core = MeshCore(
            key,
            realms,
            random.Random(self.rng.getrandbits(64)),
            config=self.mesh_config,
            crypto=self.config.crypto,
            address=f"sim:{index}",
            now=self.now,
        )
        node = SimNode(index, key, core, tuple(realms))
        self.nodes.append(node)
        self.by_id[key.node_id] = node
        self._flush(node)
        return node

    def add_nodes(self, n: int, realms: Sequence[Realm] = (Realm("default"),)) -> list[SimNode]:
        return [self.add_node(realms) for _ in range(n)]

    def oracle_bootstrap(
        self, realm: str = "default", nodes: Iterable[SimNode] | None = None
    ) -> None:
        """Fill routing tables from global knowledge (a documented fast path, no frames)."""
        members = [n for n in (nodes if nodes is not None else self.nodes)]
        ints = sorted((int.from_bytes(n.node_id, "big"), n) for n in members)
        keys = [i for i, _ in ints]
        k = self.mesh_config.k
        for node in members:
            own = int.from_bytes(node.node_id, "big")
            rnode = node.core.realm(realm)
            for cpl in range(256):
                shift = 256 - cpl
                # ids sharing at least `cpl` leading bits with ours: [base, base + 2**shift)
                base = (own >> shift) << shift
                if (
                    bisect.bisect_left(keys, base + (1 << shift)) - bisect.bisect_left(keys, base)
                    <= 1
                ):
                    break  # nobody else shares this prefix: deeper buckets are empty
                # ids sharing exactly `cpl` bits: the half of that range without our next bit
                lo = base | ((((own >> (shift - 1)) & 1) ^ 1) << (shift - 1))
                a = bisect.bisect_left(keys, lo)
                b = bisect.bisect_left(keys, lo + (1 << (shift - 1)))
                picks: Iterable[int] = range(a, b)
                if b - a > k:
                    picks = sorted(self.rng.sample(range(a, b), k))
                rnode.add_contacts([ints[i][1].contact for i in picks])

    # ------------------------------------------------------------------ control
    def do(self, node: SimNode, fn: Callable[[MeshCore], Any]) -> Any:
        """Run ``fn(core)`` on ``node`` at the current time and send what it produced."""
        node.core.now = self.now
        result = fn(node.core)
        self._flush(node)
        return result

    def kill(self, node: SimNode) -> None:
        """Stop ``node`` silently: it sends, receives and times out nothing from now on."""
        node.alive = False

    def revive(self, node: SimNode) -> None:
        """Bring a killed node back with its state; its timers resume now."""
        node.alive = True
        node.timer_at = None
        self._flush(node)

    def restart(self, node: SimNode, *, seq_start: int = 0, incarnation_start: int = 0) -> SimNode:
        """Restart ``node`` as a new process with the same key and address: a fresh core (no
        state, no sessions) at ``seq_start`` / ``incarnation_start``; it is alive and the
        others' sessions to the old process are replaced when the new one authenticates.
        Returns the same :class:`SimNode`, whose ``core`` is the new one."""
        node.core = MeshCore(
            node.key, node.realms, random.Random(self.rng.getrandbits(64)),
            config=self.mesh_config, crypto=self.config.crypto, address=node.core.address,
            now=self.now, seq_start=seq_start, incarnation_start=incarnation_start,
        )  # fmt: skip
        node.alive = True
        node.timer_at = None
        self._flush(node)
        return node

    def partition(self, groups: Sequence[Iterable[SimNode]]) -> None:
        """Split the network: frames cross between no two groups (unlisted nodes: group 0)."""
        for n in self.nodes:
            n.group = 0
        for g, members in enumerate(groups, start=1):
            for n in members:
                n.group = g

    def heal(self) -> None:
        for n in self.nodes:
            n.group = 0

    def join(self, node: SimNode, via: SimNode, realm: str = "default") -> int:
        """Real join: ``node`` looks up its own id through ``via``."""
        return self.do(node, lambda c: c.realm(realm).dht.join([via.contact]))

    # ------------------------------------------------------------------ running
    def _push(self, when: float, kind: int, index: int, a: Any, b: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, kind, index, a, b))

    def _latency(self) -> float:
        c = self.config
        return c.latency + (self.rng.random() * 2.0 - 1.0) * c.jitter

    def _flush(self, node: SimNode) -> None:
        core = node.core
        if node.alive:
            out = core.frames_to_send()
            if out:
                loss = self.config.loss
                for tr in out:
                    self.stats["frames"] += 1
                    self.stats["bytes"] += len(tr.data)
                    self.frame_types[tr.data[2]] += 1
                    if loss and self.rng.random() < loss:
                        self.stats["lost"] += 1
                        continue
                    dst = self.by_id.get(tr.peer)
                    if dst is None:
                        continue
                    self._push(
                        self.now + self._latency(), _DELIVER, dst.index, node.key.node_id, tr.data
                    )
            for c in core.connections_to_open():
                self._open(node, c)
        ev = core.next_event()
        keep = self.config.keep_events
        hook = self.on_event
        while ev is not None:
            self.event_counts[type(ev).__name__] += 1
            if hook is not None:
                hook(node, ev, self.now)
            if keep:
                node.events.append(ev)
            ev = core.next_event()
        t = core.next_timer()
        if t is not None and (node.timer_at is None or t < node.timer_at):
            node.timer_at = t
            self._push(t, _TIMER, node.index, t, None)

    def _reachable(self, a: SimNode, b: SimNode) -> bool:
        return a.alive and b.alive and a.group == b.group

    def _open(self, node: SimNode, contact: Contact) -> None:
        other = self.by_id.get(contact.node_id)
        if other is None or not self._reachable(node, other):
            self.stats["connect_failed"] += 1
            return
        pair = (min(node.index, other.index), max(node.index, other.index))
        if pair in self._connecting:
            return
        self._connecting.add(pair)
        self.stats["handshakes"] += 1
        try:
            mine, theirs = self._handshake(node, other)
        except MeshError:
            self._connecting.discard(pair)
            self.stats["handshake_failed"] += 1
            return
        when = self.now + 2 * self._latency()
        self._push(when, _AUTH, node.index, theirs, pair)
        self._push(when, _AUTH, other.index, mine, pair)

    def _handshake(self, a: SimNode, b: SimNode) -> tuple[PeerInfo, PeerInfo]:
        """Authenticate a to b; returns (a as b sees it, b as a sees it)."""
        crypto = self.config.crypto
        if self.config.handshake == "trusted":
            shared = frozenset(r.id for r in a.realms) & frozenset(r.id for r in b.realms)
            return (
                PeerInfo(a.node_id, a.key.public_key, a.core.address, self._admit(b, a, shared)),
                PeerInfo(b.node_id, b.key.public_key, b.core.address, self._admit(a, b, shared)),
            )
        hi = Handshake(a.key, a.realms, crypto, a.core.rng, initiator=True, address=a.core.address)
        hr = Handshake(b.key, b.realms, crypto, b.core.rng, initiator=False, address=b.core.address)
        m1 = hi.initiate()
        m2 = hr.receive(m1, self.now)
        assert m2 is not None
        m3 = hi.receive(m2, self.now)
        assert m3 is not None
        hr.receive(m3, self.now)
        assert hi.peer is not None and hr.peer is not None
        return hr.peer, hi.peer

    def _admit(self, judge: SimNode, peer: SimNode, shared: frozenset[bytes]) -> frozenset[bytes]:
        mine = {r.id: r for r in judge.realms}
        theirs = {r.id: r for r in peer.realms}
        return frozenset(
            rid
            for rid in shared
            if not mine[rid].closed
            or (
                theirs[rid].cert is not None
                and mine[rid].admits(
                    self.config.crypto, theirs[rid].claim(), peer.node_id, self.now
                )
            )
        )

    def step(self) -> bool:
        """Process one event; False when the queue is empty."""
        if not self._queue:
            return False
        when, _, kind, index, a, b = heapq.heappop(self._queue)
        self.now = when
        node = self.nodes[index]
        if kind == _DELIVER:
            src = self.by_id[a]
            if not (node.alive and src.alive and node.group == src.group):
                self.stats["dropped"] += 1
                return True
            self.stats["delivered"] += 1
            node.core.receive(a, b, when)
        elif kind == _TIMER:
            if node.timer_at != a:
                return True
            node.timer_at = None
            if not node.alive:
                return True
            node.core.handle_timer(when)
        else:
            self._connecting.discard(b)
            if not node.alive:
                return True
            node.core.peer_authenticated(a, when)
        self._flush(node)
        return True

    def run(self, until: float, stop: Callable[[], bool] | None = None, max_events: int = 0) -> int:
        """Process events up to simulated time ``until`` (or until ``stop()`` is true).

        Returns the number of events processed. ``max_events`` > 0 bounds the loop.
        """
        count = 0
        q = self._queue
        while q and q[0][0] <= until:
            self.step()
            count += 1
            if stop is not None and stop():
                break
            if max_events and count >= max_events:
                break
        else:
            self.now = max(self.now, until)
        return count

    def run_for(self, duration: float, stop: Callable[[], bool] | None = None) -> int:
        return self.run(self.now + duration, stop)
