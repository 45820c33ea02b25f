"""Record storage with TTL and expiry (Kademlia paper, section 2.5), signed multi-author records.

A stored record is named by ``(key, author)``; a STORE replaces it only with a strictly higher
``seq`` (replay and rollback protection); the same record again only renews its expiry.
Signatures are checked by the caller (:mod:`mesh.dht.protocol`) before :meth:`Storage.put`.
Memory is bounded: records per key and records in all are capped; TTLs are capped.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.frames import Record

__all__ = ["Storage", "StorageLimits"]


@dataclass(frozen=True, slots=True)
class StorageLimits:
    """Bounds of one node's record storage."""

    #: Longest TTL honoured, in seconds (the paper's 24 h expiry).
    max_ttl: int = 86_400
    #: Most authors' records kept under one key.
    max_per_key: int = 1024
    #: Most records kept in all.
    max_records: int = 100_000
    #: Largest record value, in bytes.
    max_value: int = 1 << 20


class Storage:
    """The records this node holds for others, keyed ``key -> author -> (record, expiry)``."""

    def __init__(self, limits: StorageLimits | None = None) -> None:
        self.limits = limits or StorageLimits()
        self._data: dict[bytes, dict[bytes, tuple[Record, float]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def put(self, record: Record, now: float) -> bool:
        """Store ``record`` until ``now + ttl``; False if refused (old seq, limits)."""
        lim = self.limits
        if record.ttl <= 0 or len(record.value) > lim.max_value:
            return False
        expiry = now + min(record.ttl, lim.max_ttl)
        slot = self._data.get(record.key)
        old = slot.get(record.author) if slot is not None else None
        if old is not None:
            if record.seq < old[0].seq or (record.seq == old[0].seq and record != old[0]):
                return False
            slot[record.author] = (record, max(expiry, old[1]))  # type: ignore[index]
            return True
        if self._count >= lim.max_records:
            self.expire(now)
            if self._count >= lim.max_records:
                return False
        if slot is None:
            slot = self._data[record.key] = {}
        elif len(slot) >= lim.max_per_key:
            return False
        slot[record.author] = (record, expiry)
        self._count += 1
        return True

    def get(self, key: bytes, now: float, *, include_deleted: bool = False) -> list[Record]:
        """Live records under ``key`` (tombstones only if ``include_deleted``)."""
        slot = self._data.get(key)
        if not slot:
            return []
        return [r for r, exp in slot.values() if exp > now and (include_deleted or not r.deleted)]

    def expire(self, now: float) -> int:
        """Drop expired records; returns how many."""
        dropped = 0
        for key in list(self._data):
            slot = self._data[key]
            for author in [a for a, (_, exp) in slot.items() if exp <= now]:
                del slot[author]
                dropped += 1
            if not slot:
                del self._data[key]
        self._count -= dropped
        return dropped

    def records(self, now: float) -> list[Record]:
        """Every live record, tombstones included (for replication to closer nodes)."""
        return [r for slot in self._data.values() for r, exp in slot.values() if exp > now]
