"""Pure peer policy: rejected-frame budget and the SWIM rejoin adapter (no sockets)."""

from __future__ import annotations

import random

from mesh.core import MeshCore
from mesh.frames import Contact
from mesh.handshake import PeerInfo
from mesh.identity import NodeKey
from mesh.membership import ALIVE, DEAD
from mesh.peer_policy import RejectBudget, RejectPolicy, dead_everywhere, revive_if_dead
from mesh.realms import Realm


def test_budget_drops_after_burst_and_refills_over_time() -> None:
    b = RejectBudget(RejectPolicy(rate=5.0, burst=100.0, malformed_cost=10.0))
    peer = b"p" * 32
    assert not any(b.charge(peer, "malformed: x", 10.0) for _ in range(10))  # 100 tokens spent
    assert b.charge(peer, "malformed: x", 10.0)  # the 11th malformed frame exhausts it
    assert len(b) == 0
    # forged or unexpected frames cost one token each; refilled at 5/s
    assert not any(b.charge(peer, "unexpected Store", 100.0) for _ in range(100))
    assert b.charge(peer, "record signature invalid for this realm", 100.0)
    assert not any(b.charge(peer, "unexpected Ping", 200.0 + i / 4) for i in range(400))
    # benign rejections (late replies after our own timeout, retried events) are free
    assert not any(b.charge(peer, "unexpected response", 300.0) for _ in range(10_000))
    assert not any(b.charge(peer, "replayed or duplicate event", 300.0) for _ in range(10_000))


def test_budget_tracks_a_bounded_number_of_peers() -> None:
    b = RejectBudget(RejectPolicy(max_peers=8))
    for i in range(100):
        b.charge(i.to_bytes(32, "big"), "unexpected Pong", 0.0)
    assert len(b) <= 8


def test_dead_member_is_revived_on_fresh_authentication() -> None:
    rng = random.Random(3)
    core = MeshCore(NodeKey.generate(rng), [Realm("r")], rng, address="a:1")
    other = NodeKey.generate(rng)
    swim = core.realm("r").swim
    swim.peer_seen(Contact(other.node_id, "b:2"))
    assert not dead_everywhere(core, other.node_id)
    swim._declare_dead(swim.members[other.node_id])
    assert swim.status(other.node_id) == DEAD and dead_everywhere(core, other.node_id)
    info = PeerInfo(other.node_id, other.public_key, "b:2", frozenset({Realm("r").id}))
    assert revive_if_dead(core, info)
    core.peer_authenticated(info, 1.0)
    assert swim.status(other.node_id) == ALIVE
    assert not revive_if_dead(core, info)  # alive: nothing to do
