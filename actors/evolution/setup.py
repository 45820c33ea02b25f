"""From a configuration to the genotype layer's records: morphology spec, constraint, ids.

* :func:`morphology_spec` -- a :class:`~morphologies.base.Morphology` (what the scape
  offers) as the genotype layer's :class:`~actors.genotype.MorphologySpec`.
* :func:`build_constraint` -- the :class:`~actors.genotype.Constraint` seed agents are built
  with: the ``[tuning]`` table gives the search parameters every agent starts with (tuning
  selection, duration, annealing, perturbation range, heredity, mutation count), the
  ``[monitor]`` table the population functions, and the optional ``[constraint]`` table
  overrides any DXNN2 constraint field (operators with weight 0 are left out).
* :func:`species_key` -- species are keyed by the **structural** part of DXNN2's
  fingerprint (layer pattern, sensors, actuators, topology summary: the fingerprint without
  its evolution history), so agents of one topology class share a species; diversity counts
  distinct *full* fingerprints (:func:`~actors.genotype.fingerprint_digest`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from actors.evolution.config import EvolutionConfig
from actors.evolution.errors import ConfigError
from actors.genotype import (
    ActuatorSpec,
    Agent,
    Constraint,
    ConstraintError,
    MorphologySpec,
    SensorSpec,
    fingerprint_digest,
)
from morphologies.base import Morphology

__all__ = ["build_constraint", "morphology_spec", "species_key"]


def morphology_spec(morphology: Morphology) -> MorphologySpec:
    return MorphologySpec(
        morphology.name,
        sensors=tuple(SensorSpec(s.name, s.vl) for s in morphology.sensors),
        actuators=tuple(ActuatorSpec(a.name, a.vl) for a in morphology.actuators),
    )


def _overrides(table: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "mutation_operators":
            out[key] = tuple((k, float(w)) for k, w in value.items() if w > 0)
        elif key == "tuning_duration_f":
            out[key] = (value[0], float(value[1]))
        elif key == "tot_topological_mutations_fs":
            out[key] = tuple((n, float(p)) for n, p in value)
        elif key in ("annealing_parameters", "perturbation_ranges"):
            out[key] = tuple(float(v) for v in value)
        elif isinstance(value, list | tuple):
            out[key] = tuple(value)
        else:
            out[key] = value
    return out


def build_constraint(morphology: str, config: EvolutionConfig) -> Constraint:
    """The constraint of a run (see the module docstring); :class:`ConfigError` if the
    genotype layer rejects it."""
    t = config.tuning
    m = config.monitor
    fields: dict[str, Any] = {
        "morphology": morphology,
        "tuning_selection_fs": (t.selection,),
        "tuning_duration_f": (t.duration, float(t.duration_parameter)),
        "annealing_parameters": (float(t.annealing),),
        "perturbation_ranges": (float(t.perturbation_range),),
        "heredity_types": (t.heredity,),
        "tot_topological_mutations_fs": ((t.mutation_count, float(t.mutation_count_parameter)),),
        "population_evo_alg_f": m.evolution_type,
        "population_fitness_postprocessor_f": m.fitness_postprocessor,
        "population_selection_f": m.selection_algorithm,
    }
    fields.update(_overrides(config.constraint))
    try:
        return Constraint(**fields)
    except (ConstraintError, TypeError) as exc:
        raise ConfigError(f"constraint: {exc}") from exc


def species_key(agent: Agent) -> str:
    """The species key: a short digest of the fingerprint without its evolution history."""
    return fingerprint_digest(dataclasses.replace(agent.fingerprint, evo_hist=()))[:16]
