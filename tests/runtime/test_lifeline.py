"""Every process of a ``local`` actor system dies with the process that started it, and every
actor with the Admin (:mod:`actors.runtime.lifeline`); checked by PID."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from actors.runtime import ChildSpec, SupFlags, start_system
from tests.runtime.lifeline_actors import DeathSig, death_signal
from tests.runtime.lifeline_procs import ROOT, descendants, env, kill_all, stop, survivors

pytestmark = pytest.mark.multiproc

Driver = tuple[subprocess.Popen[str], dict[str, Any]]


@pytest.fixture
def driver() -> Iterator[Driver]:
    """``tests.runtime.lifeline_driver`` running: the process and its JSON line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.runtime.lifeline_driver"],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    info: dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        yield proc, info
    finally:
        stop(proc, info.get("pids", []))


def test_the_admin_is_the_drivers_child_in_its_own_session(driver: Driver) -> None:
    proc, info = driver
    pids = info["pids"]
    # the Admin, its logger, the registry, 2 supervisors, 2 workers
    assert len(pids) >= 7
    assert sorted(pids) == sorted(descendants(proc.pid))  # all of them below the driver
    admin = psutil.Process(info["admin"])
    assert admin.ppid() == proc.pid
    assert os.getsid(admin.pid) != os.getsid(proc.pid)  # Ctrl-C reaches the driver alone


def test_sigkill_of_the_driver_takes_every_process_of_its_system(driver: Driver) -> None:
    proc, info = driver
    pids = info["pids"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert survivors(pids, 10.0) == []


def test_sigkill_of_the_admin_takes_every_actor_and_the_driver_sees_it(driver: Driver) -> None:
    proc, info = driver
    pids = info["pids"]
    os.kill(info["admin"], signal.SIGKILL)
    assert survivors(pids, 10.0) == []
    assert proc.wait(timeout=10) == 3
    assert proc.stdout is not None
    lost = f"lost: the actor system's Admin process (pid {info['admin']}) is gone"
    assert proc.stdout.read().strip() == lost


def _report(queue: Any) -> None:
    queue.put(death_signal())


def test_only_processes_of_the_system_are_tied() -> None:
    with start_system("local") as rt:
        rt.start_supervisor(SupFlags("one_for_one"), [ChildSpec("d", DeathSig, name="d")])
        try:
            assert rt.request("d", "pdeathsig") == signal.SIGKILL  # an actor: tied
            assert rt.request("d", "ppid") != os.getpid()  # (to its supervisor)
            # a process this driver forks itself is left alone, os.fork or multiprocessing
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                os.write(w, str(death_signal()).encode())
                os._exit(0)
            os.close(w)
            os.waitpid(pid, 0)
            assert os.read(r, 16) == b"0"
            os.close(r)
            ctx = multiprocessing.get_context("fork")
            queue = ctx.Queue()
            child = ctx.Process(target=_report, args=(queue,))
            child.start()
            assert queue.get(timeout=10) == 0
            child.join(10)
        finally:
            pids = rt.pids()
    assert rt.leftovers == []
    kill_all(pids)
