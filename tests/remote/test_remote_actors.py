"""Remote actors across processes on 127.0.0.1: ``megabrain worker`` processes A, B (and a third
in another realm), and this test's own runtime with a gateway (C). Spawn, request, tell
ordering, Down on a remote crash and on a node SIGKILL, refusals by reason with the nodes up,
and C's gateway restarted by its supervisor with the same node id."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from actors.remote.gateway import GatewayConfig, remote_node_spec
from actors.runtime import RuntimeSystem
from actors.runtime.errors import RemoteError
from actors.runtime.remote_ref import GATEWAY_NAME, RemoteRef, WhoAmI

pytestmark = pytest.mark.multiproc

ROOT = Path(__file__).resolve().parents[2]


class WorkerProc:
    """``megabrain worker`` in its own session (killed as a group, by its PID)."""

    def __init__(self, tmp: Path, name: str, *extra: str) -> None:
        self.err_path = tmp / f"{name}.stderr"
        cmd = [sys.executable, "-m", "actors", "worker", "--key", str(tmp / f"{name}.key"), *extra]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, start_new_session=True
            )
        assert self.proc.stdout is not None
        r, _, _ = select.select([self.proc.stdout], [], [], 60.0)
        line = self.proc.stdout.readline() if r else b""
        if not line:
            self.kill()
            raise AssertionError(f"worker {name} did not start: {self.err_path.read_text()}")
        info = json.loads(line)
        self.node: str = info["node_id"]
        self.listen: str = info["listen"]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        with_children: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            with_children = psutil.Process(self.proc.pid).children(recursive=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        for c in with_children:  # an actor process that left the group
            with contextlib.suppress(psutil.Error):
                c.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("remote")
    procs: list[WorkerProc] = []
    rt = None
    try:
        a = WorkerProc(tmp, "a")
        procs.append(a)
        c_key = tmp / "c.key"
        cfg = GatewayConfig(key_file=str(c_key), bootstrap=(a.listen,), ping_interval=0.5,
                            ping_deadline=3.0)  # fmt: skip
        rt = RuntimeSystem(mode="local").start()
        sup = rt.start_root(remote_node_spec(cfg), timeout=60)
        me = rt.request(GATEWAY_NAME, WhoAmI(), 10)
        # B lets only a node that is not C spawn on it
        b = WorkerProc(tmp, "b", "--bootstrap", a.listen, "--spawn-from", a.node)
        procs.append(b)
        other = WorkerProc(tmp, "o", "--bootstrap", a.listen, "--realm", "other")
        procs.append(other)
        _wait_member(rt, a.node)
        _wait_member(rt, b.node)
        yield {"rt": rt, "sup": sup, "a": a, "b": b, "other": other, "c": me["node"], "tmp": tmp}
    finally:
        stop_all(rt, procs)


def stop_all(rt: RuntimeSystem | None, procs: list[WorkerProc]) -> None:
    """Shut ``rt`` down and kill ``procs``; then no worker may have logged a traceback
    (but the crashes the tests ask for)."""
    try:
        if rt is not None:
            rt.shutdown()
    finally:
        for p in procs:
            p.kill()
    for p in procs:
        assert "Traceback" not in p.stderr().replace("RuntimeError: boom", ""), p.stderr()[-3000:]


def _wait_member(rt: RuntimeSystem, node: str, timeout: float = 30.0) -> None:
    """Wait until ``node``'s gateway answers (joining the realm takes a moment): a request to
    a name nobody holds there comes back ``noproc``."""
    deadline = time.monotonic() + timeout
    while True:
        with pytest.raises(RemoteError) as e:
            rt.request(RemoteRef(node, name="nobody"), "?", 5)
        if e.value.code == "noproc":
            return
        assert e.value.code == "noconnection" and time.monotonic() < deadline, e.value
        time.sleep(0.2)


def test_spawn_and_request(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    ref = rt.spawn(a.node, "echo", 1, "two", (3, b"4"))
    assert ref.node == a.node and ref.actor
    assert rt.request(ref, "args", 5) == (1, "two", (3, b"4"))
    for i in range(20):
        assert rt.request(ref, {"i": i, "l": [i, None]}, 5) == {"i": i, "l": [i, None]}


def test_tells_from_one_sender_arrive_in_order(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    rec = rt.spawn(a.node, "recorder")
    for i in range(600):  # more than one batch
        rt.tell(rec, (i, "x" * (i % 7)))
    # Thespian's local mode delivers a burst slowly (its transmit queue backs off, see
    # docs/runtime.md), and a request queues behind the burst: poll with patience
    deadline = time.monotonic() + 90
    while True:
        try:
            if rt.request(rec, "count", 30) >= 600:
                break
        except RemoteError as exc:
            assert exc.code == "timeout", exc
        assert time.monotonic() < deadline, "the tells did not all arrive"
        time.sleep(0.1)
    assert rt.request(rec, "log", 30) == [(i, "x" * (i % 7)) for i in range(600)]


def test_down_with_the_exit_reason_of_a_remote_crash(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    ref = rt.spawn(a.node, "echo")
    mref = rt.monitor(ref)
    with pytest.raises(RemoteError) as e:
        rt.request(ref, ("crash", "boom"), 5)
    assert e.value.code == "crashed" and "boom" in str(e.value)
    down = rt.wait_down(mref, 15)
    assert down.target == ref and down.reason.kind == "abnormal"
    assert "RuntimeError: boom" in down.reason.reason and "Traceback" in down.reason.traceback
    with pytest.raises(RemoteError) as e:
        rt.request(ref, 1, 5)
    assert e.value.code == "noproc"


def test_down_normal_and_demonitor(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    ref = rt.spawn(a.node, "echo")
    quiet = rt.monitor(ref)
    rt.demonitor(quiet)
    mref = rt.monitor(ref)
    assert rt.request(ref, ("stop",), 5) == "stopping"
    assert rt.wait_down(mref, 15).reason.kind == "normal"
    with pytest.raises(Exception, match="no Down"):
        rt.wait_down(quiet, 1.5)


def test_monitor_of_a_missing_actor_is_noproc(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    mref = rt.monitor(RemoteRef(a.node, actor="no-such-actor"))
    assert rt.wait_down(mref, 10).reason.kind == "noproc"


@pytest.mark.parametrize(
    "cls, code",
    [("os.system", "not_remotable"), ("actors.remote.demo_actors.Echo", "not_remotable")],
)
def test_only_classes_the_node_registered_can_be_spawned(
    cluster: dict[str, Any], cls: str, code: str
) -> None:
    rt, a = cluster["rt"], cluster["a"]
    with pytest.raises(RemoteError) as e:
        rt.spawn(a.node, cls)
    assert e.value.code == code
    assert a.alive() and rt.request(rt.spawn(a.node, "echo"), "still up", 5) == "still up"


def test_spawn_rights_narrowed_to_listed_nodes(cluster: dict[str, Any]) -> None:
    rt, b = cluster["rt"], cluster["b"]
    with pytest.raises(RemoteError) as e:
        rt.spawn(b.node, "echo")
    assert e.value.code == "spawn_denied"
    assert b.alive()


def test_spawn_quota_per_peer(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    q = WorkerProc(cluster["tmp"], "quota", "--bootstrap", a.listen, "--max-actors", "3")
    try:
        _wait_member(rt, q.node)
        refs = [rt.spawn(q.node, "echo") for _ in range(3)]
        with pytest.raises(RemoteError) as e:
            rt.spawn(q.node, "echo")
        assert e.value.code == "over_quota" and "3 actors" in str(e.value)
        assert all(rt.request(r, i, 5) == i for i, r in enumerate(refs))  # the three still serve
        rt.request(refs[0], ("stop",), 5)  # a stopped one frees its place
        deadline = time.monotonic() + 15
        while True:
            try:
                refs[0] = rt.spawn(q.node, "echo")
                break
            except RemoteError as exc:
                assert exc.code == "over_quota" and time.monotonic() < deadline
                time.sleep(0.2)
        with pytest.raises(RemoteError) as e:  # and only one
            rt.spawn(q.node, "echo")
        assert e.value.code == "over_quota"
        assert q.alive()
    finally:
        q.kill()
    assert "Traceback" not in q.stderr(), q.stderr()[-3000:]


def test_unregistered_and_oversized_messages_are_refused_by_reason(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    ref = rt.spawn(a.node, "echo")
    for payload, code in [
        (object(), "unregistered_type"),
        (ValueError("x"), "unregistered_type"),
        (b"x" * (2 << 20), "oversized"),
        ({1.5: 2}, "schema"),
    ]:
        with pytest.raises(RemoteError) as e:
            rt.request(ref, payload, 5)
        assert e.value.code == code, e.value
    assert rt.request(ref, "fine", 5) == "fine"


def test_reserved_names_are_not_reachable(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    for name in (GATEWAY_NAME, "megabrain.remote.spawned", "megabrain.registry"):
        with pytest.raises(RemoteError) as e:
            rt.request(RemoteRef(a.node, name=name), "stats", 5)
        assert e.value.code == "noproc"


def test_a_node_of_another_realm_is_not_reached(cluster: dict[str, Any]) -> None:
    rt, other = cluster["rt"], cluster["other"]
    with pytest.raises(RemoteError) as e:
        rt.spawn(other.node, "echo")
    assert e.value.code == "noconnection"
    assert other.alive()


def test_down_noconnection_when_the_node_is_sigkilled(cluster: dict[str, Any]) -> None:
    rt, a = cluster["rt"], cluster["a"]
    victim = WorkerProc(cluster["tmp"], "victim", "--bootstrap", a.listen)
    try:
        _wait_member(rt, victim.node)
        ref = rt.spawn(victim.node, "echo")
        mref = rt.monitor(ref)
        assert rt.request(ref, "up", 5) == "up"
        t0 = time.monotonic()
        victim.kill()
        down = rt.wait_down(mref, 30)
        assert down.reason.kind == "noconnection" and down.target == ref
        assert time.monotonic() - t0 < 20
        with pytest.raises(RemoteError) as e:
            rt.request(ref, "gone?", 5)
        assert e.value.code in ("noconnection", "timeout")
    finally:
        victim.kill()


def test_the_gateway_restarts_under_its_supervisor_with_its_node_id(
    cluster: dict[str, Any],
) -> None:
    rt, a = cluster["rt"], cluster["a"]
    ref = rt.spawn(a.node, "echo")
    before = rt.request(GATEWAY_NAME, WhoAmI(), 10)
    gw = next(c for c in rt.which_children(cluster["sup"]) if c.id == "gateway")
    os.kill(gw.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        now = next(c for c in rt.which_children(cluster["sup"]) if c.id == "gateway")
        if now.pid not in (None, gw.pid) and now.incarnation > gw.incarnation:
            break
        assert time.monotonic() < deadline, "the gateway was not restarted"
        time.sleep(0.2)
    after = rt.request(GATEWAY_NAME, WhoAmI(), 10)
    assert after["node"] == before["node"]
    deadline = time.monotonic() + 30
    while True:  # A sees the restarted node once SWIM has its new address
        try:
            assert rt.request(ref, "again", 5) == "again"
            break
        except RemoteError:
            assert time.monotonic() < deadline
            time.sleep(0.3)


def test_a_worker_requests_tells_and_monitors_remote_refs(cluster: dict[str, Any]) -> None:
    """The same operations from inside the runtime: a Worker's request, tell and monitor."""
    from actors.runtime import ChildSpec

    rt, a = cluster["rt"], cluster["a"]
    driver = rt.start_root(ChildSpec("driver", "actors.remote.demo_actors.Driver"))
    echo = rt.spawn(a.node, "echo")
    rtts = rt.request(driver, ("rtt", echo, 20, {"k": [1, 2]}), 30)
    assert len(rtts) == 20 and all(0 < t < 10 for t in rtts)
    rec = rt.spawn(a.node, "recorder")
    assert rt.request(driver, ("burst", rec, 300, 50), 120) > 0
    assert [m[0] for m in rt.request(rec, "log", 10)] == list(range(300))
    mref = rt.request(driver, ("watch", echo), 10)
    with pytest.raises(RemoteError):
        rt.request(echo, ("crash", "boom"), 5)
    deadline = time.monotonic() + 15
    while not (downs := rt.request(driver, "downs", 5)):
        assert time.monotonic() < deadline, "the worker got no Down"
        time.sleep(0.1)
    assert downs == [(mref, "abnormal", "RuntimeError: boom")]
    # a refusal reaches a worker as a failed reply with the code
    with pytest.raises(RemoteError) as e:
        rt.request(driver, ("rtt", RemoteRef(a.node, actor="nope"), 1, 0), 10)
    assert e.value.code == "noproc"


def test_a_ref_of_this_node_is_served_here(cluster: dict[str, Any]) -> None:
    from actors.remote.demo_actors import Echo
    from actors.runtime import ChildSpec, SupFlags

    rt, c = cluster["rt"], cluster["c"]
    with pytest.raises(RemoteError) as e:
        rt.request(RemoteRef(c, name="nobody"), "?", 5)
    assert e.value.code == "noproc"  # answered by this node's gateway, not a timeout
    sup = rt.start_supervisor(
        SupFlags("one_for_one"), (ChildSpec("e", Echo, ("here",), name="local-echo"),)
    )
    try:
        assert rt.request(RemoteRef(c, name="local-echo"), "args", 5) == ("here",)
    finally:
        rt.terminate_child(sup, "e")
