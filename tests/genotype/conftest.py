from __future__ import annotations

import random

import pytest

from actors.genotype import (
    ActuatorSpec,
    Agent,
    Constraint,
    MorphologySpec,
    SensorSpec,
    construct_agent,
)

XOR = MorphologySpec(
    "xor_mimic",
    sensors=(SensorSpec("xor_getinput", 2),),
    actuators=(ActuatorSpec("xor_sendoutput", 1),),
)

MULTI = MorphologySpec(
    "multi",
    sensors=(SensorSpec("pos", 3, ("scale", 1.0)), SensorSpec("vel", 2)),
    actuators=(ActuatorSpec("force", 2), ActuatorSpec("turn", 1, (True,))),
    extra_sensors=(SensorSpec("radar", 4, (7,)), SensorSpec("touch", 1)),
    extra_actuators=(ActuatorSpec("grip", 1),),
)


def seed_agent(seed: int = 1, morphology: MorphologySpec = MULTI, **constraint: object) -> Agent:
    return construct_agent(morphology, Constraint(**constraint), random.Random(seed))  # type: ignore[arg-type]


@pytest.fixture
def multi_agent() -> Agent:
    return seed_agent()
