"""Global names across a realm (Erlang's ``global``): the pure core -- the record a node
stores in the DHT to claim a name, and the rule every reader applies to the claims it finds.

A node claims ``name`` by storing a signed VALUE record under :func:`dht_name` (one record
per author under a name; the author's next record replaces it, a tombstone withdraws it).
The record's value (:func:`encode_claim`) is a msgpack map of :mod:`actors.remote.wire`
values, at most :data:`MAX_RECORD` bytes: ``{"v": 1, "name": NAME, "ref": RemoteRef, "since":
MS}``. ``ref`` names the registered actor on the *author's own* node (a record naming an
actor of another node is refused: a node can only claim names for itself); ``since`` is
when the author registered the name (milliseconds since the epoch on its clock, kept across
its refreshes). :func:`decode_claim` refuses anything else with :class:`NameRecordError`;
:func:`read_claims` drops and counts such records, so a malformed record from the network
never reaches the rule and never raises.

**The rule for two registrations of one name** (:func:`winner`). A claim counts when its
record is live (not expired, not withdrawn: the DHT returns only those) and its author is
not a node SWIM declared dead. Of the claims that count, the one with the earliest
``since`` wins, then the lowest node id (hex): every reader that holds the same records
picks the same claim, whatever order they came in. ``register`` first reads the name and
refuses (``name_taken``) when a claim by another node counts; two registrations that race,
or a partition that heals with both, are settled by the rule, and the loser's gateway, when
it re-reads its names (at registration and at each refresh), withdraws its record and tells
its actor :class:`~actors.runtime.remote_ref.NameLost`. A claim whose author died or lapsed
does not count, so a standby on another node can register the name then.

Nothing here reads a clock or the network: the gateway (:mod:`actors.remote.gateway`)
passes ``since``, the records and the dead nodes in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from actors.remote import wire
from actors.runtime.errors import RuntimeConfigError
from actors.runtime.remote_ref import RemoteRef
from mesh.identity import node_id_of

__all__ = [
    "MAX_NAME",
    "MAX_RECORD",
    "RESERVED",
    "Claim",
    "NameRecordError",
    "NamesConfig",
    "check_name",
    "decode_claim",
    "dht_name",
    "encode_claim",
    "read_claims",
    "winner",
]

#: Names starting with this are the runtime's own: refused.
RESERVED = "megabrain."
#: Longest global name (characters).
MAX_NAME = 200
#: Largest encoded claim (bytes).
MAX_RECORD = 1024
#: Record format version.
VERSION = 1
_KEYS = frozenset({"v", "name", "ref", "since"})
_DHT_PREFIX = "actors.global/"


@dataclass(frozen=True, slots=True)
class NamesConfig:
    """How long a node's claims live in the DHT and how often it renews them."""

    #: TTL of a claim record (seconds): a node that stops refreshing loses its names this
    #: long after its last refresh, even if SWIM never declares it dead.
    ttl: int = 30
    #: Seconds between two re-reads and refreshes of this node's claims (below ``ttl``).
    refresh: float = 10.0
    #: Longest wait for one DHT operation (seconds).
    op_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.ttl, int) or isinstance(self.ttl, bool) or self.ttl <= 0:
            raise RuntimeConfigError(f"NamesConfig.ttl must be an int > 0, got {self.ttl!r}")
        if not 0 < self.refresh < self.ttl:
            raise RuntimeConfigError("NamesConfig needs 0 < refresh < ttl")
        if not self.op_timeout > 0:
            raise RuntimeConfigError("NamesConfig.op_timeout must be > 0")


class NameRecordError(ValueError):
    """A claim record (from the network) that is not one :func:`encode_claim` makes."""


class _Record(Protocol):
    """What :func:`read_claims` reads of a DHT record (``mesh.frames.Record``)."""

    author: bytes
    seq: int
    deleted: bool
    value: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """One node's registration of a global name, as its record says."""

    name: str
    ref: RemoteRef
    #: Registration time, ms since the epoch on the author's clock.
    since: int
    #: The record's sequence number (newer records of one author have higher ones).
    seq: int = 0

    @property
    def node(self) -> str:
        """The author's node id (hex); the ref's node."""
        return self.ref.node


def check_name(name: Any) -> tuple[str, str] | None:
    """Why ``name`` cannot be a global name, as ``(code, detail)``; None if it can."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        return ("schema", f"a global name is 1-{MAX_NAME} characters")
    if name.startswith(RESERVED):
        return ("reserved_name", f"names starting with {RESERVED!r} are the runtime's own")
    return None


def dht_name(name: str) -> str:
    """The DHT name under which the claims of ``name`` are stored."""
    return _DHT_PREFIX + name


def encode_claim(name: str, ref: RemoteRef, since: int) -> bytes:
    """The value of the record that claims ``name`` for ``ref`` (registered at ``since`` ms)."""
    if check_name(name) is not None:
        raise NameRecordError(f"not a global name: {name!r}")
    if not isinstance(since, int) or isinstance(since, bool) or since < 0:
        raise NameRecordError(f"since is ms >= 0, got {since!r}")
    body = {"v": VERSION, "name": name, "ref": ref, "since": since}
    return wire.encode(body, max_bytes=MAX_RECORD)


def decode_claim(name: str, author_node: str, value: bytes, seq: int = 0) -> Claim:
    """The claim in record ``value`` by node ``author_node`` (hex) under ``name``;
    :class:`NameRecordError` (and nothing else) for anything :func:`encode_claim` would not
    have made for that author and name."""
    try:
        body = wire.decode(value, max_bytes=MAX_RECORD, max_depth=4)
    except wire.WireError as exc:
        raise NameRecordError(f"{exc.reason}: {exc.detail}"[:200]) from None
    if not isinstance(body, dict) or set(body) != _KEYS:
        raise NameRecordError("a claim is a map {v, name, ref, since}")
    if body["v"] != VERSION or isinstance(body["v"], bool):
        raise NameRecordError(f"unknown claim version {str(body['v'])[:20]!r}")
    if body["name"] != name:
        raise NameRecordError("the claim names another name than the record's")
    ref, since = body["ref"], body["since"]
    if not isinstance(ref, RemoteRef):
        raise NameRecordError("a claim's ref is a RemoteRef")
    if ref.node != author_node:
        raise NameRecordError("a claim names an actor on another node than its author")
    if not isinstance(since, int) or isinstance(since, bool) or not 0 <= since < 1 << 63:
        raise NameRecordError("a claim's since is ms >= 0")
    return Claim(name, ref, since, seq)


def read_claims(name: str, records: Iterable[_Record]) -> tuple[list[Claim], int]:
    """The claims of ``name`` in DHT ``records`` (tombstones skipped; per author the highest
    seq), and how many records were dropped as malformed."""
    newest: dict[str, Claim] = {}
    rejected = 0
    for rec in records:
        try:
            if rec.deleted:
                continue
            author = node_id_of(bytes(rec.author)).hex()
            claim = decode_claim(name, author, bytes(rec.value), int(rec.seq))
        except (NameRecordError, TypeError, ValueError):
            rejected += 1
            continue
        prev = newest.get(author)
        if prev is None or claim.seq > prev.seq:
            newest[author] = claim
    return list(newest.values()), rejected


def winner(claims: Iterable[Claim], dead: Collection[str] = ()) -> Claim | None:
    """The claim that holds the name: of those whose node is not in ``dead`` (hex ids SWIM
    declared dead), the earliest ``since``, then the lowest node id. None if none counts."""
    live = [c for c in claims if c.node not in dead]
    return min(live, key=lambda c: (c.since, c.node), default=None)
