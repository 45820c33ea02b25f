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

__all__ = [
    "BENIGN_REASONS",
    "RejectBudget",
    "RejectPolicy",
    "dead_everywhere",
]


#: Rejections that an honest peer causes in normal operation, or that our own slowness causes:
#: a reply arriving after our request timed out, a retried event whose ack was lost, a frame
#: racing the session set-up, a record older than the one we hold. They cost nothing.
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
    malformed frame costs ``malformed_cost``, any other rejection one token, except the
    :data:`BENIGN_REASONS`, which are free (decided on the core's :class:`RejectReason`)."""

    rate: float = 5.0
    burst: float = 100.0
    malformed_cost: float = 10.0
    #: Peers tracked at once; beyond it every budget is reset (memory bound).
    max_peers: int = 4096


class RejectBudget:
    """Per-peer budgets of rejected frames (see :class:`RejectPolicy`)."""

    def __init__(self, policy: RejectPolicy) -> None:
        self.policy = policy
        self._buckets: dict[bytes, list[float]] = {}

    def charge(self, peer: bytes, code: RejectReason, now: float) -> bool:
        """Spend for one frame rejected for ``code``; True when the budget is exhausted (drop
        the peer)."""
        p = self.policy
        if code in BENIGN_REASONS:
            return False
        b = self._buckets.get(peer)
        if b is None:
            if len(self._buckets) >= p.max_peers:
                self._buckets.clear()
            b = self._buckets[peer] = [p.burst, now]
        b[0] = min(p.burst, b[0] + (now - b[1]) * p.rate)
        b[1] = now
        b[0] -= p.malformed_cost if code == RejectReason.MALFORMED else 1.0
        if b[0] < 0:
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
