"""The ``actors`` phenotype backend: DXNN's protocol, one actor per network element.

:class:`HostedActorPhenotype` builds an :class:`~actors.phenotype.ActorPhenotype` (cortex,
sensors, neurons, actuators as supervised actors) on a private, in-process ``simple`` actor
system owned by the exoself's process: signals between the elements cost microseconds, while
in the ``local`` runtime several exoself processes still evaluate agents in parallel (see
``docs/evolve.md``, "Phenotype backends"). The private system is started on first use, reused
by every phenotype the process builds, and shut down when the process exits.

It offers the :class:`~actors.evolution.backends.Phenotype` interface; an element that exits
mid-evaluation (:class:`~actors.phenotype.PhenotypeDown`) or stops answering
(:class:`~actors.phenotype.PhenotypeTimeout`) surfaces as
:class:`~actors.evolution.backends.PhenotypeDied`, so the exoself rebuilds the phenotype and
repeats the evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from actors.evolution.backends import PhenotypeDied
from actors.neural.spec import NetworkSpec
from actors.phenotype import ActorPhenotype, PhenotypeDown, PhenotypeTimeout
from actors.runtime.system import RuntimeSystem

__all__ = ["HostedActorPhenotype", "private_system"]

_PRIVATE: RuntimeSystem | None = None
T = TypeVar("T")


def private_system() -> RuntimeSystem:
    """This process's private simple actor system for phenotypes (started on first use)."""
    global _PRIVATE
    if _PRIVATE is None or _PRIVATE.asys is None:
        _PRIVATE = RuntimeSystem("simple").start()
    return _PRIVATE


def _guard(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (PhenotypeDown, PhenotypeTimeout) as exc:
        raise PhenotypeDied(str(exc)) from exc


class HostedActorPhenotype:
    """An actor phenotype of ``spec`` on :func:`private_system` (see the module docstring)."""

    def __init__(self, spec: NetworkSpec, *, timeout: float = 30.0) -> None:
        self.spec = spec
        self.net: ActorPhenotype = _guard(
            lambda: ActorPhenotype.build(private_system(), spec, timeout=timeout)
        )

    def step_flat(self, x: Sequence[float]) -> list[float]:
        return _guard(lambda: self.net.step_flat(x))

    def step(self, inputs: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        return _guard(lambda: self.net.step(inputs))

    def reset(self) -> None:
        _guard(self.net.reset)

    def get_weights(self) -> list[float]:
        return _guard(self.net.get_weights)

    def set_weights(self, flat: Sequence[float]) -> None:
        _guard(lambda: self.net.set_weights(flat))

    def close(self) -> None:
        self.net.terminate()

    def element_address(self, element: str) -> Any:
        """The address of one element (``"neuron:<id>"``...), e.g. to kill it in a test."""
        return self.net.addresses[element]
