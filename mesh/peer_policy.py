"""Pure peer-policy decisions of a node: the rejected-frame budget and the SWIM rejoin adapter.

No clock, no sockets: callers pass ``now``. :class:`RejectBudget` decides when a peer whose
frames the core keeps rejecting must be dropped; :func:`revive_if_dead` and
:func:`dead_everywhere` adapt SWIM (which treats *dead* as final, per the paper) to nodes that
restart with the same key: a member declared dead that authenticates again on a fresh
connection is forgotten, so the core re-admits it as alive.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.core import MeshCore
from mesh.handshake import PeerInfo
from mesh.membership import DEAD

__all__ = [
    "BENIGN_REASONS",
    "RejectBudget",
    "RejectPolicy",
    "dead_everywhere",
    "revive_if_dead",
]


#: Rejections that an honest peer causes in normal operation, or that our own slowness causes:
#: a reply arriving after our request timed out, a retried event whose ack was lost, a frame
#: racing the session set-up, a record older than the one we hold. They cost nothing.
BENIGN_REASONS = (
    "unexpected response",
    "replayed or duplicate event",
    "no authenticated session",
    "record refused",
)


@dataclass(frozen=True)
class RejectPolicy:
    """A token bucket per peer: ``burst`` tokens, refilled at ``rate`` per second; a rejected
    malformed frame costs ``malformed_cost``, any other rejection one token, except the
    :data:`BENIGN_REASONS`, which are free (matched on the core's reason text)."""

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

    def charge(self, peer: bytes, reason: str, now: float) -> bool:
        """Spend for one rejected frame; True when the budget is exhausted (drop the peer)."""
        p = self.policy
        if reason.startswith(BENIGN_REASONS):
            return False
        b = self._buckets.get(peer)
        if b is None:
            if len(self._buckets) >= p.max_peers:
                self._buckets.clear()
            b = self._buckets[peer] = [p.burst, now]
        b[0] = min(p.burst, b[0] + (now - b[1]) * p.rate)
        b[1] = now
        b[0] -= p.malformed_cost if reason.startswith("malformed") else 1.0
        if b[0] < 0:
            del self._buckets[peer]
            return True
        return False

    def __len__(self) -> int:
        return len(self._buckets)


def revive_if_dead(core: MeshCore, info: PeerInfo) -> bool:
    """Forget ``info``'s SWIM membership in every shared realm where it is dead, before the
    core hears of the new session (which then adds it back as alive). True if any."""
    revived = False
    for rid in info.realms:
        node = core.realms.get(rid)
        if node is None:
            continue
        m = node.swim.members.get(info.node_id)
        if m is not None and m.status == DEAD:
            del node.swim.members[info.node_id]
            node.swim._gossip.pop(info.node_id, None)  # stop spreading the stale death
            revived = True
    return revived


def dead_everywhere(core: MeshCore, node_id: bytes) -> bool:
    """True if no realm's SWIM holds ``node_id`` as alive or suspect."""
    for node in core.realms.values():
        m = node.swim.members.get(node_id)
        if m is not None and m.status != DEAD:
            return False
    return True
