"""Refs to actors on other nodes, and the requests that hand them to the node's gateway.

A :class:`RemoteRef` names an actor on a mesh node: the node's id (hex) and either the actor
id the node gave it when it was spawned there or a name registered on that node. The runtime
takes a remote ref wherever it takes an address (``RuntimeSystem.tell/request/monitor``, a
worker's ``tell/request/monitor``) and hands the operation to the local gateway, the actor
registered as :data:`GATEWAY_NAME` (``actors.remote.gateway.RemoteGateway``), which carries
it over the mesh. These are plain values: the runtime needs nothing of the mesh to route them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.runtime.errors import RuntimeConfigError

__all__ = [
    "GATEWAY_NAME",
    "GlobalRegister",
    "GlobalUnregister",
    "GlobalWhereIs",
    "NameLost",
    "RemoteCall",
    "RemoteDemonitor",
    "RemoteMonitor",
    "RemotePlace",
    "RemoteRef",
    "RemoteSpawn",
    "RemoteStop",
    "RemoteTell",
    "WhoAmI",
]

#: The registered name of a runtime's gateway to the mesh.
GATEWAY_NAME = "megabrain.gateway"

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class RemoteRef:
    """An actor on mesh node ``node`` (its id, 64 hex digits): by ``actor`` id (given by that
    node at spawn) or by ``name`` (registered on that node); exactly one of the two."""

    node: str
    actor: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.node, str) or len(self.node) != 64 or set(self.node) - _HEX:
            raise RuntimeConfigError(f"a remote ref's node is 64 lowercase hex: {self.node!r}")
        if (self.actor is None) == (self.name is None):
            raise RuntimeConfigError("a remote ref names exactly one of actor= or name=")
        target = self.actor if self.actor is not None else self.name
        if not isinstance(target, str) or not target or len(target) > 256:
            raise RuntimeConfigError(f"a remote ref's actor or name is 1-256 chars: {target!r}")

    @property
    def target(self) -> str:
        """The actor id or the name, as the hosting node resolves it."""
        return self.actor if self.actor is not None else str(self.name)

    def __str__(self) -> str:
        kind = "actor" if self.actor is not None else "name"
        return f"<{kind} {self.target} @ {self.node[:12]}>"


# --- requests to the gateway (payloads of a Request, except RemoteTell) ---------


@dataclass(frozen=True, slots=True)
class RemoteCall:
    """Request ``payload`` of ``ref`` within ``timeout`` s; the gateway's reply is ref's."""

    ref: RemoteRef
    payload: Any
    timeout: float


@dataclass(frozen=True, slots=True)
class RemoteTell:
    """A plain message (sent, not requested) to the gateway: deliver ``msg`` to ``ref``."""

    ref: RemoteRef
    msg: Any


@dataclass(frozen=True, slots=True)
class RemoteTells:
    """The remote tells one actor made in one turn (one message handled), in order: one
    Thespian message to the gateway instead of one each."""

    tells: tuple[RemoteTell, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    """Plain messages for one supervised actor, from one sender, in order: the runtime
    wrapper of the receiver handles each as if it had arrived alone (the gateway delivers a
    tell batch from another node to a spawned actor this way)."""

    msgs: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RemoteSpawn:
    """Spawn ``actor`` (a class the receiving node registered as remotable, by the name it
    registered it under) with ``args`` on node ``node``; the reply is its :class:`RemoteRef`.

    ``node`` ``""`` with ``placement`` (requirements, see
    :class:`actors.remote.placement.Requirements`): on the best node whose capacity advert
    meets them and offers ``actor``, leaving out ``exclude``. ``link``: the receiving node
    stops the actor when SWIM declares this node dead (Erlang's ``spawn_link`` across
    nodes; remote supervision uses it)."""

    node: str
    actor: str
    args: tuple[Any, ...] = ()
    timeout: float = 10.0
    placement: Mapping[str, Any] | None = None
    exclude: tuple[str, ...] = ()
    link: bool = False


@dataclass(frozen=True, slots=True)
class RemotePlace:
    """Which nodes meet ``requirements`` (best first, at most ``limit``), leaving out
    ``exclude``: the reply is a list of node ids (hex)."""

    requirements: Mapping[str, Any]
    exclude: tuple[str, ...] = ()
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class RemoteStop:
    """Stop ``ref``, an actor this node spawned there (its spec's shutdown applies); the
    reply is ``"ok"``, or a failure (``noproc``, ``not_owner``)."""

    ref: RemoteRef
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class RemoteMonitor:
    """Monitor ``ref`` for ``watcher`` (None: the sender); its Down carries ``mref``."""

    ref: RemoteRef
    mref: str
    watcher: Any = None


@dataclass(frozen=True, slots=True)
class RemoteDemonitor:
    """Cancel remote monitor ``mref``."""

    mref: str


@dataclass(frozen=True, slots=True)
class WhoAmI:
    """Ask the gateway for this node: the reply is ``{"node": hex id, "address": ...}``."""


def _check_global(name: Any, timeout: Any) -> None:
    if not isinstance(name, str):
        raise RuntimeConfigError(f"a global name is text, got {type(name).__name__}")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0:
        raise RuntimeConfigError(f"a timeout is seconds > 0, got {timeout!r}")


@dataclass(frozen=True, slots=True)
class GlobalRegister:
    """Register ``target`` under the realm-wide ``name`` (see :mod:`actors.remote.names`).
    ``target``: a name registered on this node, a :class:`RemoteRef` of this node, or the
    address of an actor other nodes spawned here. The reply is the :class:`RemoteRef` other
    nodes reach it by; a refusal is a remote failure (``name_taken``, ``reserved_name``...)."""

    name: str
    target: Any
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_global(self.name, self.timeout)


@dataclass(frozen=True, slots=True)
class GlobalWhereIs:
    """The :class:`RemoteRef` registered under the realm-wide ``name``, or None."""

    name: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_global(self.name, self.timeout)


@dataclass(frozen=True, slots=True)
class GlobalUnregister:
    """Withdraw this node's registration of ``name``; the reply is whether it held one."""

    name: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_global(self.name, self.timeout)


@dataclass(frozen=True, slots=True)
class NameLost:
    """Sent by the gateway to a globally registered actor whose registration another node's
    won (the rule of :mod:`actors.remote.names`); ``winner`` is the ref that holds it now.
    The gateway has withdrawn this node's record already."""

    name: str
    winner: RemoteRef | None = None


def gateway_request(msg: Any) -> bool:
    """Whether ``msg`` is one of the gateway's requests (for routing in the runtime)."""
    return isinstance(
        msg,
        RemoteCall
        | RemoteSpawn
        | RemotePlace
        | RemoteStop
        | RemoteMonitor
        | RemoteDemonitor
        | WhoAmI
        | GlobalRegister
        | GlobalWhereIs
        | GlobalUnregister,
    )
