from dataclasses import replace

from mesh.core import MeshConfig
from mesh.events import EventReceived, PublishCompleted, StoreCompleted
from mesh.frames import Publish
from mesh.membership import SwimConfig
from mesh.pubsub import PubSubConfig
from mesh.sim import SimConfig, Simulation

NO_SWIM = MeshConfig(swim=SwimConfig(enabled=False))


def received(node, topic="t"):
    return [e for e in node.events_of(EventReceived) if e.topic == topic]


def build(n, seed, sim_config=None, mesh_config=NO_SWIM):
    sim = Simulation(seed, sim_config or SimConfig(handshake="trusted"), mesh_config)
    sim.add_nodes(n)
    sim.oracle_bootstrap()
    return sim


def subscribe(sim, nodes, topic="t"):
    for n in nodes:
        sim.do(n, lambda c: c.subscribe("default", topic, sim.now))
    sim.run_for(10)
    for n in nodes:
        assert [e.stored for e in n.events_of(StoreCompleted)][-1] >= 15


def test_pubsub_reaches_every_subscriber_in_1000_nodes():
    sim = build(1000, 21)
    subs = sim.rng.sample(sim.nodes[3:], 300)
    subscribe(sim, subs)
    payloads = [b"first", b"second", b"third"]
    for publisher, payload in zip(sim.nodes[:3], payloads, strict=True):
        sim.do(publisher, lambda c, p=payload: c.publish("default", "t", p, sim.now))
    sim.run_for(20)
    for n in subs:
        assert sorted(e.payload for e in received(n)) == sorted(payloads)
    others = set(sim.nodes) - set(subs)
    assert not any(received(n) for n in others)


def test_publication_made_during_a_partition_arrives_after_it_heals():
    sim = build(120, 22)
    left, right = sim.nodes[:60], sim.nodes[60:]
    subs = left[10:25] + right[10:25]
    subscribe(sim, subs)
    sim.partition([left, right])
    sim.do(left[0], lambda c: c.publish("default", "t", b"during", sim.now))
    sim.run_for(60)
    assert all(len(received(n)) == 1 for n in subs if n in left)
    assert not any(received(n) for n in subs if n in right)
    sim.heal()
    sim.run_for(120)
    assert all([e.payload for e in received(n)] == [b"during"] for n in subs)


def test_at_least_once_under_loss_delivers_exactly_once_to_the_application():
    sim = build(80, 23, SimConfig(handshake="trusted", loss=0.2))
    subs = sim.nodes[5:30]
    for n in subs:
        sim.do(n, lambda c: c.subscribe("default", "t", sim.now))
    sim.run_for(20)
    for i in range(5):
        sim.do(sim.nodes[0], lambda c, i=i: c.publish("default", "t", bytes([i]), sim.now))
    sim.run_for(200)
    for n in subs:
        assert sorted(e.payload for e in received(n)) == [bytes([i]) for i in range(5)]
    assert sum(n.core.realm("default").pubsub.stats["duplicates"] for n in subs) > 0


def test_at_most_once_sends_each_subscriber_one_frame():
    sim = build(60, 24)
    subs = sim.nodes[5:25]
    subscribe(sim, subs)
    before = sim.frame_types[Publish.TYPE]
    sim.do(sim.nodes[0], lambda c: c.publish("default", "t", b"x", sim.now, reliable=False))
    sim.run_for(10)
    assert sim.frame_types[Publish.TYPE] - before == len(subs)
    assert all(len(received(n)) == 1 for n in subs)
    [done] = sim.nodes[0].events_of(PublishCompleted)
    assert done.known == len(subs)


def test_unsubscribed_nodes_stop_receiving():
    sim = build(60, 25)
    subs = sim.nodes[5:15]
    subscribe(sim, subs)
    gone = subs[0]
    sim.do(gone, lambda c: c.unsubscribe("default", "t", sim.now))
    sim.run_for(10)
    sim.do(sim.nodes[0], lambda c: c.publish("default", "t", b"x", sim.now))
    sim.run_for(20)
    assert not received(gone)
    assert all(len(received(n)) == 1 for n in subs[1:])


def test_per_peer_token_bucket_and_bounded_queue():
    cfg = replace(NO_SWIM, pubsub=PubSubConfig(rate=10.0, burst=5.0, queue_limit=20))
    sim = build(30, 26, mesh_config=cfg)
    sub = sim.nodes[7]
    subscribe(sim, [sub])
    for i in range(40):
        sim.do(sim.nodes[0], lambda c, i=i: c.publish("default", "t", b"%d" % i, sim.now,
                                                     reliable=False))  # fmt: skip
    sim.run_for(1.0)
    # 5 at once (burst), then 10 per second
    assert 5 <= len(received(sub)) <= 16
    sim.run_for(30)
    got = received(sub)
    stats = sim.nodes[0].core.realm("default").pubsub.stats
    assert stats["dropped"] == 40 - 20 - 5  # the queue holds 20; 5 left at once
    assert len(got) == 25
    assert len({e.payload for e in got}) == 25


def test_a_superseding_publication_ends_the_previous_one():
    sim = build(60, 27)
    left, right = sim.nodes[:30], sim.nodes[30:]
    subs = left[5:10] + right[5:10]
    subscribe(sim, subs)
    pub = left[0]
    sim.partition([left, right])
    for payload in (b"v1", b"v2"):
        sim.do(pub, lambda c, p=payload: c.publish("default", "t", p, sim.now, supersede=True))
        sim.run_for(20)
    # v1 stopped when v2 was published: completed, having reached only the near side
    [done] = pub.events_of(PublishCompleted)
    assert done.acked == 5 and pub.core.realm("default").pubsub.pending() == 1
    sim.heal()
    sim.run_for(120)
    assert all([e.payload for e in received(n)] == [b"v1", b"v2"] for n in subs[:5])
    assert all([e.payload for e in received(n)] == [b"v2"] for n in subs[5:])


def test_a_late_subscriber_gets_only_the_latest_superseding_publication():
    def late(supersede):
        sim = build(40, 28)
        subscribe(sim, sim.nodes[5:8])
        for payload in (b"v1", b"v2", b"v3"):
            sim.do(sim.nodes[0], lambda c, p=payload: c.publish(
                "default", "t", p, sim.now, supersede=supersede))  # fmt: skip
            sim.run_for(2)
        newcomer = sim.nodes[20]
        subscribe(sim, [newcomer])
        sim.run_for(60)  # past a re-resolution of the pending publications
        assert all(len(received(n)) == 3 for n in sim.nodes[5:8])
        return [e.payload for e in received(newcomer)]

    assert late(supersede=True) == [b"v3"]
    assert sorted(late(supersede=False)) == [b"v1", b"v2", b"v3"]
