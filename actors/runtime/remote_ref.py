"""Refs to actors on other nodes, and the requests that hand them to the node's gateway.

A :class:`RemoteRef` names an actor on a mesh node: the node's id (hex) and either the actor
id the node gave it when it was spawned there or a name registered on that node. The runtime
takes a remote ref wherever it takes an address (``RuntimeSystem.tell/request/monitor``, a
worker's ``tell/request/monitor``) and hands the operation to the local gateway, the actor
registered as :data:`GATEWAY_NAME` (``actors.remote.gateway.RemoteGateway``), which carries
it over the mesh. These are plain values: the runtime needs nothing of the mesh to route them.

The same goes for the mesh's topics, genotype records and peers (``TopicSubscribe`` ...
``MeshStats``): requests to the gateway, answered by ``actors.remote.gateway_topics``; a
subscriber gets each event of its topics as a :class:`TopicEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.runtime.errors import RuntimeConfigError

__all__ = [
    "GATEWAY_NAME",
    "GenotypeAdvertise",
    "GenotypeFind",
    "GenotypeRecord",
    "GlobalRegister",
    "GlobalUnregister",
    "GlobalWhereIs",
    "MeshPeer",
    "MeshPeers",
    "MeshStats",
    "NameLost",
    "RemoteCall",
    "RemoteDemonitor",
    "RemoteMonitor",
    "RemotePlace",
    "RemoteRef",
    "RemoteSpawn",
    "RemoteStop",
    "RemoteTell",
    "TopicEvent",
    "TopicPublish",
    "TopicSubscribe",
    "TopicSubscriptions",
    "TopicUnsubscribe",
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


def _check_timeout(timeout: Any) -> None:
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0:
        raise RuntimeConfigError(f"a timeout is seconds > 0, got {timeout!r}")


def _check_global(name: Any, timeout: Any) -> None:
    if not isinstance(name, str):
        raise RuntimeConfigError(f"a global name is text, got {type(name).__name__}")
    _check_timeout(timeout)


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


# --- topics, genotype records and peers of the mesh (through the gateway) ---------------


def _check_text(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise RuntimeConfigError(f"a {what} is non-empty text, got {value!r}"[:200])


def _check_subscriber(subscriber: Any) -> None:
    if subscriber is None or isinstance(subscriber, RemoteRef):
        raise RuntimeConfigError(
            f"a subscriber is a local actor: its address or its registered name, not {subscriber!r}"
        )
    if isinstance(subscriber, str) and not subscriber:
        raise RuntimeConfigError("a subscriber's name is non-empty text")


@dataclass(frozen=True, slots=True)
class TopicSubscribe:
    """Deliver every event of mesh topic ``topic`` (in the gateway's realm) to
    ``subscriber``, a local actor's address or registered name, as a :class:`TopicEvent`.
    The reply is how many DHT nodes hold this node's subscription record."""

    topic: str
    subscriber: Any
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_text(self.topic, "topic")
        _check_subscriber(self.subscriber)
        _check_timeout(self.timeout)


@dataclass(frozen=True, slots=True)
class TopicUnsubscribe:
    """Stop delivering ``topic`` to ``subscriber``; the reply is whether it was subscribed."""

    topic: str
    subscriber: Any
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_text(self.topic, "topic")
        _check_subscriber(self.subscriber)
        _check_timeout(self.timeout)


@dataclass(frozen=True, slots=True)
class TopicPublish:
    """Publish ``payload`` on ``topic``, signed by this node; ``reliable``: resent until
    each subscriber acknowledges it (within the mesh's publish TTL). The reply is the
    publication's op id."""

    topic: str
    payload: bytes
    reliable: bool = True
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_text(self.topic, "topic")
        if not isinstance(self.payload, bytes):
            raise RuntimeConfigError(f"a payload is bytes, got {type(self.payload).__name__}")
        if not isinstance(self.reliable, bool):
            raise RuntimeConfigError("reliable is True or False")
        _check_timeout(self.timeout)


@dataclass(frozen=True, slots=True)
class TopicSubscriptions:
    """The reply is this gateway's subscriptions: ``{topic: [subscriber, ...]}``."""


@dataclass(frozen=True, slots=True)
class TopicEvent:
    """An event of a subscribed topic, sent by the gateway to each of its subscribers: the
    realm, the topic, the node id (hex) of its ``author`` (whose signature the mesh checked),
    the author's sequence number (events are deduplicated by author and seq), the payload as
    published (opaque bytes, never decoded by the gateway), and ``via``, the node whose
    connection delivered it (the author, unless a peer relayed it)."""

    realm: str
    topic: str
    author: str
    seq: int
    payload: bytes
    via: str = ""


@dataclass(frozen=True, slots=True)
class GenotypeAdvertise:
    """Store this node's signed genotype record for ``problem`` in the DHT: ``payload``
    (opaque bytes) and ``meta`` (text keys, scalar values: e.g. ``{"fitness": 0.9}``).
    The reply is how many DHT nodes accepted it."""

    problem: str
    payload: bytes
    meta: Mapping[str, Any] | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_text(self.problem, "problem")
        if not isinstance(self.payload, bytes):
            raise RuntimeConfigError(f"a payload is bytes, got {type(self.payload).__name__}")
        for k, v in dict(self.meta or {}).items():
            if not isinstance(k, str) or not (v is None or isinstance(v, bool | int | float | str)):
                raise RuntimeConfigError(f"meta is text -> scalar, got {k!r}: {v!r}"[:200])
        _check_timeout(self.timeout)


@dataclass(frozen=True, slots=True)
class GenotypeFind:
    """The live genotype records of ``problem`` in the realm: the reply is a list of
    :class:`GenotypeRecord`."""

    problem: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        _check_text(self.problem, "problem")
        _check_timeout(self.timeout)


@dataclass(frozen=True, slots=True)
class GenotypeRecord:
    """One genotype advertisement: its author's node id (hex, the record is signed by it),
    the record's sequence number, its payload, and its meta as ``(key, value)`` pairs
    (sorted; the mesh adds the author's ``addr``)."""

    author: str
    seq: int
    payload: bytes
    meta: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class MeshPeers:
    """The reply is the peers the gateway's node knows: a list of :class:`MeshPeer`."""


@dataclass(frozen=True, slots=True)
class MeshPeer:
    """A peer: its node id (hex), address, SWIM status (``alive``, ``suspect``, ``dead``,
    or ``connected`` when only a connection is known), whether a connection is open, and
    the realms shared with it."""

    node: str
    address: str
    status: str
    connected: bool
    realms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MeshStats:
    """The reply is the counters of the gateway's mesh node (``MeshNode.stats()``)."""


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
        | GlobalUnregister
        | TopicSubscribe
        | TopicUnsubscribe
        | TopicPublish
        | TopicSubscriptions
        | GenotypeAdvertise
        | GenotypeFind
        | MeshPeers
        | MeshStats,
    )
