"""Signed envelopes: what is signed, over which domain, and replay protection.

Every signature covers ``domain(purpose, realm) + canonical bytes``, where the domain string is
``b"megabrain-mesh/1\\0<purpose>\\0<realm id>\\0"``. Binding protocol, purpose and realm into the
signed bytes means a signature made for one use (a DHT record, a pub/sub event, a certificate,
a handshake, a SWIM ALIVE statement) or for one realm can never be replayed as another.

Authors number what they sign with a per-author sequence number ``seq``; :class:`ReplayGuard`
rejects an ``(author, seq)`` seen before (TTL'd cache) or far below the author's high-water mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mesh.errors import MeshUsageError
from mesh.frames import MAX_INCARNATION, Event, Record, Update, packb
from mesh.identity import CryptoSuite, NodeKey

__all__ = [
    "DOMAIN_PREFIX",
    "ReplayGuard",
    "domain",
    "sign_alive",
    "sign_event",
    "sign_record",
    "verify_alive",
    "verify_event",
    "verify_record",
]

DOMAIN_PREFIX = b"megabrain-mesh/1"


def domain(purpose: str, realm: bytes) -> bytes:
    """The domain-separation prefix for a signature of ``purpose`` in ``realm``."""
    return b"%s\x00%s\x00%s\x00" % (DOMAIN_PREFIX, purpose.encode("ascii"), realm)


def signed_bytes(purpose: str, realm: bytes, unsigned_wire: list[Any]) -> bytes:
    """The exact bytes a signature of ``purpose`` covers."""
    return domain(purpose, realm) + packb(unsigned_wire)


def sign_record(
    crypto: CryptoSuite,
    key: NodeKey,
    realm: bytes,
    *,
    kind: int,
    record_key: bytes,
    seq: int,
    ttl: int,
    value: bytes = b"",
    meta: Sequence[tuple[str, Any]] = (),
    deleted: bool = False,
) -> Record:
    """A DHT record authored and signed by ``key`` for ``realm``."""
    meta_t = tuple(sorted((str(k), v) for k, v in meta))
    unsigned = Record(kind, record_key, key.public_key, seq, ttl, deleted, meta_t, value, b"")
    sig = crypto.sign(key, signed_bytes("record", realm, unsigned.unsigned_wire()))
    return Record(kind, record_key, key.public_key, seq, ttl, deleted, meta_t, value, sig)


def verify_record(crypto: CryptoSuite, realm: bytes, record: Record) -> bool:
    """True if ``record`` was signed by its author for ``realm``."""
    return crypto.verify(
        record.author, record.signature, signed_bytes("record", realm, record.unsigned_wire())
    )


def sign_event(
    crypto: CryptoSuite, key: NodeKey, realm: bytes, topic: str, seq: int, payload: bytes
) -> Event:
    """A pub/sub event authored and signed by ``key`` for ``topic`` in ``realm``."""
    msg = signed_bytes("event", realm, [topic, key.public_key, seq, payload])
    return Event(topic, key.public_key, seq, payload, crypto.sign(key, msg))


def verify_event(crypto: CryptoSuite, realm: bytes, event: Event) -> bool:
    """True if ``event`` was signed by its author for ``realm``."""
    return crypto.verify(
        event.author, event.signature, signed_bytes("event", realm, event.unsigned_wire())
    )


def sign_alive(
    crypto: CryptoSuite, key: NodeKey, realm: bytes, address: str, incarnation: int
) -> Update:
    """``key``'s SWIM ALIVE statement in ``realm``: "I am alive at ``address``, incarnation
    ``incarnation``" (purpose ``swim-alive``). MeshUsageError outside 0..MAX_INCARNATION-1."""
    if type(incarnation) is not int or not 0 <= incarnation < MAX_INCARNATION:
        raise MeshUsageError(f"incarnation {incarnation!r} outside 0..2**62-1")
    unsigned = [key.public_key, address, incarnation]
    sig = crypto.sign(key, signed_bytes("swim-alive", realm, unsigned))
    return Update(0, key.public_key, address, incarnation, sig)


def verify_alive(crypto: CryptoSuite, realm: bytes, update: Update) -> bool:
    """True if ``update`` carries its subject's own ALIVE statement for ``realm`` (whatever
    status it is labelled with)."""
    return crypto.verify(
        update.public_key, update.signature,
        signed_bytes("swim-alive", realm, update.unsigned_wire()),
    )  # fmt: skip


class ReplayGuard:
    """Dedup and replay check of ``(author, seq)`` pairs; bounded memory.

    A pair is accepted once: later copies are rejected while its entry lives (``ttl`` seconds),
    and any ``seq`` more than ``window`` below the author's highest accepted one is rejected
    forever (so an old frame replayed after its entry expired is still refused).
    """

    def __init__(self, ttl: float = 600.0, window: int = 4096, max_entries: int = 100_000):
        self.ttl = ttl
        self.window = window
        self.max_entries = max_entries
        self._seen: dict[tuple[bytes, int], float] = {}
        self._high: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def seen(self, author: bytes, seq: int) -> bool:
        """True if accepting ``(author, seq)`` now would be a replay."""
        high = self._high.get(author)
        if high is not None and seq + self.window <= high:
            return True
        return (author, seq) in self._seen

    def accept(self, author: bytes, seq: int, now: float) -> bool:
        """Record ``(author, seq)``; False (and nothing recorded) if it is a replay."""
        if self.seen(author, seq):
            return False
        if len(self._seen) >= self.max_entries:
            self.expire(now)
            while len(self._seen) >= self.max_entries:  # still full: drop the oldest
                del self._seen[next(iter(self._seen))]
        self._seen[(author, seq)] = now + self.ttl
        if seq > self._high.get(author, -1):
            self._high[author] = seq
            if len(self._high) > self.max_entries:
                del self._high[next(iter(self._high))]
        return True

    def expire(self, now: float) -> None:
        """Forget entries whose TTL has passed (high-water marks are kept)."""
        dead = [k for k, t in self._seen.items() if t <= now]
        for k in dead:
            del self._seen[k]
