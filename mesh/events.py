"""Events a :class:`~mesh.core.MeshCore` reports to its owner: small past-tense dataclasses.

Drain them with :meth:`MeshCore.next_event`. Identifiers: ``peer``/``node_id``/``author`` are
32-byte node ids, ``realm`` a 32-byte realm id; operation ids (``op``) are the integers the
core's API calls returned.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mesh.frames import Contact, Record

__all__ = [
    "CallFailed",
    "CallReceived",
    "CallSucceeded",
    "EventReceived",
    "FrameRejected",
    "LookupCompleted",
    "MemberDied",
    "MemberRejoined",
    "MemberSuspected",
    "MeshEvent",
    "PublishCompleted",
    "RejectReason",
    "StoreCompleted",
]


@dataclass(frozen=True, slots=True)
class MeshEvent:
    """Base of every event."""


class RejectReason(enum.IntEnum):
    """Why the core dropped a frame (:attr:`FrameRejected.code`); stable numbers."""

    #: The peer has no authenticated session (e.g. a frame racing the session set-up).
    NO_SESSION = 1
    #: The bytes are not a valid frame (:class:`~mesh.errors.FrameError`).
    MALFORMED = 2
    #: A frame for a realm we have not joined or the peer did not prove membership of.
    WRONG_REALM = 3
    #: A response matching no pending request of ours to that peer (e.g. after our timeout).
    UNEXPECTED_RESPONSE = 4
    #: A request type this node does not serve.
    UNEXPECTED_FRAME = 5
    #: A handler's authentication check failed (:class:`~mesh.errors.AuthError`).
    AUTH_FAILED = 6
    #: A pub/sub event whose signature is not valid for this realm.
    FORGED_EVENT = 7
    #: A pub/sub event already delivered, or too far below its author's high-water mark.
    REPLAYED_EVENT = 8
    #: A DHT record of a kind this node does not know.
    UNKNOWN_RECORD_KIND = 9
    #: A SUBSCRIBE / UNSUBSCRIBE frame not carrying a matching subscription record.
    BAD_SUBSCRIPTION = 10
    #: A DHT record whose signature is not valid for this realm.
    FORGED_RECORD = 11
    #: A valid record storage refused (older seq than the one held, or storage limits).
    RECORD_REFUSED = 12


@dataclass(frozen=True, slots=True)
class FrameRejected(MeshEvent):
    """A frame from ``peer`` was dropped: ``code`` says why (policy decisions use it),
    ``detail`` is free text for logs only."""

    peer: bytes
    code: RejectReason
    detail: str = ""

    @property
    def reason(self) -> str:
        """``code`` name and ``detail`` as one line of text (for logs and close reasons)."""
        name = self.code.name.lower()
        return f"{name}: {self.detail}" if self.detail else name


@dataclass(frozen=True, slots=True)
class LookupCompleted(MeshEvent):
    """An iterative lookup (node or value) ended."""

    realm: bytes
    op: int
    target: bytes
    contacts: tuple[Contact, ...]
    records: tuple[Record, ...]
    rounds: int
    queries: int


@dataclass(frozen=True, slots=True)
class StoreCompleted(MeshEvent):
    """A record was offered to the k closest nodes of its key; ``stored`` of them accepted it."""

    realm: bytes
    op: int
    key: bytes
    stored: int


@dataclass(frozen=True, slots=True)
class EventReceived(MeshEvent):
    """A pub/sub event for a topic we subscribe to, authentic and seen for the first time.

    ``author`` signed it; ``via`` is the authenticated peer whose PUBLISH frame delivered it
    (this node's own id for its own publications). They differ when a peer relays events
    signed by other keys -- which honest nodes never do (publishers send to each subscriber
    directly) and any connected peer can: a key costs nothing to mint, a connection does, so
    ``via`` is what an application holds to account (see ``docs/distributed.md``)."""

    realm: bytes
    topic: str
    author: bytes
    seq: int
    payload: bytes
    via: bytes = b""


@dataclass(frozen=True, slots=True)
class PublishCompleted(MeshEvent):
    """A publication stopped being retried: ``acked`` subscribers confirmed it of ``known``."""

    realm: bytes
    op: int
    acked: int
    known: int


@dataclass(frozen=True, slots=True)
class CallReceived(MeshEvent):
    """A call for a procedure registered without a handler; answer with ``MeshCore.respond``."""

    realm: bytes
    op: int
    caller: bytes
    procedure: str
    args: bytes
    deadline: float


@dataclass(frozen=True, slots=True)
class CallSucceeded(MeshEvent):
    realm: bytes
    op: int
    value: bytes


@dataclass(frozen=True, slots=True)
class CallFailed(MeshEvent):
    """A call failed; ``code`` is one of :mod:`mesh.rpc`'s NO_ROUTE, TIMEOUT, REFUSED, REMOTE."""

    realm: bytes
    op: int
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class MemberSuspected(MeshEvent):
    realm: bytes
    node_id: bytes


@dataclass(frozen=True, slots=True)
class MemberDied(MeshEvent):
    """SWIM declared ``node_id`` dead in ``realm`` (suspicion timed out unrefuted)."""

    realm: bytes
    node_id: bytes


@dataclass(frozen=True, slots=True)
class MemberRejoined(MeshEvent):
    """A member held dead in ``realm`` is alive again at a higher incarnation (a restart, or a
    false death refuted)."""

    realm: bytes
    node_id: bytes
