"""An evolution whose exoselves run on two ``megabrain worker`` processes (127.0.0.1): the same
champion (bytes) and counters as the run with a local exoself, also when one worker is
SIGKILLed mid-run (its exoselves are placed again on the other, the evaluations they had in
flight repeated)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from actors.evolution.monitor import Immigrated, StepDone
from actors.evolution.remote_workers import RemoteWorkers
from actors.evolution.run import EvolveOptions, RunResult, evolve
from actors.genotype import encode_agent
from actors.remote.gateway import GatewayConfig
from tests.evolution.helpers import small_config
from tests.remote.test_remote_actors import WorkerProc, stop_all

pytestmark = pytest.mark.multiproc

CONFIG = small_config(10, max_evaluations="none", max_generations=6, fitness_goal=1e9)


@pytest.fixture()
def workers(tmp_path: Path) -> Iterator[list[WorkerProc]]:
    procs: list[WorkerProc] = []
    try:
        a = WorkerProc(tmp_path, "a", "--advert-interval", "1")
        procs.append(a)
        procs.append(WorkerProc(tmp_path, "b", "--bootstrap", a.listen, "--advert-interval", "1"))
        yield procs
    finally:
        stop_all(None, procs)


def _remote(tmp: Path, a: WorkerProc, min_nodes: int) -> RemoteWorkers:
    gw = GatewayConfig(key_file=str(tmp / "driver.key"), bootstrap=(a.listen,),
                       ping_interval=0.5, ping_deadline=3.0)  # fmt: skip
    return RemoteWorkers(gw, min_nodes=min_nodes, wait_timeout=60)


def _same(remote: RunResult, local: RunResult) -> None:
    assert remote.champion is not None and local.champion is not None
    assert encode_agent(remote.champion) == encode_agent(local.champion)
    for key in ("evaluations", "generations", "best_fitness", "reason"):
        assert getattr(remote, key) == getattr(local, key), key


class KillAfter:
    """Kills ``victim`` shortly after step ``k`` has been reported (so mid-way through the
    next one) and counts the evaluations the monitor repeated."""

    def __init__(self, victim: WorkerProc, k: int) -> None:
        self.victim, self.k, self.steps, self.restarts = victim, k, 0, 0
        self.infos: list[str] = []

    def after_step(self, step: StepDone) -> Sequence[bytes]:
        self.restarts += step.restarts
        self.infos.extend(step.infos)
        self.steps += 1
        if self.steps == self.k:
            threading.Timer(0.05, self.victim.kill).start()
        return ()

    def adopted(self, data: bytes, result: Immigrated) -> None:
        raise AssertionError("nothing is adopted")


def test_remote_exoselves_give_the_local_result_and_survive_a_worker_sigkill(
    workers: list[WorkerProc], tmp_path: Path
) -> None:
    a, b = workers
    local = evolve(EvolveOptions("xor", seed=3, config=CONFIG))
    remote = evolve(EvolveOptions("xor", seed=3, config=CONFIG, runtime="local", workers=2,
                                  remote=_remote(tmp_path, a, 2)))  # fmt: skip
    _same(remote, local)
    placed = {row[2].split("/")[0] for row in remote.placement}
    assert placed == {a.node, b.node}  # one exoself on each worker
    # again, killing worker B (it holds one of the two exoselves) during the third step
    killer = KillAfter(b, 2)
    again = evolve(EvolveOptions("xor", seed=3, config=CONFIG, runtime="local", workers=2,
                                 remote=_remote(tmp_path, a, 2)), hook=killer)  # fmt: skip
    assert not b.alive()
    _same(again, local)
    assert killer.restarts >= 1, killer.infos  # evaluations were lost and repeated
    assert any("repeating the evaluation" in line for line in killer.infos)


def test_a_run_without_worker_nodes_says_so(tmp_path: Path) -> None:
    from actors.evolution.errors import EvolutionUsageError

    gw = GatewayConfig(key_file=str(tmp_path / "lonely.key"))
    with pytest.raises(EvolutionUsageError, match="worker node"):
        evolve(EvolveOptions("xor", seed=1, config=CONFIG,
                             remote=RemoteWorkers(gw, wait_timeout=2)))  # fmt: skip


def test_megabrain_evolve_remote_workers(workers: list[WorkerProc], tmp_path: Path) -> None:
    import json

    from actors.cli import main

    a = workers[0]
    base = ["evolve", "xor", "--seed", "2", "--population", "6", "--max-generations", "3",
            "--fitness-goal", "1e9", "--quiet"]  # fmt: skip
    assert main([*base, "--json", str(tmp_path / "local.json")]) == 0
    remote = [*base, "--json", str(tmp_path / "remote.json"), "--remote-workers", "--workers",
              "2", "--key", str(tmp_path / "cli.key"), "--bootstrap", a.listen,
              "--remote-min-nodes", "2"]  # fmt: skip
    assert main(remote) == 0
    got = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("local", "remote")]
    for key in ("evaluations", "generations", "best_fitness", "champion_id"):
        assert got[0][key] == got[1][key], key
    placed = got[1]["exoself_placement"]
    assert [row["id"] for row in placed] == ["exoself-0", "exoself-1"]
    assert {row["address"].split("/")[0] for row in placed} == {w.node for w in workers}
    champions = [(tmp_path / f"{n}.champion.json").read_bytes() for n in ("local", "remote")]
    assert champions[0] == champions[1]
