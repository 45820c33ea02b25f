"""Phenotypes hosted in a private, in-process simple actor system: the ``actors`` backend.

In the ``local`` runtime every actor is an OS process and a signal costs a TCP hop (~0.3 ms).
A process that evaluates networks (an exoself's) hosts its phenotypes' elements in its own
``simpleSystemBase`` instead: :func:`private_system` (``transientUnique``, so private to the
process) is started on first use and reused by every phenotype the process builds; signals
between the elements cost microseconds, while several such processes still evaluate agents in
parallel (see ``docs/evolve.md``, "Phenotype backends").

* :class:`HostedActorPhenotype` -- an :class:`~actors.phenotype.ActorPhenotype` (cortex,
  sensors, neurons, actuators as supervised actors) on the private system, with the phenotype
  interface of :mod:`actors.evolution.backends`: the ``actors`` backend. An element that exits
  mid-evaluation (:class:`~actors.phenotype.PhenotypeDown`) or stops answering
  (:class:`~actors.phenotype.PhenotypeTimeout`) raises a
  :class:`~actors.phenotype.PhenotypeDied`, so the exoself rebuilds the phenotype and repeats
  the evaluation.
* :class:`PhenotypeHost` -- a worker that serves a hosted phenotype to requests from outside
  its process (what the benchmark times): :class:`HostBuild` builds it, :class:`HostCall`
  calls one of its evaluator / tuning methods (:data:`HOST_METHODS`), :class:`HostRunSteps`
  steps it over a list of input vectors and returns the outputs with the seconds spent inside
  the host. A :class:`~actors.phenotype.errors.PhenotypeError` inside the host is returned as
  a :class:`HostError` value (the host lives on); any other exception crashes the host.
  Stopping the host terminates its phenotype and shuts the private system down.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors.neural.spec import NetworkSpec
from actors.phenotype.errors import PhenotypeError, PhenotypeUsageError
from actors.phenotype.handle import ActorPhenotype
from actors.runtime.child import Worker
from actors.runtime.system import RuntimeSystem

__all__ = [
    "HOST_METHODS",
    "HostBuild",
    "HostCall",
    "HostError",
    "HostRunSteps",
    "HostedActorPhenotype",
    "PhenotypeHost",
    "close_private_system",
    "private_system",
]

_PRIVATE: RuntimeSystem | None = None


def private_system() -> RuntimeSystem:
    """This process's private simple actor system for phenotypes (started on first use)."""
    global _PRIVATE
    if _PRIVATE is None or not _PRIVATE.running:
        _PRIVATE = RuntimeSystem("simple").start()
    return _PRIVATE


def close_private_system() -> None:
    """Shut this process's private system down (a later :func:`private_system` starts a new
    one). Without a call it ends with the process."""
    global _PRIVATE
    if _PRIVATE is not None:
        _PRIVATE.shutdown()
        _PRIVATE = None


class HostedActorPhenotype:
    """An actor phenotype of ``spec`` on :func:`private_system` (see the module docstring);
    ``morphology`` and ``heredity`` as for :meth:`ActorPhenotype.build`."""

    def __init__(
        self,
        spec: NetworkSpec,
        *,
        morphology: str | None = None,
        heredity: str = "darwinian",
        timeout: float = 30.0,
    ) -> None:
        self.spec = spec
        self.net: ActorPhenotype = ActorPhenotype.build(
            private_system(), spec, morphology=morphology, heredity=heredity, timeout=timeout
        )

    def step_flat(self, x: Sequence[float]) -> list[float]:
        return self.net.step_flat(x)

    def step(self, inputs: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        return self.net.step(inputs)

    def reset(self) -> None:
        self.net.reset()

    def get_weights(self) -> list[float]:
        return self.net.get_weights()

    def set_weights(self, flat: Sequence[float]) -> None:
        self.net.set_weights(flat)

    def close(self) -> None:
        self.net.terminate()

    def element_address(self, element: str) -> Any:
        """The address of one element (``"neuron:<id>"``...), e.g. to kill it in a test."""
        return self.net.addresses[element]


#: Methods of the hosted phenotype that :class:`HostCall` may call.
HOST_METHODS = frozenset(
    {
        "step_flat", "step", "reset", "get_weights", "set_weights", "backup", "restore",
        "perturb", "get_backup", "run_episode",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HostBuild:
    spec: NetworkSpec
    morphology: str | None = None
    heredity: str = "darwinian"


@dataclass(frozen=True, slots=True)
class HostCall:
    method: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class HostRunSteps:
    inputs: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class HostError:
    """A phenotype error inside the host: its class name and message."""

    kind: str
    message: str


class PhenotypeHost(Worker):
    """See the module docstring. Args: none."""

    def on_start(self) -> None:
        self.hosted: HostedActorPhenotype | None = None

    def handle_call(self, payload: Any, sender: Any) -> Any:
        try:
            return self._serve(payload)
        except PhenotypeError as exc:
            return HostError(type(exc).__name__, str(exc))

    def _serve(self, op: Any) -> Any:
        if isinstance(op, HostBuild):
            self._drop()
            self.hosted = HostedActorPhenotype(
                op.spec, morphology=op.morphology, heredity=op.heredity
            )
            return "ok"
        if self.hosted is None:
            raise PhenotypeUsageError("no phenotype built in this host")
        net = self.hosted.net
        if isinstance(op, HostRunSteps):
            t0 = time.perf_counter()
            outs = [net.step_flat(x) for x in op.inputs]
            return outs, time.perf_counter() - t0
        if isinstance(op, HostCall):
            if op.method not in HOST_METHODS:
                raise PhenotypeUsageError(f"method {op.method!r} cannot be called on a host")
            return getattr(net, op.method)(*op.args)
        raise PhenotypeUsageError(f"phenotype host cannot handle {type(op).__name__}")

    def _drop(self) -> None:
        if self.hosted is not None:
            self.hosted.close()
            self.hosted = None

    def on_stop(self, reason: str) -> None:
        self._drop()
        close_private_system()

    def _on_exit_request(self) -> None:
        self.on_stop("killed")
