"""Messages between local actors and the mesh gateway actor (:mod:`mesh.gateway`).

All are frozen dataclasses of plain values (bytes, str, numbers, tuples) plus Thespian actor
addresses, so they travel between actor processes unchanged. Replies echo the ``ref`` the
requester chose (correlation id: a late reply is never mistaken for another one's).

Requests (to the gateway)           Replies / deliveries (from the gateway)
----------------------------------  ----------------------------------------------------------
StartGateway(config, state)         GatewayReady(node_id, address) ; GatewayState to the owner
Subscribe(topic, ref)               Subscribed(topic, ref, stored); then TopicEvent for each event
Unsubscribe(topic, ref)             Unsubscribed(topic, ref)
Publish(topic, payload, ref)        Published(ref, op)
Register(procedure, ref)            Registered(procedure, ref, stored); then IncomingCall
Reply(call_id, value, error)        (the answer of a local handler to an IncomingCall)
Call(procedure, args, ref)          CallResult(ref, value) or CallFailed(ref, code, message)
Advertise(problem, payload, ref)    Advertised(ref, stored)
Find(problem, ref)                  FoundRecords(ref, records)
GetPeers(ref)                       PeerList(ref, peers)
GetStats(ref)                       NodeStats(ref, counters)
any request failing locally         GatewayError(ref, message)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Advertise",
    "Advertised",
    "Call",
    "CallFailed",
    "CallResult",
    "Find",
    "FoundRecord",
    "FoundRecords",
    "GatewayConfig",
    "GatewayError",
    "GatewayReady",
    "GatewayState",
    "GetPeers",
    "GetStats",
    "IncomingCall",
    "NodeStats",
    "PeerList",
    "Publish",
    "Published",
    "Register",
    "Registered",
    "Reply",
    "StartGateway",
    "Subscribe",
    "Subscribed",
    "TopicEvent",
    "Unsubscribe",
    "Unsubscribed",
]


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """How the gateway's node runs: key file (created 0600 if absent), realms, addresses."""

    key_path: str
    realms: tuple[str, ...] = ("default",)
    listen: str = "127.0.0.1:0"
    bootstrap: tuple[str, ...] = ()
    #: SWIM protocol period (seconds); None keeps the core's default.
    swim_period: float | None = None
    #: How often the actor drains the node's outbox (seconds).
    poll: float = 0.005
    #: With bootstrap seeds, GatewayReady waits (at most this long) until the node has
    #: joined, so that the first subscriptions and publications already reach the mesh.
    join_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class GatewayState:
    """What a restarted gateway must restore: (realm, topic, actor) and (realm, procedure,
    actor) triples. Sent to the owner after every change; handed back in StartGateway."""

    subscriptions: tuple[tuple[str | None, str, Any], ...] = ()
    procedures: tuple[tuple[str | None, str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class StartGateway:
    """Start (or restart, with the last ``state``) the gateway's node.

    Always answered with exactly one ``GatewayReady`` or ``GatewayError`` (bad config, key
    file or listen address, or a node that did not start in time), never left unanswered.
    """

    config: GatewayConfig
    state: GatewayState = field(default_factory=GatewayState)


@dataclass(frozen=True, slots=True)
class GatewayReady:
    """The node listens at ``address``; ``joined``: it joined through a seed (False: no
    seed given, or none answered within ``join_timeout`` -- it keeps trying)."""

    node_id: bytes
    address: str
    joined: bool = False


@dataclass(frozen=True, slots=True)
class GatewayError:
    ref: Any
    message: str


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Deliver the topic's events to the sender as TopicEvent messages."""

    topic: str
    ref: Any = None
    realm: str | None = None


@dataclass(frozen=True, slots=True)
class Subscribed:
    topic: str
    ref: Any
    stored: int


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    topic: str
    ref: Any = None
    realm: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    topic: str
    ref: Any


@dataclass(frozen=True, slots=True)
class TopicEvent:
    """An authentic event received on a subscribed topic."""

    realm: str
    topic: str
    author: bytes
    seq: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Publish:
    topic: str
    payload: bytes
    ref: Any = None
    realm: str | None = None
    reliable: bool = True


@dataclass(frozen=True, slots=True)
class Published:
    ref: Any
    op: int


@dataclass(frozen=True, slots=True)
class Register:
    """Offer ``procedure`` on the mesh; calls arrive at the sender as IncomingCall."""

    procedure: str
    ref: Any = None
    realm: str | None = None


@dataclass(frozen=True, slots=True)
class Registered:
    procedure: str
    ref: Any
    stored: int


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A remote call of a procedure the receiver registered; answer with Reply(call_id...)."""

    call_id: int
    procedure: str
    args: bytes
    caller: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to an IncomingCall: ``value``, or ``error`` (sent to the caller as REMOTE)."""

    call_id: int
    value: bytes = b""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Call:
    procedure: str
    args: bytes = b""
    ref: Any = None
    realm: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class CallResult:
    ref: Any
    value: bytes


@dataclass(frozen=True, slots=True)
class CallFailed:
    ref: Any
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class Advertise:
    problem: str
    payload: bytes
    ref: Any = None
    meta: tuple[tuple[str, Any], ...] = ()
    realm: str | None = None


@dataclass(frozen=True, slots=True)
class Advertised:
    ref: Any
    stored: int


@dataclass(frozen=True, slots=True)
class Find:
    problem: str
    ref: Any = None
    realm: str | None = None


@dataclass(frozen=True, slots=True)
class FoundRecord:
    author: bytes
    seq: int
    value: bytes
    meta: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class FoundRecords:
    ref: Any
    records: tuple[FoundRecord, ...]


@dataclass(frozen=True, slots=True)
class GetPeers:
    ref: Any = None


@dataclass(frozen=True, slots=True)
class PeerList:
    ref: Any
    #: (node id, address, status, connected)
    peers: tuple[tuple[bytes, str, str, bool], ...]


@dataclass(frozen=True, slots=True)
class GetStats:
    ref: Any = None


@dataclass(frozen=True, slots=True)
class NodeStats:
    """The node's counters (``MeshNode.stats()``)."""

    ref: Any
    counters: tuple[tuple[str, int], ...]
