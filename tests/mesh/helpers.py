"""Two-or-more-core fixtures without a simulator: move bytes by hand (aioquic-test style)."""

from __future__ import annotations

import random

from mesh.core import MeshConfig, MeshCore
from mesh.handshake import Handshake
from mesh.identity import ED25519, CryptoSuite, NodeKey
from mesh.membership import SwimConfig
from mesh.realms import Realm

QUIET = MeshConfig(swim=SwimConfig(enabled=False), housekeeping_interval=0.0)


def make_core(
    seed: int,
    realms: list[Realm],
    crypto: CryptoSuite = ED25519,
    config: MeshConfig = QUIET,
) -> MeshCore:
    rng = random.Random(seed)
    return MeshCore(
        NodeKey.generate(rng), realms, rng, config=config, crypto=crypto, address=f"mem:{seed}"
    )


def connect(a: MeshCore, b: MeshCore, now: float = 0.0) -> None:
    """Run the real handshake between a and b and tell both cores."""
    rng = random.Random(7)
    ha = Handshake(a.key, [n.realm for n in a.realms.values()], a.crypto, rng, initiator=True,
                   address=a.address)  # fmt: skip
    hb = Handshake(b.key, [n.realm for n in b.realms.values()], b.crypto, rng, initiator=False,
                   address=b.address)  # fmt: skip
    m2 = hb.receive(ha.initiate(), now)
    assert m2 is not None
    m3 = ha.receive(m2, now)
    assert m3 is not None
    hb.receive(m3, now)
    assert ha.peer is not None and hb.peer is not None
    a.peer_authenticated(ha.peer, now)
    b.peer_authenticated(hb.peer, now)


def pump(cores: list[MeshCore], now: float = 0.0, rounds: int = 50) -> int:
    """Deliver frames between cores until none is left; returns frames moved."""
    by_id = {c.node_id: c for c in cores}
    moved = 0
    for _ in range(rounds):
        batch = [(c, t) for c in cores for t in c.frames_to_send()]
        if not batch:
            return moved
        for src, t in batch:
            moved += 1
            by_id[t.peer].receive(src.node_id, t.data, now)
    raise AssertionError("frames still flowing after the round limit")


def drain(core: MeshCore) -> list:
    out = []
    while (ev := core.next_event()) is not None:
        out.append(ev)
    return out
