"""The per-topic subscriber cache: fewer lookups, quick retry when nobody subscribes yet,
invalidation by tombstones and by SWIM deaths."""

from mesh.core import MeshConfig
from mesh.events import EventReceived, PublishCompleted
from mesh.frames import FindValue
from mesh.membership import SwimConfig
from mesh.pubsub import PubSubConfig
from mesh.sim import SimConfig, Simulation

NO_SWIM = MeshConfig(swim=SwimConfig(enabled=False))


def build(n, seed, mesh_config=NO_SWIM):
    sim = Simulation(seed, SimConfig(handshake="trusted"), mesh_config)
    sim.add_nodes(n)
    sim.oracle_bootstrap()
    return sim


def received(node, topic="t"):
    return [e.payload for e in node.events_of(EventReceived) if e.topic == topic]


def subscribe(sim, nodes, topic="t", run=5.0):
    for n in nodes:
        sim.do(n, lambda c: c.subscribe("default", topic, sim.now))
    sim.run_for(run)


def find_values(sim):
    return sim.frame_types[FindValue.TYPE]


def test_publications_within_the_ttl_share_one_lookup():
    sim = build(40, 71)
    pub, subs = sim.nodes[0], sim.nodes[5:9]
    subscribe(sim, subs)
    before = find_values(sim)
    sim.do(pub, lambda c: c.publish("default", "t", b"p0", sim.now, reliable=False))
    sim.run_for(1)
    one_lookup = find_values(sim) - before
    assert one_lookup > 0
    for i in range(1, 50):  # all within subscriber_ttl (5 s)
        sim.do(pub, lambda c, i=i: c.publish("default", "t", b"p%d" % i, sim.now, reliable=False))
        sim.run_for(0.05)
    sim.run_for(1)
    assert find_values(sim) - before == one_lookup  # no further lookups
    for n in subs:
        assert sorted(received(n)) == sorted(b"p%d" % i for i in range(50))
    # concurrent publications on a stale topic share one lookup too
    sim.run_for(10)
    before = find_values(sim)
    for i in range(5):
        sim.do(pub, lambda c, i=i: c.publish("default", "t", b"q%d" % i, sim.now, reliable=False))
    sim.run_for(1)
    assert find_values(sim) - before == one_lookup
    assert all(sum(p.startswith(b"q") for p in received(n)) == 5 for n in subs)


def test_reliable_publication_without_subscribers_looks_again_soon():
    sim = build(30, 72)
    pub, late = sim.nodes[0], sim.nodes[9]
    sim.do(pub, lambda c: c.publish("default", "t", b"early", sim.now))
    sim.run_for(2)  # nobody subscribes yet
    subscribe(sim, [late], run=0.0)
    sim.run_for(6, stop=lambda: bool(received(late)))
    assert received(late) == [b"early"]  # well before the 30 s resolve_interval


def test_unsubscribe_tombstone_and_dead_member_leave_the_cached_set():
    sim = build(20, 73)
    pub, a, b = sim.nodes[0], sim.nodes[3], sim.nodes[4]
    subscribe(sim, [a, b])
    sim.do(pub, lambda c: c.publish("default", "t", b"1", sim.now, reliable=False))
    sim.run_for(1)
    assert received(a) == received(b) == [b"1"]
    cache = pub.core.realm("default").pubsub._topics["t"]
    assert set(cache.subscribers) == {a.node_id, b.node_id}
    # the publisher is among the storers only sometimes; a lookup after the TTL always sees
    # the tombstone
    sim.do(b, lambda c: c.unsubscribe("default", "t", sim.now))
    sim.run_for(6)
    sim.do(pub, lambda c: c.publish("default", "t", b"2", sim.now, reliable=False))
    sim.run_for(1)
    assert received(a) == [b"1", b"2"] and received(b) == [b"1"]
    assert set(cache.subscribers) == {a.node_id}
    pub.core.realm("default").peer_dead(a.node_id)  # what SWIM does when it declares a dead
    assert cache.subscribers == {}


def test_subscription_stored_here_updates_the_cache_at_once():
    sim = build(8, 74)  # 8 < k: every node stores every record
    pub, a, late = sim.nodes[0], sim.nodes[3], sim.nodes[5]
    subscribe(sim, [a])
    sim.do(pub, lambda c: c.publish("default", "t", b"1", sim.now, reliable=False))
    sim.run_for(1)
    subscribe(sim, [late], run=1.0)  # stored at pub too: its fresh cache learns it
    sim.do(pub, lambda c: c.publish("default", "t", b"2", sim.now, reliable=False))
    sim.run_for(1)
    assert received(late) == [b"2"]
    done = [e for e in pub.events_of(PublishCompleted)]
    assert [e.known for e in done] == [1, 2]


def test_cached_topics_are_bounded():
    cfg = MeshConfig(swim=SwimConfig(enabled=False), pubsub=PubSubConfig(max_cached_topics=4))
    sim = build(6, 75, cfg)
    pub = sim.nodes[0]
    for i in range(20):
        sim.do(pub, lambda c, i=i: c.publish("default", f"t{i}", b"x", sim.now, reliable=False))
        sim.run_for(0.5)
    assert len(pub.core.realm("default").pubsub._topics) <= 4
