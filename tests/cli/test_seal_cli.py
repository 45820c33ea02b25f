"""``megabrain evolve --runtime local --workers 2 --mesh``: the probe of
``tests/runtime/sealprobe.py`` sent to every Thespian listener of the run's processes
runs nothing, kills nothing, and the run goes on and ends cleanly."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil
import pytest
from thespian.system.transport.streamBuffer import ackDataErrMsg

from actors.runtime import procs, seal
from tests.cli.test_lifecycle import Run, _lines
from tests.runtime import sealprobe
from tests.runtime.conftest import eventually
from tests.runtime.lifeline_procs import survivors

pytestmark = pytest.mark.multiproc


def test_an_island_run_refuses_the_probe_on_every_thespian_listener(tmp_path: Path) -> None:
    status, control = tmp_path / "status.json", tmp_path / "control.json"
    marker = tmp_path / "planted"
    run = Run(tmp_path, "--mesh", "--realm", "seal", "--linger", "0",
              "--mesh-status", str(status), "--control-file", str(control))  # fmt: skip
    try:
        info = eventually(lambda: control.exists() and json.loads(control.read_text()), 30.0)
        control_port = int(str(info["control"]).rsplit(":", 1)[1])  # the mesh's, not Thespian's
        listening = procs.listeners([run.proc.pid, *run.pids])
        targets = sorted({(x.host, x.port) for x in listening if x.port != control_port})
        assert {x.pid for x in listening} >= {run.proc.pid, *run.pids}
        assert len(targets) >= 9  # the run, Admin, logger, registry, supervisors, monitor...
        generations = _lines(run.stats)

        answers = sealprobe.collect(sealprobe.launch(targets, marker), 30.0)

        assert not marker.exists()
        # each answer is Thespian's bad-frame reply under the run's own key: the stock
        # reply's pickle behind a 32-byte tag (stock Thespian would have said ACK)
        stock = ackDataErrMsg.split(b">", 1)[1]
        reply = next(iter(answers.values())).received
        assert reply.startswith(f"{len(stock) + seal.TAG_SIZE}>".encode())
        assert reply.endswith(stock)
        assert sealprobe.unrefused(answers, reply) == {}  # the same reply: one key everywhere
        assert all(psutil.pid_exists(p) for p in run.pids)
        eventually(lambda: _lines(run.stats) >= generations + 2, 90.0)  # it evolves on
        os.kill(run.proc.pid, signal.SIGTERM)
        assert run.proc.wait(timeout=60) == 130
        assert survivors(run.pids, 10.0) == []
        assert "Traceback" not in run.stderr()
    finally:
        run.close()
