"""Pure peer-policy decisions of a node: the rejected-frame budget and SWIM status queries.

No clock, no sockets: callers pass ``now``. :class:`RejectBudget` decides when a peer whose
frames the core keeps rejecting must be dropped; :func:`dead_everywhere` tells whether SWIM
holds a peer dead in every realm (the node then closes its connection; a restarted peer
authenticates afresh and SWIM revives it, see :mod:`mesh.membership`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.core import MeshCore
from mesh.events import RejectReason
from mesh.membership import DEAD
from mesh.rate import TokenBucket

__all__ = [
    "BENIGN_REASONS",
    "RejectBudget",
    "RejectPolicy",
    "dead_everywhere",
]


#: Rejections that an honest peer may cause now and then, or that our own slowness causes: an
#: unasked-for or repeated reply, a repeated event, a frame racing the session set-up, a record
#: refused (older than the one held, or a full quota). They cost a fraction of a token
#: (``RejectPolicy.benign_cost``): never free, so a flood of them drops its sender. (The
#: honest cases that are *not* the peer's doing cost nothing because they are not rejections:
#: the first late reply to a request of ours that timed out, and the first repeat of an event
#: -- a retry after a lost ack -- are dropped or acked uncharged; see :mod:`mesh.core` and
#: :mod:`mesh.pubsub`.)
BENIGN_REASONS: frozenset[RejectReason] = frozenset(
    {
        RejectReason.UNEXPECTED_RESPONSE,
        RejectReason.REPLAYED_EVENT,
        RejectReason.NO_SESSION,
        RejectReason.RECORD_REFUSED,
    }
)


@dataclass(frozen=True)
class RejectPolicy:
    """A token bucket per peer: ``burst`` tokens, refilled at ``rate`` per second; a rejected
    malformed frame costs ``malformed_cost``, one of the :data:`BENIGN_REASONS`
    ``benign_cost``, any other rejection one token (decided on the core's
    :class:`RejectReason`). At the defaults a peer is dropped after 10 malformed frames, 100
    other rejections or 400 benign ones in a row; 5 rejections or 20 benign ones per second
    are never charged beyond the refill."""

    #: Tokens refilled per second.
    rate: float = 5.0
    #: Bucket size (and a new peer's budget).
    burst: float = 100.0
    #: Cost of a frame that does not decode.
    malformed_cost: float = 10.0
    #: Cost of a benign rejection (late or repeated replies and events, refused records).
    benign_cost: float = 0.25
    #: Peers tracked at once; beyond it every budget is reset (memory bound).
    max_peers: int = 4096


class RejectBudget:
    """Per-peer budgets of rejected frames (see :class:`RejectPolicy`)."""

    def __init__(self, policy: RejectPolicy) -> None:
        self.policy = policy
        self._buckets: dict[bytes, TokenBucket] = {}

    def charge(self, peer: bytes, code: RejectReason, now: float) -> bool:
        """Spend for one frame rejected for ``code``; True when the budget is exhausted (drop
        the peer)."""
        p = self.policy
        b = self._buckets.get(peer)
        if b is None:
            if len(self._buckets) >= p.max_peers:
                self._buckets.clear()
            b = self._buckets[peer] = TokenBucket(p.rate, p.burst, now)
        if code == RejectReason.MALFORMED:
            cost = p.malformed_cost
        else:
            cost = p.benign_cost if code in BENIGN_REASONS else 1.0
        if b.spend(now, cost) < 0:
            del self._buckets[peer]
            return True
        return False

    def __len__(self) -> int:
        return len(self._buckets)


def dead_everywhere(core: MeshCore, node_id: bytes) -> bool:
    """True if no realm's SWIM holds ``node_id`` as alive or suspect."""
    for node in core.realms.values():
        status = node.swim.status(node_id)
        if status is not None and status != DEAD:
            return False
    return True
