"""A phenotype hosted in a private, in-process simple actor system inside another process.

In the ``local`` runtime every actor is an OS process and a signal costs a TCP hop (~0.3 ms).
:class:`PhenotypeHost` is a worker (for instance an exoself's process) that starts its own
``simpleSystemBase`` (``transientUnique``, so it is private to that process) and runs its
phenotype's elements there: microsecond hops, while several hosts still run in parallel
processes. The host speaks plain requests:

* :class:`HostBuild` -- build the phenotype (an :class:`~actors.phenotype.ActorPhenotype`);
* :class:`HostCall` -- call one of its evaluator / tuning methods (:data:`HOST_METHODS`);
* :class:`HostRunSteps` -- step it over a list of input vectors; returns the outputs and the
  seconds spent inside the host (what the benchmark reports).

A :class:`~actors.phenotype.errors.PhenotypeError` inside the host is returned as a
:class:`HostError` value (the host lives on); any other exception crashes the host.
Stopping the host terminates its phenotype and shuts its private system down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from actors.neural.spec import NetworkSpec
from actors.phenotype.errors import PhenotypeError, PhenotypeUsageError
from actors.phenotype.handle import ActorPhenotype
from actors.runtime.child import Worker
from actors.runtime.system import RuntimeSystem

__all__ = ["HOST_METHODS", "HostBuild", "HostCall", "HostError", "HostRunSteps", "PhenotypeHost"]

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
        self.private: RuntimeSystem | None = None
        self.net: ActorPhenotype | None = None

    def handle_call(self, payload: Any, sender: Any) -> Any:
        try:
            return self._serve(payload)
        except PhenotypeError as exc:
            return HostError(type(exc).__name__, str(exc))

    def _serve(self, op: Any) -> Any:
        if isinstance(op, HostBuild):
            self._drop()
            if self.private is None:
                self.private = RuntimeSystem("simple").start()
            self.net = ActorPhenotype.build(
                self.private, op.spec, morphology=op.morphology, heredity=op.heredity
            )
            return "ok"
        net = self.net
        if net is None:
            raise PhenotypeUsageError("no phenotype built in this host")
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
        if self.net is not None:
            self.net.terminate()
            self.net = None

    def on_stop(self, reason: str) -> None:
        self._drop()
        if self.private is not None:
            self.private.shutdown()
            self.private = None

    def _on_exit_request(self) -> None:
        self.on_stop("killed")
