"""The transport seal in ``cluster`` mode: a two-member convention on 127.0.0.1 sharing
a secret refuses the probe on every listener and keeps working; a member sealed with
another secret never joins, one with the right secret does."""

from __future__ import annotations

import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from thespian.system.transport import TCPTransport

from actors.runtime import ChildSpec, ConventionWatcher, RuntimeSystem, SealError, seal
from tests.runtime import sealprobe
from tests.runtime.conftest import eventually, uniq
from tests.runtime.lifeline_procs import ROOT, descendants, env, stop
from tests.runtime.workers import Echo

pytestmark = [pytest.mark.cluster, pytest.mark.multiproc]


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.secret"
    seal.write_secret_file(path)
    return path


def _cluster(secret_file: Path, zone: str, leader: RuntimeSystem | None = None) -> RuntimeSystem:
    return RuntimeSystem(
        "cluster",
        host="127.0.0.1",
        leader=None if leader is None else f"127.0.0.1:{leader.admin_port}",
        capabilities={"zone": zone},
        convention_period=0.5,
        secret_file=secret_file,
    ).start()


@pytest.fixture
def leader(secret_file: Path) -> Iterator[RuntimeSystem]:
    rt = _cluster(secret_file, "a")
    try:
        yield rt
    finally:
        rt.shutdown()
    assert rt.leftovers == []


def test_a_sealed_convention_refuses_the_probe(
    leader: RuntimeSystem, secret_file: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "planted"
    member = _cluster(secret_file, "b", leader)
    try:
        watcher = leader.asys.createActor(ConventionWatcher)
        eventually(lambda: len(leader.request(watcher, "members")) == 1, timeout=30, step=0.2)
        placed = leader.start_root(
            ChildSpec("placed", Echo, requirements={"zone": "b"}, name=uniq("placed")), timeout=30
        )
        assert leader.request(placed, "pid", timeout=10) in member.pids()
        pids = leader.pids() + member.pids()
        targets = sorted({(x.host, x.port) for x in leader.listeners() + member.listeners()})
        assert len(targets) >= 8  # a driver, two Admins, loggers, registry, the placed actor

        sent = sealprobe.launch(targets, marker)
        # each system's driver endpoint (both in this process) is served while it runs
        answers = sealprobe.collect(
            sent, 20.0, drive=lambda: (leader.request(watcher, "members"), member.whereis("x"))
        )

        assert not marker.exists()
        assert len(answers) == 3 * len(targets)
        # every listener answered, sealed with the shared secret, and closed
        assert sealprobe.unrefused(answers, TCPTransport.ackDataErrMsg) == {}
        assert all(psutil.pid_exists(p) for p in pids)
        installed, print_, rejected = leader.request(placed, "seal", timeout=10)
        assert installed and print_ == seal.fingerprint() and rejected == 3
        # the convention still works: membership, placement, round trips
        assert len(leader.request(watcher, "members")) == 1
        again = leader.start_root(
            ChildSpec("again", Echo, requirements={"zone": "b"}, name=uniq("again")), timeout=30
        )
        assert leader.request(again, "pid", timeout=10) in member.pids()
        assert leader.request(placed, "after", timeout=10) == "after"
    finally:
        member.shutdown(timeout=4)
    assert member.leftovers == []


def test_a_second_secret_in_the_same_process_is_refused(
    leader: RuntimeSystem, tmp_path: Path
) -> None:
    other = tmp_path / "other.secret"
    seal.write_secret_file(other)
    with pytest.raises(SealError, match="another key"):
        _cluster(other, "b", leader)


class Member:
    """A cluster member in its own process (:mod:`tests.runtime.seal_member`)."""

    def __init__(self, leader: RuntimeSystem, secret_file: Path, zone: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.runtime.seal_member",
             f"127.0.0.1:{leader.admin_port}", str(secret_file), zone],
            cwd=ROOT, env=env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60.0)
        line = self.proc.stdout.readline() if ready else b""
        assert line == b"ready\n", f"the member did not start (exit {self.proc.poll()})"
        self.pids = descendants(self.proc.pid)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # it shuts its system down and exits
        try:
            self.proc.wait(timeout=20)
        finally:
            stop(self.proc, self.pids)


def test_a_member_with_another_secret_cannot_join(
    leader: RuntimeSystem, secret_file: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.secret"
    seal.write_secret_file(wrong)
    watcher = leader.asys.createActor(ConventionWatcher)
    intruder = Member(leader, wrong, "b")
    try:
        assert intruder.pids  # its Admin runs, and it registers every 0.5 s
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            assert leader.request(watcher, "members") == {}
            time.sleep(0.2)
        assert all(psutil.pid_exists(p) for p in leader.pids())
    finally:
        intruder.close()
    # the same member with the convention's secret joins (the check above can fail)
    friend = Member(leader, secret_file, "b")
    try:
        eventually(lambda: len(leader.request(watcher, "members")) == 1, timeout=30, step=0.2)
    finally:
        friend.close()
