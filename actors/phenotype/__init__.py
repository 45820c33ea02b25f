"""The actor phenotype: DXNN's cortex, sensors, neurons and actuators as Thespian actors.

* :class:`ActorPhenotype` -- build one from a :class:`~actors.neural.spec.NetworkSpec` on a
  runtime (``simple`` or ``local``) and drive it (same evaluator interface as
  :class:`~actors.neural.compiled.CompiledNetwork`, plus DXNN's tuning verbs and episodes).
* :mod:`~actors.phenotype.messages` -- the protocol; :mod:`~actors.phenotype.elements` -- the
  actors; :mod:`~actors.phenotype.elements_core` -- their pure state machines;
  :func:`~actors.phenotype.perturb.perturb_blocks` -- the neural package's weight
  perturbation as the neurons apply it; :func:`~actors.phenotype.perturb.perturb_network` --
  the same on a whole flat weight vector (to replay an actor perturbation on the compiled
  backend).
* :mod:`~actors.phenotype.hosted` -- phenotypes in a process's private simple actor system:
  the ``actors`` phenotype backend of the exoself.

See ``docs/phenotype.md``.
"""

from actors.phenotype.elements_core import CortexCore, NeuronCore
from actors.phenotype.errors import (
    PhenotypeDied,
    PhenotypeDown,
    PhenotypeError,
    PhenotypeProtocolError,
    PhenotypeTimeout,
    PhenotypeUsageError,
)
from actors.phenotype.handle import ActorPhenotype
from actors.phenotype.messages import NeuronBackup
from actors.phenotype.perturb import perturb_blocks, perturb_network
from actors.phenotype.plan import Plan, make_plan

__all__ = [
    "ActorPhenotype",
    "CortexCore",
    "NeuronBackup",
    "NeuronCore",
    "PhenotypeDied",
    "PhenotypeDown",
    "PhenotypeError",
    "PhenotypeProtocolError",
    "PhenotypeTimeout",
    "PhenotypeUsageError",
    "Plan",
    "make_plan",
    "perturb_blocks",
    "perturb_network",
]
