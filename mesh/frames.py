"""Wire frames: one frozen dataclass per frame type, canonical msgpack, hard limits.

Wire form of every frame: a msgpack array ``[version, type, realm, *fields]`` in field order.
Nested values (contacts, records, events, updates, claims, certificates) are arrays too, so there
are no maps on the wire and an encoding is canonical by construction; :func:`decode` re-encodes
what it parsed and rejects any input that is not byte-for-byte that canonical form.

:func:`decode` is the only entry point for outside bytes. Its contract (the h11 fuzz invariant):
it returns a valid :class:`Frame` or raises :class:`~mesh.errors.FrameError` -- never anything
else, never executes or unpickles anything, and never allocates more than the configured
:class:`Limits` allow (frame bytes, string/bytes/collection lengths, nesting depth).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msgpack

from mesh.errors import FrameError
from mesh.wire import (
    DEFAULT_LIMITS,
    MAX_INCARNATION,
    MAX_UPDATES,
    Cert,
    Contact,
    Event,
    Limits,
    RealmClaim,
    Record,
    Update,
    WireValue,
    v_blob,
    v_bool,
    v_contacts,
    v_float,
    v_id,
    v_list,
    v_record,
    v_sig,
    v_small,
    v_text,
    v_u64,
    v_updates,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_INCARNATION",
    "MAX_UPDATES",
    "PROTOCOL_VERSION",
    "Ack",
    "Call",
    "Cert",
    "Challenge",
    "Contact",
    "ErrorReply",
    "Event",
    "FindNode",
    "FindValue",
    "Frame",
    "Hello",
    "Limits",
    "Nodes",
    "Ping",
    "Pong",
    "Probe",
    "ProbeAck",
    "ProbeRequest",
    "Proof",
    "Publish",
    "RealmClaim",
    "Record",
    "Result",
    "Store",
    "Subscribe",
    "Unsubscribe",
    "Update",
    "Value",
    "decode",
    "encode",
]

#: 2: SWIM updates carry their subject's signed ALIVE statement, incarnations are bounded by
#: MAX_INCARNATION, a frame carries at most MAX_UPDATES of them, and a ProbeRequest names its
#: target by node id only (version 1 nodes are refused: their frames fail to decode).
PROTOCOL_VERSION = 2

# --------------------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class Frame(WireValue):
    """Base of all frames. ``realm`` is a 32-byte realm id, or b"" for handshake frames."""

    TYPE: ClassVar[int] = 0
    HANDSHAKE: ClassVar[bool] = False
    realm: bytes


@dataclass(frozen=True, slots=True)
class Hello(Frame):
    """Handshake 1 (initiator): my key, a fresh nonce for you to sign, my realm claims, and
    ``boot``: an opaque id of this process (at most 32 bytes, may be empty) that tells a
    restarted peer from a second connection of the same process."""

    TYPE = 1
    HANDSHAKE = True
    public_key: bytes
    nonce: bytes
    address: str
    claims: tuple[RealmClaim, ...]
    boot: bytes = b""


@dataclass(frozen=True, slots=True)
class Challenge(Frame):
    """Handshake 2 (responder): my key, nonce, claims and boot id, signed over the transcript
    (the signature field zeroed)."""

    TYPE = 2
    HANDSHAKE = True
    public_key: bytes
    nonce: bytes
    address: str
    claims: tuple[RealmClaim, ...]
    signature: bytes
    boot: bytes = b""


@dataclass(frozen=True, slots=True)
class Proof(Frame):
    """Handshake 3 (initiator): my signature over the whole transcript."""

    TYPE = 3
    HANDSHAKE = True
    signature: bytes


@dataclass(frozen=True, slots=True)
class Ping(Frame):
    TYPE = 10
    rid: int


@dataclass(frozen=True, slots=True)
class Pong(Frame):
    TYPE = 11
    rid: int


@dataclass(frozen=True, slots=True)
class FindNode(Frame):
    TYPE = 12
    rid: int
    target: bytes


@dataclass(frozen=True, slots=True)
class Nodes(Frame):
    TYPE = 13
    rid: int
    contacts: tuple[Contact, ...]


@dataclass(frozen=True, slots=True)
class Store(Frame):
    TYPE = 14
    rid: int
    record: Record


@dataclass(frozen=True, slots=True)
class FindValue(Frame):
    TYPE = 15
    rid: int
    key: bytes


@dataclass(frozen=True, slots=True)
class Value(Frame):
    """Answer to FIND_VALUE: the records held for the key (maybe none) and closer contacts."""

    TYPE = 16
    rid: int
    records: tuple[Record, ...]
    contacts: tuple[Contact, ...]


@dataclass(frozen=True, slots=True)
class Ack(Frame):
    """Generic positive answer (STORE, SUBSCRIBE, UNSUBSCRIBE, PUBLISH with ack)."""

    TYPE = 17
    rid: int


@dataclass(frozen=True, slots=True)
class Subscribe(Frame):
    """Record a subscription (a signed SUBSCRIPTION record) at a topic's rendezvous node."""

    TYPE = 20
    rid: int
    record: Record


@dataclass(frozen=True, slots=True)
class Unsubscribe(Frame):
    """Withdraw a subscription (a signed SUBSCRIPTION tombstone with a higher seq)."""

    TYPE = 21
    rid: int
    record: Record


@dataclass(frozen=True, slots=True)
class Publish(Frame):
    """Deliver a signed event to a subscriber; ``want_ack`` for at-least-once delivery."""

    TYPE = 22
    rid: int
    event: Event
    want_ack: bool


