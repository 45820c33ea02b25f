"""Topics, genotype records and peers through the gateway, across processes on 127.0.0.1: a
``megabrain worker`` process A and this test's own runtime C with a gateway and local
subscribers (``Recorder`` actors: two registered by name under a supervisor, others by
address). An ``Echo`` spawned on A subscribes, publishes and advertises through A's gateway.
Events both ways to several subscribers, unsubscribe, a subscriber that exits (dropped) and
one restarted under its name (kept), genotype records from both nodes, peers and counters,
bad input refused with the gateway still serving, and C's gateway SIGKILLed and restarted by
its supervisor with its subscriptions."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.remote.demo_actors import Recorder
from actors.remote.gateway import GatewayConfig, remote_node_spec
from actors.runtime import ChildSpec, RuntimeSystem, SupFlags
from actors.runtime.errors import RemoteError, RuntimeConfigError
from actors.runtime.remote_ref import (
    GATEWAY_NAME,
    GenotypeAdvertise,
    RemoteRef,
    TopicEvent,
    TopicPublish,
    TopicSubscribe,
    WhoAmI,
)
from tests.remote.test_remote_actors import WorkerProc, _wait_member, stop_all

pytestmark = pytest.mark.multiproc


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("topics")
    procs: list[WorkerProc] = []
    rt = None
    try:
        a = WorkerProc(tmp, "a")
        procs.append(a)
        cfg = GatewayConfig(key_file=str(tmp / "c.key"), bootstrap=(a.listen,))
        rt = RuntimeSystem(mode="local").start()
        node_sup = rt.start_root(remote_node_spec(cfg), timeout=60)
        me = rt.request(GATEWAY_NAME, WhoAmI(), 10)
        subs = rt.start_supervisor(
            SupFlags("one_for_one", intensity=10, period=10.0),
            [ChildSpec(f"sub-{i}", Recorder, name=f"sub-{i}") for i in (1, 2)],
        )
        _wait_member(rt, a.node)
        echo = rt.spawn(a.node, "echo")
        yield {"rt": rt, "a": a, "c": me["node"], "node_sup": node_sup, "subs": subs,
               "echo": echo}  # fmt: skip
    finally:
        stop_all(rt, procs)


def _until(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``fn()`` until it returns something true, at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _events(rt: RuntimeSystem, target: Any, topic: str) -> list[TopicEvent]:
    """The TopicEvents of ``topic`` a Recorder (local) or an Echo (a RemoteRef) received."""
    got = rt.request(target, "events" if isinstance(target, RemoteRef) else "log", 10)
    return [e for e in got if isinstance(e, TopicEvent) and e.topic == topic]


def _wait_events(rt: RuntimeSystem, target: Any, topic: str, n: int) -> list[TopicEvent]:
    return _until(  # type: ignore[no-any-return]
        lambda: evs if len(evs := _events(rt, target, topic)) >= n else None,
        30,
        f"{n} events of {topic!r} at {target}",
    )


def _publish_on_a(r: dict[str, Any], topic: str, payload: bytes) -> None:
    op = r["rt"].request(r["echo"], ("topic", "publish", topic, payload), 30)
    assert isinstance(op, int)


def test_events_between_two_nodes_reach_every_subscriber(realm: dict[str, Any]) -> None:
    rt, a, c = realm["rt"], realm["a"], realm["c"]
    sub2 = rt.whereis("sub-2")
    assert rt.subscribe("t.both", "sub-1") >= 1  # by name
    assert rt.subscribe("t.both", sub2) >= 1  # by address
    assert rt.subscribe("t.both", "sub-1") >= 1  # again: still one subscription
    assert rt.subscriptions()["t.both"] == ["sub-1", sub2]
    for i in range(3):
        _publish_on_a(realm, "t.both", b"e%d" % i)
    for sub in ("sub-1", "sub-2"):
        evs = _wait_events(rt, sub, "t.both", 3)
        assert sorted(e.payload for e in evs) == [b"e0", b"e1", b"e2"]
        assert {(e.realm, e.author, e.via) for e in evs} == {("default", a.node, a.node)}
        assert len({e.seq for e in evs}) == 3
    # the other way: the Echo on A subscribes through A's gateway, C publishes
    assert rt.request(realm["echo"], ("topic", "subscribe", "t.back"), 30) >= 1
    assert isinstance(rt.publish("t.back", b"from-c"), int)
    [ev] = _wait_events(rt, realm["echo"], "t.back", 1)  # a TopicEvent across the wire
    assert (ev.payload, ev.author, ev.realm) == (b"from-c", c, "default")
    time.sleep(0.5)  # (dedup: no second copy arrives)
    assert len(_events(rt, "sub-1", "t.both")) == 3
    assert rt.request(realm["echo"], ("topic", "unsubscribe", "t.back"), 30) is True
    assert rt.unsubscribe("t.both", "sub-1") and rt.unsubscribe("t.both", sub2)


def test_unsubscribe(realm: dict[str, Any]) -> None:
    rt = realm["rt"]
    for sub in ("sub-1", "sub-2"):
        rt.subscribe("t.un", sub)
    assert rt.unsubscribe("t.un", "sub-2") is True
    assert rt.unsubscribe("t.un", "sub-2") is False
    assert rt.unsubscribe("t.never", "sub-2") is False
    assert rt.subscriptions()["t.un"] == ["sub-1"]
    for i in range(2):
        _publish_on_a(realm, "t.un", b"u%d" % i)
    _wait_events(rt, "sub-1", "t.un", 2)
    assert _events(rt, "sub-2", "t.un") == []
    assert rt.unsubscribe("t.un", "sub-1") is True
    assert "t.un" not in rt.subscriptions()


def test_a_subscriber_that_exits_is_dropped(realm: dict[str, Any]) -> None:
    rt = realm["rt"]
    sup = rt.start_supervisor(
        SupFlags("one_for_one"), [ChildSpec("mortal", Recorder, restart="temporary")]
    )
    [info] = rt.which_children(sup)
    rt.subscribe("t.mortal", info.address)
    rt.subscribe("t.mortal2", info.address)
    rt.subscribe("t.mortal", "sub-1")
    _publish_on_a(realm, "t.mortal", b"m0")
    _wait_events(rt, info.address, "t.mortal", 1)
    rt.terminate_child(sup, "mortal")
    _until(
        lambda: (
            rt.subscriptions().get("t.mortal") == ["sub-1"]
            and "t.mortal2" not in rt.subscriptions()
        ),
        15,
        "the exited subscriber dropped",
    )
    assert rt.request(GATEWAY_NAME, "stats", 10)["topics.subscribers_dropped"] >= 1
    _publish_on_a(realm, "t.mortal", b"m1")  # the others still get the topic
    _wait_events(rt, "sub-1", "t.mortal", 2)
    rt.unsubscribe("t.mortal", "sub-1")


def test_a_subscriber_restarted_under_its_name_keeps_its_subscriptions(
    realm: dict[str, Any],
) -> None:
    rt = realm["rt"]
    rt.subscribe("t.phoenix", "sub-2")
    _publish_on_a(realm, "t.phoenix", b"before")
    _wait_events(rt, "sub-2", "t.phoenix", 1)
    old = next(c for c in rt.which_children(realm["subs"]) if c.id == "sub-2")
    os.kill(old.pid, signal.SIGKILL)
    _until(
        lambda: (
            next(c for c in rt.which_children(realm["subs"]) if c.id == "sub-2").incarnation
            > old.incarnation
        ),
        30,
        "sub-2 restarted",
    )
    assert rt.subscriptions()["t.phoenix"] == ["sub-2"]

    def heard_again() -> bool:  # (within the gateway's NAME_GRACE it monitors the new one)
        _publish_on_a(realm, "t.phoenix", b"after")
        return bool(_events(rt, "sub-2", "t.phoenix"))

    _until(heard_again, 20, "an event at the restarted subscriber")
    assert rt.subscriptions()["t.phoenix"] == ["sub-2"]
    rt.unsubscribe("t.phoenix", "sub-2")


def test_advertise_and_find_genotype_records(realm: dict[str, Any]) -> None:
    rt, a, c = realm["rt"], realm["a"], realm["c"]
    ad = ("topic", "advertise", "xor.test", b"genome-a", {"fitness": 0.5, "gen": 3})
    assert rt.request(realm["echo"], ad, 30) >= 1
    assert rt.advertise("xor.test", b"genome-c", {"fitness": 0.75}) >= 1

    def both() -> dict[str, Any]:
        found = {r.author: r for r in rt.find("xor.test")}
        return found if set(found) == {a.node, c} else {}

    found = _until(both, 20, "the records of A and C")
    assert found[a.node].payload == b"genome-a" and found[c].payload == b"genome-c"
    meta_a = dict(found[a.node].meta)
    assert meta_a["fitness"] == 0.5 and meta_a["gen"] == 3 and "addr" in meta_a
    assert dict(found[c].meta)["fitness"] == 0.75
    assert rt.find("xor.nobody") == []


def test_peers_and_mesh_stats(realm: dict[str, Any]) -> None:
    rt, a = realm["rt"], realm["a"]
    peers = {p.node: p for p in rt.mesh_peers()}
    assert peers[a.node].status == "alive" and peers[a.node].connected
    assert peers[a.node].address == a.listen and peers[a.node].realms == ("default",)
    stats = rt.mesh_stats()
    assert stats["transport.connections"] >= 1 and all(isinstance(v, int) for v in stats.values())


def test_bad_input_is_refused_and_the_gateway_serves_on(realm: dict[str, Any]) -> None:
    rt, a = realm["rt"], realm["a"]
    before = next(c for c in rt.which_children(realm["node_sup"]) if c.id == "gateway")
    # local misuse: refused where the request is made
    for make in (
        lambda: TopicSubscribe("", "sub-1"),
        lambda: TopicSubscribe("t", RemoteRef(a.node, name="x")),
        lambda: TopicSubscribe("t", None),
        lambda: TopicPublish("t", "text, not bytes"),  # type: ignore[arg-type]
        lambda: TopicPublish("t", b"x", timeout=0),
        lambda: GenotypeAdvertise("p", b"g", {"k": [1, 2]}),
    ):
        with pytest.raises(RuntimeConfigError):
            make()
    # refused by the gateway, by code
    for call, code in (
        (lambda: rt.subscribe("t" * 2000, "sub-1"), "schema"),
        (lambda: rt.subscribe("t.ok", "nobody-here"), "noproc"),
        (lambda: rt.publish("t.big", b"x" * (2 << 20)), "oversized"),
        (lambda: rt.publish("p" * 2000, b"x"), "schema"),
        (lambda: rt.advertise("p", b"g", {"addr": "forged"}), "schema"),
        (lambda: rt.advertise("p", b"x" * (2 << 20)), "oversized"),
        (lambda: rt.find("p" * 2000), "schema"),
    ):
        with pytest.raises(RemoteError) as e:
            call()
        assert e.value.code == code, e.value
    assert rt.request(GATEWAY_NAME, "stats", 10)["topics.refused.schema"] >= 4
    # the same gateway, still serving
    assert rt.subscribe("t.ok", "sub-1") >= 1
    _publish_on_a(realm, "t.ok", b"fine")
    _wait_events(rt, "sub-1", "t.ok", 1)
    rt.unsubscribe("t.ok", "sub-1")
    after = next(c for c in rt.which_children(realm["node_sup"]) if c.id == "gateway")
    assert (after.pid, after.incarnation) == (before.pid, before.incarnation)


def test_subscriptions_survive_a_gateway_restart(realm: dict[str, Any]) -> None:
    """Last: C's gateway is SIGKILLed; its supervisor restarts it, and it finds its
    subscriptions in the topic table and subscribes to them again on the mesh."""
    rt, c = realm["rt"], realm["c"]
    sub2 = rt.whereis("sub-2")
    rt.subscribe("t.restart", "sub-1")
    rt.subscribe("t.restart", sub2)
    rt.subscribe("t.restart2", "sub-2")
    want = {"t.restart": ["sub-1", sub2], "t.restart2": ["sub-2"]}
    assert {t: s for t, s in rt.subscriptions().items() if t in want} == want
    gw = next(ch for ch in rt.which_children(realm["node_sup"]) if ch.id == "gateway")
    os.kill(gw.pid, signal.SIGKILL)

    def restarted() -> bool:
        now = next(ch for ch in rt.which_children(realm["node_sup"]) if ch.id == "gateway")
        return now.pid not in (None, gw.pid) and now.incarnation > gw.incarnation

    _until(restarted, 30, "the gateway restarted")
    assert rt.request(GATEWAY_NAME, WhoAmI(), 10)["node"] == c
    _until(
        lambda: {t: s for t, s in rt.subscriptions().items() if t in want} == want,
        15,
        f"the subscriptions restored from the table: {rt.subscriptions()}",
    )
    assert rt.request(GATEWAY_NAME, "stats", 10)["topics.restored"] == 3

    def delivered() -> bool:  # A sees C's new address once C has joined again
        _publish_on_a(realm, "t.restart", b"after")
        _publish_on_a(realm, "t.restart2", b"after2")
        time.sleep(0.5)
        return all(
            any(e.payload == p for e in _events(rt, s, t))
            for s, t, p in (
                ("sub-1", "t.restart", b"after"),
                ("sub-2", "t.restart", b"after"),
                ("sub-2", "t.restart2", b"after2"),
            )
        )

    _until(delivered, 45, "events delivered after the restart")
