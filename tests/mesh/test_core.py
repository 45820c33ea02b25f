"""MeshCore's boundary: bad input never escapes as an exception; sessions gate every frame."""

import random

from mesh import frames as F
from mesh.core import MeshConfig
from mesh.events import FrameRejected
from mesh.identity import SIM_FAST, NodeKey
from mesh.membership import SwimConfig
from mesh.realms import Realm
from mesh.signing import sign_alive, sign_event, sign_record

from .helpers import connect, drain, make_core, pump

R = Realm("core")


def test_receive_survives_random_and_mutated_frames():
    """5,000 hostile frames from an authenticated peer: no exception, the node keeps working."""
    cfg = MeshConfig(swim=SwimConfig(enabled=True), housekeeping_interval=10.0)
    victim = make_core(1, [R], crypto=SIM_FAST, config=cfg)
    peer = make_core(2, [R], crypto=SIM_FAST, config=cfg)
    connect(peer, victim)
    rid = R.id
    key = NodeKey.generate(random.Random(3))
    rec = sign_record(SIM_FAST, key, rid, kind=1, record_key=b"k" * 32, seq=1, ttl=60)
    ev = sign_event(SIM_FAST, key, rid, "t", 1, b"p")
    c = F.Contact(b"c" * 32, "x")
    u = sign_alive(SIM_FAST, key, rid, "y", 1).with_status(2)
    seeds = [
        F.encode(f)
        for f in (
            F.Ping(rid, 1), F.Pong(rid, 1), F.FindNode(rid, 2, b"t" * 32), F.Nodes(rid, 3, (c,)),
            F.Store(rid, 4, rec), F.FindValue(rid, 5, b"k" * 32), F.Value(rid, 6, (rec,), (c,)),
            F.Ack(rid, 7), F.Subscribe(rid, 8, rec), F.Unsubscribe(rid, 9, rec),
            F.Publish(rid, 10, ev, True), F.Call(rid, 11, "p", b"", 1.0), F.Result(rid, 12, b""),
            F.ErrorReply(rid, 13, 1, "m"), F.Probe(rid, 14, (u,)), F.ProbeAck(rid, 15, (u,)),
            F.ProbeRequest(rid, 16, c.node_id, (u,)),
            F.Hello(b"", key.public_key, b"n" * 32, "", ()),
        )
    ]  # fmt: skip
    rng = random.Random(4)
    now = 0.0
    for i in range(5000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(0, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        now += 0.01
        victim.receive(peer.node_id, bytes(data), now)
        if i % 50 == 0:
            victim.handle_timer(now)
        victim.frames_to_send()
        victim.connections_to_open()
        drain(victim)
    assert victim.stats["rejected"] > 1000
    # still healthy: it answers a ping
    got = []
    peer.realm(rid).request(victim.realm(rid).contact, lambda r: F.Ping(rid, r), 1.0, got.append)
    pump([peer, victim], now=now)
    assert got and isinstance(got[0], F.Pong)


def test_frames_wait_for_the_session_then_flow_or_expire():
    a, b = make_core(5, [R]), make_core(6, [R])
    contact_b = F.Contact(b.node_id, b.address)
    a.realm(R.id).send(contact_b, F.Ping(R.id, 1))
    assert a.frames_to_send() == []
    assert a.connections_to_open() == [contact_b]
    connect(a, b)
    [t] = a.frames_to_send()
    assert t.peer == b.node_id and F.decode(t.data) == F.Ping(R.id, 1)
    # a peer that never authenticates: queued frames are dropped at connect_timeout
    c = make_core(7, [R])
    a.realm(R.id).send(F.Contact(c.node_id, ""), F.Ping(R.id, 2))
    a.handle_timer(a.config.connect_timeout + 1)
    connect(a, c, now=a.config.connect_timeout + 2)
    assert all(t.peer != c.node_id for t in a.frames_to_send())


def test_peer_unreachable_drops_the_session():
    a, b = make_core(8, [R]), make_core(9, [R])
    connect(a, b)
    a.frames_to_send()
    assert b.node_id in a.realm(R.id).dht.routing
    a.peer_unreachable(b.node_id, 1.0)
    assert b.node_id not in a.realm(R.id).dht.routing  # not handed out to lookups any more
    a.receive(b.node_id, F.encode(F.Ping(R.id, 1)), 1.0)
    assert any(isinstance(e, FrameRejected) for e in drain(a))
    assert a.frames_to_send() == []


def test_next_timer_and_handle_timer_contract():
    a = make_core(10, [R])
    t = a.next_timer()
    assert t is not None and t > 0  # refresh / republish timers
    a.handle_timer(t - 1e-3)  # nothing due yet
    assert a.next_timer() == t


def test_inbound_rate_limit_per_peer():
    from dataclasses import replace

    from .helpers import QUIET

    cfg = replace(QUIET, inbound_rate=100.0, inbound_burst=50.0)
    victim = make_core(11, [R], config=cfg)
    peer = make_core(12, [R], config=cfg)
    connect(peer, victim)
    victim.frames_to_send()
    for i in range(500):  # a flood at one instant
        victim.receive(peer.node_id, F.encode(F.Ping(R.id, i)), 1.0)
    assert len(victim.frames_to_send()) == 50
    assert victim.stats["rate_limited"] == 450
    for i in range(20):  # 0.1 s later: 10 more tokens
        victim.receive(peer.node_id, F.encode(F.Ping(R.id, 1000 + i)), 1.1)
    assert len(victim.frames_to_send()) == 10
    assert not any(isinstance(e, FrameRejected) for e in drain(victim))
