"""``local`` mode only: SIGKILL deaths, linked deaths, loopback-only sockets, clean shutdown."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from actors.runtime import ChildSpec, RuntimeSystem, SupFlags, loopback, start_system
from actors.runtime.messages import SupervisorArgs
from actors.runtime.supervisor import Supervisor
from tests.runtime.conftest import eventually, uniq
from tests.runtime.workers import Echo

pytestmark = pytest.mark.multiproc


@pytest.fixture(scope="module")
def lrt() -> Iterator[RuntimeSystem]:
    with start_system("local") as system:
        yield system
    assert system.leftovers == []


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def new_address(rt: RuntimeSystem, name: str, old: Any) -> Any:
    return eventually(lambda: (a := rt.whereis(name)) is not None and a != old and a)


def test_sigkill_is_reported_as_killed_and_restarted(lrt: RuntimeSystem) -> None:
    name = uniq("victim")
    sup = lrt.start_supervisor(SupFlags("one_for_one", 5, 10), [ChildSpec("v", Echo, name=name)])
    old = lrt.whereis(name)
    pid = lrt.request(old, "pid")
    assert pid != os.getpid() and pid in lrt.pids()
    ref = lrt.monitor(name)
    os.kill(pid, signal.SIGKILL)
    assert lrt.wait_down(ref, 15).reason.kind == "killed"
    new = new_address(lrt, name, old)
    assert lrt.request(new, "pid") != pid
    assert [c.incarnation for c in lrt.which_children(sup)] == [2]


def test_children_die_with_their_supervisor(lrt: RuntimeSystem) -> None:
    mid, leaf = uniq("mid"), uniq("leaf")
    inner = SupervisorArgs(SupFlags("one_for_one", 5, 10), (ChildSpec("leaf", Echo, name=leaf),))
    lrt.start_supervisor(
        SupFlags("one_for_one", 5, 10), [ChildSpec("mid", Supervisor, (inner,), name=mid)]
    )
    leaf_addr = lrt.whereis(leaf)
    leaf_pid = lrt.request(leaf_addr, "pid")
    mid_pid = next(
        p for p in lrt.pids() if leaf_pid in [c.pid for c in psutil.Process(p).children()]
    )
    ref = lrt.monitor(leaf)
    os.kill(mid_pid, signal.SIGKILL)
    down = lrt.wait_down(ref, 15)
    assert down.reason.kind == "killed"
    eventually(
        lambda: not psutil.pid_exists(leaf_pid) or psutil.Process(leaf_pid).status() == "zombie"
    )
    # the parent restarted mid, which restarted the leaf under the same name
    assert lrt.request(new_address(lrt, leaf, leaf_addr), "ping") == "ping"


def test_no_thespian_socket_listens_beyond_loopback(lrt: RuntimeSystem) -> None:
    lrt.start_supervisor(SupFlags(), [ChildSpec("a", Echo, name=uniq("l")), ChildSpec("b", Echo)])
    pids = lrt.pids()
    listening = lrt.listeners()
    owners = {entry.pid for entry in listening}
    assert len(pids) >= 5  # admin, logger, registry, supervisor, two workers
    assert set(pids) <= owners  # every process of the runtime was inspected and listens
    assert all(loopback.is_loopback(entry.host) for entry in listening), listening


def test_loopback_wrap_changes_only_the_bind_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from thespian.system.transport.IPBase import IPActorAddress, TCPv4ActorAddress

    monkeypatch.setenv("THESPIAN_BASE_IPADDR", "127.0.0.1")
    loopback.install()
    assert loopback.installed()
    wrapped = TCPv4ActorAddress(None, 0, external=True)
    assert wrapped.bindname[0] == "127.0.0.1" and wrapped.sockname[0] == "127.0.0.1"
    # Thespian's own initialisation (the wrap's target) binds every interface
    raw = TCPv4ActorAddress.__new__(TCPv4ActorAddress)
    IPActorAddress.__init__.__wrapped__(
        raw, socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, None, 0, True
    )
    assert raw.bindname[0] == "" and raw.sockname == wrapped.sockname
    # non-loopback advertised hosts keep Thespian's behaviour (cluster mode)
    other = TCPv4ActorAddress("10.1.2.3", 1234, external=True)
    assert other.bindname == ("", 1234)


def test_shutdown_leaves_no_process() -> None:
    rt = RuntimeSystem("local").start()
    try:
        rt.start_supervisor(SupFlags(), [ChildSpec("a", Echo), ChildSpec("b", Echo)])
        pids = rt.pids()
        assert len(pids) >= 5
    finally:
        leftovers = rt.shutdown()
    assert leftovers == []
    assert not [p for p in pids if alive(p)]
    assert rt.shutdown() == []  # idempotent


def _wait_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    with contextlib.suppress(AssertionError):
        eventually(lambda: not [p for p in pids if alive(p)], timeout=timeout, step=0.1)
    return [p for p in pids if alive(p)]


def test_shutdown_on_error_in_the_with_block() -> None:
    pids: list[int] = []
    with pytest.raises(ZeroDivisionError), start_system("local") as rt:
        rt.start_supervisor(SupFlags(), [ChildSpec("a", Echo)])
        pids = rt.pids()
        raise ZeroDivisionError
    assert len(pids) >= 4 and _wait_gone(pids) == []


def test_shutdown_at_interpreter_exit() -> None:
    script = (
        "from actors.runtime import ChildSpec, RuntimeSystem, SupFlags\n"
        "from tests.runtime.workers import Echo\n"
        "rt = RuntimeSystem('local').start()\n"
        "rt.start_supervisor(SupFlags(), [ChildSpec('a', Echo)])\n"
        "print(' '.join(map(str, rt.pids())), flush=True)\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) >= 4
    left = _wait_gone(pids)
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert left == []
