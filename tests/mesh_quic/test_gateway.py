"""Actors on two mesh nodes exchange pub/sub events and RPC through their gateways."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from thespian.actors import ActorExitRequest, ActorSystem

from mesh import gateway_messages as gm
from mesh.gateway import MeshGateway
from tests.mesh_quic.gateway_actors import Doubler, Follow, Listener, Received, Serve

LOG = {"version": 1, "disable_existing_loggers": False, "loggers": {}}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(
    scope="function", params=["simple", pytest.param("multiproc", marks=pytest.mark.multiproc)]
)
def asys(request: pytest.FixtureRequest) -> Iterator[ActorSystem]:
    """A fresh actor system per test (no message of one test can reach another's asks).

    Teardown checks that the test's gateways left no thread in this process: the next
    ``multiprocTCPBase`` system forks its admin from here, and a fork taken while another
    thread holds a lock can leave the child hung (a gateway that never answers).
    """
    before = set(threading.enumerate())
    tasks = _os_threads()
    if request.param == "simple":
        system = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=LOG)
    else:
        os.environ["THESPIAN_BASE_IPADDR"] = "127.0.0.1"
        system = ActorSystem(
            "multiprocTCPBase", {"Admin Port": _free_port()}, transientUnique=True, logDefs=LOG
        )
    try:
        yield system
    finally:
        system.shutdown()
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not left, f"threads left behind by the gateways: {left}"
    # a joined thread may still be exiting at the OS level (running OpenSSL's destructors)
    deadline = time.monotonic() + 5.0
    while (extra := _os_threads() - tasks) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not extra, f"OS threads still exiting after the gateways stopped: {sorted(extra)}"


def _os_threads() -> set[str]:
    """This process's OS thread ids (Linux); empty where /proc is not available."""
    try:
        return set(os.listdir("/proc/self/task"))
    except OSError:
        return set()


STATES: list[gm.GatewayState] = []


def _ask(
    asys: ActorSystem, addr: Any, msg: Any, want: type, timeout: float = 30.0, ref: Any = None
) -> Any:
    """Ask and wait for a ``want`` reply (with ``ref`` if given), setting other messages aside.

    GatewayState snapshots (sent to the owner at any time) go to STATES; anything else that
    arrives meanwhile is kept and reported if ``want`` never comes, so a failure says what did.
    """
    deadline = time.monotonic() + timeout
    others: list[Any] = []
    reply = asys.ask(addr, msg, timeout)
    while not (isinstance(reply, want) and (ref is None or getattr(reply, "ref", None) == ref)):
        assert not isinstance(reply, gm.GatewayError), f"{reply!r} (asked {msg!r})"
        if isinstance(reply, gm.GatewayState):
            STATES.append(reply)
        elif reply is not None:
            others.append(reply)
        left = deadline - time.monotonic()
        assert left > 0, f"no {want.__name__} in {timeout:g} s for {msg!r}; got instead: {others!r}"
        reply = asys.listen(left)
    return reply


def _until(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _start(asys: ActorSystem, tmp: Path, name: str, bootstrap: tuple[str, ...] = (),
           state: gm.GatewayState | None = None) -> tuple[Any, gm.GatewayReady]:  # fmt: skip
    gw = asys.createActor(MeshGateway)
    cfg = gm.GatewayConfig(str(tmp / f"{name}.key"), bootstrap=bootstrap, swim_period=0.5)
    ready = _ask(asys, gw, gm.StartGateway(cfg, state or gm.GatewayState()), gm.GatewayReady)
    return gw, ready


def test_actors_exchange_events_and_calls_through_gateways(
    asys: ActorSystem, tmp_path: Path
) -> None:
    gw_a, ready_a = _start(asys, tmp_path, "a")
    gw_b, ready_b = _start(asys, tmp_path, "b", (ready_a.address,))
    assert ready_a.node_id != ready_b.node_id
    assert ready_b.joined and not ready_a.joined  # a had no seed
    # B's actors: a listener and a procedure
    listener = asys.createActor(Listener)
    doubler = asys.createActor(Doubler)
    follow = Follow(gw_b, "tweann.genotypes.xor")
    assert _ask(asys, listener, follow, gm.Subscribed, ref="follow").stored >= 1
    assert _ask(asys, doubler, Serve(gw_b, "double"), gm.Registered, ref="serve").stored >= 1
    # A's side publishes and calls through its gateway
    for i in range(3):
        pub = gm.Publish("tweann.genotypes.xor", b"g%d" % i, ref=i)
        _ask(asys, gw_a, pub, gm.Published, ref=i)

    def received() -> tuple[bytes, ...]:
        got: tuple[bytes, ...] = _ask(asys, listener, Received(), tuple, 10)
        return got if len(got) >= 3 else ()

    try:
        got = _until(received, 15, "events at the listener")
    except AssertionError as exc:
        views = [
            _ask(asys, g, gm.GetStats("diag"), gm.NodeStats, ref="diag").counters
            for g in (gw_a, gw_b)
        ]
        raise AssertionError(f"{exc}; counters of a, b: {views}") from None
    assert sorted(got) == [b"g0", b"g1", b"g2"]
    res = _ask(asys, gw_a, gm.Call("double", b"ab", ref="c1"), gm.CallResult, ref="c1")
    assert (res.ref, res.value) == ("c1", b"abab")
    failed = _ask(asys, gw_a, gm.Call("double", b"fail", ref="c2"), gm.CallFailed, ref="c2")
    assert failed.ref == "c2" and "asked to fail" in failed.message
    peers = _ask(asys, gw_a, gm.GetPeers("p"), gm.PeerList, ref="p")
    assert ready_b.node_id in {p[0] for p in peers.peers}
    for a in (gw_a, gw_b, listener, doubler):
        asys.tell(a, ActorExitRequest())


@pytest.mark.parametrize(
    "bad",
    [{"realms": ()}, {"listen": "not an address"}, {"key_path": "/proc/no/such/dir/x.key"}],
    ids=["no-realm", "bad-listen", "bad-key-path"],
)
def test_bad_start_is_answered_with_an_error(
    asys: ActorSystem, tmp_path: Path, bad: dict[str, Any]
) -> None:
    gw = asys.createActor(MeshGateway)
    cfg = replace(gm.GatewayConfig(str(tmp_path / "k.key")), **bad)
    started = time.monotonic()
    reply = asys.ask(gw, gm.StartGateway(cfg), 30)
    assert isinstance(reply, gm.GatewayError), f"{reply!r} after {time.monotonic() - started:.1f} s"
    # the failed start left nothing half-done: the same gateway starts with a good config
    good = gm.StartGateway(gm.GatewayConfig(str(tmp_path / "k.key")))
    assert _ask(asys, gw, good, gm.GatewayReady).address.startswith("127.0.0.1:")
    asys.tell(gw, ActorExitRequest())


def test_restarted_gateway_reconnects_and_resubscribes(asys: ActorSystem, tmp_path: Path) -> None:
    STATES.clear()
    gw_a, ready_a = _start(asys, tmp_path, "a")
    gw_b, ready_b = _start(asys, tmp_path, "b", (ready_a.address,))
    listener = asys.createActor(Listener)
    _ask(asys, listener, Follow(gw_b, "t"), gm.Subscribed, ref="follow")
    state = _until(lambda: _last_state(asys), 5, "a GatewayState with the subscription")
    # the gateway dies; its owner starts a new one with the same key and the last state
    asys.tell(gw_b, ActorExitRequest())
    time.sleep(0.2)  # let the old node close its socket before the new one binds
    gw_b2, ready_b2 = _start(asys, tmp_path, "b", (ready_a.address,), state)
    assert ready_b2.node_id == ready_b.node_id

    def delivered() -> bool:
        _ask(asys, gw_a, gm.Publish("t", b"after-restart", ref="x"), gm.Published, ref="x")
        return b"after-restart" in _ask(asys, listener, Received(), tuple, 10)

    _until(delivered, 20, "an event delivered after the restart")
    for a in (gw_a, gw_b2, listener):
        asys.tell(a, ActorExitRequest())


def _last_state(asys: ActorSystem) -> gm.GatewayState | None:
    msg = asys.listen(0.2)
    while msg is not None:
        if isinstance(msg, gm.GatewayState):
            STATES.append(msg)
        msg = asys.listen(0.05)
    return STATES[-1] if STATES and STATES[-1].subscriptions else None
