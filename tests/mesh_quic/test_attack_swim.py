"""SWIM attacks by an authenticated hostile realm member against ``megabrain node`` processes.

Each test performs one attack for real (tests/mesh_quic/swim_attackers.py: QUIC logins with
valid keys, a fresh key whenever the victim drops one) against two honest nodes A and B and
asserts: every node stays up; RPC between A and B through the control endpoints keeps
working during the attack (both directions, every call) and A and B hold each other alive and
answer within 10 s after it; the victim's memory grows less than a stated bound; and, for the
address attacks, no UDP socket of the victim is bound to anything but its listen address.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from mesh.control import ControlError
from tests.mesh_quic import swim_attackers as atk
from tests.mesh_quic.procs import NodeProc, status_of, wait_for

pytestmark = pytest.mark.multiproc

MB = 1024 * 1024


def _start_pair(tmp: Path, listen: str) -> tuple[NodeProc, NodeProc]:
    a = NodeProc(tmp, "a", [], ["--listen", listen])
    try:
        b = NodeProc(tmp, "b", [a.listen], ["--listen", listen])
    except BaseException:
        a.kill()
        raise
    try:
        a.request("register", procedure="echo-a", kind="echo")
        b.request("register", procedure="echo-b", kind="echo")
        _recovered(a, b, 20.0)
    except BaseException:
        a.kill()
        b.kill()
        raise
    return a, b


def _serve_pair(tmp: Path, listen: str) -> Iterator[tuple[NodeProc, NodeProc]]:
    a, b = _start_pair(tmp, listen)
    try:
        yield a, b
    finally:
        a.kill()
        b.kill()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProc, NodeProc]]:
    yield from _serve_pair(tmp_path_factory.mktemp("swim4"), "127.0.0.1:0")


@pytest.fixture(scope="module")
def pair6(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProc, NodeProc]]:
    yield from _serve_pair(tmp_path_factory.mktemp("swim6"), "[::1]:0")


def _call(src: NodeProc, procedure: str) -> bool:
    try:
        value = src.request("call", procedure=procedure, args=b"ok".hex(), timeout=5)["value"]
    except ControlError:
        return False
    return bytes.fromhex(value) == b"ok"


def _healthy(a: NodeProc, b: NodeProc) -> bool:
    return (
        status_of(a, b.node_id) == "alive"
        and status_of(b, a.node_id) == "alive"
        and _call(a, "echo-b")
        and _call(b, "echo-a")
    )


def _recovered(a: NodeProc, b: NodeProc, within: float = 10.0) -> float:
    """Seconds until A and B hold each other alive and answer RPC both ways (<= within)."""
    t0 = time.monotonic()
    wait_for(lambda: _healthy(a, b), within, "A and B alive to each other, RPC both ways")
    return time.monotonic() - t0


def _rss(n: NodeProc) -> int:
    return int(psutil.Process(n.proc.pid).memory_info().rss)


def _udp_binds(n: NodeProc) -> set[str]:
    return {c.laddr.ip for c in psutil.Process(n.proc.pid).net_connections(kind="udp")}


def _during(
    active: Callable[[], bool], a: NodeProc, b: NodeProc, check: Callable[[], Any] = lambda: None
) -> dict[str, int]:
    """Honest traffic while ``active()``: RPC A->B and B->A, B's status at A, ``check``."""
    seen: dict[str, int] = {"ok": 0, "failed": 0, "b_dead_at_a": 0}
    while active():
        for src, procedure in ((a, "echo-b"), (b, "echo-a")):
            seen["ok" if _call(src, procedure) else "failed"] += 1
        if status_of(a, b.node_id) == "dead":
            seen["b_dead_at_a"] += 1
        check()
        time.sleep(0.05)  # pacing, not synchronisation
    return seen


def _stats(n: NodeProc) -> dict[str, int]:
    return n.request("stats")


def _report(attack: str, **figures: Any) -> None:
    """The test's measurements, one JSON line (shown with ``pytest -s``; docs/mesh_quic.md)."""
    print(json.dumps({"attack": attack, **figures}))


def _up(*nodes: NodeProc) -> None:
    for n in nodes:
        assert n.proc.poll() is None, f"node {n.name} died"


def test_forged_liveness_neither_silences_b_nor_kills_it_at_a(
    pair: tuple[NodeProc, NodeProc],
) -> None:
    """To B: "B alive at 2**64-1" (and forged inside the range); to A: "B dead at 2**64-1",
    forged accusations, and B's genuine statement replayed as a death notice; twice a second
    for 6 s."""
    a, b = pair
    rss = {n.name: _rss(n) for n in pair}
    b_id = bytes.fromhex(b.node_id)
    attack = atk.Background(lambda: atk.forge_liveness(a.listen, b.listen, b_id, 6.0))
    seen = _during(lambda: attack.running, a, b)
    done = attack.join()
    assert done["malformed"] >= 4 and done["forged"] >= 20 and done["genuine_accusations"] >= 8
    assert seen["failed"] == 0 and seen["ok"] >= 4, seen
    assert seen["b_dead_at_a"] == 0, seen
    _up(a, b)
    recovery = _recovered(a, b)
    assert recovery <= 10.0
    sa, sb = _stats(a), _stats(b)
    assert sb["swim.forged"] >= 1 and sa["swim.forged"] >= 1  # forgeries were refused
    assert sa["node.MemberSuspected"] >= 1  # the genuine replay was only a suspicion ...
    assert sb["swim.refuted"] >= 1  # ... which B refuted
    grown = {n.name: (_rss(n) - rss[n.name]) / MB for n in pair}
    assert max(grown.values()) < 32, grown
    _report("forge_liveness", **done, **seen, recovery_s=round(recovery, 2),
            refuted_by_b=sb["swim.refuted"], forged_refused=sa["swim.forged"] + sb["swim.forged"],
            rss_growth_mb={k: round(v, 1) for k, v in grown.items()})  # fmt: skip


