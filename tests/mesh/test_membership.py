from mesh.core import MeshConfig
from mesh.events import MemberDied
from mesh.membership import ALIVE, DEAD, SUSPECT, SwimConfig
from mesh.realms import Realm
from mesh.sim import SimConfig, Simulation


def build(n, seed, loss=0.0):
    sim = Simulation(seed, SimConfig(handshake="trusted", loss=loss), MeshConfig())
    sim.add_nodes(n)
    sim.oracle_bootstrap()
    sim.run_for(5)
    return sim


def swim(node):
    return node.core.realm("default").swim


def test_a_dead_node_is_marked_dead_on_every_live_node():
    sim = build(80, 41)
    victims = [sim.nodes[3], sim.nodes[40]]
    for v in victims:
        sim.kill(v)
    live = [n for n in sim.nodes if n.alive]

    def everyone_declared_them_dead():
        return all(
            {v.node_id for v in victims} <= {e.node_id for e in n.events_of(MemberDied)}
            for n in live
        )

    sim.run_for(90, stop=everyone_declared_them_dead)
    assert everyone_declared_them_dead()
    for n in live:
        for v in victims:
            assert swim(n).status(v.node_id) == DEAD
        # nobody alive was declared dead
        assert {e.node_id for e in n.events_of(MemberDied)} <= {v.node_id for v in victims}
    # the dead node also left the routing tables
    assert all(victims[0].node_id not in n.core.realm("default").dht.routing for n in live)
    # dead members are forgotten after the retention time, and nothing brings them back
    sim.run_for(swim(live[0]).config.dead_retention + 10)
    for n in live:
        assert all(swim(n).status(v.node_id) is None for v in victims)
        assert all(swim(n).status(m.node_id) == ALIVE for m in live if m is not n)


def test_no_false_deaths_with_moderate_loss():
    sim = build(50, 42, loss=0.05)
    sim.run_for(120)
    for n in sim.nodes:
        assert not n.events_of(MemberDied)
        assert all(swim(n).status(m.node_id) != DEAD for m in sim.nodes if m is not n)


def test_a_suspected_node_refutes_with_a_higher_incarnation():
    sim = build(30, 43)
    target, other = sim.nodes[5], sim.nodes[6]
    # briefly cut `target` off so that it gets suspected, then reconnect before it dies
    sim.partition([[target]])
    sim.run_for(3.5)
    assert any(swim(n).status(target.node_id) == SUSPECT for n in sim.nodes if n is not target)
    sim.heal()
    sim.run_for(40)
    assert swim(target).incarnation >= 1
    assert swim(other).status(target.node_id) == ALIVE
    assert all(swim(n).status(target.node_id) == ALIVE for n in sim.nodes if n is not target)


def test_suspicion_timeout_grows_with_log_n():
    import random

    from mesh.frames import Contact

    from .helpers import make_core

    core = make_core(1, [Realm("m")], config=MeshConfig(swim=SwimConfig(max_members=20_000)))
    sw = core.realm("m").swim
    rng = random.Random(2)
    for _ in range(8):
        sw.peer_seen(Contact(rng.randbytes(32)))
    small = sw.suspicion_timeout()
    for _ in range(10_000):
        sw.peer_seen(Contact(rng.randbytes(32)))
    large = sw.suspicion_timeout()
    assert small == sw.config.suspicion_mult * sw.config.period  # log10(10) = 1
    assert 3.9 < large / small < 4.1  # log10(10,010) ~ 4
