"""SWIM failure detection (Das, Gupta & Motivala, 2002), sans-I/O, one instance per realm node.

Every protocol period this node probes one member (shuffled round robin, SWIM section 4.3).
No ack within ``probe_timeout`` -> it asks ``indirect`` other members to probe the target
(PROBE-REQ, section 3.1); no ack at all by the end of the period -> the target is *suspect*
(section 4.2), and *dead* unless refuted within ``suspicion_mult * max(1, log10(N + 1))``
periods (growing with log N as in Lifeguard / memberlist). Updates are piggybacked on probes
and acks (section 4.1), each retransmitted about ``retransmit_mult * log10(N + 1)`` times.
Ordering (section 4.2 as memberlist refines it): higher incarnations win; at equal
incarnation an accusation beats alive; a notice older than the member's incarnation is
ignored.

Against a hostile realm member (a valid key of its own, and as many more as it can mint):

* **Signed self-incarnations.** Every update carries the subject's ALIVE statement,
  ``[public key, address, incarnation]`` signed by the subject for the realm
  (:func:`mesh.signing.sign_alive`; as libp2p's signed peer records, RFC 0003). A SUSPECT or
  DEAD accusation carries the statement at the accused incarnation, so nobody can accuse a
  member at an incarnation it never signed; incarnations are range-checked at decode
  (``< MAX_INCARNATION = 2**62``). Updates that change nothing are dropped before any
  signature check, checks are budgeted (:class:`~mesh.swim_table.VerifyBudget`), a forged
  statement rejects the frame (``AUTH_FAILED``); our own statement is signed once per
  incarnation.
* **Accusations are suspicions.** Only this node's own suspicion timer declares a member
  dead; a remote SUSPECT / DEAD notice starts (or, at a higher incarnation, restarts) it and
  probes the accused at once, carrying the accusation (memberlist, too, turns a remote
  *dead* into a suspicion when merging state).
* **Refutation** goes to ``max(own, heard) + 1``, where "heard" is always an incarnation our
  own key signed (an accusation, or a statement of an earlier run of our key).
* **Bounded members** (:class:`~mesh.swim_table.MemberTable`): a cap, a per-introducer quota
  of unconfirmed members (gossip-learned, never in session with us), dead members forgotten
  after ``dead_retention``; unconfirmed members do not count in N, are never indirect-probe
  helpers, and get at most every other probe turn.
* **No peer-named addresses.** A ProbeRequest names its target by node id; it is honoured for
  a known member, probed at the address that member signed; requests for one target share one
  probe.

Rejoin: *dead* is not final. A statement with an incarnation above the one a member died at
revives it (:class:`~mesh.events.MemberRejoined`). Every Probe / ProbeAck / ProbeRequest
carries the sender's own statement first; a frame to a member held suspect or dead carries
the accusation; a fresh session from a member held dead (:meth:`Swim.session_opened`) is
answered with an immediate probe, and a member whose session closed is probed out of turn. A
shell restarting a node should pass ``incarnation_start`` (to :class:`~mesh.core.MeshCore`)
above every incarnation used before (persisted, or wall-clock ms), so its first probe
already revives it.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh.errors import AuthError, MeshUsageError
from mesh.events import MemberDied, MemberRejoined, MemberSuspected, RejectReason
from mesh.frames import (
    MAX_INCARNATION,
    MAX_UPDATES,
    Contact,
    Frame,
    Probe,
    ProbeAck,
    ProbeRequest,
    Update,
)
from mesh.signing import sign_alive, verify_alive
from mesh.swim_table import (
    ALIVE,
    DEAD,
    SUSPECT,
    Member,
    MemberTable,
    VerifyBudget,
    holds,
    is_news,
)  # fmt: skip

if TYPE_CHECKING:
    from mesh.core import RealmNode

__all__ = ["ALIVE", "DEAD", "SUSPECT", "Swim", "SwimConfig"]


@dataclass(frozen=True)
class SwimConfig:
    """SWIM settings (seconds)."""

    #: Run failure detection at all (large DHT-only simulations switch it off).
    enabled: bool = True
    #: Protocol period.
    period: float = 1.0
    #: Wait for a direct ack before asking for indirect probes.
    probe_timeout: float = 0.3
    #: Members asked to probe indirectly (SWIM's k).
    indirect: int = 3
    #: Suspicion timeout multiplier (times log10(N+1) periods).
    suspicion_mult: float = 5.0
    #: Piggyback retransmissions multiplier (times log10(N+1)).
    retransmit_mult: float = 4.0
    #: Most updates piggybacked on one frame (at most ``MAX_UPDATES``, 64).
    max_piggyback: int = 16
    #: Most members held (confirmed and unconfirmed, alive to dead).
    max_members: int = 4096
    #: Most unconfirmed members (learned from gossip, never in session with us) held at once
    #: on the word of one introducing peer.
    max_unconfirmed_per_peer: int = 64
    #: Dead members are forgotten this long after they died (memberlist: 30 s on a LAN).
    dead_retention: float = 30.0
    #: Signature checks of gossip per sending peer: rate (per second) and burst.
    verify_rate: float = 20.0
    verify_burst: float = 200.0
    #: Signature checks of gossip from all peers together (a member's own statement sent by
    #: itself is exempt): rate and burst.
    verify_total_rate: float = 500.0
    verify_total_burst: float = 2000.0
    #: Requesters waiting on one indirect probe of a target; more are dropped.
    max_relays_per_target: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.max_piggyback <= MAX_UPDATES:
            raise MeshUsageError(f"max_piggyback must be in 1..{MAX_UPDATES}")
        for name in ("max_members", "max_unconfirmed_per_peer", "max_relays_per_target"):
            if getattr(self, name) < 1:
                raise MeshUsageError(f"{name} must be at least 1")


class Swim:
    """SWIM membership of one realm node."""

    def __init__(self, node: RealmNode) -> None:
        self.node = node
        cfg = self.config = node.config.swim
        start = node.core.incarnation_start
        if type(start) is not int or not 0 <= start < MAX_INCARNATION:
            raise MeshUsageError("incarnation_start must be an integer in 0..2**62-1")
        self.incarnation = start
        self.table = MemberTable(cfg.max_members, cfg.max_unconfirmed_per_peer, self._forgotten)
        self.members: dict[bytes, Member] = self.table.members
        #: Counters: forged, verified, verify_throttled, quota_refused, full_refused, refuted,
        #: refute_impossible, reaped, probe_request_refused, probe_request_dropped.
        self.stats: Counter[str] = Counter()
        self._orders: dict[bool, list[bytes]] = {True: [], False: []}  # confirmed? -> ids
        self._ticks = 0
        self._gossip: dict[bytes, list[Any]] = {}  # node id -> [Update, transmissions left]
        self._probe: dict[str, Any] | None = None
        self._own: Update | None = None
        self._urgent: dict[bytes, object] = {}  # members probed out of turn -> probe token
        self._relays: dict[bytes, list[tuple[Contact, int]]] = {}  # target -> requesters
        self._budget = VerifyBudget(
            cfg.verify_rate, cfg.verify_burst, cfg.verify_total_rate, cfg.verify_total_burst
        )
        if cfg.enabled:
            node.later(cfg.period * (0.5 + node.rng.random()), self._tick)

    def handlers(self) -> dict[type[Frame], Callable[[Contact, Any], None]]:
        if not self.config.enabled:
            return {}  # SWIM frames are then unexpected frames
        return {Probe: self._on_probe, ProbeRequest: self._on_probe_request}

    def _n(self) -> int:
        """N of the timing formulas: confirmed members + 1. Unconfirmed members (anybody's
        gossip) do not count, so a flood of them cannot stretch suspicion timeouts."""
        return len(self.members) - self.table.unconfirmed + 1

    def suspicion_timeout(self) -> float:
        """``suspicion_mult * max(1, log10(N + 1)) * period``, N = confirmed members + 1."""
        n = self._n()
        return self.config.suspicion_mult * max(1.0, math.log10(n + 1)) * self.config.period

    def status(self, node_id: bytes) -> int | None:
        m = self.members.get(node_id)
        return None if m is None else m.status

    def alive(self) -> list[bytes]:
        return [n for n, m in self.members.items() if m.status != DEAD]

    def counters(self) -> dict[str, int]:
        """``stats`` plus the current member counts (for a node's stats)."""
        return {**self.stats, "members": len(self.members), "unconfirmed": self.table.unconfirmed}

    def own(self) -> Update:
        """This node's signed ALIVE statement at its current incarnation (signed once)."""
        u = self._own
        node = self.node
        if u is None or u.incarnation != self.incarnation or u.address != node.core.address:
            u = self._own = sign_alive(
                node.crypto, node.key, node.id, node.core.address, self.incarnation
            )
        return u

    # ------------------------------------------------------------------ dissemination
    def _spread(self, update: Update) -> None:
        n = self._n()
        times = max(1, math.ceil(self.config.retransmit_mult * math.log10(n + 1)))
        self._gossip[update.node_id] = [update, times]

    def _piggyback(self, to: bytes) -> tuple[Update, ...]:
        """Updates for a frame to ``to``: our own statement, the accusation against ``to`` if
        we hold it suspect or dead, then the most-needed gossip (at most ``max_piggyback``)."""
        out = [self.own()]
        m = self.members.get(to)
        if m is not None and m.status != ALIVE and m.statement is not None:
            out.append(m.statement.with_status(m.status))
        if not self._gossip:
            return tuple(out)
        room = max(0, self.config.max_piggyback - len(out))
        best = heapq.nlargest(room, self._gossip.items(), key=lambda kv: kv[1][1])
        for nid, entry in best:  # nlargest: like a stable sort, O(n log room)
            out.append(entry[0])
            entry[1] -= 1
            if entry[1] <= 0:
                del self._gossip[nid]
        return tuple(out)

    # ------------------------------------------------------------------ sessions
    def peer_seen(self, contact: Contact) -> None:
        """An authenticated frame or session from ``contact`` (or a bootstrap contact): it is a
        confirmed member."""
        if not self.config.enabled:
            return
        m = self.members.get(contact.node_id)
        if m is not None:
            if not m.confirmed:
                self.table.confirm(m)
            return
        if contact.node_id == self.node.key.node_id:
            return
        if self.table.add(contact, None) is None:
            self.stats["full_refused"] += 1

    def session_opened(self, contact: Contact) -> None:
        """A fresh authenticated session with ``contact``: if we hold it dead, probe it now.

        The probe carries the accusation; a live node refutes it with a higher incarnation and
        its ack's own statement revives it here (and, by gossip, everywhere)."""
        self.peer_seen(contact)
        m = self.members.get(contact.node_id)
        if m is None or m.status != DEAD:
            return
        if m.statement is None and contact.address:
            m.contact = contact
        self._probe_now(m)

    def session_closed(self, node_id: bytes) -> None:
        """Our session with ``node_id`` closed: probe it out of turn (a member that left is
        suspected within a period instead of when its turn comes; a live one just answers)."""
        m = self.members.get(node_id)
        if m is not None and m.status == ALIVE:
            self._probe_now(m)

    def _probe_now(self, m: Member) -> None:
        """Probe ``m`` out of turn, directly then indirectly; unanswered within a period, an
        alive member becomes suspect. One such probe per member at a time; if the member was
        accused again at a higher incarnation while it was under way, probe again (its ack
        answered the older accusation)."""
        nid = m.contact.node_id
        if not self.config.enabled or nid in self._urgent:
            return
        token = self._urgent[nid] = object()
        inc = m.incarnation

        def answered() -> None:
            if self._urgent.get(nid) is token:
                del self._urgent[nid]
            if self.members.get(nid) is m and m.status == SUSPECT and m.incarnation > inc:
                self._probe_now(m)

        state = self._probe_member(m, answered)

        def verdict() -> None:
            if self._urgent.get(nid) is token:
                del self._urgent[nid]
            if not state["acked"] and self.members.get(nid) is m and m.status == ALIVE:
                self._suspect(m)

        self.node.later(self.config.period, verdict)

    # ------------------------------------------------------------------ updates
    def _apply_reply(self, peer: bytes, reply: ProbeAck) -> None:
        if not self._apply(peer, reply.updates):
            self.node.reject(peer, RejectReason.AUTH_FAILED, "forged SWIM statement")

    def _apply(self, peer: bytes, updates: tuple[Update, ...]) -> bool:
        """Apply the updates ``peer`` sent; False at the first forged statement (the rest of
        the frame is ignored and the caller rejects it)."""
        me = self.node.key.node_id
        now = self.node.now
        for u in updates:
            nid = u.node_id
            if nid == me:
                if not self._about_me(peer, u, now):
                    return False
                continue
            m = self.members.get(nid)
            if not is_news(m, u):
                continue
            if m is None:
                why = self.table.refusal(peer) if nid != peer else None
                if why is not None:
                    self.stats[why] += 1
                    continue
            if not holds(m, u):  # an accusation carrying the statement we hold needs no check
                if not self._budget.take(peer, now, own=nid == peer):
                    self.stats["verify_throttled"] += 1
                    continue
                if not verify_alive(self.node.crypto, self.node.id, u):
                    self.stats["forged"] += 1
                    return False
                self.stats["verified"] += 1
            if m is None:
                m = self.table.add(Contact(nid, u.address), None if nid == peer else peer)
                if m is None:
                    self.stats["full_refused"] += 1
                    continue
            self._learn(m, u)
        return True

    def _about_me(self, peer: bytes, u: Update, now: float) -> bool:
        """An update about this node: refute an accusation, or supersede an ALIVE statement of
        an earlier run of our key; False if it is forged."""
        if u.incarnation < self.incarnation:
            return True
        own = self.own()
        if u.signature != own.signature or u.unsigned_wire() != own.unsigned_wire():
            if not self._budget.take(peer, now):
                self.stats["verify_throttled"] += 1
                return True
            if not verify_alive(self.node.crypto, self.node.id, u):
                self.stats["forged"] += 1
                return False
        elif u.status == ALIVE:
            return True  # our own current statement
        new = max(self.incarnation, u.incarnation) + 1  # both signed by our key
        if new >= MAX_INCARNATION:
            self.stats["refute_impossible"] += 1
            return True
        self.incarnation = new  # refute (section 4.2): every frame we send now carries it
        self.stats["refuted"] += 1
        return True

    def _learn(self, m: Member, u: Update) -> None:
        """Apply a verified update that is news about ``m``."""
        if u.incarnation > m.incarnation:
            m.statement = u.with_status(ALIVE)
            m.incarnation = u.incarnation
            m.contact = Contact(u.node_id, u.address)  # the address its subject signed
        if u.status == ALIVE:
            was_dead = m.status == DEAD
            m.status = ALIVE
            if m.timer is not None:
                m.timer.cancel()
                m.timer = None
            self._spread(u)
            if was_dead:
                self.node.emit(MemberRejoined(self.node.id, u.node_id))
                self.node.peer_revived(m.contact)
        elif m.status != DEAD:  # an accusation: our own suspicion, and a chance to refute
            self._suspect(m)
            self._probe_now(m)
        # else: dead here already; it stays dead (at the newer incarnation) until it refutes

    # ------------------------------------------------------------------ state changes
    def _suspect(self, m: Member) -> None:
        """Suspect ``m`` at its current incarnation (restarting the timer if already suspect
        at a lower one)."""
        if m.timer is not None:
            m.timer.cancel()
        if m.status != SUSPECT:
            m.status = SUSPECT
            self.node.emit(MemberSuspected(self.node.id, m.contact.node_id))
        if m.statement is not None:
            self._spread(m.statement.with_status(SUSPECT))
        inc = m.incarnation

        def expire() -> None:
            m.timer = None
            if m.status == SUSPECT and m.incarnation == inc and self.members.get(nid) is m:
                self._declare_dead(m)

        nid = m.contact.node_id
        m.timer = self.node.later(self.suspicion_timeout(), expire)

    def _declare_dead(self, m: Member) -> None:
        if m.timer is not None:
            m.timer.cancel()
            m.timer = None
        m.status = DEAD
        self.table.died(m, self.node.now)
        self.node.emit(MemberDied(self.node.id, m.contact.node_id))
        if m.statement is not None:
            self._spread(m.statement.with_status(DEAD))
        self.node.peer_dead(m.contact.node_id)

    def _forgotten(self, m: Member) -> None:
        """``m`` left the table (reaped or evicted)."""
        if m.timer is not None:
            m.timer.cancel()
            m.timer = None
        self._gossip.pop(m.contact.node_id, None)
        self.stats["reaped"] += 1

    # ------------------------------------------------------------------ probing
    def _next_target(self) -> Member | None:
        """Round robin, alternating between confirmed and unconfirmed members."""
        self._ticks += 1
        for confirmed in (True, False) if self._ticks % 2 else (False, True):
            order = self._orders[confirmed]
            for refill in (False, True):
                if refill:
                    order[:] = [
                        n for n, m in self.members.items()
                        if m.status != DEAD and m.confirmed == confirmed
                    ]  # fmt: skip
                    self.node.rng.shuffle(order)
                while order:
                    m = self.members.get(order.pop())
                    if m is not None and m.status != DEAD and m.confirmed == confirmed:
                        return m
        return None

    def _tick(self) -> None:
        node = self.node
        cfg = self.config
        self.table.reap(node.now, cfg.dead_retention)
        probe = self._probe
        if probe is not None and not probe["acked"]:
            m = self.members.get(probe["target"])
            if m is not None and m.status == ALIVE:
                self._suspect(m)
        target = self._next_target()
        self._probe = None if target is None else self._probe_member(target)
        node.later(cfg.period, self._tick)

    def _probe_member(
        self, target: Member, on_ack: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """Probe ``target`` directly, and indirectly if no ack comes within probe_timeout;
        the returned state's ``acked`` tells whether any ack came (``on_ack``: called after
        a direct ack was applied)."""
        node = self.node
        tid = target.contact.node_id
        state: dict[str, Any] = {"target": tid, "acked": False}

        def acked(reply: Frame | None) -> None:
            if isinstance(reply, ProbeAck):
                state["acked"] = True
                self._apply_reply(tid, reply)
                if on_ack is not None:
                    on_ack()
            elif not state["acked"]:
                self._indirect(target, state)

        node.request(
            target.contact, lambda rid: Probe(node.id, rid, self._piggyback(tid)),
            self.config.probe_timeout, acked,
        )  # fmt: skip
        return state

    def _indirect(self, target: Member, state: dict[str, Any]) -> None:
        node = self.node
        cfg = self.config
        tid = target.contact.node_id
        helpers = [
            m for n, m in self.members.items() if m.status == ALIVE and m.confirmed and n != tid
        ]
        node.rng.shuffle(helpers)
        wait = max(cfg.period - cfg.probe_timeout, cfg.probe_timeout)
        for h in helpers[: cfg.indirect]:
            node.request(h.contact, self._probe_request(tid, h.contact.node_id), wait,
                         self._indirect_acked(h.contact.node_id, state))  # fmt: skip

    def _probe_request(self, target: bytes, helper: bytes) -> Callable[[int], Frame]:
        updates = self._piggyback(helper)
        return lambda rid: ProbeRequest(self.node.id, rid, target, updates)

    def _indirect_acked(
        self, helper: bytes, state: dict[str, Any]
    ) -> Callable[[Frame | None], None]:
        def acked(reply: Frame | None) -> None:
            if isinstance(reply, ProbeAck):
                state["acked"] = True
                self._apply_reply(helper, reply)

        return acked

    def _on_probe(self, peer: Contact, f: Probe) -> None:
        if not self._apply(peer.node_id, f.updates):
            raise AuthError("forged SWIM statement")
        self.node.send(peer, ProbeAck(self.node.id, f.rid, self._piggyback(peer.node_id)))

    def _on_probe_request(self, peer: Contact, f: ProbeRequest) -> None:
        """Probe a known member for ``peer``, at the address the member signed; requests for
        one target share one probe."""
        node = self.node
        if not self._apply(peer.node_id, f.updates):
            raise AuthError("forged SWIM statement")
        tid = f.target
        m = self.members.get(tid)
        if m is None or tid == peer.node_id:
            self.stats["probe_request_refused"] += 1
            return
        waiting = self._relays.get(tid)
        if waiting is not None:
            if len(waiting) < self.config.max_relays_per_target:
                waiting.append((peer, f.rid))
            else:
                self.stats["probe_request_dropped"] += 1
            return
        self._relays[tid] = [(peer, f.rid)]

        def acked(reply: Frame | None) -> None:
            requesters = self._relays.pop(tid, [])
            if not isinstance(reply, ProbeAck):
                return
            self._apply_reply(tid, reply)
            for p, rid in requesters:
                node.send(p, ProbeAck(node.id, rid, self._piggyback(p.node_id)))

        node.request(
            m.contact, lambda rid: Probe(node.id, rid, self._piggyback(tid)),
            self.config.probe_timeout, acked,
        )  # fmt: skip
