"""An evolution on Thespian's own multi-host engine (``runtime="cluster"``).

The run's actor system joins a Thespian *convention* (:mod:`actors.runtime.cluster`):
``leader`` is the convention leader's ``host:port`` (``None``: this system leads);
``capabilities`` are what this member offers; ``exoself_requirements`` are the
capabilities a system must have for an exoself to be placed on it
(:meth:`~actors.runtime.child.SupervisedActor.actorSystemCapabilityCheck`: every
requirement equal to the system's capability of that name). The monitor, the store and
the supervisors stay in this process's system; only the exoselves move. A member that
offers capacity and runs nothing of its own is ``megabrain cluster join``
(:mod:`actors.cli.cluster_cmd`).

Before the tree starts, :func:`wait_for_placement` waits until a system of the convention
(this one included) meets the requirements, so that a run started before its members
joined does not fail on its first placement.

Trusted networks only: the members exchange pickles, sealed with the secret they share
(HMAC, see :mod:`actors.runtime.seal`) but not encrypted and not protected from replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from actors.evolution.errors import EvolutionUsageError
from actors.runtime import RuntimeSystem, validate_capabilities
from actors.runtime.cluster import wait_for_capable
from actors.runtime.errors import CapabilityError

__all__ = ["ClusterOptions", "wait_for_placement"]


@dataclass(frozen=True)
class ClusterOptions:
    """How a ``cluster`` run joins its convention (see the module docstring).

    ``secret_file`` is required: a 0600 file of at least 64 hex digits that every member
    reads (``megabrain cluster secret PATH`` writes one). ``host`` is the address this
    member advertises and binds. ``admin_port`` ``None``: chosen by the OS.
    ``placement_timeout`` is how long (s) :func:`wait_for_placement` waits for a system
    meeting ``exoself_requirements``.
    """

    secret_file: str
    leader: str | None = None
    host: str = "127.0.0.1"
    admin_port: int | None = None
    capabilities: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    exoself_requirements: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    placement_timeout: float = 60.0

    def __post_init__(self) -> None:
        try:
            caps = validate_capabilities(self.capabilities)
            reqs = validate_capabilities(self.exoself_requirements, "exoself requirement")
        except CapabilityError as exc:
            raise EvolutionUsageError(str(exc)) from exc
        if not self.secret_file:
            raise EvolutionUsageError("a cluster run needs secret_file")
        if self.leader is not None and not _is_host_port(self.leader):
            raise EvolutionUsageError(f"leader must be HOST:PORT, got {self.leader!r}")
        if not self.placement_timeout > 0:
            raise EvolutionUsageError("placement_timeout must be > 0")
        object.__setattr__(self, "capabilities", MappingProxyType(caps))
        object.__setattr__(self, "exoself_requirements", MappingProxyType(reqs))

    def system_options(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~actors.runtime.RuntimeSystem` for this member."""
        return {
            "secret_file": self.secret_file,
            "leader": self.leader,
            "host": self.host,
            "admin_port": self.admin_port,
            "capabilities": dict(self.capabilities),
        }


def _is_host_port(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536)


def wait_for_placement(rt: RuntimeSystem, requirements: Mapping[str, Any], timeout: float) -> str:
    """Wait until a system of ``rt``'s convention meets ``requirements``; return which
    (``"self"`` or the member's admin address). Raises :class:`EvolutionUsageError`
    naming the members seen when none qualifies within ``timeout`` seconds."""
    which, members = wait_for_capable(rt, requirements, timeout)
    if which is not None:
        return which
    seen = "; ".join(f"{a}: {_user_caps(c)}" for a, c in sorted(members.items()))
    raise EvolutionUsageError(
        f"no system of the convention meets the exoself requirements {dict(requirements)} "
        f"within {timeout:g} s ({seen or 'no member joined'})"
    )


def _user_caps(caps: Mapping[str, Any]) -> dict[str, Any]:
    """A member's capabilities without Thespian's own."""
    return {
        k: v
        for k, v in caps.items()
        if not k.startswith(("Thespian ", "Python ", "Admin ", "Convention "))
    }
