"""Global names across processes on 127.0.0.1: ``megabrain worker`` processes A and B, and
this test's own runtime with a gateway (C). Actors spawned on A and B register themselves
(a worker's ``register_global``); C registers its own by name. Lookup from the other nodes,
refusal of a second registration, withdrawal when the actor exits and when its node stops in
order, a name taken over by a standby after its owner's node is SIGKILLed, and a
registration that loses the rule to an earlier one (as when a partition heals) withdrawn
with ``NameLost`` to its actor."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from actors.remote.gateway import GatewayConfig, remote_node_spec
from actors.remote.names import NamesConfig, dht_name, encode_claim
from actors.runtime import ChildSpec, RuntimeSystem
from actors.runtime.errors import RemoteError
from actors.runtime.remote_ref import GATEWAY_NAME, RemoteRef, WhoAmI
from mesh.identity import NodeKey
from mesh.node import MeshNode
from tests.remote.test_remote_actors import WorkerProc, _wait_member

pytestmark = pytest.mark.multiproc


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("names")
    procs: list[WorkerProc] = []
    rt = None
    try:
        a = WorkerProc(tmp, "a")
        procs.append(a)
        b = WorkerProc(tmp, "b", "--bootstrap", a.listen)
        procs.append(b)
        cfg = GatewayConfig(
            key_file=str(tmp / "c.key"), bootstrap=(a.listen,), ping_interval=0.5,
            ping_deadline=3.0, names=NamesConfig(ttl=10, refresh=1.0),
        )  # fmt: skip
        rt = RuntimeSystem(mode="local").start()
        rt.start_root(remote_node_spec(cfg), timeout=60)
        me = rt.request(GATEWAY_NAME, WhoAmI(), 10)
        _wait_member(rt, a.node)
        _wait_member(rt, b.node)
        yield {"rt": rt, "a": a, "b": b, "c": me["node"], "tmp": tmp}
    finally:
        if rt is not None:
            rt.shutdown()
        for p in procs:
            p.kill()
    for p in procs:
        assert "Traceback" not in p.stderr(), p.stderr()[-3000:]


def _until(fn: Any, timeout: float, what: str) -> Any:
    """Poll ``fn()`` until it returns something true, at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _glob(rt: RuntimeSystem, echo: RemoteRef, op: str, name: str) -> Any:
    """Have ``echo`` (spawned on a worker) call its own ``<op>_global(name)``."""
    return rt.request(echo, ("global", op, name), 30)


def test_register_and_whereis_from_the_other_nodes(realm: dict[str, Any]) -> None:
    rt, a, b = realm["rt"], realm["a"], realm["b"]
    echo = rt.spawn(a.node, "echo", "on-a")
    ref = _glob(rt, echo, "register", "svc")
    assert ref == echo  # the actor spawned on A, as other nodes reach it
    assert rt.whereis_global("svc") == echo  # from C
    other = rt.spawn(b.node, "echo")
    assert _glob(rt, other, "whereis", "svc") == echo  # from B, through B's gateway
    found = rt.whereis_global("svc")
    assert found is not None and rt.request(found, "args", 5) == ("on-a",)
    assert rt.whereis_global("nobody-has-this") is None
    assert _glob(rt, echo, "register", "svc") == echo  # again, same actor: fine


def test_a_second_registration_is_refused(realm: dict[str, Any]) -> None:
    rt, a, b = realm["rt"], realm["a"], realm["b"]
    first = rt.spawn(a.node, "echo")
    assert _glob(rt, first, "register", "only-one") == first
    second = rt.spawn(b.node, "echo")
    with pytest.raises(RemoteError) as e:
        _glob(rt, second, "register", "only-one")
    assert e.value.code == "name_taken" and first.node[:12] in str(e.value)
    rt.start_root(ChildSpec("local-one", "actors.remote.demo_actors.Echo", name="local-one"))
    with pytest.raises(RemoteError) as e:
        rt.register_global("only-one", "local-one")
    assert e.value.code == "name_taken"
    assert rt.whereis_global("only-one") == first


def test_bad_registrations_are_refused_by_code(realm: dict[str, Any]) -> None:
    rt, a = realm["rt"], realm["a"]
    for name, target, code in [
        ("megabrain.gateway", "local-two", "reserved_name"),
        ("", "local-two", "schema"),
        ("x" * 500, "local-two", "schema"),
        ("fine", "nobody-registered-this", "noproc"),
        ("fine", RemoteRef(a.node, name="echo"), "not_local"),
        ("fine", GATEWAY_NAME, "unreachable"),
    ]:
        with pytest.raises(RemoteError) as e:
            rt.register_global(name, target)
        assert e.value.code == code, (name, target, e.value)
    with pytest.raises(RemoteError) as e:
        rt.whereis_global("megabrain.x")
    assert e.value.code == "reserved_name"
    assert rt.request(GATEWAY_NAME, WhoAmI(), 5)["node"] == realm["c"]  # still up


