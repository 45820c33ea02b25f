"""Building blocks of the wire schema: limits, field validators and nested wire values.

Nested values (contacts, certificates, realm claims, records, events, SWIM updates) are frozen
dataclasses encoded as msgpack arrays in field order; their validators raise
:class:`~mesh.errors.FrameError` on anything else. :mod:`mesh.frames` builds the frames on top.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from mesh.errors import FrameError
from mesh.identity import node_id_of

__all__ = [
    "DEFAULT_LIMITS", "MAX_INCARNATION", "MAX_UPDATES", "Cert", "Contact", "Event", "Limits",
    "RealmClaim", "Record", "Update", "WireValue",
]  # fmt: skip

_U64 = 1 << 64

#: SWIM incarnations on the wire lie in ``0 .. MAX_INCARNATION - 1`` (decode refuses others).
#: The bound sits far inside u64, so a refutation (an incarnation + 1) always stays encodable.
MAX_INCARNATION = 1 << 62
#: Most SWIM updates one frame may carry (decode refuses more); ``SwimConfig.max_piggyback``
#: cannot exceed it.
MAX_UPDATES = 64


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


def v_u64(v: Any, lim: Limits) -> int:
    if type(v) is not int or not 0 <= v < _U64:
        raise FrameError("expected an unsigned 64-bit integer")
    return v


def v_bool(v: Any, lim: Limits) -> bool:
    if type(v) is not bool:
        raise FrameError("expected a boolean")
    return v


def v_float(v: Any, lim: Limits) -> float:
    if type(v) is not float or not math.isfinite(v):
        raise FrameError("expected a finite float")
    return v


def _fixed(n: int) -> Validator:
    def check(v: Any, lim: Limits) -> bytes:
        if type(v) is not bytes or len(v) != n:
            raise FrameError(f"expected {n} bytes")
        return v

    return check


v_id = _fixed(32)
v_sig = _fixed(64)


def v_blob(v: Any, lim: Limits) -> bytes:
    if type(v) is not bytes:
        raise FrameError("expected bytes")
    return v


def v_text(v: Any, lim: Limits) -> str:
    if type(v) is not str or len(v) > lim.max_text:
        raise FrameError("expected a bounded text string")
    return v


def v_list(item: Validator) -> Validator:
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


class WireValue:
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
            if isinstance(v, WireValue):
                v = v.to_wire()
            elif isinstance(v, tuple):
                v = [x.to_wire() if isinstance(x, WireValue) else x for x in v]
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
class Contact(WireValue):
    """A peer's node id and its last-known address (opaque to the core)."""

    node_id: bytes
    address: str = ""

    def to_wire(self) -> list[Any]:
        return [self.node_id, self.address]


@dataclass(frozen=True, slots=True)
class Cert(WireValue):
    """A closed realm's membership certificate: the authority vouches for ``node_id``."""

    realm: bytes
    node_id: bytes
    expires: float
    authority: bytes
    signature: bytes

    def unsigned_wire(self) -> list[Any]:
        return [self.realm, self.node_id, self.expires, self.authority]


@dataclass(frozen=True, slots=True)
class RealmClaim(WireValue):
    """A claim of realm membership inside a handshake (certificate for closed realms)."""

    realm: bytes
    cert: Cert | None = None


@dataclass(frozen=True, slots=True)
class Record(WireValue):
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
class Event(WireValue):
    """A signed pub/sub message; ``(author, seq)`` identifies it for dedup and replay checks."""

    topic: str
    author: bytes
    seq: int
    payload: bytes
    signature: bytes

    def unsigned_wire(self) -> list[Any]:
        return [self.topic, self.author, self.seq, self.payload]


@dataclass(frozen=True, slots=True)
class Update(WireValue):
    """A SWIM membership update: ``status`` (0 alive, 1 suspect, 2 dead) of the member whose
    own signed ALIVE statement it carries.

    The statement is ``(public_key, address, incarnation, signature)``: the subject's key
    signed ``[public_key, address, incarnation]`` for the realm (purpose ``swim-alive``, see
    :func:`mesh.signing.sign_alive`). An ALIVE update is that statement itself; a SUSPECT or
    DEAD update (an accusation) carries the subject's statement *at the accused incarnation*,
    so nobody can accuse a member at an incarnation it never signed. ``node_id`` is derived:
    SHA-256 of ``public_key``.
    """

    status: int
    public_key: bytes
    address: str
    incarnation: int
    signature: bytes
    node_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "node_id", node_id_of(self.public_key))

    def to_wire(self) -> list[Any]:
        return [self.status, self.public_key, self.address, self.incarnation, self.signature]

    def unsigned_wire(self) -> list[Any]:
        """What the subject signs (the status is not part of its statement)."""
        return [self.public_key, self.address, self.incarnation]

    def with_status(self, status: int) -> Update:
        """The same statement labelled ``status`` (an accusation, or the ALIVE form)."""
        if status == self.status:
            return self
        return Update(status, self.public_key, self.address, self.incarnation, self.signature)


def _meta_pair(v: Any, lim: Limits) -> tuple[str, Any]:
    if type(v) is not list or len(v) != 2:
        raise FrameError("malformed metadata pair")
    return (v_text(v[0], lim), _scalar(v[1], lim))


def _meta(v: Any, lim: Limits) -> tuple[tuple[str, Any], ...]:
    pairs = v_list(_meta_pair)(v, lim)
    names = [p[0] for p in pairs]
    if names != sorted(set(names)):
        raise FrameError("metadata names must be unique and sorted")
    return pairs


def v_small(n: int) -> Validator:
    def check(v: Any, lim: Limits) -> int:
        if type(v) is not int or not 0 <= v <= n:
            raise FrameError(f"expected an integer in 0..{n}")
        return v

    return check


Contact.SCHEMA = (v_id, v_text)
Cert.SCHEMA = (v_id, v_id, v_float, v_id, v_sig)
RealmClaim.SCHEMA = (v_id, _optional(Cert.validator()))
Record.SCHEMA = (v_small(255), v_id, v_id, v_u64, v_u64, v_bool, _meta, v_blob, v_sig)
Event.SCHEMA = (v_text, v_id, v_u64, v_blob, v_sig)


def v_incarnation(v: Any, lim: Limits) -> int:
    if type(v) is not int or not 0 <= v < MAX_INCARNATION:
        raise FrameError("expected an incarnation in 0..2**62-1")
    return v


Update.SCHEMA = (v_small(2), v_id, v_text, v_incarnation, v_sig)


def v_contact(v: Any, lim: Limits) -> Contact:
    # hot path (every FIND_NODE answer carries up to k contacts): a specialised validator
    if type(v) is not list or len(v) != 2:
        raise FrameError("malformed Contact")
    nid, addr = v
    if type(nid) is not bytes or len(nid) != 32 or type(addr) is not str:
        raise FrameError("malformed Contact")
    if len(addr) > lim.max_text:
        raise FrameError("address too long")
    return Contact(nid, addr)


v_contacts = v_list(v_contact)
v_record = Record.validator()
_update = Update.validator()


def v_updates(v: Any, lim: Limits) -> tuple[Update, ...]:
    if type(v) is not list or len(v) > min(MAX_UPDATES, lim.max_collection):
        raise FrameError(f"expected at most {MAX_UPDATES} SWIM updates")
    return tuple(_update(x, lim) for x in v)
