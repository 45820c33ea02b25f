"""Configuration, results and errors of :class:`mesh.node.MeshNode`."""

from __future__ import annotations

from dataclasses import dataclass, field

from mesh.core import MeshConfig
from mesh.errors import MeshError
from mesh.peer_policy import RejectPolicy
from mesh.rpc import ERROR_NAMES
from mesh.transport import TransportConfig

__all__ = ["CallError", "NodeConfig", "PeerStatus"]


class CallError(MeshError):
    """A remote call failed: ``code`` is one of :mod:`mesh.rpc`'s NO_ROUTE, TIMEOUT, REFUSED,
    REMOTE."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{ERROR_NAMES.get(code, code)}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NodeConfig:
    """Runtime settings of a node (the core's and the transport's are nested)."""

    mesh: MeshConfig = field(default_factory=MeshConfig)
    transport: TransportConfig = field(default_factory=TransportConfig)
    #: Rejected-frame budget per peer; exhausted -> the peer is dropped and banned.
    rejects: RejectPolicy = field(default_factory=RejectPolicy)
    #: Redial the bootstrap seeds we are not connected to this often (then join again).
    rebootstrap: float = 5.0


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """One known peer: id, address, SWIM status in each realm, whether a connection is open."""

    node_id: bytes
    address: str
    status: str
    connected: bool
    realms: tuple[str, ...]
