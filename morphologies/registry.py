"""The morphology registry.

Add a morphology by building a :class:`~morphologies.base.Morphology` and registering it::

    from morphologies import Morphology, SensorSpec, ActuatorSpec, register_morphology

    register_morphology(Morphology(
        name="my_task",
        sensors=(SensorSpec("eyes", 3),),
        actuators=(ActuatorSpec("motor", 1),),
        scape_factory=lambda rng: MyScape(rng),   # implements sense/act/goal_reached
        max_cycles=10_000,
    ))

A problem that needs no scape (a fitness function of the whole network) registers with
:func:`morphologies.function.fitness_morphology` instead.

Names of the form ``gym:<EnvId>`` (or ``gym:<EnvId>,episodes=K``) resolve on demand to a
Gymnasium adapter (optional extra ``gym``).
"""

from __future__ import annotations

from morphologies.base import ActuatorSpec, Morphology, MorphologyError, SensorSpec

__all__ = ["get_morphology", "morphology_names", "register_morphology"]

_REGISTRY: dict[str, Morphology] = {}


def register_morphology(morphology: Morphology, *, replace: bool = False) -> Morphology:
    """Register ``morphology`` under its name (:class:`MorphologyError` if taken or invalid)."""
    if not isinstance(morphology, Morphology):
        raise MorphologyError(f"not a Morphology: {morphology!r}")
    name = morphology.name
    if not name or not isinstance(name, str):
        raise MorphologyError("a morphology needs a non-empty name")
    if not morphology.sensors or not morphology.actuators:
        raise MorphologyError(f"morphology {name!r} needs sensors and actuators")
    specs: list[SensorSpec | ActuatorSpec] = [*morphology.sensors, *morphology.actuators]
    for spec in specs:
        if not isinstance(spec.vl, int) or spec.vl < 1:
            raise MorphologyError(f"morphology {name!r}: {spec.name!r} needs a positive vl")
    if morphology.max_cycles < 1:
        raise MorphologyError(f"morphology {name!r}: max_cycles must be positive")
    if name in _REGISTRY and not replace:
        raise MorphologyError(f"morphology {name!r} is already registered")
    _REGISTRY[name] = morphology
    return morphology


def get_morphology(name: str) -> Morphology:
    """Look up a morphology; ``gym:<EnvId>[,episodes=K]`` builds a Gymnasium adapter on first
    use."""
    if name not in _REGISTRY and name.startswith("gym:"):
        from morphologies.gym_adapter import gym_morphology, parse_gym_name

        env_id, episodes = parse_gym_name(name)
        register_morphology(gym_morphology(env_id, episodes=episodes, name=name))
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise MorphologyError(f"unknown morphology {name!r} (known: {known})") from None


def morphology_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))
