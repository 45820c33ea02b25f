"""``megabrain evolve --runtime cluster``: three members of a Thespian convention on 127.0.0.1.

Process 1 is ``megabrain cluster join`` as the convention leader (capability ``role=lead``,
OS-chosen admin port); process 2 another ``cluster join``, a member with ``role=evaluator``;
process 3 the evolution, a member with ``role=driver`` whose exoselves require
``role=evaluator`` (a member hears only of the leader: the run must learn of the evaluator
through the leader). The exoselves must run as processes of the evaluator (their pids, which
the run reports, are seen among its descendants while the run goes on), and the run must end
with the champion (bytes) and counters of ``--runtime simple`` for the same seed: every task
carries its own seed, so where an exoself runs changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from actors.cli import main

pytestmark = [pytest.mark.cluster, pytest.mark.multiproc]

RUN = ["xor", "--seed", "5", "--population", "8", "--max-generations", "3", "--quiet"]
FIELDS = ("evaluations", "generations", "best_fitness", "champion_id", "solved", "reason")


def _megabrain(*args: str) -> list[str]:
    return [sys.executable, "-m", "actors", *args]


def _wait_file(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return dict(json.loads(path.read_text()))
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"{path} not written within {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            proc.kill()
            proc.wait(5)


def test_exoselves_placed_on_the_matching_member_give_the_simple_run(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    assert main(["cluster", "secret", str(secret)]) == 0
    assert secret.stat().st_mode & 0o777 == 0o600
    leader = subprocess.Popen(
        _megabrain("cluster", "join", "--secret-file", str(secret),
                   "--capability", "role=lead", "--ready-file", str(tmp_path / "leader.json")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    join = None
    evolve = None
    seen: set[int] = set()
    done = threading.Event()
    try:
        port = _wait_file(tmp_path / "leader.json", leader, 60)["admin_port"]
        ready = tmp_path / "ready.json"
        join = subprocess.Popen(
            _megabrain("cluster", "join", "--secret-file", str(secret),
                       "--leader", f"127.0.0.1:{port}", "--capability", "role=evaluator",
                       "--ready-file", str(ready)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        _wait_file(ready, join, 60)

        def sample() -> None:  # the join member's processes while the run goes on
            parent = psutil.Process(join.pid)
            while not done.wait(0.02):
                with contextlib.suppress(psutil.Error):
                    seen.update(p.pid for p in parent.children(recursive=True))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out = tmp_path / "cluster.json"
        evolve = subprocess.Popen(
            _megabrain("evolve", *RUN, "--workers", "2", "--runtime", "cluster",
                       "--secret-file", str(secret), "--leader", f"127.0.0.1:{port}",
                       "--capability", "role=driver", "--exoself-requires", "role=evaluator",
                       "--json", str(out)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, stderr = evolve.communicate(timeout=100)
        done.set()
        sampler.join(5)
        assert evolve.returncode == 0, stderr.decode()
        cluster = json.loads(out.read_text())
        assert assert_placed(cluster, seen, evolve.pid)
    finally:
        done.set()
        for proc in (evolve, join, leader):
            if proc is not None:
                _stop(proc)
    assert join is not None and join.returncode == 130, join.communicate()  # left in order
    assert leader.returncode == 130, leader.communicate()
    simple_out = tmp_path / "simple.json"
    assert main(["evolve", *RUN, "--workers", "2", "--json", str(simple_out)]) == 0
    simple = json.loads(simple_out.read_text())
    assert {k: cluster[k] for k in FIELDS} == {k: simple[k] for k in FIELDS}
    assert cluster["evaluations"] > 8  # more than one generation's worth was placed
    assert (tmp_path / "cluster.champion.json").read_bytes() == (
        tmp_path / "simple.champion.json"
    ).read_bytes()


def assert_placed(summary: dict[str, object], join_pids: set[int], driver: int) -> bool:
    placement = summary["exoself_placement"]
    assert isinstance(placement, list)
    assert [row["id"] for row in placement] == ["exoself-0", "exoself-1"]
    pids = {row["pid"] for row in placement}
    assert len(pids) == 2 and pids <= join_pids, (pids, join_pids)
    assert driver not in join_pids and os.getpid() not in pids
    return True


def test_cluster_flags_are_refused_without_the_cluster_runtime(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["evolve", "xor", "--exoself-requires", "role=x"])
    assert info.value.code == 2
    assert "--exoself-requires: only with --runtime cluster" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["evolve", "xor", "--runtime", "cluster"])
    assert info.value.code == 2
    assert "needs --secret-file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["evolve", "xor", "--runtime", "cluster", "--secret-file", str(tmp_path / "s"),
              "--leader", "nowhere"])  # fmt: skip
    assert info.value.code == 2
    assert "leader must be HOST:PORT" in capsys.readouterr().err


def test_no_qualifying_member_is_a_clear_error(tmp_path: Path) -> None:
    from actors.evolution.cluster import ClusterOptions
    from actors.evolution.errors import EvolutionUsageError
    from actors.evolution.run import EvolveOptions, evolve
    from actors.runtime import seal

    secret = tmp_path / "secret"
    seal.write_secret_file(secret)
    opts = EvolveOptions(
        "xor",
        runtime="cluster",
        cluster=ClusterOptions(
            str(secret),
            capabilities={"role": "driver"},
            exoself_requirements={"role": "evaluator"},
            placement_timeout=1.5,
        ),
    )
    with pytest.raises(EvolutionUsageError, match="no system of the convention meets"):
        evolve(opts)
