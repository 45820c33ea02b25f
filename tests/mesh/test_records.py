from mesh.core import MeshConfig
from mesh.dht.records import GENOTYPE, SERVICE, SUBSCRIPTION, VALUE, record_key
from mesh.dht.routing import distance
from mesh.events import LookupCompleted, StoreCompleted
from mesh.identity import NodeKey, realm_id
from mesh.membership import SwimConfig
from mesh.sim import SimConfig, Simulation


def test_record_keys_depend_on_kind_realm_and_name():
    r1, r2 = realm_id("a"), realm_id("b")
    keys = {record_key(k, r, n) for k in (VALUE, SERVICE, SUBSCRIPTION, GENOTYPE)
            for r in (r1, r2) for n in ("x", "y")}  # fmt: skip
    assert len(keys) == 16


def test_genotype_advertisements_are_found_with_their_metadata():
    sim = Simulation(51, SimConfig(), MeshConfig(swim=SwimConfig(enabled=False)))
    sim.add_nodes(150)
    sim.oracle_bootstrap()
    for i, n in enumerate(sim.nodes[:5]):
        sim.do(n, lambda c, i=i: c.advertise_genotype("default", "xor", b"g%d" % i, sim.now,
                                                      meta=(("fitness", i / 10),)))  # fmt: skip
    sim.run_for(10)
    assert all(n.events_of(StoreCompleted)[-1].stored >= 15 for n in sim.nodes[:5])
    seeker = sim.nodes[100]
    op = sim.do(seeker, lambda c: c.find_genotypes("default", "xor", sim.now))
    other = sim.do(seeker, lambda c: c.find_genotypes("default", "pole", sim.now))
    sim.run_for(10)
    done = {e.op: e for e in seeker.events_of(LookupCompleted)}
    found = sorted((r.value, dict(r.meta)["fitness"]) for r in done[op].records)
    assert found == [(b"g%d" % i, i / 10) for i in range(5)]
    assert done[other].records == ()
    # a newer advertisement by the same author replaces the older one
    sim.do(sim.nodes[0], lambda c: c.advertise_genotype("default", "xor", b"better", sim.now,
                                                        meta=(("fitness", 0.99),)))  # fmt: skip
    sim.run_for(10)
    op = sim.do(seeker, lambda c: c.find_genotypes("default", "xor", sim.now))
    sim.run_for(10)
    [ev] = [e for e in seeker.events_of(LookupCompleted) if e.op == op]
    values = sorted(r.value for r in ev.records)
    assert values == sorted([b"better", b"g1", b"g2", b"g3", b"g4"])


def test_records_expire_without_republish():
    cfg = MeshConfig(swim=SwimConfig(enabled=False), republish_interval=0.0,
                     housekeeping_interval=30.0)  # fmt: skip
    sim = Simulation(52, SimConfig(handshake="trusted"), cfg)
    sim.add_nodes(60)
    sim.oracle_bootstrap()
    sim.do(sim.nodes[0], lambda c: c.put("default", VALUE, "k", b"v", sim.now, ttl=100))
    sim.run_for(10)
    op = sim.do(sim.nodes[9], lambda c: c.get("default", VALUE, "k", sim.now))
    sim.run_for(10)
    assert next(e for e in sim.nodes[9].events_of(LookupCompleted) if e.op == op).records
    sim.run_for(200)
    op = sim.do(sim.nodes[9], lambda c: c.get("default", VALUE, "k", sim.now))
    sim.run_for(10)
    assert next(e for e in sim.nodes[9].events_of(LookupCompleted) if e.op == op).records == ()
    assert sum(len(n.core.realm("default").dht.storage) for n in sim.nodes) == 0


def test_republished_records_outlive_their_ttl():
    cfg = MeshConfig(swim=SwimConfig(enabled=False), republish_interval=50.0,
                     housekeeping_interval=30.0)  # fmt: skip
    sim = Simulation(53, SimConfig(handshake="trusted"), cfg)
    sim.add_nodes(60)
    sim.oracle_bootstrap()
    sim.do(sim.nodes[0], lambda c: c.put("default", VALUE, "k", b"v", sim.now, ttl=100))
    sim.run_for(400)
    op = sim.do(sim.nodes[9], lambda c: c.get("default", VALUE, "k", sim.now))
    sim.run_for(10)
    [ev] = [e for e in sim.nodes[9].events_of(LookupCompleted) if e.op == op]
    assert [r.value for r in ev.records] == [b"v"]


def test_records_are_handed_to_newcomers_closer_to_the_key():
    cfg = MeshConfig(swim=SwimConfig(enabled=False), republish_interval=0.0)
    sim = Simulation(54, SimConfig(handshake="trusted"), cfg)
    sim.add_nodes(80)
    sim.oracle_bootstrap()
    sim.do(sim.nodes[0], lambda c: c.put("default", VALUE, "k", b"v", sim.now))
    sim.run_for(10)
    key = record_key(VALUE, realm_id("default"), "k")
    # a newcomer whose id is the closest of all to the key joins later
    holders_before = sum(1 for n in sim.nodes if n.core.realm("default").dht.storage.get(key, 0))
    best = None
    for _ in range(300):
        candidate = NodeKey.generate(sim.rng)
        if all(distance(candidate.node_id, key) < distance(n.node_id, key) for n in sim.nodes):
            best = candidate
            break
    assert best is not None
    newcomer = sim.add_node(key=best)
    sim.join(newcomer, sim.nodes[5])
    sim.run_for(20)
    assert newcomer.core.realm("default").dht.storage.get(key, sim.now)
    assert holders_before >= 15