@dataclass(frozen=True, slots=True)
class Call(Frame):
    """RPC request; ``timeout`` is the caller's remaining deadline in seconds."""

    TYPE = 30
    rid: int
    procedure: str
    args: bytes
    timeout: float


@dataclass(frozen=True, slots=True)
class Result(Frame):
    TYPE = 31
    rid: int
    value: bytes


@dataclass(frozen=True, slots=True)
class ErrorReply(Frame):
    """Typed failure of a request: ``code`` is one of :mod:`mesh.rpc`'s error codes."""

    TYPE = 32
    rid: int
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class Probe(Frame):
    """SWIM direct probe, with piggybacked membership updates (each carrying its subject's
    signed ALIVE statement, see :class:`~mesh.wire.Update`)."""

    TYPE = 40
    rid: int
    updates: tuple[Update, ...]


@dataclass(frozen=True, slots=True)
class ProbeAck(Frame):
    TYPE = 41
    rid: int
    updates: tuple[Update, ...]


@dataclass(frozen=True, slots=True)
class ProbeRequest(Frame):
    """SWIM indirect probe: please probe member ``target`` (a node id) for me. It carries no
    address: the helper probes the target at the address the target signed, if it knows it."""

    TYPE = 42
    rid: int
    target: bytes
    updates: tuple[Update, ...]


_claims = v_list(RealmClaim.validator())

_event = Event.validator()


def _v_boot(v: Any, lim: Limits) -> bytes:
    if type(v) is not bytes or len(v) > 32:
        raise FrameError("expected a boot id of at most 32 bytes")
    return v


Hello.SCHEMA = (v_id, v_id, v_text, _claims, _v_boot)
Challenge.SCHEMA = (v_id, v_id, v_text, _claims, v_sig, _v_boot)
Proof.SCHEMA = (v_sig,)
Ping.SCHEMA = Pong.SCHEMA = Ack.SCHEMA = (v_u64,)
FindNode.SCHEMA = (v_u64, v_id)
Nodes.SCHEMA = (v_u64, v_contacts)
Store.SCHEMA = Subscribe.SCHEMA = Unsubscribe.SCHEMA = (v_u64, v_record)
FindValue.SCHEMA = (v_u64, v_id)
Value.SCHEMA = (v_u64, v_list(v_record), v_contacts)
Publish.SCHEMA = (v_u64, _event, v_bool)
Call.SCHEMA = (v_u64, v_text, v_blob, v_float)
Result.SCHEMA = (v_u64, v_blob)
ErrorReply.SCHEMA = (v_u64, v_small(255), v_text)
Probe.SCHEMA = ProbeAck.SCHEMA = (v_u64, v_updates)
ProbeRequest.SCHEMA = (v_u64, v_id, v_updates)

FRAME_TYPES: dict[int, type[Frame]] = {
    cls.TYPE: cls
    for cls in (
        Hello, Challenge, Proof, Ping, Pong, FindNode, Nodes, Store, FindValue, Value, Ack,
        Subscribe, Unsubscribe, Publish, Call, Result, ErrorReply, Probe, ProbeAck, ProbeRequest,
    )
}  # fmt: skip


def packb(obj: Any) -> bytes:
    """Canonical msgpack of a wire array (bin for bytes, str for text, float64 floats)."""
    return msgpack.packb(obj, use_bin_type=True)


def encode(frame: Frame) -> bytes:
    """The canonical bytes of ``frame``: ``[version, type, realm, *fields]``."""
    wire = frame.to_wire()
    return packb([PROTOCOL_VERSION, frame.TYPE, *wire])


def _depth_ok(obj: Any, max_depth: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        v, d = stack.pop()
        if type(v) is list:
            if d > max_depth:
                return False
            stack.extend((x, d + 1) for x in v if type(x) is list)
    return True


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Frame:
    """Parse one whole frame. Returns a valid frame or raises :class:`FrameError`, only."""
    if type(data) is not bytes:
        raise FrameError("a frame is bytes")
    n = len(data)
    if n > limits.max_frame_bytes:
        raise FrameError(f"frame of {n} bytes exceeds the {limits.max_frame_bytes} limit")
    try:
        obj = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=limits.max_text,
            max_bin_len=limits.max_frame_bytes,
            max_array_len=limits.max_collection,
            max_map_len=0,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises several ValueError/Unicode/Stack subclasses
        raise FrameError(f"undecodable frame: {type(exc).__name__}") from None
    if type(obj) is not list or len(obj) < 3:
        raise FrameError("a frame is an array [version, type, realm, ...]")
    if obj[0] != PROTOCOL_VERSION or type(obj[0]) is not int:
        raise FrameError(f"unsupported protocol version {obj[0]!r}")
    cls = FRAME_TYPES.get(obj[1]) if type(obj[1]) is int else None
    if cls is None:
        raise FrameError(f"unknown frame type {obj[1]!r}")
    realm = obj[2]
    if type(realm) is not bytes or len(realm) != (0 if cls.HANDSHAKE else 32):
        raise FrameError("bad realm field")
    fields = obj[3:]
    schema = cls.SCHEMA
    if len(fields) != len(schema):
        raise FrameError(f"{cls.__name__} has {len(schema)} fields")
    if not _depth_ok(obj, limits.max_depth):
        raise FrameError("frame nesting too deep")
    frame = cls(realm, *[f(x, limits) for f, x in zip(schema, fields, strict=True)])
    if packb(obj) != data:
        raise FrameError("frame is not in canonical form")
    return frame
