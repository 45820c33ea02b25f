import random

from mesh.core import MeshConfig
from mesh.events import EventReceived, LookupCompleted
from mesh.identity import ED25519, NodeKey
from mesh.membership import SwimConfig
from mesh.realms import Realm, issue_certificate
from mesh.sim import SimConfig, Simulation


def scenario(seed, handshake="full", crypto=None):
    cfg = SimConfig(handshake=handshake, loss=0.05)
    if crypto is not None:
        cfg = SimConfig(handshake=handshake, loss=0.05, crypto=crypto)
    sim = Simulation(seed, cfg, MeshConfig())
    sim.add_nodes(40)
    sim.oracle_bootstrap()
    for n in sim.nodes[10:20]:
        sim.do(n, lambda c: c.subscribe("default", "t", sim.now))
    sim.run_for(10)
    sim.kill(sim.nodes[30])
    sim.do(sim.nodes[0], lambda c: c.publish("default", "t", b"x", sim.now))
    sim.do(sim.nodes[1], lambda c: c.lookup("default", b"\x01" * 32, sim.now))
    sim.run_for(30)
    trace = [(n.index, repr(e)) for n in sim.nodes for e in n.events]
    return sim, trace


def test_same_seed_same_run_event_for_event():
    a, ta = scenario(5)
    b, tb = scenario(5)
    _, tc = scenario(6)
    assert ta == tb and a.stats == b.stats and a.now == b.now
    assert ta != tc


def test_real_signatures_and_handshakes_give_the_same_protocol_outcome():
    sim, _ = scenario(7, crypto=ED25519)
    assert all(n.events_of(EventReceived) for n in sim.nodes[10:20])
    assert sim.nodes[1].events_of(LookupCompleted)
    assert sim.stats["handshakes"] > 0 and sim.stats["handshake_failed"] == 0


def test_partition_and_dead_nodes_drop_frames():
    sim = Simulation(8, SimConfig(), MeshConfig(swim=SwimConfig(enabled=False)))
    a, b, c = sim.add_nodes(3)
    sim.oracle_bootstrap()
    sim.partition([[a], [b, c]])
    op = sim.do(a, lambda core: core.lookup("default", b.node_id, sim.now))
    sim.run_for(20)
    [ev] = a.events_of(LookupCompleted)
    assert ev.op == op and ev.contacts == ()
    sim.heal()
    sim.kill(c)
    op = sim.do(a, lambda core: core.lookup("default", b.node_id, sim.now))
    sim.run_for(20)
    ev = a.events_of(LookupCompleted)[-1]
    assert [x.node_id for x in ev.contacts] == [b.node_id]


def test_closed_realm_members_only():
    auth = NodeKey.generate(random.Random(0))
    sim = Simulation(9, SimConfig(handshake="full", crypto=ED25519),
                     MeshConfig(swim=SwimConfig(enabled=False)))  # fmt: skip
    keys = [NodeKey.generate(sim.rng) for _ in range(4)]
    members = []
    for k in keys[:3]:
        cert = issue_certificate(auth, "lab", k.node_id, expires=1e6)
        members.append(sim.add_node([Realm("lab", auth.public_key, cert)], key=k))
    outsider = sim.add_node([Realm("lab", auth.public_key, None)], key=keys[3])
    # the outsider has no certificate: it cannot even build its claim
    sim.oracle_bootstrap("lab", members)
    sim.do(members[1], lambda c: c.subscribe("lab", "t", sim.now))
    sim.run_for(5)
    sim.do(members[0], lambda c: c.publish("lab", "t", b"secret", sim.now))
    sim.run_for(10)
    assert members[1].events_of(EventReceived)
    assert not outsider.events


def test_churn_kill_join_revive():
    from mesh.dht.routing import distance

    sim = Simulation(10, SimConfig(handshake="trusted"), MeshConfig(swim=SwimConfig(enabled=False)))
    sim.add_nodes(300)
    sim.oracle_bootstrap()
    gone = sim.rng.sample(sim.nodes[1:], 60)
    for n in gone:
        sim.kill(n)
    for _ in range(60):
        sim.join(sim.add_node(), sim.nodes[0])
        sim.run_for(0.5)
    sim.revive(gone[0])
    sim.run_for(30)
    live = [n.node_id for n in sim.nodes if n.alive]
    hits = 0
    for _ in range(30):
        src = sim.nodes[sim.rng.randrange(len(sim.nodes))]
        if not src.alive:
            continue
        target = sim.rng.randbytes(32)
        op = sim.do(src, lambda c, t=target: c.lookup("default", t, sim.now))
        sim.run_for(30)
        [ev] = [e for e in src.events_of(LookupCompleted) if e.op == op]
        best = min((i for i in live if i != src.node_id), key=lambda i: distance(i, target))
        hits += ev.contacts[0].node_id == best
        assert ev.contacts[0].node_id in live
    assert hits >= 20
