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

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import msgpack

from mesh.errors import FrameError

__all__ = [
    "DEFAULT_LIMITS",
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

PROTOCOL_VERSION = 1
_U64 = 1 << 64


@dataclass(frozen=True, slots=True)
class Limits:
    """Hard limits applied by :func:`decode` before and while parsing."""

    #: Largest accepted frame, in bytes (also the largest opaque payload).
    max_frame_bytes: int = 4 * 1024 * 1024
    #: Longest array on the wire (contacts, records, updates, claims, metadata).
    max_collection: int = 1024
    #: Deepest nesting of arrays (the schema needs 4).
    max_depth: int = 6
    #: Longest text field (topics, procedure names, addresses, error messages), in bytes.
    max_text: int = 1024


DEFAULT_LIMITS = Limits()

Validator = Callable[[Any, Limits], Any]


def _u64(v: Any, lim: Limits) -> int:
    if type(v) is not int or not 0 <= v < _U64:
        raise FrameError("expected an unsigned 64-bit integer")
    return v


def _bool(v: Any, lim: Limits) -> bool:
    if type(v) is not bool:
        raise FrameError("expected a boolean")
    return v


def _float(v: Any, lim: Limits) -> float:
    if type(v) is not float or not math.isfinite(v):
        raise FrameError("expected a finite float")
    return v


def _fixed(n: int) -> Validator:
    def check(v: Any, lim: Limits) -> bytes:
        if type(v) is not bytes or len(v) != n:
            raise FrameError(f"expected {n} bytes")
        return v

    return check


_id = _fixed(32)
_sig = _fixed(64)


def _blob(v: Any, lim: Limits) -> bytes:
    if type(v) is not bytes:
        raise FrameError("expected bytes")
    return v


def _text(v: Any, lim: Limits) -> str:
    if type(v) is not str or len(v) > lim.max_text:
        raise FrameError("expected a bounded text string")
    return v


def _list(item: Validator) -> Validator:
    def check(v: Any, lim: Limits) -> tuple[Any, ...]:
        if type(v) is not list or len(v) > lim.max_collection:
            raise FrameError("expected a bounded array")
        return tuple(item(x, lim) for x in v)

    return check


def _optional(item: Validator) -> Validator:
    def check(v: Any, lim: Limits) -> Any:
        return None if v is None else item(v, lim)

    return check


def _scalar(v: Any, lim: Limits) -> int | float | str | bytes | bool:
    t = type(v)
    if t is bool or (t is float and math.isfinite(v)):
        return v
    if t is int and -(1 << 63) <= v < _U64:
        return v
    if (t is str or t is bytes) and len(v) <= lim.max_text:
        return v
    raise FrameError("expected a bounded scalar")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


class _Wire:
    """Base of nested wire values: an array of fields in declaration order."""

    __slots__ = ()
    SCHEMA: ClassVar[tuple[Validator, ...]] = ()

    def to_wire(self) -> list[Any]:
        out: list[Any] = []
        cls = type(self)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        for name in names:
            v = getattr(self, name)
            if isinstance(v, _Wire):
                v = v.to_wire()
            elif isinstance(v, tuple):
                v = [x.to_wire() if isinstance(x, _Wire) else x for x in v]
            out.append(v)
        return out

    @classmethod
    def validator(cls) -> Validator:
        schema = cls.SCHEMA

        def check(v: Any, lim: Limits) -> Any:
            if type(v) is not list or len(v) != len(schema):
                raise FrameError(f"malformed {cls.__name__}")
            return cls(*[f(x, lim) for f, x in zip(schema, v, strict=True)])

        return check


@dataclass(frozen=True, slots=True)
class Contact(_Wire):
    """A peer's node id and its last-known address (opaque to the core)."""

    node_id: bytes
    address: str = ""

    def to_wire(self) -> list[Any]:
        return [self.node_id, self.address]


@dataclass(frozen=True, slots=True)
class Cert(_Wire):
    """A closed realm's membership certificate: the authority vouches for ``node_id``."""

    realm: bytes
    node_id: bytes
    expires: float
    authority: bytes
    signature: bytes

    def unsigned_wire(self) -> list[Any]:
        return [self.realm, self.node_id, self.expires, self.authority]


@dataclass(frozen=True, slots=True)
class RealmClaim(_Wire):
    """A claim of realm membership inside a handshake (certificate for closed realms)."""

    realm: bytes
    cert: Cert | None = None


@dataclass(frozen=True, slots=True)
class Record(_Wire):
    """A signed DHT record. ``(key, author)`` names it; the highest ``seq`` wins.

    ``kind`` is one of :data:`mesh.dht.records.KINDS`; ``meta`` is a sorted tuple of
    ``(name, scalar)`` pairs (e.g. fitness, problem); ``value`` is opaque; ``deleted`` makes a
    tombstone (unsubscribe, withdrawn advertisement).
    """

    kind: int
    key: bytes
    author: bytes
    seq: int
    ttl: int
    deleted: bool
    meta: tuple[tuple[str, Any], ...]
    value: bytes
    signature: bytes

    def to_wire(self) -> list[Any]:
        return [*self.unsigned_wire(), self.signature]

    def unsigned_wire(self) -> list[Any]:
        return [
            self.kind,
            self.key,
            self.author,
            self.seq,
            self.ttl,
            self.deleted,
            [list(p) for p in self.meta],
            self.value,
        ]


@dataclass(frozen=True, slots=True)
class Event(_Wire):
    """A signed pub/sub message; ``(author, seq)`` identifies it for dedup and replay checks."""

    topic: str
    author: bytes
    seq: int
    payload: bytes
    signature: bytes

    def unsigned_wire(self) -> list[Any]:
        return [self.topic, self.author, self.seq, self.payload]


@dataclass(frozen=True, slots=True)
class Update(_Wire):
    """A SWIM membership update piggybacked on probes: status 0 alive, 1 suspect, 2 dead."""

    node_id: bytes
    address: str
    status: int
    incarnation: int


def _meta_pair(v: Any, lim: Limits) -> tuple[str, Any]:
    if type(v) is not list or len(v) != 2:
        raise FrameError("malformed metadata pair")
    return (_text(v[0], lim), _scalar(v[1], lim))


def _meta(v: Any, lim: Limits) -> tuple[tuple[str, Any], ...]:
    pairs = _list(_meta_pair)(v, lim)
    names = [p[0] for p in pairs]
    if names != sorted(set(names)):
        raise FrameError("metadata names must be unique and sorted")
    return pairs


def _small(n: int) -> Validator:
    def check(v: Any, lim: Limits) -> int:
        if type(v) is not int or not 0 <= v <= n:
            raise FrameError(f"expected an integer in 0..{n}")
        return v

    return check


Contact.SCHEMA = (_id, _text)
Cert.SCHEMA = (_id, _id, _float, _id, _sig)
RealmClaim.SCHEMA = (_id, _optional(Cert.validator()))
Record.SCHEMA = (_small(255), _id, _id, _u64, _u64, _bool, _meta, _blob, _sig)
Event.SCHEMA = (_text, _id, _u64, _blob, _sig)
Update.SCHEMA = (_id, _text, _small(2), _u64)


def _contact(v: Any, lim: Limits) -> Contact:
    # hot path (every FIND_NODE answer carries up to k contacts): a specialised validator
    if type(v) is not list or len(v) != 2:
        raise FrameError("malformed Contact")
    nid, addr = v
    if type(nid) is not bytes or len(nid) != 32 or type(addr) is not str:
        raise FrameError("malformed Contact")
    if len(addr) > lim.max_text:
        raise FrameError("address too long")
    return Contact(nid, addr)


_contacts = _list(_contact)
_record = Record.validator()


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class Frame(_Wire):
    """Base of all frames. ``realm`` is a 32-byte realm id, or b"" for handshake frames."""

    TYPE: ClassVar[int] = 0
    HANDSHAKE: ClassVar[bool] = False
    realm: bytes


@dataclass(frozen=True, slots=True)
class Hello(Frame):
    """Handshake 1 (initiator): my key, a fresh nonce for you to sign, my realm claims."""

    TYPE = 1
    HANDSHAKE = True
    public_key: bytes
    nonce: bytes
    address: str
    claims: tuple[RealmClaim, ...]


@dataclass(frozen=True, slots=True)
class Challenge(Frame):
    """Handshake 2 (responder): my key, nonce and claims, signed over the transcript."""

    TYPE = 2
    HANDSHAKE = True
    public_key: bytes
    nonce: bytes
    address: str
    claims: tuple[RealmClaim, ...]
    signature: bytes


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
    """SWIM direct probe, with piggybacked membership updates."""

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
    """SWIM indirect probe: please probe ``target`` for me."""

    TYPE = 42
    rid: int
    target: Contact
    updates: tuple[Update, ...]


_claims = _list(RealmClaim.validator())
_updates = _list(Update.validator())
_event = Event.validator()

Hello.SCHEMA = (_id, _id, _text, _claims)
Challenge.SCHEMA = (_id, _id, _text, _claims, _sig)
Proof.SCHEMA = (_sig,)
Ping.SCHEMA = Pong.SCHEMA = Ack.SCHEMA = (_u64,)
FindNode.SCHEMA = (_u64, _id)
Nodes.SCHEMA = (_u64, _contacts)
Store.SCHEMA = Subscribe.SCHEMA = Unsubscribe.SCHEMA = (_u64, _record)
FindValue.SCHEMA = (_u64, _id)
Value.SCHEMA = (_u64, _list(_record), _contacts)
Publish.SCHEMA = (_u64, _event, _bool)
Call.SCHEMA = (_u64, _text, _blob, _float)
Result.SCHEMA = (_u64, _blob)
ErrorReply.SCHEMA = (_u64, _small(255), _text)
Probe.SCHEMA = ProbeAck.SCHEMA = (_u64, _updates)
ProbeRequest.SCHEMA = (_u64, _contact, _updates)

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
