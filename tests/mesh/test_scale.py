"""10,000-node runs: the slow tier (the benchmark reports the same figures)."""

import pytest

from mesh.core import MeshConfig
from mesh.dht.routing import distance
from mesh.events import LookupCompleted
from mesh.membership import SwimConfig
from mesh.sim import SimConfig, Simulation


@pytest.mark.slow
def test_10000_nodes_lookups_with_30_percent_dead():
    done = {}

    def hook(node, ev, now):
        if isinstance(ev, LookupCompleted):
            done[(node.index, ev.op)] = ev

    cfg = SimConfig(handshake="trusted", keep_events=False)
    sim = Simulation(61, cfg, MeshConfig(swim=SwimConfig(enabled=False)), on_event=hook)
    sim.add_nodes(10_000)
    sim.oracle_bootstrap()
    for n in sim.rng.sample(sim.nodes, 3000):
        sim.kill(n)
    live = [n for n in sim.nodes if n.alive]
    started = []
    for _ in range(100):
        src = live[sim.rng.randrange(len(live))]
        target = sim.rng.randbytes(32)
        started.append(
            (src, target, sim.do(src, lambda c, t=target: c.lookup("default", t, sim.now)))
        )
    sim.run_for(120)
    hits = 0
    for src, target, op in started:
        ev = done[(src.index, op)]
        best = min((n.node_id for n in live if n is not src), key=lambda i: distance(i, target))
        hits += ev.contacts[0].node_id == best
        assert ev.rounds <= 6
    assert hits >= 99
