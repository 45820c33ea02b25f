"""The DXNN protocol between cortex, sensors, neurons, actuators, the scape and the owner.

Frozen, slotted dataclasses (they cross process boundaries in the ``local`` runtime). Names
follow DXNN2 (``cortex.erl``, ``sensor.erl``, ``neuron.erl``, ``actuator.erl``):

* owner → cortex: :class:`StepRequest` (one cycle on given sensor vectors, the
  ``CompiledNetwork.step`` interface) or :class:`Evaluate` (one episode on the scape, DXNN's
  ``reactivate``); the cortex answers :class:`StepDone` / :class:`EvaluationCompleted`.
* cortex → sensor: :class:`Sync`; sensor → scape: :class:`Sense` → :class:`Percept`;
  sensor → neuron, neuron → neuron / actuator: :class:`Forward`;
  actuator → scape: :class:`Act` → :class:`ActResult`; actuator → cortex: :class:`ActuatorSync`.
* owner → neuron, as :class:`~actors.runtime.messages.Request` payloads answered by a
  :class:`~actors.runtime.messages.Reply`: :class:`WeightBackup`, :class:`WeightRestore`,
  :class:`WeightPerturb`, :class:`GetBackup`, :class:`GetWeights`, :class:`SetWeights`,
  :class:`ResetPrep`, :class:`Reset`.
* owner → any element, once after start (DXNN's initial state message): the ``*Wire`` requests.

Every signal carries the *epoch* (number of resets so far): a neuron drops signals of an older
epoch, so a reset can never mix stale recurrent signals into the new episode. Neuron control
requests carry ``after``: the number of cycles since the last reset the neuron must have fired
before it applies the request (a barrier against neurons that lag behind the actuators).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "Act",
    "ActResult",
    "ActuatorMode",
    "ActuatorModeSet",
    "ActuatorSync",
    "ActuatorWire",
    "CortexWire",
    "Evaluate",
    "EvaluationCompleted",
    "Forward",
    "GetBackup",
    "GetWeights",
    "NeuronBackup",
    "NeuronControl",
    "NeuronWire",
    "NewScape",
    "Percept",
    "Reset",
    "ResetPrep",
    "ScapeReady",
    "Sense",
    "SensorWire",
    "SetWeights",
    "StepDone",
    "StepRequest",
    "Sync",
    "Target",
    "WeightBackup",
    "WeightPerturb",
    "WeightRestore",
]

# --- the sense-think-act cycle ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forward:
    """A signal on one link: ``slot`` is the input position at the receiver (a neuron's
    input index, or an actuator's source index)."""

    slot: int
    epoch: int
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Sync:
    """Cortex → sensor: start cycle ``cycle``. ``vector`` is the sensor's input when the owner
    steps the network by hand; ``None`` means: sense the scape."""

    epoch: int
    cycle: int
    vector: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class ActuatorSync:
    """Actuator → cortex at the end of a cycle (DXNN's ``{APId, sync, Fitness, EndFlag}``)."""

    index: int
    cycle: int
    outputs: tuple[float, ...]
    fitness: float = 0.0
    halt: bool = False
    goal_reached: bool = False
    error: str = ""


@dataclass(frozen=True, slots=True)
class ActuatorMode:
    """Cortex → actuator: act on the scape (``scape=True``, episodes) or only report the
    outputs (hand-stepped cycles). Answered by :class:`ActuatorModeSet`."""

    scape: bool


@dataclass(frozen=True, slots=True)
class ActuatorModeSet:
    index: int
    scape: bool


@dataclass(frozen=True, slots=True)
class Sense:
    """Sensor → scape: the percept of sensor ``sensor`` for cycle ``cycle``."""

    sensor: str
    cycle: int


@dataclass(frozen=True, slots=True)
class Percept:
    """Scape → sensor."""

    cycle: int
    vector: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Act:
    """Actuator → scape: apply ``vector`` (actuator ``index`` of the morphology's order)."""

    index: int
    cycle: int
    vector: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ActResult:
    """Scape → actuator: DXNN's ``{Scape, Fitness, HaltFlag}`` plus the goal flag."""

    cycle: int
    fitness: float
    halt: bool
    goal_reached: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class NewScape:
    """Cortex → scape: start a new episode on a scape made with ``random.Random(seed)``."""

    seed: int


@dataclass(frozen=True, slots=True)
class ScapeReady:
    """Scape → cortex: the new scape is ready (or could not be made: ``error``)."""

    seed: int
    error: str = ""


# --- owner ↔ cortex -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepRequest:
    """Owner → cortex: one cycle with the sensors' vectors given (in spec sensor order)."""

    ref: str
    epoch: int
    inputs: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class StepDone:
    """Cortex → owner: the actuators' vectors (spec actuator order, concatenated)."""

    ref: str
    outputs: tuple[float, ...]
    error: str = ""


@dataclass(frozen=True, slots=True)
class Evaluate:
    """Owner → cortex: run one episode against the scape (new scape from ``seed``), cycles
    until an actuator halts or ``max_cycles`` pass. DXNN's ``reactivate``."""

    ref: str
    epoch: int
    seed: int
    max_cycles: int


@dataclass(frozen=True, slots=True)
class EvaluationCompleted:
    """Cortex → owner (DXNN's ``{Cx, evaluation_completed, Fitness, Cycles, Time, Goal}``).
    ``seconds`` is wall time measured by the cortex; ``error`` is non-empty when the scape
    rejected an action or could not be made (fitness is then meaningless)."""

    ref: str
    fitness: float
    cycles: int
    seconds: float
    goal_reached: bool
    error: str = ""


# --- wiring (DXNN's initial state message) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One outgoing link: receiver address, slot at the receiver, and whether the link is
    recurrent at the receiver (then it is primed with a zero signal at start and reset)."""

    address: Any
    slot: int
    recurrent: bool = False


@dataclass(frozen=True, slots=True)
class NeuronWire:
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class SensorWire:
    cortex: Any
    scape: Any
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class ActuatorWire:
    cortex: Any
    scape: Any


@dataclass(frozen=True, slots=True)
class CortexWire:
    sensors: tuple[Any, ...]
    actuators: tuple[Any, ...]
    scape: Any


# --- owner → neuron control (Request payloads) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class NeuronControl:
    """Base of the control requests; applied once the neuron has fired ``after`` times since
    its last reset."""

    after: int


@dataclass(frozen=True, slots=True)
class WeightBackup(NeuronControl):
    """Keep the weights: the evaluation's starting weights (darwinian) or the learned ones
    (lamarckian), per the neuron's heredity type."""


@dataclass(frozen=True, slots=True)
class WeightRestore(NeuronControl):
    """Go back to the backed-up weights."""


@dataclass(frozen=True, slots=True)
class WeightPerturb(NeuronControl):
    """Perturb the backed-up weights with ``spread`` using ``random.Random(seed)`` (see
    :func:`actors.phenotype.perturb.perturb_blocks`) and use the result."""

    spread: float = 0.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class GetBackup(NeuronControl):
    """Reply: :class:`NeuronBackup`."""


@dataclass(frozen=True, slots=True)
class GetWeights(NeuronControl):
    """Reply: the current weights (flat: inputs in order, then the bias) as a tuple."""


@dataclass(frozen=True, slots=True)
class SetWeights(NeuronControl):
    """Replace the current (and evaluation-start) weights; backup and deltas are kept."""

    weights: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class ResetPrep(NeuronControl):
    """Drop buffered signals, forget ``diff_product`` memory, enter ``epoch``; reply
    ``"ready"``. Signals of older epochs are dropped from now on."""

    epoch: int = 0


@dataclass(frozen=True, slots=True)
class Reset(NeuronControl):
    """Send the zero priming signal on every outgoing recurrent link (after every neuron of
    the network is ready)."""


@dataclass(frozen=True, slots=True)
class NeuronBackup:
    """A neuron's backed-up weights and their momentum deltas (flat, spec layout)."""

    neuron_id: str
    weights: tuple[float, ...]
    deltas: tuple[float, ...]