def test_unregister_and_unregister_on_exit(realm: dict[str, Any]) -> None:
    rt, a = realm["rt"], realm["a"]
    rt.start_root(ChildSpec("local-u", "actors.remote.demo_actors.Echo", name="local-u"))
    ref = rt.register_global("u", "local-u")
    assert ref == RemoteRef(realm["c"], name="local-u")
    on_a = rt.spawn(a.node, "echo")
    assert _glob(rt, on_a, "whereis", "u") == ref
    assert rt.unregister_global("u") is True
    assert rt.whereis_global("u") is None
    assert rt.unregister_global("u") is False
    echo = rt.spawn(a.node, "echo")
    assert _glob(rt, echo, "register", "gone-with-it") == echo
    assert rt.whereis_global("gone-with-it") == echo
    assert rt.request(echo, ("stop",), 5) == "stopping"
    _until(lambda: rt.whereis_global("gone-with-it") is None, 15, "the name outlived its actor")


def test_a_name_is_taken_over_after_its_owners_node_is_sigkilled(realm: dict[str, Any]) -> None:
    rt, a, b = realm["rt"], realm["a"], realm["b"]
    victim = WorkerProc(realm["tmp"], "victim", "--bootstrap", a.listen)
    try:
        _wait_member(rt, victim.node)
        owner = rt.spawn(victim.node, "echo")
        assert _glob(rt, owner, "register", "leader") == owner
        standby = rt.spawn(b.node, "echo", "standby")
        with pytest.raises(RemoteError) as e:
            _glob(rt, standby, "register", "leader")
        assert e.value.code == "name_taken"
        t0 = time.monotonic()
        victim.kill()
        # SWIM declares the victim dead and whereis skips its claim: sooner than its record
        # could lapse (TTL 30 s, refreshed every 10 s: at least 20 s after the kill)
        _until(lambda: rt.whereis_global("leader") is None, 45, "the dead owner kept the name")
        assert time.monotonic() - t0 < 20

        def take_over() -> bool:
            try:
                return bool(_glob(rt, standby, "register", "leader") == standby)
            except RemoteError as exc:
                assert exc.code == "name_taken", exc  # B may not see the death yet
                return False

        _until(take_over, 45, "the standby could not take the name over")
        assert rt.whereis_global("leader") == standby
        assert rt.request(rt.whereis_global("leader"), "args", 5) == ("standby",)
    finally:
        victim.kill()
    assert "Traceback" not in victim.stderr(), victim.stderr()[-3000:]


class _Rival:
    """A bare mesh node of the realm, on a loop thread of this process, that stores a claim
    record by hand: an earlier registration of a name, as a healed partition brings back."""

    def __init__(self, bootstrap: str) -> None:
        self.node = MeshNode(NodeKey.generate(), ("default",))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.node.start("127.0.0.1", 0, (bootstrap,)))
        self.node_id = self.node.node_id.hex()

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        try:
            self.run(self.node.close(), 10.0)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10.0)
            self.loop.close()


def test_the_later_of_two_registrations_is_withdrawn_with_name_lost(
    realm: dict[str, Any],
) -> None:
    rt, a = realm["rt"], realm["a"]
    rt.start_root(ChildSpec("local-r", "actors.remote.demo_actors.Echo", name="local-r"))
    mine = rt.register_global("race", "local-r")
    assert rt.whereis_global("race") == mine
    rival = _Rival(a.listen)
    try:
        theirs = RemoteRef(rival.node_id, name="elsewhere")
        since = int(time.time() * 1000) - 60_000  # registered before ours
        rival.run(rival.node.put_value(dht_name("race"), encode_claim("race", theirs, since)))
        rival.run(rival.node.put_value(dht_name("junk"), b"\xc1 not a claim"))
        # every reader applies the rule at once; C's gateway withdraws at its next refresh
        assert _until(lambda: rt.whereis_global("race") == theirs, 15, "the rule was not applied")
        _until(lambda: rt.request("local-r", "lost", 5) == ["race"], 15, "no NameLost")
        with pytest.raises(RemoteError) as e:
            rt.register_global("race", "local-r")
        assert e.value.code == "name_taken"
        assert rt.whereis_global("junk") is None  # a malformed record is dropped
        assert rt.request(GATEWAY_NAME, "stats", 5).get("names.rejected_records", 0) >= 1
        rival.run(rival.node.put_value(dht_name("race"), b"", deleted=True))
        _until(lambda: rt.whereis_global("race") is None, 15, "the withdrawn claim counted")
    finally:
        rival.close()


def test_a_node_that_stops_in_order_withdraws_its_names(realm: dict[str, Any]) -> None:
    rt, a = realm["rt"], realm["a"]
    quitter = WorkerProc(realm["tmp"], "quitter", "--bootstrap", a.listen)
    try:
        _wait_member(rt, quitter.node)
        echo = rt.spawn(quitter.node, "echo")
        assert _glob(rt, echo, "register", "quitting") == echo
        os.kill(quitter.proc.pid, signal.SIGINT)  # megabrain worker shuts its runtime down
        quitter.proc.wait(30)
        assert rt.whereis_global("quitting") is None  # at once: no SWIM verdict, no TTL
    finally:
        quitter.kill()
