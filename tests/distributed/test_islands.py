"""Three islands on loopback over real QUIC: sharing, and surviving a SIGKILLed node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.procs import IslandProc, wait_for

pytestmark = pytest.mark.multiproc


@pytest.fixture
def islands(tmp_path: Path) -> Iterator[list[IslandProc]]:
    started: list[IslandProc] = []
    yield started
    for p in started:
        p.kill()


def _three(
    tmp_path: Path, islands: list[IslandProc], first_seed: int
) -> tuple[IslandProc, IslandProc, IslandProc]:
    """Islands a, b, c (seeds first_seed, +1, +2); b and c join through a."""
    a = IslandProc(tmp_path, "a", seed=first_seed)
    islands.append(a)
    b = IslandProc(tmp_path, "b", seed=first_seed + 1, bootstrap=(a.address,))
    islands.append(b)
    c = IslandProc(tmp_path, "c", seed=first_seed + 2, bootstrap=(a.address,))
    islands.append(c)
    return a, b, c


def _member(island: IslandProc, other: IslandProc, status: str) -> bool:
    """Has ``island`` logged SWIM holding ``other`` in ``status``?"""
    return any(
        e["node"] == other.node_id and e["status"] == status for e in island.events("member")
    )


def _adopted_from(island: IslandProc, origin: str) -> list[dict]:
    return [e for e in island.events("adopt") if e["origin"] == origin]


def test_champion_of_a_is_validated_and_adopted_by_b_and_c(
    tmp_path: Path, islands: list[IslandProc]
) -> None:
    a, b, c = _three(tmp_path, islands, first_seed=1)
    for other in (b, c):
        got = wait_for(lambda o=other: _adopted_from(o, a.node_id), 90.0, f"{other.name} adopts")
        ev = got[0]
        assert ev["local"] != ev["agent"]  # cloned under a local id
        assert ev["fitness"] > 0 and ev["hash"]
    # a's publications were validated on b (received, accepted, none rejected)
    st = wait_for(lambda: b.status() if b.status().get("accepted") else None, 30.0, "b status")
    assert st["received"] >= st["accepted"] >= 1
    # honest traffic is never refused as invalid; dedup (the same champion seen through
    # pub/sub and the DHT) and the per-publisher rate limit are flow control, not faults
    flow_control = {"duplicate", "rate_limited", "not_better"}
    invalid = {k: v for k, v in st["rejected_by_reason"].items() if k not in flow_control}
    assert not invalid, st["rejected_by_reason"]
    assert a.status()["published"] >= 1


def test_sigkilled_island_does_not_stop_the_others_and_rejoins(
    tmp_path: Path, islands: list[IslandProc]
) -> None:
    a, b, c = _three(tmp_path, islands, first_seed=4)
    wait_for(lambda: {b.node_id, c.node_id} <= a.alive_peers(), 60.0, "a sees b and c")
    c.kill()
    gen_a, gen_b = a.status()["generation"], b.status()["generation"]
    wait_for(lambda: c.node_id not in a.alive_peers(), 60.0, "a notices c is gone")
    wait_for(lambda: _member(a, c, "dead"), 60.0, "a declares c dead")
    wait_for(
        lambda: a.status()["generation"] >= gen_a + 2 and b.status()["generation"] >= gen_b + 2,
        90.0,
        "a and b keep evolving",
    )
    # restarted with the same key, c rejoins, catches up on the realm's champions, adopts
    c2 = IslandProc(tmp_path, "c", seed=7, bootstrap=(a.address,))
    islands.append(c2)
    assert c2.node_id == c.node_id
    wait_for(lambda: c2.node_id in a.alive_peers(), 60.0, "a sees c again")
    assert _member(a, c, "alive")  # logged as a rejoin, not as a new member
    wait_for(lambda: c2.status().get("accepted", 0) >= 1, 90.0, "restarted c adopts")
