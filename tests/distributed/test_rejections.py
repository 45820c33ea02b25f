"""A hostile node publishes tampered, forged, oversized, replayed and lying champions to a
real island over QUIC: each is rejected and counted, and the liar loses trust."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.distributed.config import topic_for
from actors.distributed.envelope import seal, signed_bytes
from actors.evolution.exoself import EvaluateAgent, run_exoself
from actors.genotype import encode_agent
from mesh.identity import NodeKey
from tests.distributed.helpers import agent, key
from tests.distributed.procs import IslandProc, wait_for
from tests.mesh_quic.procs import NodeProc
from tests.mesh_quic.sybil_attackers import Sybil

pytestmark = pytest.mark.multiproc

REALM = "hostile"
CONFIG = """
[mesh]
peer_rate = 50.0
adopt_rate = 50.0
adopt_burst = 50
max_envelope_bytes = 20000
"""


@pytest.fixture
def procs() -> Iterator[list]:
    started: list = []
    yield started
    for p in started:
        p.kill()


def _true_fitness(g) -> float:
    task = EvaluateAgent(encode_agent(g), "dpnv", seed=1, tune=False, check=False)
    return run_exoself(task).fitness[0]


def _island_and_node(
    tmp_path: Path, procs: list, node: str, mesh: str
) -> tuple[IslandProc, NodeProc, NodeKey, str]:
    """An island process, a `megabrain node` bootstrapped through it (with its key), and the
    topic the island's champions travel on."""
    island = IslandProc(tmp_path, "target", realm=REALM, mesh=mesh)
    procs.append(island)
    other = NodeProc(tmp_path, node, [island.address], ["--realm", REALM])
    procs.append(other)
    return island, other, NodeKey.load(other.key), topic_for("dpnv")


def test_hostile_envelopes_are_rejected_by_reason(tmp_path: Path, procs: list) -> None:
    island, rogue, rk, topic = _island_and_node(tmp_path, procs, "rogue", CONFIG)

    def publish(data: bytes) -> None:
        rogue.request("publish", topic=topic, payload=data.hex(), realm=REALM)

    def received() -> int:
        return int(island.status().get("received", 0))

    # the island subscribes after joining: junk until the first one arrives (malformed)
    def probe() -> bool:
        publish(b"not an envelope")
        return received() >= 1

    wait_for(probe, 60.0, "the island to receive the rogue's events", interval=2.0)

    def send(data: bytes) -> None:
        before = received()
        publish(data)
        wait_for(lambda: received() > before, 60.0, "the island to receive it")

    honest = agent("dpnv", 11)
    valid = seal(rk, honest, realm=REALM, seq=1, fitness=(_true_fitness(honest),))
    lying = seal(rk, agent("dpnv", 12), realm=REALM, seq=2, fitness=(0.9,))
    other = key(77)
    forged = dataclasses.replace(valid, public_key=other.public_key, origin=other.node_id)
    forged = dataclasses.replace(
        forged, signature=other.sign(signed_bytes(REALM, forged.unsigned_wire()))
    )
    tampered = bytearray(seal(rk, agent("dpnv", 13), realm=REALM, seq=3, fitness=(0.1,)).to_bytes())
    tampered[-100] ^= 0x40

    send(bytes(tampered))
    send(forged.to_bytes())  # signed by a key that did not publish it
    send(b"\x00" * 30_000)  # over max_envelope_bytes
    send(valid.to_bytes())
    send(valid.to_bytes())  # replayed (the mesh sees a new event, the intake a known hash)
    send(lying.to_bytes())

    def settled() -> dict | None:
        st = island.status()
        by = st.get("rejected_by_reason", {})
        need = ("signature", "forged", "oversized", "duplicate", "fitness")
        return st if all(by.get(r) for r in need) and st.get("accepted", 0) >= 1 else None

    st = wait_for(settled, 60.0, "every rejection to be counted")
    by = st["rejected_by_reason"]
    assert by["signature"] == 1 and by["forged"] == 1 and by["oversized"] == 1
    assert by["duplicate"] == 1 and by["fitness"] == 1
    assert st["rejected"] == sum(by.values()) and "own" not in by
    assert st["trust"][rk.node_id.hex()] < 0  # the liar's score went down
    adopted = island.events("adopt")
    assert [e["hash"] for e in adopted] == [valid.genotype_hash.hex()]
    assert {e["reason"] for e in island.events("reject")} >= {"fitness", "duplicate"}


