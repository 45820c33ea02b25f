"""Pure peer policy: rejected-frame budget and SWIM revival on a fresh session (no sockets)."""

from __future__ import annotations

from mesh.core import MeshConfig
from mesh.events import MemberRejoined
from mesh.events import RejectReason as R
from mesh.membership import ALIVE, DEAD
from mesh.peer_policy import BENIGN_REASONS, RejectBudget, RejectPolicy, dead_everywhere
from mesh.realms import Realm
from tests.mesh.helpers import connect, drain, make_core, pump


def test_budget_drops_after_burst_and_refills_over_time() -> None:
    b = RejectBudget(RejectPolicy(rate=5.0, burst=100.0, malformed_cost=10.0))
    peer = b"p" * 32
    assert not any(b.charge(peer, R.MALFORMED, 10.0) for _ in range(10))  # 100 tokens spent
    assert b.charge(peer, R.MALFORMED, 10.0)  # the 11th malformed frame exhausts it
    assert len(b) == 0
    # forged or unexpected frames cost one token each; refilled at 5/s
    assert not any(b.charge(peer, R.UNEXPECTED_FRAME, 100.0) for _ in range(100))
    assert b.charge(peer, R.FORGED_RECORD, 100.0)
    assert not any(b.charge(peer, R.UNEXPECTED_FRAME, 200.0 + i / 4) for i in range(400))


def test_every_rejection_costs_benign_ones_a_fraction() -> None:
    """Benign rejections cost a quarter token: 20 per second go on forever uncharged beyond
    the refill, but 499 in a row -- the replay attack -- drop the sender, whatever the code."""
    for code in BENIGN_REASONS:
        b = RejectBudget(RejectPolicy())
        peer = b"p" * 32
        assert not any(b.charge(peer, code, i / 20) for i in range(20 * 3600))  # an hour
        burst = [b.charge(peer, code, 3601.0) for _ in range(499)]
        assert any(burst) and burst.index(True) == 400


def test_budget_tracks_a_bounded_number_of_peers() -> None:
    b = RejectBudget(RejectPolicy(max_peers=8))
    for i in range(100):
        b.charge(i.to_bytes(32, "big"), R.UNEXPECTED_FRAME, 0.0)
    assert len(b) <= 8


def test_dead_member_is_revived_on_fresh_authentication() -> None:
    """No private-state poking: a fresh session from a member SWIM holds dead makes the core
    probe it with the accusation; the peer refutes and its ack revives it."""
    config = MeshConfig(housekeeping_interval=0.0)
    a = make_core(1, [Realm("r")], config=config)
    b = make_core(2, [Realm("r")], config=config)
    swim = a.realm("r").swim
    connect(a, b, 0.0)
    a.handle_timer(2.0)  # one SWIM round: a holds b's signed statement (what accusations carry)
    pump([a, b], 2.0)
    assert not dead_everywhere(a, b.node_id)
    swim._declare_dead(swim.members[b.node_id])  # as if its suspicion had timed out
    assert swim.status(b.node_id) == DEAD and dead_everywhere(a, b.node_id)
    a.peer_unreachable(b.node_id, 2.5)
    b.peer_unreachable(a.node_id, 2.5)
    connect(a, b, 3.0)
    pump([a, b], 3.0)
    assert swim.status(b.node_id) == ALIVE and not dead_everywhere(a, b.node_id)
    assert b.realm("r").swim.incarnation == 1  # b refuted its death
    assert any(isinstance(e, MemberRejoined) for e in drain(a))
