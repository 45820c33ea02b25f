"""megabrain: a BEAM mirror on Thespian and a DXNN-style TWEANN on it.

The short Python API is importable from here::

    import actors

    result = actors.evolve("xor", seed=1)
    net = result.network()               # the champion, callable: net([-1.0, 1.0])

(:func:`actors.evolution.api.evolve`; ``docs/evolve.md`` has the rest.) Those names load
on first use, so ``import actors.runtime`` alone stays light.

Subpackages:

* :mod:`actors.runtime` -- actor systems by mode, OTP-style supervisors, registry, monitors;
* :mod:`actors.neural` -- activation/aggregation/plasticity registries, the weight
  perturbation rule, ``NetworkSpec`` and its evaluators (pure math);
* :mod:`actors.genotype` -- DXNN records, construction, mutation, codec, store, and the
  agent's network (``agent.network()``);
* :mod:`actors.phenotype` -- cortex, neuron, sensor and actuator actors (DXNN's protocol),
  hosted in a process's private actor system for the ``actors`` backend;
* :mod:`actors.evolution` -- exoself, population monitor, selection, tuning, reporters,
  configuration;
* :mod:`actors.distributed` -- distribution model 1 (islands sharing champions) over the mesh;
* :mod:`actors.cli` -- the ``megabrain`` command.

Each subpackage imports only those listed before it that it builds on (``README.md``,
"Tour"; ``tests/test_layers.py`` checks it).

The environments are in :mod:`morphologies`, the mesh library in :mod:`mesh`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: The short API: name -> module that defines it (imported on first access).
_API = {
    "evolve": "actors.evolution.api",
    "EvolutionConfig": "actors.evolution.config",
    "load_config": "actors.evolution.config",
    "ConsoleReporter": "actors.evolution.reporters",
    "Reporter": "actors.evolution.reporters",
    "RunResult": "actors.evolution.run",
    "Morphology": "morphologies",
    "Network": "morphologies",
    "fitness_morphology": "morphologies",
    "get_morphology": "morphologies",
    "morphology_names": "morphologies",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'actors' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
