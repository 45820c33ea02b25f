"""Neural math of megabrain's TWEANN (pure: no actors, no clock, no global RNG).

* :mod:`~actors.neural.activations`, :mod:`~actors.neural.aggregators`,
  :mod:`~actors.neural.plasticity`: DXNN2's functions on extensible registries.
* :mod:`~actors.neural.spec`: :class:`NetworkSpec`, the representation evaluators compile from.
* :mod:`~actors.neural.perturb`: DXNN2's weight perturbation (momentum, saturation), the rule
  both phenotype backends tune with.
* :class:`ReferenceNetwork`: message-passing evaluator, slow and obviously correct.
* :class:`CompiledNetwork`: one network as straight-line Python (fast single network).
* :class:`BatchNetwork`: many copies of one network shape stepped with numpy.
"""

from actors.neural.activations import ACTIVATIONS, register_activation
from actors.neural.aggregators import AGGREGATORS, register_aggregator
from actors.neural.batch import BatchNetwork
from actors.neural.compiled import CompiledNetwork
from actors.neural.errors import NeuralError, RegistryError, SpecError
from actors.neural.plasticity import PLASTICITY, register_plasticity
from actors.neural.reference import ReferenceNetwork
from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec

__all__ = [
    "ACTIVATIONS",
    "AGGREGATORS",
    "PLASTICITY",
    "ActuatorSpec",
    "BatchNetwork",
    "CompiledNetwork",
    "InputSpec",
    "NetworkSpec",
    "NeuralError",
    "NeuronSpec",
    "ReferenceNetwork",
    "RegistryError",
    "SensorSpec",
    "SpecError",
    "register_activation",
    "register_aggregator",
    "register_plasticity",
]
