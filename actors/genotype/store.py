"""``GenotypeStore``: agents, species, populations and per-generation checkpoints in
SQLite (WAL), the role Mnesia plays in DXNN.

Rows hold the canonical encodings of :mod:`actors.genotype.codec`; every read decodes and
validates, and a row that does not decode raises :class:`StoreError`.

Transactions: every method runs in its own transaction unless called inside
``with store.transaction():``, which groups them (``BEGIN IMMEDIATE`` … ``COMMIT``, rolled
back if the block raises). :meth:`GenotypeStore.commit_generation` writes a whole
generation -- population, species, agents and the checkpoint row -- in one transaction,
so a process killed at any moment leaves a database that opens and holds whole
generations only; :meth:`GenotypeStore.last_checkpoint` is where a run resumes.

With ``synchronous="NORMAL"`` (the default) a committed transaction survives the process
being killed; ``"FULL"`` also survives power loss, at some write speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import msgpack

from actors.genotype.codec import (
    DEFAULT_LIMITS,
    CodecLimits,
    decode_record,
    encode_record,
    fingerprint_digest,
)
from actors.genotype.errors import GenotypeDecodeError, StoreError
from actors.genotype.records import Agent, Population, Specie

__all__ = ["Checkpoint", "GenotypeStore", "decode_rng_state", "encode_rng_state"]

STORE_SCHEMA_VERSION = 1
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS populations (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS species (
    id TEXT PRIMARY KEY,
    population_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS species_population ON species (population_id);
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    population_id TEXT,
    specie_id TEXT,
    generation INTEGER NOT NULL,
    fitness REAL,
    fingerprint TEXT NOT NULL,
    neurons INTEGER NOT NULL,
    links INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS agents_population ON agents (population_id);
CREATE INDEX IF NOT EXISTS agents_specie ON agents (specie_id);
CREATE TABLE IF NOT EXISTS checkpoints (
    population_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    population BLOB NOT NULL,
    species BLOB NOT NULL,
    agents BLOB NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (population_id, generation)
);
"""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One committed generation of a population, as :meth:`commit_generation` wrote it.

    ``state`` is the caller's opaque bytes (e.g. the evolution loop's RNG state)."""

    population_id: str
    generation: int
    population: Population
    species: tuple[Specie, ...]
    agents: tuple[Agent, ...]
    state: bytes


def encode_rng_state(rng: random.Random) -> bytes:
    """The state of ``rng`` as canonical bytes, for :attr:`Checkpoint.state` (so a resumed
    run draws exactly the numbers the killed one would have)."""
    version, internal, gauss = rng.getstate()
    return cast(bytes, msgpack.packb([version, list(internal), gauss]))


def decode_rng_state(data: bytes) -> random.Random:
    """A :class:`random.Random` in the state :func:`encode_rng_state` saved; raises
    :class:`StoreError` if ``data`` is not such a state."""
    try:
        version, internal, gauss = msgpack.unpackb(data)
        rng = random.Random()
        rng.setstate((version, tuple(internal), gauss))
    except Exception as exc:  # msgpack and setstate raise several types on bad input
        raise StoreError(f"not a saved RNG state: {exc}") from exc
    return rng


class GenotypeStore:
    """A SQLite genotype store at ``path`` (created if missing). Not thread-safe: use one
    store object per thread or process; several processes may share one file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        limits: CodecLimits = DEFAULT_LIMITS,
        synchronous: str = "NORMAL",
        busy_timeout: float = 30.0,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise StoreError("synchronous must be NORMAL or FULL")
        self._limits = limits
        self._depth = 0
        try:
            self._db = sqlite3.connect(os.fspath(path), timeout=busy_timeout, isolation_level=None)
            self._x("PRAGMA journal_mode=WAL")
            self._x(f"PRAGMA synchronous={synchronous}")
            self._x("PRAGMA foreign_keys=ON")
            with self.transaction():
                version = self._x("PRAGMA user_version").fetchone()[0]
                if version not in (0, STORE_SCHEMA_VERSION):
                    raise StoreError(f"store schema version {version} is not supported")
                if version == 0:  # executescript would COMMIT: run statements one by one
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._x(statement)
                self._x(f"PRAGMA user_version={STORE_SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> GenotypeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _x(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Execute one statement; SQLite failures (locked, disk full, corrupt file) become
        :class:`StoreError`."""
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StoreError(f"store operation failed: {exc}") from exc

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        """Group the calls made inside into one atomic transaction (nesting joins the
        outer one); ``write=False`` starts a deferred (read) transaction, which gives a
        consistent snapshot without blocking writers."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._x("BEGIN IMMEDIATE" if write else "BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise StoreError(f"commit failed: {exc}") from exc

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when sound)."""
        return cast(str, self._x("PRAGMA integrity_check").fetchone()[0])

    # -- helpers ------------------------------------------------------------------------
    def _decode(self, data: bytes, kind: str, cls: type[T]) -> T:
        try:
            record = decode_record(data, kind, self._limits)
        except GenotypeDecodeError as exc:
            raise StoreError(f"stored {kind} does not decode: {exc}") from exc
        return cast(T, record)

    def _one(self, sql: str, args: Sequence[Any]) -> Any:
        row = self._x(sql, args).fetchone()
        return None if row is None else row[0]

    # -- agents -------------------------------------------------------------------------
    def put_agent(self, agent: Agent) -> None:
        """Insert or replace ``agent`` (validated and canonically encoded)."""
        data = encode_record(agent)
        neurons, links = agent.size()
        with self.transaction():
            self._x(
                "INSERT OR REPLACE INTO agents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    agent.id,
                    agent.population_id,
                    agent.specie_id,
                    agent.generation,
                    agent.fitness,
                    fingerprint_digest(agent),
                    neurons,
                    links,
                    data,
                ),
            )

    def get_agent(self, agent_id: str) -> Agent | None:
        data = self._one("SELECT data FROM agents WHERE id = ?", (agent_id,))
        return None if data is None else self._decode(data, "agent", Agent)

    def get_agent_bytes(self, agent_id: str) -> bytes | None:
        """The stored canonical encoding (what a node would send), not decoded."""
        data = self._one("SELECT data FROM agents WHERE id = ?", (agent_id,))
        return None if data is None else bytes(data)

    def list_agents(
        self, *, population_id: str | None = None, specie_id: str | None = None
    ) -> list[str]:
        """Agent ids, optionally of one population and/or species, sorted."""
        sql = "SELECT id FROM agents WHERE 1=1"
        args: list[str] = []
        if population_id is not None:
            sql, args = sql + " AND population_id = ?", [*args, population_id]
        if specie_id is not None:
            sql, args = sql + " AND specie_id = ?", [*args, specie_id]
        return [r[0] for r in self._x(sql + " ORDER BY id", args)]

    def delete_agent(self, agent_id: str) -> bool:
        with self.transaction():
            cur = self._x("DELETE FROM agents WHERE id = ?", (agent_id,))
        return cur.rowcount > 0

    # -- species ------------------------------------------------------------------------
    def put_specie(self, specie: Specie) -> None:
        with self.transaction():
            self._x(
                "INSERT OR REPLACE INTO species VALUES (?, ?, ?, ?)",
                (specie.id, specie.population_id, specie.fingerprint, encode_record(specie)),
            )

    def get_specie(self, specie_id: str) -> Specie | None:
        data = self._one("SELECT data FROM species WHERE id = ?", (specie_id,))
        return None if data is None else self._decode(data, "specie", Specie)

    def list_species(self, *, population_id: str | None = None) -> list[str]:
        if population_id is None:
            return [r[0] for r in self._x("SELECT id FROM species ORDER BY id")]
        rows = self._x(
            "SELECT id FROM species WHERE population_id = ? ORDER BY id", (population_id,)
        )
        return [r[0] for r in rows]

    def delete_specie(self, specie_id: str) -> bool:
        with self.transaction():
            cur = self._x("DELETE FROM species WHERE id = ?", (specie_id,))
        return cur.rowcount > 0

    # -- populations --------------------------------------------------------------------
    def put_population(self, population: Population) -> None:
        with self.transaction():
            self._x(
                "INSERT OR REPLACE INTO populations VALUES (?, ?)",
                (population.id, encode_record(population)),
            )

    def get_population(self, population_id: str) -> Population | None:
        data = self._one("SELECT data FROM populations WHERE id = ?", (population_id,))
        return None if data is None else self._decode(data, "population", Population)

    def list_populations(self) -> list[str]:
        return [r[0] for r in self._x("SELECT id FROM populations ORDER BY id")]

    def delete_population(self, population_id: str) -> bool:
        """Delete a population with its species, agents and checkpoints."""
        with self.transaction():
            for table, key in (
                ("agents", "population_id"),
                ("species", "population_id"),
                ("checkpoints", "population_id"),
            ):
                self._x(f"DELETE FROM {table} WHERE {key} = ?", (population_id,))
            cur = self._x("DELETE FROM populations WHERE id = ?", (population_id,))
        return cur.rowcount > 0

    # -- generations --------------------------------------------------------------------
    def commit_generation(
        self,
        population: Population,
        generation: int,
        species: Iterable[Specie],
        agents: Iterable[Agent],
        *,
        state: bytes = b"",
        prune: bool = False,
    ) -> None:
        """Write one whole generation atomically: the population, its species and agents,
        and a checkpoint row naming them (with a hash of each agent's encoding). With
        ``prune``, agents and species of the population not in this generation are
        deleted in the same transaction. Re-committing a generation replaces it."""
        species_t, agents_t = tuple(species), tuple(agents)
        if type(generation) is not int or generation < 0:
            raise StoreError("generation must be an int >= 0")
        records: list[Specie | Agent] = [*species_t, *agents_t]
        for record in records:
            if record.population_id != population.id:
                raise StoreError(f"{record.id} does not belong to population {population.id}")
        encoded = [(a, encode_record(a)) for a in agents_t]
        manifest = [[a.id, hashlib.sha256(data).hexdigest()] for a, data in encoded]
        with self.transaction():
            self.put_population(population)
            for s in species_t:
                self.put_specie(s)
            for a, data in encoded:
                neurons, links = a.size()
                self._x(
                    "INSERT OR REPLACE INTO agents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a.id,
                        a.population_id,
                        a.specie_id,
                        a.generation,
                        a.fitness,
                        fingerprint_digest(a),
                        neurons,
                        links,
                        data,
                    ),
                )
            if prune:
                keep_a = {a.id for a in agents_t}
                keep_s = {s.id for s in species_t}
                for aid in self.list_agents(population_id=population.id):
                    if aid not in keep_a:
                        self._x("DELETE FROM agents WHERE id = ?", (aid,))
                for sid in self.list_species(population_id=population.id):
                    if sid not in keep_s:
                        self._x("DELETE FROM species WHERE id = ?", (sid,))
            self._x(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?)",
                (
                    population.id,
                    generation,
                    encode_record(population),
                    msgpack.packb([s.id for s in species_t]),
                    msgpack.packb(manifest),
                    bytes(state),
                ),
            )

    def list_checkpoints(self, population_id: str) -> list[int]:
        rows = self._x(
            "SELECT generation FROM checkpoints WHERE population_id = ? ORDER BY generation",
            (population_id,),
        )
        return [r[0] for r in rows]

    def last_checkpoint(self, population_id: str) -> Checkpoint | None:
        """The newest committed generation of the population, or ``None``."""
        gens = self.list_checkpoints(population_id)
        return self.load_checkpoint(population_id, gens[-1]) if gens else None

    def load_checkpoint(self, population_id: str, generation: int) -> Checkpoint:
        """Load a checkpoint with its records. Raises :class:`StoreError` if it does not
        exist, or if one of its agents was pruned or rewritten since (an older checkpoint
        after later generations replaced its agents)."""
        with self.transaction(write=False):  # one consistent snapshot
            row = self._x(
                "SELECT population, species, agents, state FROM checkpoints"
                " WHERE population_id = ? AND generation = ?",
                (population_id, generation),
            ).fetchone()
            if row is None:
                raise StoreError(f"no checkpoint {population_id} generation {generation}")
            pop_data, species_ids, manifest, state = row
            try:
                specie_list = msgpack.unpackb(species_ids)
                entries = msgpack.unpackb(manifest)
            except Exception as exc:
                raise StoreError(f"checkpoint row does not decode: {exc}") from exc
            agents: list[Agent] = []
            for agent_id, digest in entries:
                data = self.get_agent_bytes(agent_id)
                if data is None or hashlib.sha256(data).hexdigest() != digest:
                    raise StoreError(f"agent {agent_id} of this checkpoint is gone or changed")
                agents.append(self._decode(data, "agent", Agent))
            species: list[Specie] = []
            for sid in specie_list:
                specie = self.get_specie(sid)
                if specie is None:
                    raise StoreError(f"specie {sid} of this checkpoint is gone")
                species.append(specie)
        return Checkpoint(
            population_id=population_id,
            generation=generation,
            population=self._decode(pop_data, "population", Population),
            species=tuple(species),
            agents=tuple(agents),
            state=bytes(state),
        )
