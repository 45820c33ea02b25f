"""An evolution whose exoselves run on other nodes of a mesh realm (remote supervision).

With :class:`RemoteWorkers` in :class:`~actors.evolution.run.EvolveOptions` the run starts a
gateway of its own (:func:`actors.remote.gateway.remote_node_spec`) and places each of its
``workers`` exoselves, by a placement query, on the realm's ``megabrain worker`` nodes that
offer the ``exoself`` class and the run's morphology (plus ``requirements``): each exoself is
a :func:`~actors.remote.supervision.remote_child` of the run's exoself supervisor, so a
worker node that dies has its exoselves placed again on the nodes left, and the population
monitor repeats the evaluations they had in flight (same agent, same seed: same result).
The monitor, the store and the genotypes stay here; tasks and results cross the mesh as
registered wire messages (:class:`~actors.evolution.exoself.EvaluateAgent`,
:class:`~actors.evolution.exoself.ExoselfResult`), genotypes as their canonical bytes.

Before the tree starts, :func:`wait_for_workers` waits until ``min_nodes`` nodes answer the
placement query.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from actors.evolution.errors import EvolutionUsageError
from actors.remote.gateway import GatewayConfig
from actors.remote.placement import PlacementError, Requirements
from actors.remote.supervision import Placement, WhereIsRemote, remote_child
from actors.runtime import ChildSpec, RuntimeSystem
from actors.runtime.errors import RequestFailed

__all__ = ["EXOSELF", "RemoteWorkers", "exoself_requirements", "remote_exoselves"]

#: The remotable name of the exoself class (``megabrain worker`` offers it by default).
EXOSELF = "exoself"


@dataclass(frozen=True)
class RemoteWorkers:
    """Where the exoselves go: through ``gateway`` (this run's node: key, realm,
    bootstrap), onto nodes meeting ``requirements`` (placement requirements; the run's
    morphology and the ``exoself`` class are always required). ``min_nodes``: how many
    such nodes must answer before the run starts, waiting at most ``wait_timeout`` s."""

    gateway: GatewayConfig
    requirements: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    min_nodes: int = 1
    wait_timeout: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.gateway, GatewayConfig):
            raise EvolutionUsageError("RemoteWorkers.gateway must be a GatewayConfig")
        try:
            Requirements.from_mapping(self.requirements)
        except (PlacementError, TypeError) as exc:
            raise EvolutionUsageError(f"remote worker requirements: {exc}") from None
        object.__setattr__(self, "requirements", MappingProxyType(dict(self.requirements)))
        if isinstance(self.min_nodes, bool) or not isinstance(self.min_nodes, int):
            raise EvolutionUsageError("RemoteWorkers.min_nodes must be an int >= 1")
        if self.min_nodes < 1 or not self.wait_timeout > 0:
            raise EvolutionUsageError("need min_nodes >= 1 and wait_timeout > 0")


def exoself_requirements(remote: RemoteWorkers, morphology: str) -> dict[str, Any]:
    """The placement requirements of the run's exoselves."""
    return {**remote.requirements, "actor": EXOSELF, "morphology": morphology}


def wait_for_workers(rt: RuntimeSystem, remote: RemoteWorkers, morphology: str) -> list[str]:
    """The nodes that can take the run's exoselves, once at least ``min_nodes`` answer;
    :class:`EvolutionUsageError` after ``wait_timeout`` s."""
    reqs = exoself_requirements(remote, morphology)
    deadline = time.monotonic() + remote.wait_timeout
    nodes: list[str] = []
    while True:
        try:
            nodes = rt.place(reqs)
        except RequestFailed:  # the gateway is still joining
            nodes = []
        if len(nodes) >= remote.min_nodes:
            return nodes
        if time.monotonic() >= deadline:
            raise EvolutionUsageError(
                f"{len(nodes)} worker node(s) offer {reqs} in realm {remote.gateway.realm!r} "
                f"after {remote.wait_timeout:g} s; {remote.min_nodes} needed (start "
                "`megabrain worker --bootstrap ...` on them)"
            )
        time.sleep(0.2)


def remote_exoselves(remote: RemoteWorkers, morphology: str, workers: int) -> tuple[ChildSpec, ...]:
    """The exoself child specs: one remote child per worker, registered ``exoself-K``."""
    where = Placement(requirements=exoself_requirements(remote, morphology))
    return tuple(
        remote_child(f"exoself-{k}", EXOSELF, placement=where, name=f"exoself-{k}")
        for k in range(workers)
    )


def where_exoselves(rt: RuntimeSystem, workers: int) -> tuple[tuple[str, int | None, str], ...]:
    """Where each exoself was placed: ``(child id, None, "NODE_ID/ACTOR_ID")``."""
    rows = []
    for k in range(workers):
        ref = rt.request(f"exoself-{k}", WhereIsRemote(), 10.0)
        rows.append((f"exoself-{k}", None, f"{ref.node}/{ref.actor}"))
    return tuple(rows)
