"""The bounded member table of :class:`mesh.membership.Swim` and its signature-check budget.

Pure data structures (no clock: callers pass ``now``). What they bound, against a realm member
that gossips as many members as it can mint keys for:

* :class:`MemberTable` holds at most ``max_members`` members. A member is *confirmed* once
  this node had an authenticated session with it (it sent us a frame, or we bootstrapped
  with it); until then it is *unconfirmed*, charged to the peer that introduced it, and one
  peer may have at most ``max_unconfirmed_per_peer`` unconfirmed members held at once. Dead
  members are forgotten ``retention`` seconds after they died (memberlist's
  GossipToTheDeadTime); when the table is full the oldest dead member makes room, and for a
  confirmed newcomer the oldest unconfirmed member does if no dead one is left.
* :class:`VerifyBudget` bounds the Ed25519 checks other peers can make us run: a token bucket
  per sending peer and one for all of them together; a member's own statement, sent by the
  member itself, is charged to its own bucket only, so no other peer can starve it.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any

from mesh.frames import Contact, Update

__all__ = ["Member", "MemberTable", "VerifyBudget", "holds", "is_news"]

ALIVE, SUSPECT, DEAD = 0, 1, 2


class Member:
    """One member as this node sees it. ``statement`` is the newest verified ALIVE statement
    of the member (None until one arrived: then ``incarnation`` is -1); ``contact`` holds the
    address the member signed (or, before any statement, the one its session announced)."""

    __slots__ = (
        "changed", "confirmed", "contact", "incarnation", "introducer", "statement", "status",
        "timer",
    )  # fmt: skip

    def __init__(self, contact: Contact, introducer: bytes | None) -> None:
        self.contact = contact
        self.status = ALIVE
        self.incarnation = -1
        self.statement: Update | None = None
        self.confirmed = introducer is None
        self.introducer = introducer
        self.changed = 0.0
        self.timer: Any = None


def is_news(m: Member | None, u: Update) -> bool:
    """Would ``u`` change our view of its subject (SWIM section 4.2 ordering)?"""
    if m is None or u.incarnation != m.incarnation:
        return m is None or u.incarnation > m.incarnation
    return u.status != ALIVE and m.status == ALIVE


def holds(m: Member | None, u: Update) -> bool:
    """Does ``u`` carry the very statement we hold (already verified) for ``m``?"""
    held = None if m is None else m.statement
    return (
        held is not None
        and held.incarnation == u.incarnation
        and held.signature == u.signature
        and held.address == u.address
    )


class MemberTable:
    """Members by node id, with the caps of the module docstring."""

    def __init__(
        self,
        max_members: int,
        max_unconfirmed_per_peer: int,
        on_remove: Callable[[Member], None],
    ) -> None:
        self.max_members = max_members
        self.max_unconfirmed_per_peer = max_unconfirmed_per_peer
        self.on_remove = on_remove
        self.members: dict[bytes, Member] = {}
        self._unconfirmed: dict[bytes, None] = {}  # insertion order = age
        self._introduced: Counter[bytes] = Counter()
        self._deaths: deque[tuple[float, bytes]] = deque()

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members)

    def get(self, node_id: bytes) -> Member | None:
        return self.members.get(node_id)

    @property
    def unconfirmed(self) -> int:
        return len(self._unconfirmed)

    def refusal(self, introducer: bytes) -> str | None:
        """Why a new unconfirmed member from ``introducer`` would be refused (a counter name),
        or None if it would be taken. Checked before any signature is."""
        if self._introduced[introducer] >= self.max_unconfirmed_per_peer:
            return "quota_refused"
        if len(self.members) >= self.max_members and not self._has_dead():
            return "full_refused"
        return None

    def add(self, contact: Contact, introducer: bytes | None) -> Member | None:
        """A new member, confirmed if ``introducer`` is None; None if there is no room."""
        if len(self.members) >= self.max_members and not self._make_room(introducer is None):
            return None
        if introducer is not None and self._introduced[introducer] >= self.max_unconfirmed_per_peer:
            return None
        m = Member(contact, introducer)
        self.members[contact.node_id] = m
        if introducer is not None:
            self._unconfirmed[contact.node_id] = None
            self._introduced[introducer] += 1
        return m

    def confirm(self, m: Member) -> None:
        """We had an authenticated session with ``m``: it no longer counts against a quota."""
        if m.confirmed:
            return
        m.confirmed = True
        self._release(m)

    def died(self, m: Member, now: float) -> None:
        """``m`` was declared dead at ``now``: forget it after the retention time."""
        m.changed = now
        self._deaths.append((now, m.contact.node_id))

    def reap(self, now: float, retention: float) -> int:
        """Forget members dead for ``retention`` seconds; returns how many."""
        n = 0
        while self._deaths and self._deaths[0][0] + retention <= now:
            if self._pop_dead():
                n += 1
        return n

    def remove(self, node_id: bytes) -> None:
        m = self.members.pop(node_id, None)
        if m is None:
            return
        self._release(m)
        self.on_remove(m)

    # ------------------------------------------------------------------ internals
    def _release(self, m: Member) -> None:
        nid = m.contact.node_id
        if nid in self._unconfirmed and m.introducer is not None:
            del self._unconfirmed[nid]
            left = self._introduced[m.introducer] - 1
            if left > 0:
                self._introduced[m.introducer] = left
            else:
                del self._introduced[m.introducer]

    def _has_dead(self) -> bool:
        while self._deaths:
            t, nid = self._deaths[0]
            m = self.members.get(nid)
            if m is not None and m.status == DEAD and m.changed == t:
                return True
            self._deaths.popleft()  # stale: revived or already forgotten
        return False

    def _pop_dead(self) -> bool:
        """Forget the oldest dead member (False if the oldest entry was stale)."""
        t, nid = self._deaths.popleft()
        m = self.members.get(nid)
        if m is None or m.status != DEAD or m.changed != t:
            return False
        self.remove(nid)
        return True

    def _make_room(self, confirmed: bool) -> bool:
        if self._has_dead():
            self._pop_dead()
            return True
        if confirmed and self._unconfirmed:
            self.remove(next(iter(self._unconfirmed)))
            return True
        return False


class VerifyBudget:
    """Token buckets of signature checks: one per sending peer (``rate``/s, ``burst``) and
    one for all peers (``total_rate``/s, ``total_burst``); at most ``max_peers`` tracked."""

    def __init__(
        self,
        rate: float,
        burst: float,
        total_rate: float,
        total_burst: float,
        max_peers: int = 4096,
    ) -> None:
        self.rate, self.burst = rate, burst
        self.total_rate, self.total_burst = total_rate, total_burst
        self.max_peers = max_peers
        self._peers: dict[bytes, list[float]] = {}
        self._total = [total_burst, 0.0]

    def take(self, peer: bytes, now: float, *, own: bool = False) -> bool:
        """Spend one check for a statement ``peer`` sent (``own``: a statement of ``peer``
        itself, exempt from the shared bucket); False if a bucket is empty."""
        b = self._peers.get(peer)
        if b is None:
            if len(self._peers) >= self.max_peers:
                self._peers.clear()
            b = self._peers[peer] = [self.burst, now]
        _refill(b, now, self.rate, self.burst)
        if b[0] < 1.0:
            return False
        t = self._total
        if not own:
            _refill(t, now, self.total_rate, self.total_burst)
            if t[0] < 1.0:
                return False
            t[0] -= 1.0
        b[0] -= 1.0
        return True


def _refill(b: list[float], now: float, rate: float, burst: float) -> None:
    b[0] = min(burst, b[0] + max(0.0, now - b[1]) * rate)
    b[1] = now
