"""Two actor systems in a Thespian convention on 127.0.0.1 (``cluster`` mode).

The leader and a member use OS-chosen admin ports. An actor whose requirements only
the member meets is placed there; the member then dies abruptly (SIGKILL of every
process) and the leader must notice within 30 s (tuned convention timers).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from actors.runtime import ChildSpec, ConventionWatcher, RuntimeSystem, SupFlags, seal
from actors.runtime.probe import Probe
from tests.runtime.conftest import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.multiproc]


def test_placement_by_capability_and_member_death_noticed(tmp_path: Path) -> None:
    secret = tmp_path / "cluster.secret"
    seal.write_secret_file(secret)
    leader = RuntimeSystem(
        "cluster",
        host="127.0.0.1",
        capabilities={"zone": "a"},
        convention_period=1.0,
        secret_file=secret,
    ).start()
    member = None
    try:
        member = RuntimeSystem(
            "cluster",
            host="127.0.0.1",
            leader=f"127.0.0.1:{leader.admin_port}",
            capabilities={"zone": "b"},
            convention_period=1.0,
            secret_file=secret,
        ).start()
        watcher = leader.asys.createActor(ConventionWatcher)
        eventually(lambda: len(leader.request(watcher, "members")) == 1, timeout=30, step=0.2)

        placed = leader.start_root(
            ChildSpec("placed", Probe, requirements={"zone": "b"}, name="placed"), timeout=30
        )
        # a supervisor on the leader whose child can only live on the member
        sup = leader.start_supervisor(
            SupFlags("one_for_one", intensity=1, period=60, start_timeout=2.0),
            [ChildSpec("remote", Probe, requirements={"zone": "b"}, name="remote")],
            name="remote.sup",
        )
        remote_pid = leader.request(leader.whereis("remote"), "pid", timeout=10)
        assert remote_pid in member.pids()
        sup_ref = leader.monitor(sup)
        pid = leader.request(placed, "pid", timeout=10)
        assert pid in member.pids() and pid not in leader.pids()
        assert leader.whereis("placed") == placed
        ref = leader.monitor("placed")

        t0 = time.monotonic()
        for p in member.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        eventually(lambda: leader.request(watcher, "members") == {}, timeout=30, step=0.2)
        noticed = time.monotonic() - t0
        assert noticed < 30
        history = leader.request(watcher, "history")
        assert [added for _, added in history] == [True, False]
        # the placed actor's death reaches its monitor on the leader
        assert leader.wait_down(ref, 30).reason.kind == "killed"
        # the supervisor saw its child lost, could not place it again (start
        # timeout), and gave up after its intensity
        down = leader.wait_down(sup_ref, 30)
        assert down.reason.reason == "reached_max_restart_intensity"
    finally:
        if member is not None:
            member.shutdown(timeout=4)
        leader.shutdown()
    assert leader.leftovers == []
    assert not [p for p in (member.pids() if member else []) if psutil.pid_exists(p)]
