"""megabrain's morphologies: pure environments (scapes) with their sensor and actuator specs.

Imports numpy only (never :mod:`actors` or :mod:`mesh`); the Gymnasium adapter imports gymnasium
lazily. Registered morphologies: ``xor``, ``single_pole``, ``single_pole_nv``, ``dpv``, ``dpnv``,
``discrete_tmaze``, and ``gym:<EnvId>`` on demand; :func:`fitness_morphology` registers one from
a plain fitness function.
"""

from morphologies.base import (
    ActuatorSpec,
    EpisodeResult,
    Morphology,
    MorphologyError,
    Network,
    NetworkScape,
    Policy,
    Scape,
    SensorSpec,
    StepNetwork,
    run_episode,
)
from morphologies.function import fitness_morphology
from morphologies.pole_balancing import TASKS, pole_morphology
from morphologies.registry import get_morphology, morphology_names, register_morphology
from morphologies.tmaze import tmaze_morphology
from morphologies.xor import xor_morphology

__all__ = [
    "ActuatorSpec",
    "EpisodeResult",
    "Morphology",
    "MorphologyError",
    "Network",
    "NetworkScape",
    "Policy",
    "Scape",
    "SensorSpec",
    "StepNetwork",
    "fitness_morphology",
    "get_morphology",
    "morphology_names",
    "register_morphology",
    "run_episode",
]

register_morphology(xor_morphology())
for _task in TASKS.values():
    register_morphology(pole_morphology(_task))
register_morphology(tmaze_morphology())
