"""megabrain's morphologies: pure environments (scapes) with their sensor and actuator specs.

Imports numpy only (never :mod:`actors` or :mod:`mesh`); the Gymnasium adapter imports gymnasium
lazily. Registered morphologies: ``xor``, ``single_pole``, ``single_pole_nv``, ``dpv``, ``dpnv``,
``discrete_tmaze``, and ``gym:<EnvId>`` on demand.
"""

from morphologies.base import (
    ActuatorSpec,
    EpisodeResult,
    Morphology,
    MorphologyError,
    Policy,
    Scape,
    SensorSpec,
    run_episode,
)
from morphologies.pole_balancing import TASKS, pole_morphology
from morphologies.registry import get_morphology, morphology_names, register_morphology
from morphologies.tmaze import tmaze_morphology
from morphologies.xor import xor_morphology

__all__ = [
    "ActuatorSpec",
    "EpisodeResult",
    "Morphology",
    "MorphologyError",
    "Policy",
    "Scape",
    "SensorSpec",
    "get_morphology",
    "morphology_names",
    "register_morphology",
    "run_episode",
]

register_morphology(xor_morphology())
for _task in TASKS.values():
    register_morphology(pole_morphology(_task))
register_morphology(tmaze_morphology())
