"""Placement and remote supervision across processes on 127.0.0.1: ``megabrain worker``
processes A and B advertise their capacity in the DHT; this test's runtime (C, a gateway that
offers nothing) places actors by query, and supervises a child running on A or B: restarted
after a remote crash, stopped with its supervisor, and placed on the other node when its node
is SIGKILLed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from actors.remote.gateway import GatewayConfig, remote_node_spec
from actors.remote.supervision import Placement, WhereIsRemote, remote_child
from actors.runtime import RuntimeSystem, SupFlags
from actors.runtime.errors import RemoteError, RuntimeConfigError
from actors.runtime.remote_ref import GATEWAY_NAME, RemoteRef
from tests.remote.test_remote_actors import WorkerProc, _wait_member, stop_all

pytestmark = pytest.mark.multiproc


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("placement")
    procs: list[WorkerProc] = []
    rt = None
    try:
        a = WorkerProc(tmp, "a", "--advert-interval", "1", "--tag", "alpha",
                       "--morphology", "xor")  # fmt: skip
        procs.append(a)
        b = WorkerProc(tmp, "b", "--bootstrap", a.listen, "--advert-interval", "1",
                       "--morphology", "xor", "--morphology", "dpnv")  # fmt: skip
        procs.append(b)
        cfg = GatewayConfig(key_file=str(tmp / "c.key"), bootstrap=(a.listen,),
                            ping_interval=0.5, ping_deadline=3.0)  # fmt: skip
        rt = RuntimeSystem(mode="local").start()
        rt.start_root(remote_node_spec(cfg), timeout=60)
        _wait_member(rt, a.node)
        _wait_member(rt, b.node)
        deadline = time.monotonic() + 30
        while set(rt.place({"actor": "echo"})) != {a.node, b.node}:
            assert time.monotonic() < deadline, "the adverts never arrived"
            time.sleep(0.3)
        yield {"rt": rt, "a": a, "b": b}
    finally:
        stop_all(rt, procs)


def test_placement_queries_read_the_adverts(nodes: dict[str, Any]) -> None:
    rt, a, b = nodes["rt"], nodes["a"], nodes["b"]
    assert rt.place({"morphology": "dpnv"}) == [b.node]
    assert rt.place({"tags": ["alpha"]}) == [a.node]
    assert rt.place({"actor": "exoself", "morphology": "xor"}, exclude=(b.node,)) == [a.node]
    assert rt.place({"actor": "no-such-class"}) == []
    assert len(rt.place({}, limit=1)) == 1
    ref = rt.spawn({"morphology": "dpnv"}, "echo", 5)
    assert ref.node == b.node and rt.request(ref, "args", 5) == (5,)
    with pytest.raises(RemoteError) as e:
        rt.spawn({"tags": ["gpu"]}, "echo")
    assert e.value.code == "no_placement"
    with pytest.raises(RemoteError) as e:
        rt.place({"min_cores": -1})
    assert e.value.code == "schema"
    with pytest.raises(RemoteError) as e:
        rt.place({"colour": "red"})
    assert e.value.code == "schema"
    rt.stop_remote(ref)
    with pytest.raises(RemoteError) as e:
        rt.request(ref, "args", 5)
    assert e.value.code == "noproc"
    with pytest.raises(RemoteError) as e:
        rt.stop_remote(ref)
    assert e.value.code == "noproc"


def test_placement_is_checked_when_the_spec_is_made() -> None:
    with pytest.raises(RuntimeConfigError):
        Placement(requirements={"colour": "red"})
    with pytest.raises(RuntimeConfigError):
        Placement(node="not-hex")
    with pytest.raises(RuntimeConfigError):
        Placement(place_timeout=0)
    with pytest.raises(RuntimeConfigError):
        remote_child("x", "")


def _remote_of(rt: RuntimeSystem, name: str, old: RemoteRef | None, timeout: float) -> RemoteRef:
    """The remote ref behind stand-in ``name`` once it differs from ``old``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ref = rt.request(name, WhereIsRemote(), 5)
        except Exception:  # restarting: the name is briefly unregistered
            ref = None
        if isinstance(ref, RemoteRef) and ref != old:
            return ref
        assert time.monotonic() < deadline, f"{name} was not placed again"
        time.sleep(0.1)


def test_a_supervised_remote_child_restarts_stops_and_moves_on_node_death(
    nodes: dict[str, Any],
) -> None:
    rt, a, b = nodes["rt"], nodes["a"], nodes["b"]
    spec = remote_child("e", "echo", 7, placement=Placement(requirements={"morphology": "xor"}),
                        name="e1")  # fmt: skip
    rec = remote_child("r", "recorder", placement=Placement(node=a.node), name="r1")
    sup = rt.start_supervisor(SupFlags("one_for_one", intensity=10, period=60), (spec, rec))
    first = _remote_of(rt, "e1", None, 10)
    assert first.node in (a.node, b.node)
    assert rt.request("e1", "args", 5) == (7,)  # forwarded to the remote actor
    for i in range(50):
        rt.tell("r1", i)  # forwarded in order
    deadline = time.monotonic() + 30
    while rt.request("r1", "count", 10) < 50:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rt.request("r1", "log", 10) == list(range(50))
    # a remote crash: the caller gets the failure, the supervisor restarts the child
    with pytest.raises(Exception, match="boom"):
        rt.request("e1", ("crash", "boom"), 5)
    second = _remote_of(rt, "e1", first, 20)
    assert rt.request("e1", "args", 5) == (7,)
    # its node dies: Down noconnection, restarted on the node that is left
    victim, survivor = (a, b) if second.node == a.node else (b, a)
    watch = rt.monitor(second)
    victim.kill()
    assert rt.wait_down(watch, 20).reason.kind == "noconnection"
    third = _remote_of(rt, "e1", second, 40)
    assert third.node == survivor.node
    assert rt.request("e1", "args", 5) == (7,)
    # terminating the child stops the remote actor
    watch = rt.monitor(third)
    rt.terminate_child(sup, "e")
    down = rt.wait_down(watch, 20)
    assert down.reason.kind in ("shutdown", "normal"), down.reason
    assert rt.request(GATEWAY_NAME, "stats", 5).get("internal_errors", 0) == 0
