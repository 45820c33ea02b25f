"""Five ``megabrain node`` processes on 127.0.0.1: bootstrap, DHT, pub/sub, RPC, kill, rejoin."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh.control import ControlError
from tests.mesh_quic.procs import NodeProc, status_of, wait_for

pytestmark = pytest.mark.multiproc

# fast SWIM so that a SIGKILLed node is declared dead well within the 10 s budget
FAST = ["--swim-period", "0.5", "--idle-timeout", "10"]


@pytest.fixture(scope="module")
def mesh5(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[NodeProc]]:
    tmp: Path = tmp_path_factory.mktemp("mesh5")
    nodes: list[NodeProc] = []
    try:
        nodes.append(NodeProc(tmp, "n0", [], FAST))
        for i in range(1, 5):
            nodes.append(NodeProc(tmp, f"n{i}", [nodes[0].listen], FAST))
        yield nodes
    finally:
        for n in nodes:
            n.kill()


def _alive_ids(node: NodeProc) -> set[str]:
    return {p["node_id"] for p in node.request("peers") if p["status"] == "alive"}


def test_bootstrap_every_node_sees_the_others(mesh5: list[NodeProc]) -> None:
    ids = {n.node_id for n in mesh5}
    for n in mesh5:
        wait_for(lambda n=n: ids - {n.node_id} <= _alive_ids(n), 20, f"{n.name} to see all")
        assert n.request("status")["node_id"] == n.node_id


def test_dht_advertise_and_find_across_nodes(mesh5: list[NodeProc]) -> None:
    res = mesh5[1].request("advertise", problem="xor", payload=b"genotype-1".hex(),
                           meta={"fitness": 3.9})  # fmt: skip
    assert res["stored"] >= 1
    for n in (mesh5[0], mesh5[3], mesh5[4]):
        found = n.request("find", problem="xor")
        assert [bytes.fromhex(r["value"]) for r in found] == [b"genotype-1"]
        assert found[0]["meta"]["fitness"] == 3.9
    assert mesh5[2].request("find", problem="nobody-advertised-this") == []


def test_pubsub_fan_out_to_four_subscribers(mesh5: list[NodeProc]) -> None:
    for n in mesh5[1:]:
        assert n.request("subscribe", topic="tweann.genotypes.xor")["stored"] >= 1
    payloads = [f"champion-{i}".encode() for i in range(5)]
    for p in payloads:
        mesh5[0].request("publish", topic="tweann.genotypes.xor", payload=p.hex())
    for n in mesh5[1:]:
        got: list[bytes] = []

        def more(n: NodeProc = n, got: list[bytes] = got) -> bool:
            evs = n.request("events", topic="tweann.genotypes.xor", wait=0.5)
            got.extend(bytes.fromhex(e["payload"]) for e in evs)
            return len(got) >= len(payloads)

        wait_for(more, 15, f"{n.name} to receive the events")
        assert sorted(got) == sorted(payloads)


def test_rpc_between_processes(mesh5: list[NodeProc]) -> None:
    mesh5[3].request("register", procedure="echo", kind="echo")
    mesh5[3].request("register", procedure="whoami", kind="node_id")
    for n in (mesh5[0], mesh5[1], mesh5[4]):
        assert bytes.fromhex(n.request("call", procedure="echo", args=b"ping".hex())["value"]) == (
            b"ping"
        )
        who = n.request("call", procedure="whoami", args="")["value"]
        assert who == mesh5[3].node_id
    with pytest.raises(ControlError, match=r"no route|no provider"):
        mesh5[0].request("call", procedure="nobody-serves-this", args="", timeout=5)


def test_killed_node_is_declared_dead_then_rejoins(
    mesh5: list[NodeProc], tmp_path_factory: pytest.TempPathFactory
) -> None:
    victim = mesh5[4]
    others = mesh5[:4]
    t0 = time.monotonic()
    victim.kill()
    for n in others:
        wait_for(lambda n=n: status_of(n, victim.node_id) == "dead", 10 - (time.monotonic() - t0),
                 f"{n.name} to declare the killed node dead")  # fmt: skip
    detect = time.monotonic() - t0
    assert detect < 10.0
    # the rest keeps working: RPC and DHT
    assert (
        bytes.fromhex(others[0].request("call", procedure="echo", args=b"still".hex())["value"])
        == b"still"
    )
    assert others[2].request("find", problem="xor")
    # restart with the same key: it rejoins and the others see it alive again
    again = NodeProc(victim.key.parent, "n4", [others[0].listen], FAST)
    mesh5[4] = again
    assert again.node_id == victim.node_id
    for n in others:
        wait_for(lambda n=n: status_of(n, again.node_id) == "alive", 20,
                 f"{n.name} to see the restarted node alive")  # fmt: skip
    value = again.request("call", procedure="echo", args=b"back".hex())["value"]
    assert bytes.fromhex(value) == b"back"
