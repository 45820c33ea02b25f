"""Checkpoints of an evolution run in the :class:`~actors.genotype.GenotypeStore`.

After every generation (steady state: every ``population_size`` completions) the monitor
commits, in one SQLite transaction (:meth:`GenotypeStore.commit_generation`): the population
record, its species, every genotype the run still needs (the agents to evaluate next and
the halls of fame's champions) and an opaque ``state`` -- here canonical JSON holding the
run's settings, the core's counters, the queue of tasks with their seeds, the halls of fame,
the species table, the novelty archive, the champion (its encoding) and the random
generator's state. :func:`load_run` rebuilds an :class:`EvolutionCore` from the last
checkpoint, so a killed run continues from its last committed generation and, being
deterministic, ends exactly as an uninterrupted run with the same seed would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.evolution.config import EvolutionConfig, config_from_mapping
from actors.evolution.errors import EvolutionError
from actors.evolution.fitness import NoveltyArchive
from actors.evolution.hall_of_fame import Champion, HallOfFame
from actors.evolution.monitor_core import CoreState, EvolutionCore, Task
from actors.evolution.species import Innovation
from actors.genotype import (
    Agent,
    GenotypeStore,
    MorphologySpec,
    Population,
    Specie,
    decode_agent,
    encode_agent,
)

__all__ = ["RunRecord", "commit", "load_run", "state_from_json", "state_to_json"]

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What identifies a run besides its state: checked when resuming."""

    morphology: str
    seed: int
    backend: str
    config: EvolutionConfig


def _tuple(v: Any) -> Any:
    return tuple(_tuple(x) for x in v) if isinstance(v, list) else v


def _champ(c: Champion) -> list[Any]:
    key = c.key if isinstance(c.key, tuple) else (c.key,)
    return [c.agent_id, list(c.fitness), c.score, c.size, c.specie_id, list(key),
            c.generation, c.fs]  # fmt: skip


def state_to_json(core: EvolutionCore, record: RunRecord) -> bytes:
    """The core's state and the run record as canonical JSON bytes."""
    st = core.state
    doc = {
        "version": STATE_VERSION,
        "run": {
            "morphology": record.morphology,
            "seed": record.seed,
            "backend": record.backend,
            "config": record.config.to_dict(),
        },
        "rng": core.rng.getstate(),
        "generation": st.generation,
        "evaluations": st.evaluations,
        "pending": [[t.agent_id, t.seed, t.tune] for t in (*core.running, *st.pending)],
        "halls": [[sid, [_champ(c) for c in h.champions]] for sid, h in st.halls.items()],
        "species": list(st.species.items()),
        "archive": None
        if st.archive is None
        else {"behaviours": [list(b) for b in st.archive.behaviours], "t": st.archive.threshold},
        "innovation": [st.innovation.factor, st.innovation.best],
        "champion": None
        if st.champion is None
        else base64.b64encode(encode_agent(st.champion)).decode("ascii"),
        "champion_fitness": None if st.champion_fitness is None else list(st.champion_fitness),
        "solved_by": st.solved_by,
        "evaluations_to_solve": st.evaluations_to_solve,
        "finished": st.finished,
        "step_done": st.step_done,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def state_from_json(data: bytes) -> tuple[RunRecord, object, CoreState]:
    """Parse :func:`state_to_json`'s bytes: ``(record, rng state, core state)``."""
    try:
        doc = json.loads(data)
        if doc.get("version") != STATE_VERSION:
            raise EvolutionError(f"checkpoint state version {doc.get('version')!r}")
        run = doc["run"]
        record = RunRecord(
            run["morphology"], int(run["seed"]), run["backend"], config_from_mapping(run["config"])
        )
        halls = {
            sid: HallOfFame(
                sid,
                tuple(
                    Champion(a, tuple(f), s, n, sp, tuple(k), g, fs)
                    for a, f, s, n, sp, k, g, fs in entries
                ),
            )
            for sid, entries in doc["halls"]
        }
        arch = doc["archive"]
        state = CoreState(
            generation=doc["generation"],
            evaluations=doc["evaluations"],
            pending=[Task(a, s, t) for a, s, t in doc["pending"]],
            halls=halls,
            species=dict(doc["species"]),
            archive=None
            if arch is None
            else NoveltyArchive(tuple(tuple(b) for b in arch["behaviours"]), arch["t"]),
            innovation=Innovation(*doc["innovation"]),
            champion=None
            if doc["champion"] is None
            else decode_agent(base64.b64decode(doc["champion"])),
            champion_fitness=None
            if doc["champion_fitness"] is None
            else tuple(doc["champion_fitness"]),
            solved_by=doc["solved_by"],
            evaluations_to_solve=doc["evaluations_to_solve"],
            finished=doc["finished"],
            step_done=doc["step_done"],
        )
        return record, _tuple(doc["rng"]), state
    except EvolutionError:
        raise
    except Exception as exc:
        raise EvolutionError(f"unreadable checkpoint state: {exc}") from exc


def commit(store: GenotypeStore, core: EvolutionCore, record: RunRecord) -> int:
    """Commit the core's current state as a checkpoint; returns its generation number."""
    st = core.state
    species: dict[str, list[str]] = {}
    for agent in core.agents.values():
        species.setdefault(agent.specie_id or "s0", []).append(agent.id)
    key_of = {sid: key for key, sid in st.species.items()}
    cfg = record.config.monitor
    specie_records = [
        Specie(
            id=sid,
            population_id=core.population_id,
            fingerprint=key_of.get(sid, ""),
            constraint=core.constraint,
            agent_ids=tuple(sorted(ids)),
            champion_ids=st.halls[sid].ids() if sid in st.halls else (),
        )
        for sid, ids in sorted(species.items())
    ]
    population = Population(
        id=core.population_id,
        specie_ids=tuple(s.id for s in specie_records),
        morphologies=(record.morphology,),
        evo_alg_f=cfg.evolution_type,
        fitness_postprocessor_f=cfg.fitness_postprocessor,
        selection_f=cfg.selection_algorithm,
    )
    agents = [core.agents[k] for k in sorted(core.agents)]
    store.commit_generation(
        population,
        st.generation,
        specie_records,
        agents,
        state=state_to_json(core, record),
        prune=True,
    )
    return st.generation


def load_run(
    store: GenotypeStore, population_id: str, morphology: MorphologySpec
) -> tuple[RunRecord, EvolutionCore] | None:
    """The run's last checkpoint as a core ready to continue, or ``None`` if none."""
    cp = store.last_checkpoint(population_id)
    if cp is None:
        return None
    record, rng_state, state = state_from_json(cp.state)
    agents: Mapping[str, Agent] = {a.id: a for a in cp.agents}
    core = EvolutionCore.restore(morphology, record.config, population_id, rng_state, state, agents)
    return record, core