async def _until(pred, timeout: float, what: str) -> None:
    """Poll a blocking predicate off the event loop (the relays' QUIC keeps running)."""
    await asyncio.to_thread(wait_for, pred, timeout, what, 0.2)


def test_relayed_liars_cannot_starve_a_known_publisher(tmp_path: Path, procs: list) -> None:
    """Two connected peers relay lying champions signed by fresh keys that never connected
    (the adoption starvation attack). The budget of unknown publishers (5, refilled at only
    0.05/s here) is spent by the honest publisher's first champion and four lies at once; the
    island still adopts that publisher's next champion (it has earned trust: its own
    budget), and each relay, charged 1.5 per lie it delivered, is distrusted after two: its
    events are ignored, whatever key signed them. Other rates at their defaults (adopt 0.5/s,
    burst 4; relay_rate 1/s, burst 2; peer_rate 1/s)."""
    mesh = (
        "[mesh]\nmax_envelope_bytes = 20000\nrelay_penalty = 1.5\n"
        "adopt_unknown_rate = 0.05\nadopt_unknown_burst = 5\n"
    )
    island, honest, hk, topic = _island_and_node(tmp_path, procs, "honest", mesh)
    champions = [agent("dpnv", 40 + i) for i in range(2)]
    valid = [
        seal(hk, g, realm=REALM, seq=i + 1, fitness=(_true_fitness(g),))
        for i, g in enumerate(champions)
    ]
    seeds = iter(range(100, 200))

    def status() -> dict:
        return island.status()

    def publish(data: bytes) -> None:
        honest.request("publish", topic=topic, payload=data.hex(), realm=REALM)

    async def attack() -> tuple[list[str], dict]:
        relays = [Sybil(REALM) for _ in range(2)]
        for r in relays:
            await r.start()
            assert await r.login(island.address)

        def lie(r: Sybil) -> None:
            fresh = NodeKey.generate()
            env = seal(fresh, agent("dpnv", next(seeds)), realm=REALM, seq=1, fitness=(0.9,))
            r.relay(REALM, topic, fresh, 1, env.to_bytes())

        def probe() -> bool:  # the island subscribes after joining: junk until one arrives
            relays[0].relay(REALM, topic, relays[0].key, next(seeds), b"not an envelope")
            return int(status().get("received", 0)) >= 1

        try:
            await _until(probe, 60.0, "the island to receive events")
            publish(valid[0].to_bytes())  # the publisher earns trust
            await _until(lambda: status().get("accepted", 0) >= 1, 60.0, "its first champion")
            received = int(status().get("received", 0))
            for r in relays:  # four lies at once: within each relay's burst
                lie(r)
                lie(r)
            await _until(lambda: status().get("received", 0) >= received + 4, 60.0, "the lies")
            publish(valid[1].to_bytes())  # the known publisher's next champion: adopted
            await _until(lambda: status().get("accepted", 0) >= 2, 60.0, "the next champion")
            ids = [r.key.node_id.hex() for r in relays]
            trust = status()["trust"]
            assert all(trust[i] < -2.0 for i in ids)  # two lies each: distrusted
            received = int(status().get("received", 0))
            for r in relays:  # whatever fresh key signs what it relays now, it is ignored
                lie(r)

            def ignored() -> bool:
                done = {e.get("via") for e in island.events("reject")
                        if e.get("detail") == "relay distrusted"}  # fmt: skip
                return set(ids) <= done

            await _until(ignored, 30.0, "both relays ignored")
            assert status()["received"] == received + 2
            return ids, status()
        finally:
            for r in relays:
                await r.close()

    ids, st = asyncio.run(attack())
    assert st["accepted"] >= 2
    assert [e["hash"] for e in island.events("adopt")][:2] == [v.genotype_hash.hex() for v in valid]
    for relay in ids:
        assert st["trust"][relay] < -2.0  # every lie it relayed cost it
    by = st["rejected_by_reason"]
    assert by["fitness"] == 4 and by["distrusted"] == 2
