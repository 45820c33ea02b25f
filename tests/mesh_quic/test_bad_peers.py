"""A node process under attack drops and counts bad peers; a good peer is unaffected."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.mesh_quic import attackers
from tests.mesh_quic.procs import NodeProc, status_of, wait_for

pytestmark = pytest.mark.multiproc


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProc, NodeProc]]:
    tmp: Path = tmp_path_factory.mktemp("bad")
    nodes: list[NodeProc] = []
    try:
        nodes.append(NodeProc(tmp, "victim", [], ["--rate", "2000"]))
        nodes.append(NodeProc(tmp, "good", [nodes[0].listen], []))
        victim, good = nodes
        victim.request("register", procedure="echo", kind="echo")
        wait_for(lambda: status_of(victim, good.node_id) == "alive", 15, "good peer alive")
        yield victim, good
    finally:
        for n in nodes:
            n.kill()


def _stats(n: NodeProc) -> dict[str, int]:
    return n.request("stats")


def _good_still_works(victim: NodeProc, good: NodeProc) -> None:
    value = good.request("call", procedure="echo", args=b"ok".hex(), timeout=10)["value"]
    assert bytes.fromhex(value) == b"ok"
    assert status_of(victim, good.node_id) == "alive"


def test_wrong_key_is_refused_and_counted(pair: tuple[NodeProc, NodeProc]) -> None:
    victim, good = pair
    before = _stats(victim).get("transport.auth_failed", 0)
    assert asyncio.run(attackers.failed_handshake(victim.listen, attackers._WrongKey))
    wait_for(lambda: _stats(victim).get("transport.auth_failed", 0) > before, 5, "count")
    _good_still_works(victim, good)


def test_failed_challenge_is_refused_and_counted(pair: tuple[NodeProc, NodeProc]) -> None:
    victim, good = pair
    before = _stats(victim).get("transport.auth_failed", 0)
    assert asyncio.run(attackers.failed_handshake(victim.listen, attackers._BadProof))
    assert asyncio.run(attackers.garbage_before_auth(victim.listen))
    wait_for(lambda: _stats(victim).get("transport.auth_failed", 0) >= before + 2, 5, "count")
    _good_still_works(victim, good)


def test_garbage_frames_drop_the_peer(pair: tuple[NodeProc, NodeProc]) -> None:
    victim, good = pair
    asyncio.run(attackers.authenticated_then(victim.listen, "garbage", count=50))
    s = _stats(victim)
    assert s.get("node.peers_dropped_bad_frames", 0) >= 1
    assert s.get("transport.bad_frames", 0) >= 1
    _good_still_works(victim, good)


def test_oversized_frame_drops_the_peer(pair: tuple[NodeProc, NodeProc]) -> None:
    victim, good = pair
    asyncio.run(attackers.authenticated_then(victim.listen, "oversized"))
    assert _stats(victim).get("transport.oversized_frame", 0) >= 1
    _good_still_works(victim, good)


def test_flood_is_rate_limited_then_dropped_memory_bounded(
    pair: tuple[NodeProc, NodeProc],
) -> None:
    victim, good = pair
    rss = psutil.Process(victim.proc.pid).memory_info().rss
    asyncio.run(attackers.authenticated_then(victim.listen, "flood", count=60_000))
    s = _stats(victim)
    assert s.get("transport.rate_limited_frames", 0) >= 10_000
    assert s.get("transport.flood", 0) >= 1
    grown = psutil.Process(victim.proc.pid).memory_info().rss - rss
    assert grown < 64 * 1024 * 1024, f"victim grew by {grown / 1e6:.1f} MB"
    assert s["transport.bad_peers"] >= 1
    _good_still_works(victim, good)
