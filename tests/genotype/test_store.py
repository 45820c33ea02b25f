from __future__ import annotations

import dataclasses
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from actors.genotype import (
    Agent,
    Population,
    Specie,
    StoreError,
    fingerprint_digest,
    mutate,
    offspring,
)
from actors.genotype.store import GenotypeStore
from tests.genotype.conftest import seed_agent

ROOT = Path(__file__).resolve().parents[2]
POP = "p-0000000000000001"
SP = "e-0000000000000001"


def member(seed: int) -> Agent:
    a = seed_agent(seed)
    a = mutate(a, random.Random(seed))
    return dataclasses.replace(a, population_id=POP, specie_id=SP)


def specie(agents: list[Agent]) -> Specie:
    return Specie(
        SP, POP, fingerprint_digest(agents[0]), agents[0].constraint, tuple(a.id for a in agents)
    )


def test_agent_crud(tmp_path: Path) -> None:
    with GenotypeStore(tmp_path / "g.db") as store:
        a, b = member(1), member(2)
        store.put_agent(a)
        store.put_agent(b)
        assert store.get_agent(a.id) == a
        assert store.list_agents() == sorted([a.id, b.id])
        assert store.list_agents(population_id="p-00000000000000ff") == []
        assert store.list_agents(specie_id=SP) == sorted([a.id, b.id])
        assert store.delete_agent(a.id) and not store.delete_agent(a.id)
        assert store.get_agent(a.id) is None
        assert store.integrity_check() == "ok"
    with GenotypeStore(tmp_path / "g.db") as store:  # reopens, data kept
        assert store.get_agent(b.id) == b


def test_species_populations_and_cascade(tmp_path: Path) -> None:
    with GenotypeStore(tmp_path / "g.db") as store:
        agents = [member(i) for i in range(3)]
        pop = Population(POP, specie_ids=(SP,), morphologies=("multi",))
        store.commit_generation(pop, 0, [specie(agents)], agents)
        assert store.get_population(POP) == pop
        assert store.get_specie(SP) == specie(agents)
        assert store.list_species(population_id=POP) == [SP]
        assert store.list_populations() == [POP]
        assert store.delete_population(POP)
        assert store.list_agents() == [] and store.list_species() == []
        assert store.list_checkpoints(POP) == []


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    with GenotypeStore(tmp_path / "g.db") as store:
        a, b = member(1), member(2)
        with pytest.raises(RuntimeError), store.transaction():
            store.put_agent(a)
            store.put_agent(b)
            raise RuntimeError("boom")
        assert store.list_agents() == []


def test_generations_checkpoints_and_resume(tmp_path: Path) -> None:
    rng = random.Random(0)
    with GenotypeStore(tmp_path / "g.db") as store:
        agents = [member(i) for i in range(4)]
        pop = Population(POP, specie_ids=(SP,))
        for g in range(3):
            store.commit_generation(pop, g, [specie(agents)], agents, state=bytes([g]), prune=True)
            agents = [offspring(a, rng) for a in agents]
        assert store.list_checkpoints(POP) == [0, 1, 2]
        last = store.last_checkpoint(POP)
        assert last is not None and last.generation == 2 and last.state == b"\x02"
        assert len(store.list_agents(population_id=POP)) == 4  # pruned to the last generation
        assert {a.id for a in last.agents} == set(store.list_agents(population_id=POP))
        with pytest.raises(StoreError, match="gone or changed"):
            store.load_checkpoint(POP, 0)  # its agents were pruned
        with pytest.raises(StoreError):
            store.load_checkpoint(POP, 7)
        outsider = dataclasses.replace(member(9), population_id="p-0000000000000002")
        with pytest.raises(StoreError):
            store.commit_generation(pop, 3, [], [outsider])


def test_corrupt_row_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    with GenotypeStore(path) as store:
        a = member(1)
        store.put_agent(a)
    db = sqlite3.connect(path)
    db.execute("UPDATE agents SET data = ? WHERE id = ?", (b"\x93garbage", a.id))
    db.commit()
    db.close()
    with GenotypeStore(path) as store, pytest.raises(StoreError):
        store.get_agent(a.id)


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            q.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return q


@pytest.mark.multiproc
def test_sigkill_mid_write_leaves_whole_generations(tmp_path: Path) -> None:
    """Kill the writer half-way through a generation's transaction, three times: the
    database opens, holds whole generations only, and the writer resumes after the last."""
    path = tmp_path / "crash.db"
    pop_id = "p-00000000000000aa"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    committed = -1
    rolled_back = 0
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.genotype._store_writer", str(path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            q = _lines(proc)
            resumed_at = None
            while True:
                kind, gen, *rest = q.get(timeout=90).split()
                if resumed_at is None:
                    resumed_at = int(gen)
                    assert resumed_at == committed + 1, "resumes after the last committed one"
                if kind == "committed":
                    committed = int(gen)
                elif int(gen) >= resumed_at + round_ + 1 and rest == ["5"]:
                    killed_in = int(gen)
                    break
            proc.send_signal(signal.SIGKILL)  # 6 of 12 agents written, not committed
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        with GenotypeStore(path) as store:
            assert store.integrity_check() == "ok"
            gens = store.list_checkpoints(pop_id)
            assert gens == list(range(len(gens))) and gens[-1] >= committed
            last = store.last_checkpoint(pop_id)
            assert last is not None and len(last.agents) == 12
            # only whole transactions: the agent rows are exactly the last generation's
            assert set(store.list_agents(population_id=pop_id)) == {a.id for a in last.agents}
            rolled_back += gens[-1] == killed_in - 1
            committed = gens[-1]
    assert rolled_back >= 1, "no kill landed inside a transaction"


def test_not_a_database_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a sqlite file" * 100)
    with pytest.raises(StoreError):
        GenotypeStore(path)


def test_read_transaction_is_a_consistent_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    with GenotypeStore(path) as reader, GenotypeStore(path) as writer:
        writer.put_agent(member(1))
        with reader.transaction(write=False):
            before = reader.list_agents()
            writer.put_agent(member(2))  # a committed write from another connection
            assert reader.list_agents() == before
        assert len(reader.list_agents()) == 2


def test_rng_state_round_trip() -> None:
    from actors.genotype import decode_rng_state, encode_rng_state

    rng = random.Random(5)
    rng.random()
    data = encode_rng_state(rng)
    clone = decode_rng_state(data)
    assert [clone.random() for _ in range(5)] == [rng.random() for _ in range(5)]
    for bad in (b"", b"\x93\x01\x02\x03", encode_rng_state(rng)[:-3]):
        with pytest.raises(StoreError):
            decode_rng_state(bad)
