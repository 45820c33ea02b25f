"""No frame above the frame limit leaves a core; what an honest peer cannot help is uncharged.

* API calls whose frame could never be sent raise MeshUsageError at the call.
* A frame built from network data that does not fit is dropped and counted.
* An RPC reply too large for a frame becomes a REMOTE error for the caller.
* The first late reply to a timed-out request and the first copy of an event (a retry after a
  lost ack) are not rejections; further copies are.
"""

from __future__ import annotations

import pytest

from mesh.core import MeshConfig
from mesh.dht.records import GENOTYPE
from mesh.errors import MeshUsageError
from mesh.events import CallFailed, CallReceived, EventReceived, FrameRejected
from mesh.events import RejectReason as RR
from mesh.frames import Limits, Ping, Pong, Result, decode, encode
from mesh.membership import SwimConfig
from mesh.peer_policy import RejectBudget, RejectPolicy
from mesh.realms import Realm
from mesh.rpc import REMOTE

from .helpers import QUIET, connect, drain, make_core, pump

R = Realm("limits")
SMALL = MeshConfig(
    swim=SwimConfig(enabled=False), housekeeping_interval=0.0,
    limits=Limits(max_frame_bytes=64 * 1024),
)  # fmt: skip


def pair(config=SMALL):
    a, b = make_core(1, [R], config=config), make_core(2, [R], config=config)
    connect(a, b)
    a.frames_to_send()
    b.frames_to_send()
    return a, b


def test_api_calls_that_cannot_fit_a_frame_raise_at_the_call():
    a, b = pair()
    limit = SMALL.limits.max_frame_bytes
    with pytest.raises(MeshUsageError, match="publication frame"):
        a.publish(R.id, "t", bytes(limit), 0.0)
    with pytest.raises(MeshUsageError, match="topic"):
        a.publish(R.id, "t" * 2000, b"", 0.0)
    with pytest.raises(MeshUsageError, match="call frame"):
        a.call(R.id, "p", bytes(limit), 0.0)
    with pytest.raises(MeshUsageError, match="procedure"):
        a.call(R.id, "p" * 2000, b"", 0.0)
    with pytest.raises(MeshUsageError, match="record refused"):
        a.put(R.id, GENOTYPE, "g", bytes(limit), 0.0)
    with pytest.raises(MeshUsageError, match="record refused"):
        a.put(R.id, GENOTYPE, "g", b"", 0.0, meta=[("k", "v" * 2000)])  # no peer decodes it
    assert not a.frames_to_send()
    # just under the limit is fine, and arrives
    b.subscribe(R.id, "t", 0.0)
    pump([a, b])
    drain(b)
    a.publish(R.id, "t", bytes(limit - 4096), 0.0)
    pump([a, b])
    [ev] = [e for e in drain(b) if isinstance(e, EventReceived)]
    assert len(ev.payload) == limit - 4096


def test_an_oversized_frame_from_network_data_is_dropped_and_counted():
    a, b = pair()
    contact = a.realm(R.id).dht.routing.get(b.node_id)
    assert contact is not None
    big = Result(R.id, 1, bytes(SMALL.limits.max_frame_bytes))
    assert a.realm(R.id).send(contact, big) is False
    assert a.realm(R.id).send(contact, Ping(R.id, 2)) is True
    assert [decode(t.data) for t in a.frames_to_send()] == [Ping(R.id, 2)]
    assert a.stats["oversized_dropped"] == 1


def test_an_rpc_reply_too_large_becomes_a_remote_error():
    a, b = pair()
    limit = SMALL.limits.max_frame_bytes
    b.register(R.id, "sync", 0.0, handler=lambda args, caller: bytes(limit))
    b.register(R.id, "async", 0.0)  # answered with respond()
    pump([a, b])
    provider = a.realm(R.id).dht.routing.get(b.node_id)
    op1 = a.call(R.id, "sync", b"", 0.0, provider=provider)
    op2 = a.call(R.id, "async", b"", 0.0, provider=provider)
    pump([a, b])
    [incoming] = [e for e in drain(b) if isinstance(e, CallReceived)]
    with pytest.raises(MeshUsageError, match="caller got a REMOTE error"):
        b.respond(R.id, incoming.op, 0.0, bytes(limit))
    pump([a, b])
    failed = {e.op: e for e in drain(a) if isinstance(e, CallFailed)}
    assert failed[op1].code == failed[op2].code == REMOTE
    assert "max_frame_bytes" in failed[op1].message


def test_a_late_reply_is_uncharged_once():
    a, b = pair(QUIET)
    contact = a.realm(R.id).dht.routing.get(b.node_id)
    answers = []
    rid = a.realm(R.id).request(contact, lambda r: Ping(R.id, r), 1.0, answers.append)
    a.frames_to_send()  # the ping is "slow": b answers after our timeout
    a.handle_timer(2.0)
    assert answers == [None]
    for _ in range(3):
        a.receive(b.node_id, encode_pong(rid), 2.5)
    codes = [e.code for e in drain(a) if isinstance(e, FrameRejected)]
    assert codes == [RR.UNEXPECTED_RESPONSE] * 2  # the first copy was late, the others not
    assert a.stats["late_responses"] == 1
    # a reply nobody asked for is rejected at once; a late one after the window too
    a.receive(b.node_id, encode_pong(999), 3.0)
    rid2 = a.realm(R.id).request(contact, lambda r: Ping(R.id, r), 1.0, answers.append)
    a.handle_timer(5.0)
    a.receive(b.node_id, encode_pong(rid2), 5.0 + QUIET.late_reply_window + 1)
    codes = [e.code for e in drain(a) if isinstance(e, FrameRejected)]
    assert codes == [RR.UNEXPECTED_RESPONSE] * 2


def encode_pong(rid: int) -> bytes:
    return encode(Pong(R.id, rid))


def test_a_stalled_subscriber_costs_its_honest_publisher_nothing():
    """A publisher streams 2,000 reliable events at 200/s; the subscriber stalls for 5 s
    (nothing it receives is processed, then the backlog at once). Its acks come late, the
    publisher retries; late acks and first copies are not rejections, so neither side
    charges the other, and each event is delivered once."""
    config = MeshConfig(swim=SwimConfig(enabled=False), housekeeping_interval=0.0)
    pub, sub = make_core(1, [R], config=config), make_core(2, [R], config=config)
    connect(pub, sub)
    sub.subscribe(R.id, "t", 0.0)
    pump([pub, sub])
    drain(sub)
    drain(pub)
    budget = RejectBudget(RejectPolicy())
    held: list[bytes] = []
    delivered = 0
    step = 0.005
    for n in range(int(30 / step)):
        now = n * step
        if now < 10.0:
            pub.publish(R.id, "t", b"%d" % n, now)  # 200/s
        stalled = 2.0 <= now < 7.0
        held += [t.data for t in pub.frames_to_send()]
        if not stalled:
            for data in held:
                sub.receive(pub.node_id, data, now)
            held = []
        for t in sub.frames_to_send():
            pub.receive(sub.node_id, t.data, now)
        for core, peer in ((sub, pub), (pub, sub)):
            for e in drain(core):
                if isinstance(e, EventReceived):
                    delivered += 1
                if isinstance(e, FrameRejected):
                    assert not budget.charge(peer.node_id, e.code, now), e
        pub.handle_timer(now)
        sub.handle_timer(now)
    assert delivered == 2000
    assert sub.realm(R.id).pubsub.stats["duplicates"] > 100  # the stall caused retries
    assert pub.stats["late_responses"] > 100  # and late acks
