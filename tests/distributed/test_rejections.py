"""A hostile node publishes tampered, forged, oversized, replayed and lying champions to a
real island over QUIC: each is rejected and counted, and the liar loses trust."""

from __future__ import annotations

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


def test_hostile_envelopes_are_rejected_by_reason(tmp_path: Path, procs: list) -> None:
    island = IslandProc(tmp_path, "target", realm=REALM, mesh=CONFIG)
    procs.append(island)
    rogue = NodeProc(tmp_path, "rogue", [island.address], ["--realm", REALM])
    procs.append(rogue)
    rk = NodeKey.load(rogue.key)
    topic = topic_for("dpnv")

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
