"""Restarting a node with the same key: SWIM revives it, peers accept its publications."""

import random

from mesh.core import MeshConfig
from mesh.events import EventReceived, MemberDied, MemberRejoined
from mesh.identity import NodeKey
from mesh.membership import ALIVE, DEAD, SUSPECT
from mesh.realms import Realm
from mesh.signing import sign_alive
from mesh.sim import SimConfig, Simulation

from .helpers import make_core


def build(n, seed):
    sim = Simulation(seed, SimConfig(handshake="trusted"), MeshConfig())
    sim.add_nodes(n)
    sim.oracle_bootstrap()
    sim.run_for(5)
    return sim


def swim(node):
    return node.core.realm("default").swim


def _kill_until_dead(sim, victim):
    sim.kill(victim)
    others = [n for n in sim.nodes if n is not victim]
    sim.run_for(60, stop=lambda: all(swim(n).status(victim.node_id) == DEAD for n in others))
    assert all(swim(n).status(victim.node_id) == DEAD for n in others)
    return others


def _restart_and_rejoin(sim, victim, others, incarnation_start):
    sim.restart(victim, incarnation_start=incarnation_start, seq_start=10**6)
    sim.join(victim, others[0])

    def everyone_sees_it_alive():
        return all(swim(n).status(victim.node_id) == ALIVE for n in others)

    sim.run_for(60, stop=everyone_sees_it_alive)
    assert everyone_sees_it_alive()
    assert all(n.events_of(MemberRejoined) for n in others)
    # no one alive was (re)declared dead on the way
    for n in others:
        assert {e.node_id for e in n.events_of(MemberDied)} == {victim.node_id}


def test_restart_with_a_higher_incarnation_is_revived_everywhere():
    sim = build(12, 61)
    victim = sim.nodes[4]
    others = _kill_until_dead(sim, victim)
    _restart_and_rejoin(sim, victim, others, incarnation_start=1_000)
    assert swim(victim).incarnation == 1_000  # nothing to refute: the restart was enough


def test_restart_without_an_incarnation_bump_refutes_its_death():
    sim = build(12, 62)
    victim = sim.nodes[7]
    others = _kill_until_dead(sim, victim)
    _restart_and_rejoin(sim, victim, others, incarnation_start=0)
    assert swim(victim).incarnation >= 1  # it heard the accusation and refuted it


def test_a_stale_death_notice_does_not_kill_a_newer_incarnation():
    core = make_core(1, [Realm("default")], config=MeshConfig())
    sw = core.realm("default").swim
    key = NodeKey.generate(random.Random(5))

    def said(status, inc):  # the other node's own statement at `inc`, labelled `status`
        return sign_alive(core.crypto, key, sw.node.id, "x:1", inc).with_status(status)

    peer = b"p" * 32
    assert sw._apply(peer, (said(ALIVE, 5),))
    assert sw._apply(peer, (said(DEAD, 4),))
    assert sw.status(key.node_id) == ALIVE
    assert sw._apply(peer, (said(DEAD, 5),))  # a death notice is a suspicion here
    assert sw.status(key.node_id) == SUSPECT
    assert sw._apply(peer, (said(ALIVE, 5),))  # not newer: still suspect
    assert sw.status(key.node_id) == SUSPECT
    core.handle_timer(core.now + sw.suspicion_timeout() + 1)  # our own timer declares it dead
    assert sw.status(key.node_id) == DEAD
    assert sw._apply(peer, (said(ALIVE, 5),))  # not newer: still dead
    assert sw.status(key.node_id) == DEAD
    assert sw._apply(peer, (said(ALIVE, 6),))
    assert sw.status(key.node_id) == ALIVE
    assert any(isinstance(e, MemberRejoined) for e in core._events)


def _received(node, topic="t"):
    return sorted(e.payload for e in node.events_of(EventReceived) if e.topic == topic)


def _publish_after_restart(seq_start):
    sim = build(6, 63)
    pub, sub = sim.nodes[0], sim.nodes[3]
    sim.do(sub, lambda c: c.subscribe("default", "t", sim.now))
    sim.run_for(5)
    for i in range(3):
        sim.do(pub, lambda c, i=i: c.publish("default", "t", b"old%d" % i, sim.now))
    sim.run_for(5)
    assert _received(sub) == [b"old0", b"old1", b"old2"]
    old_seq = pub.core.seq
    sim.restart(pub, seq_start=seq_start(old_seq), incarnation_start=100)
    sim.join(pub, sim.nodes[1])
    sim.run_for(5)
    for i in range(3):
        sim.do(pub, lambda c, i=i: c.publish("default", "t", b"new%d" % i, sim.now))
    sim.run_for(10)
    return sub


def test_restarted_node_publications_are_accepted_when_seq_continues():
    sub = _publish_after_restart(lambda old: old)
    assert _received(sub) == [b"new0", b"new1", b"new2", b"old0", b"old1", b"old2"]


def test_restarting_seq_from_zero_is_refused_as_replay():
    # what the seq_start contract protects against: the same key numbering from 0 again
    sub = _publish_after_restart(lambda old: 0)
    got = _received(sub)
    assert b"new0" not in got and b"new1" not in got
    # taken for copies of the old events (the first copy of each is an uncharged retry)
    assert sub.core.realm("default").pubsub.stats["duplicates"] >= 2