@pytest.fixture
def own_pair(tmp_path: Path) -> Iterator[tuple[NodeProc, NodeProc]]:
    """A pair for one test only (its attacker's identities leave it a churned routing table)."""
    yield from _serve_pair(tmp_path, "127.0.0.1:0")


def test_member_flood_is_capped_and_memory_bounded(own_pair: tuple[NodeProc, NodeProc]) -> None:
    """70 logins gossip 64 members of fresh keys (valid signatures) each per Probe, plus
    1,023-member Probes, for 6 s: more members than the default cap of 4,096."""
    a, b = own_pair
    rss = _rss(a)
    over, release = threading.Event(), threading.Event()
    attack = atk.Background(lambda: atk.flood_members(a.listen, 70, 6.0, over, release))
    try:
        seen = _during(lambda: attack.running and not over.is_set(), a, b)
        _up(a, b)
        recovery = _recovered(a, b)
        assert recovery <= 10.0
    finally:
        release.set()
    done = attack.join()
    assert done["logins"] >= 65 and done["members_sent"] > 4096 and done["oversized_probes"]
    assert seen["failed"] == 0 and seen["ok"] >= 4, seen
    s = _stats(a)
    assert s["swim.members"] <= 4096
    assert s["swim.quota_refused"] > 0
    grown = _rss(a) - rss
    assert grown < 48 * MB, f"victim grew by {grown / MB:.1f} MB holding {s['swim.members']}"
    _report("flood_members", **done, **seen, recovery_s=round(recovery, 2),
            **{k: v for k, v in s.items() if k.startswith("swim.")},
            rss_growth_mb=round(grown / MB, 1))  # fmt: skip


def test_peer_named_addresses_open_no_socket(pair: tuple[NodeProc, NodeProc]) -> None:
    """Members whose signed addresses name other families, wildcards, multicast, private
    networks, port 0 or a host name, each asked for by ProbeRequest, plus ProbeRequests for
    unknown node ids and in the version-1 form that carried an address."""
    a, b = pair
    targets = ["[::1]:9", "0.0.0.0:9", "10.11.12.13:9", "224.0.0.1:9", "127.0.0.1:0",
               "localhost:9"]  # fmt: skip
    before = _stats(a).get("transport.dial_refused", 0)
    binds: set[str] = set()
    attack = atk.Background(lambda: atk.name_addresses(a.listen, targets, 3.0))
    seen = _during(lambda: attack.running, a, b, lambda: binds.update(_udp_binds(a)))
    done = attack.join()
    assert done["probe_requests"] > 0
    assert seen["failed"] == 0 and seen["ok"] >= 4, seen
    _up(a, b)
    assert _recovered(a, b) <= 10.0
    binds |= _udp_binds(a)
    assert binds == {"127.0.0.1"}, binds  # no wildcard, no other family
    s = _stats(a)
    assert s["transport.dial_refused"] - before >= len(targets)
    assert s["swim.probe_request_refused"] >= 1
    _report("name_addresses_v4", **done, **seen, udp_binds=sorted(binds),
            dial_refused=s["transport.dial_refused"] - before)  # fmt: skip


def test_a_seed_of_the_other_family_is_refused_without_a_wildcard_socket(
    pair6: tuple[NodeProc, NodeProc], tmp_path: Path
) -> None:
    a6, _ = pair6
    c = NodeProc(tmp_path, "c", [a6.listen], ["--listen", "127.0.0.1:0"])
    try:
        wait_for(lambda: _stats(c).get("transport.dial_refused", 0) >= 1, 10, "seed refused")
        assert _udp_binds(c) == {"127.0.0.1"}
        assert status_of(a6, c.node_id) is None
    finally:
        c.kill()


def test_peer_named_addresses_on_ipv6_open_no_socket(pair6: tuple[NodeProc, NodeProc]) -> None:
    a, b = pair6
    targets = ["127.0.0.1:9", "[::ffff:127.0.0.1]:9", "[::]:9", "[fe80::1]:9",
               "[2001:db8::1]:9"]  # fmt: skip
    before = _stats(a).get("transport.dial_refused", 0)
    binds: set[str] = set()
    attack = atk.Background(lambda: atk.name_addresses(a.listen, targets, 3.0))
    seen = _during(lambda: attack.running, a, b, lambda: binds.update(_udp_binds(a)))
    attack.join()
    assert seen["failed"] == 0 and seen["ok"] >= 4, seen
    _up(a, b)
    assert _recovered(a, b) <= 10.0
    binds |= _udp_binds(a)
    assert binds == {"::1"}, binds
    refused = _stats(a)["transport.dial_refused"] - before
    assert refused >= len(targets)
    _report("name_addresses_v6", **seen, udp_binds=sorted(binds), dial_refused=refused)
