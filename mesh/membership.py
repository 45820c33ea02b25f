"""SWIM failure detection (Das, Gupta & Motivala, 2002), sans-I/O, one instance per realm node.

Every protocol period this node probes one member, taking members in a shuffled round-robin
order (SWIM section 4.3). No ack within ``probe_timeout`` -> it asks ``indirect`` other members
to probe the target for it (PROBE-REQ, section 3.1). No ack, direct or indirect, by the end of
the period -> the target becomes *suspect* (section 4.2); a suspect not refuted within the
suspicion timeout, ``suspicion_mult * max(1, log10(N + 1)) * period`` (growing with log N as in
Lifeguard / memberlist), is declared *dead*. Membership updates (alive / suspect / dead with
incarnation numbers) are piggybacked on probes and acks (section 4.1), each retransmitted about
``retransmit_mult * log10(N + 1)`` times. A node that hears itself suspected refutes it by
raising its incarnation. Ordering of updates follows section 4.2 as memberlist refines it:
higher incarnations win; at equal incarnation suspect beats alive and dead beats both; a death
notice older than the member's incarnation is ignored.

Rejoin (nodes restart with the same key): *dead* is not final. An ALIVE update with an
incarnation above the one a member died at revives it (:class:`~mesh.events.MemberRejoined`).
Three things make such an update reach everyone quickly:

* every Probe / ProbeAck / ProbeRequest carries the sender's own ALIVE update (its current
  incarnation) first, so any direct exchange refreshes what the receiver knows;
* a frame to a member we hold as suspect or dead carries that accusation, so the accused
  refutes at once (raising its incarnation above it) instead of waiting for gossip to reach it;
* a fresh authenticated session from a member held dead (see
  :meth:`Swim.session_opened`) is answered with an immediate probe carrying the accusation.

A shell that restarts a node should also pass ``incarnation_start`` (to
:class:`~mesh.core.MeshCore`) above every incarnation used before -- e.g. persisted, or
wall-clock milliseconds -- so the restarted node's first probe already revives it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh.events import MemberDied, MemberRejoined, MemberSuspected
from mesh.frames import Contact, Frame, Probe, ProbeAck, ProbeRequest, Update

if TYPE_CHECKING:
    from mesh.core import RealmNode

__all__ = ["ALIVE", "DEAD", "SUSPECT", "Swim", "SwimConfig"]

ALIVE, SUSPECT, DEAD = 0, 1, 2


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
    #: Most updates piggybacked on one frame.
    max_piggyback: int = 16


class _Member:
    __slots__ = ("contact", "incarnation", "status", "timer")

    def __init__(self, contact: Contact, status: int, incarnation: int) -> None:
        self.contact = contact
        self.status = status
        self.incarnation = incarnation
        self.timer: Any = None


class Swim:
    """SWIM membership of one realm node."""

    def __init__(self, node: RealmNode) -> None:
        self.node = node
        self.config: SwimConfig = node.config.swim
        self.incarnation = node.core.incarnation_start
        self.members: dict[bytes, _Member] = {}
        self._order: list[bytes] = []
        self._gossip: dict[bytes, list[Any]] = {}  # node id -> [Update, transmissions left]
        self._probe: dict[str, Any] | None = None
        if self.config.enabled:
            node.later(self.config.period * (0.5 + node.rng.random()), self._tick)

    def handlers(self) -> dict[type[Frame], Callable[[Contact, Any], None]]:
        return {Probe: self._on_probe, ProbeRequest: self._on_probe_request}

    def suspicion_timeout(self) -> float:
        """``suspicion_mult * max(1, log10(N + 1)) * period``, N = members known + 1."""
        n = len(self.members) + 1
        return self.config.suspicion_mult * max(1.0, math.log10(n + 1)) * self.config.period

    def status(self, node_id: bytes) -> int | None:
        m = self.members.get(node_id)
        return None if m is None else m.status

    def alive(self) -> list[bytes]:
        return [n for n, m in self.members.items() if m.status != DEAD]

    # ------------------------------------------------------------------ dissemination
    def _spread(self, update: Update) -> None:
        n = len(self.members) + 1
        times = max(1, math.ceil(self.config.retransmit_mult * math.log10(n + 1)))
        self._gossip[update.node_id] = [update, times]

    def _piggyback(self, to: bytes) -> tuple[Update, ...]:
        """Updates for a frame to ``to``: our own ALIVE, the accusation against ``to`` if we
        hold it suspect or dead, then the most-needed gossip (at most ``max_piggyback``)."""
        node = self.node
        out = [Update(node.key.node_id, node.core.address, ALIVE, self.incarnation)]
        m = self.members.get(to)
        if m is not None and m.status != ALIVE:
            out.append(Update(to, m.contact.address, m.status, m.incarnation))
        if not self._gossip:
            return tuple(out)
        room = max(0, self.config.max_piggyback - len(out))
        best = sorted(self._gossip.items(), key=lambda kv: -kv[1][1])
        for nid, entry in best[:room]:
            out.append(entry[0])
            entry[1] -= 1
            if entry[1] <= 0:
                del self._gossip[nid]
        return tuple(out)

    def peer_seen(self, contact: Contact) -> None:
        if not self.config.enabled or contact.node_id in self.members:
            return
        self.members[contact.node_id] = _Member(contact, ALIVE, 0)
        self._spread(Update(contact.node_id, contact.address, ALIVE, 0))

    def session_opened(self, contact: Contact) -> None:
        """A fresh authenticated session with ``contact``: if we hold it dead, probe it now.

        The probe carries the accusation; a live node refutes it with a higher incarnation and
        its ack's own ALIVE update revives it here (and, by gossip, everywhere)."""
        m = self.members.get(contact.node_id)
        if not self.config.enabled or m is None or m.status != DEAD:
            self.peer_seen(contact)
            return
        if contact.address:
            m.contact = contact
        node = self.node

        def acked(reply: Frame | None) -> None:
            if isinstance(reply, ProbeAck):
                self._apply(reply.updates)

        node.request(
            m.contact, lambda rid: Probe(node.id, rid, self._piggyback(contact.node_id)),
            self.config.probe_timeout, acked,
        )  # fmt: skip

    def _apply(self, updates: tuple[Update, ...]) -> None:
        me = self.node.key.node_id
        for u in updates:
            if u.node_id == me:
                if u.status != ALIVE and u.incarnation >= self.incarnation:
                    self.incarnation = u.incarnation + 1  # refute (section 4.2)
                    self._spread(Update(me, self.node.core.address, ALIVE, self.incarnation))
                continue
            m = self.members.get(u.node_id)
            if u.status == ALIVE:
                if m is None:
                    self.members[u.node_id] = _Member(
                        Contact(u.node_id, u.address), ALIVE, u.incarnation
                    )
                    self._spread(u)
                elif u.incarnation > m.incarnation:
                    was_dead = m.status == DEAD
                    m.status, m.incarnation = ALIVE, u.incarnation
                    if u.address:
                        m.contact = Contact(u.node_id, u.address)
                    if m.timer is not None:
                        m.timer.cancel()
                        m.timer = None
                    self._spread(u)
                    if was_dead:
                        self.node.emit(MemberRejoined(self.node.id, u.node_id))
                        self.node.peer_revived(m.contact)
            elif u.status == SUSPECT:
                if m is None or m.status == DEAD:
                    continue
                if u.incarnation > m.incarnation or (
                    u.incarnation == m.incarnation and m.status == ALIVE
                ):
                    m.incarnation = u.incarnation
                    self._suspect(m)
            elif m is None:  # a death notice about a member we never knew: remember it
                m = self.members[u.node_id] = _Member(
                    Contact(u.node_id, u.address), ALIVE, u.incarnation
                )
                self._declare_dead(m)
            elif m.status != DEAD and u.incarnation >= m.incarnation:
                m.incarnation = u.incarnation
                self._declare_dead(m)

    # ------------------------------------------------------------------ state changes
    def _suspect(self, m: _Member) -> None:
        if m.status == SUSPECT:
            return
        m.status = SUSPECT
        self.node.emit(MemberSuspected(self.node.id, m.contact.node_id))
        self._spread(Update(m.contact.node_id, m.contact.address, SUSPECT, m.incarnation))
        timeout = self.suspicion_timeout()
        inc = m.incarnation

        def expire() -> None:
            m.timer = None
            if m.status == SUSPECT and m.incarnation == inc:
                self._declare_dead(m)

        m.timer = self.node.later(timeout, expire)

    def _declare_dead(self, m: _Member) -> None:
        if m.timer is not None:
            m.timer.cancel()
            m.timer = None
        m.status = DEAD
        self.node.emit(MemberDied(self.node.id, m.contact.node_id))
        self._spread(Update(m.contact.node_id, m.contact.address, DEAD, m.incarnation))
        self.node.peer_dead(m.contact.node_id)

    # ------------------------------------------------------------------ probing
    def _next_target(self) -> _Member | None:
        for _ in range(2):
            while self._order:
                nid = self._order.pop()
                m = self.members.get(nid)
                if m is not None and m.status != DEAD:
                    return m
            self._order = [n for n, m in self.members.items() if m.status != DEAD]
            self.node.rng.shuffle(self._order)
        return None

    def _tick(self) -> None:
        node = self.node
        cfg = self.config
        probe = self._probe
        if probe is not None and not probe["acked"]:
            m = self.members.get(probe["target"])
            if m is not None and m.status == ALIVE:
                self._suspect(m)
        self._probe = None
        target = self._next_target()
        if target is not None:
            state: dict[str, Any] = {"target": target.contact.node_id, "acked": False}
            self._probe = state

            def acked(reply: Frame | None) -> None:
                if isinstance(reply, ProbeAck):
                    state["acked"] = True
                    self._apply(reply.updates)
                elif not state["acked"]:
                    self._indirect(target, state)

            node.request(
                target.contact,
                lambda rid: Probe(node.id, rid, self._piggyback(target.contact.node_id)),
                cfg.probe_timeout, acked,
            )  # fmt: skip
        node.later(cfg.period, self._tick)

    def _indirect(self, target: _Member, state: dict[str, Any]) -> None:
        node = self.node
        cfg = self.config
        helpers = [
            m for n, m in self.members.items() if m.status == ALIVE and n != target.contact.node_id
        ]
        node.rng.shuffle(helpers)
        wait = max(cfg.period - cfg.probe_timeout, cfg.probe_timeout)

        def acked(reply: Frame | None) -> None:
            if isinstance(reply, ProbeAck):
                state["acked"] = True
                self._apply(reply.updates)

        for h in helpers[: cfg.indirect]:
            node.request(h.contact, self._probe_request(target, h), wait, acked)

    def _probe_request(self, target: _Member, helper: _Member) -> Callable[[int], Frame]:
        updates = self._piggyback(helper.contact.node_id)
        return lambda rid: ProbeRequest(self.node.id, rid, target.contact, updates)

    def _on_probe(self, peer: Contact, f: Probe) -> None:
        self._apply(f.updates)
        self.node.send(peer, ProbeAck(self.node.id, f.rid, self._piggyback(peer.node_id)))

    def _on_probe_request(self, peer: Contact, f: ProbeRequest) -> None:
        node = self.node
        self._apply(f.updates)

        def acked(reply: Frame | None) -> None:
            if isinstance(reply, ProbeAck):
                self._apply(reply.updates)
                node.send(peer, ProbeAck(node.id, f.rid, self._piggyback(peer.node_id)))

        node.request(
            f.target, lambda rid: Probe(node.id, rid, self._piggyback(f.target.node_id)),
            self.config.probe_timeout, acked,
        )  # fmt: skip
