"""megabrain's short Python API: evolve a morphology, or a plain fitness function, in one call.

::

    import megabrain

    result = megabrain.evolve("xor", seed=1)
    net = result.network()               # the champion, callable: net([-1.0, 1.0])

See :func:`actors.evolution.api.evolve` for the settings and ``docs/evolve.md`` for the rest.
The packages themselves are :mod:`actors` (runtime, genotype, neural networks, evolution,
distribution, CLI), :mod:`morphologies` and :mod:`mesh`.
"""

from actors import __version__
from actors.evolution.api import evolve
from actors.evolution.config import EvolutionConfig, load_config
from actors.evolution.reporters import ConsoleReporter, Reporter
from actors.evolution.run import RunResult
from morphologies import (
    Morphology,
    Network,
    fitness_morphology,
    get_morphology,
    morphology_names,
)

__all__ = [
    "ConsoleReporter",
    "EvolutionConfig",
    "Morphology",
    "Network",
    "Reporter",
    "RunResult",
    "__version__",
    "evolve",
    "fitness_morphology",
    "get_morphology",
    "load_config",
    "morphology_names",
]
