"""Phenotype backends: how an exoself turns a :class:`NetworkSpec` into a running network.

A backend is a factory ``(spec) -> Phenotype`` registered under a name on
:data:`BACKENDS`. Every phenotype speaks the same small interface (:class:`Phenotype`):

* ``step(inputs) -> outputs`` -- one sense-think-act cycle, ``{sensor name: vector}`` in,
  ``{actuator name: vector}`` out;
* ``reset()`` -- zero the recurrent signals and stateful aggregator memory (DXNN's
  ``reset_prep``/``reset``), weights kept;
* ``get_weights()`` / ``set_weights(flat)`` -- the spec's flat layout (each neuron's input
  weights in order, then its bias);
* ``close()`` -- release everything the phenotype holds (actors, processes); idempotent.

A backend whose network lives in actors raises
:class:`~actors.phenotype.errors.PhenotypeDied` (or a subclass) from any of these when a part
of the network died; the exoself then rebuilds the phenotype and repeats the evaluation
(DXNN2's exoself restarts a crashed network the same way).

Shipped backends:

* ``compiled`` -- :class:`~actors.neural.compiled.CompiledNetwork` (straight-line Python).
* ``actors`` -- the DXNN protocol with one actor per neuron, sensor, actuator and cortex, in a
  private simple actor system of the evaluating process
  (:class:`actors.phenotype.hosted.HostedActorPhenotype`); registered by its import path and
  imported on first use.

Register another with :func:`register_backend`; names are checked at run start.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast, runtime_checkable

from actors.evolution.errors import EvolutionError
from actors.neural.compiled import CompiledNetwork
from actors.neural.spec import NetworkSpec
from actors.phenotype.errors import PhenotypeDied

__all__ = [
    "BACKENDS",
    "BackendError",
    "Phenotype",
    "PhenotypeDied",
    "backend_names",
    "build_phenotype",
    "register_backend",
]


class BackendError(EvolutionError):
    """An unknown or unavailable phenotype backend."""


@runtime_checkable
class Phenotype(Protocol):
    """The interface every backend's networks offer (see the module docstring)."""

    def step(self, inputs: Mapping[str, Sequence[float]]) -> Mapping[str, Sequence[float]]: ...

    def reset(self) -> None: ...

    def get_weights(self) -> list[float]: ...

    def set_weights(self, flat: Sequence[float]) -> None: ...

    def close(self) -> None: ...


Factory = Callable[[NetworkSpec], Phenotype]


class CompiledPhenotype(CompiledNetwork):
    """:class:`CompiledNetwork` with the :class:`Phenotype` interface (``close`` is a no-op:
    nothing to release)."""

    def close(self) -> None:
        return None


#: Backends by name: a factory, or the ``"module:attribute"`` path of one (imported on use).
BACKENDS: dict[str, Factory | str] = {
    "compiled": CompiledPhenotype,
    "actors": "actors.phenotype.hosted:HostedActorPhenotype",
}


def register_backend(name: str, factory: Factory | str, *, replace: bool = False) -> None:
    """Register a backend ``factory(spec) -> Phenotype`` (or a ``"module:attr"`` path)."""
    if not isinstance(name, str) or not name:
        raise BackendError("a backend needs a non-empty name")
    if name in BACKENDS and not replace:
        raise BackendError(f"backend {name!r} is already registered")
    BACKENDS[name] = factory


def _resolve(name: str) -> Factory:
    try:
        entry = BACKENDS[name]
    except KeyError:
        raise BackendError(
            f"unknown phenotype backend {name!r} (known: {', '.join(sorted(BACKENDS))})"
        ) from None
    if not isinstance(entry, str):
        return entry
    module, _, attr = entry.partition(":")
    try:
        factory: Any = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise BackendError(f"phenotype backend {name!r} is not available: {exc}") from exc
    return cast(Factory, factory)


def backend_names(*, available_only: bool = False) -> tuple[str, ...]:
    """Registered backend names (only the importable ones with ``available_only``)."""
    names = sorted(BACKENDS)
    if not available_only:
        return tuple(names)
    out = []
    for n in names:
        try:
            _resolve(n)
        except BackendError:
            continue
        out.append(n)
    return tuple(out)


def check_backend(name: str) -> None:
    """Raise :class:`BackendError` unless ``name`` names an available backend."""
    _resolve(name)


def build_phenotype(name: str, spec: NetworkSpec) -> Phenotype:
    """Build ``spec`` with the backend ``name``."""
    return _resolve(name)(spec)
