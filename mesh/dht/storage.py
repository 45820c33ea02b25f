"""Record storage with TTL and expiry (Kademlia paper, section 2.5), bounded against hostile peers.

A stored record is named by ``(key, author)``; a STORE replaces it only with a strictly higher
``seq`` (replay and rollback protection); the same record again only renews its expiry.
Signatures are checked by the caller (:mod:`mesh.dht.protocol`), between :meth:`Storage.plan`
and :meth:`Storage.commit`, so that a record refused anyway is never verified.

Every record is charged to its *storer*: the connected peer whose STORE put it here (this node
for its own records) -- not its author, since authors are free to mint keys. A record's
*charge* is its encoded size plus ``record_overhead`` (the Python objects that hold it), so
byte bounds bound memory whatever the record sizes. The bounds (:class:`StorageLimits`):

* one record: ``value`` of at most ``max_value`` bytes; SERVICE and SUBSCRIPTION records (their
  value is a name) of at most ``max_name_record`` encoded bytes; a TTL capped at ``max_ttl``;
* one storer: ``max_storer_records`` records and ``max_storer_bytes`` charged bytes; a storer at
  its quota is refused (its own records are never evicted to make room for its new ones);
* one key: ``max_per_key`` records and ``max_key_bytes`` charged bytes;
* in all: ``max_records`` records and ``max_bytes`` charged bytes.

**Fair share** (against key squatting and storage filling). When a key -- or the whole
storage -- is full, a new record from storer S evicts records of the storer B that holds the
most there -- by records and its oldest record when the count is full, by charged bytes and
its largest record when the bytes are (in all: by bytes) -- for as long as B holds more than S
will once the new record is in; otherwise the record is refused and nothing is evicted. So a
record is only ever evicted in favour of a storer that, once stored, holds less than the
evicted record's storer held; and a key filled by one storer (say, an attacker minting
SUBSCRIPTION records for a topic from one connection) still takes a record from any other
storer -- one record per newcomer when it is full by count, any record of at most half the
key's bytes when it is full by bytes: the squatter loses records, nobody is locked out.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from mesh.dht.records import SERVICE, SUBSCRIPTION
from mesh.frames import Record, packb

__all__ = ["Plan", "Storage", "StorageLimits", "record_size"]

#: Record kinds whose value is a name (a topic, a procedure): capped at ``max_name_record``.
NAME_KINDS = frozenset({SERVICE, SUBSCRIPTION})


@dataclass(frozen=True, slots=True)
class StorageLimits:
    """Bounds of one node's record storage (see the module docstring for the rules)."""

    #: Longest TTL honoured, in seconds (the paper's 24 h expiry).
    max_ttl: int = 86_400
    #: Largest record value, in bytes.
    max_value: int = 1 << 20
    #: Largest encoded SERVICE or SUBSCRIPTION record (value: a name; meta: an address).
    max_name_record: int = 8 << 10
    #: Bytes charged per record beyond its encoded size (Python objects; measured ~1 KB).
    record_overhead: int = 1024
    #: Most records under one key (one Value answer's array holds at most 1,024).
    max_per_key: int = 1024
    #: Most charged bytes under one key; below the 4 MiB frame limit, so that a Value answer
    #: carries every record of a key at the default limits.
    max_key_bytes: int = 2 << 20
    #: Most records one storer (a connected peer, or this node) has here.
    max_storer_records: int = 4096
    #: Most charged bytes one storer has here.
    max_storer_bytes: int = 8 << 20
    #: Most records in all.
    max_records: int = 100_000
    #: Most charged bytes in all (the storage's memory bound).
    max_bytes: int = 64 << 20


def record_size(record: Record) -> int:
    """Encoded size of ``record`` (as it travels inside a Store or Value frame)."""
    return len(packb(record.to_wire()))


@dataclass(slots=True)
class _Entry:
    record: Record
    expiry: float
    storer: bytes
    size: int  # encoded bytes
    charge: int  # size + record_overhead


@dataclass(slots=True)
class _Usage:
    records: int = 0
    charged: int = 0
    #: ``(key, author)`` of this storer's records, oldest first.
    order: dict[tuple[bytes, bytes], None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """What :meth:`Storage.commit` will do with a record (made by :meth:`Storage.plan`)."""

    record: Record
    #: The peer that sent it (charged for it).
    storer: bytes
    now: float
    #: Why it is refused; empty: it is stored.
    refused: str = ""
    #: It is the very record held (its signature was checked when it was first stored).
    renewal: bool = False
    #: Its encoded size.
    size: int = 0
    #: ``(key, author)`` of the records it displaces.
    evict: tuple[tuple[bytes, bytes], ...] = ()
    #: The storage's version the plan was made at (a changed storage plans again).
    version: int = 0


class Storage:
    """The records this node holds for others (see the module docstring)."""

    def __init__(self, limits: StorageLimits | None = None) -> None:
        self.limits = limits or StorageLimits()
        self._data: dict[bytes, dict[bytes, _Entry]] = {}  # key -> author -> entry
        self._key_bytes: dict[bytes, int] = {}
        self._storers: dict[bytes, _Usage] = {}
        self._heap: list[tuple[float, int, bytes, bytes]] = []  # (expiry, n, key, author)
        self._pushed = 0
        self._count = 0
        self._bytes = 0
        self._version = 0
        #: Refused and evicted records, by cause (for the node's counters).
        self.stats: dict[str, int] = {}

    def __len__(self) -> int:
        return self._count

    @property
    def total_bytes(self) -> int:
        """Charged bytes of every record held."""
        return self._bytes

    def usage(self, storer: bytes) -> tuple[int, int]:
        """``(records, charged bytes)`` held here for ``storer``."""
        u = self._storers.get(storer)
        return (u.records, u.charged) if u is not None else (0, 0)

    def charge_of(self, record: Record) -> int:
        """Bytes ``record`` would be charged here."""
        return record_size(record) + self.limits.record_overhead

    # ------------------------------------------------------------------ admission
    def too_large(self, record: Record, size: int | None = None) -> str:
        """Why ``record`` can never be stored here whoever stores it (empty: it can)."""
        lim = self.limits
        if record.ttl <= 0:
            return "ttl"
        if len(record.value) > lim.max_value:
            return "value too large"
        size = record_size(record) if size is None else size
        if record.kind in NAME_KINDS and size > lim.max_name_record:
            return "name record too large"
        charge = size + lim.record_overhead
        if charge > min(lim.max_key_bytes, lim.max_storer_bytes, lim.max_bytes):
            return "record too large"
        return ""

    def plan(self, record: Record, storer: bytes, now: float) -> Plan:
        """Decide (without changing anything) whether ``record``, sent by ``storer``, is stored
        and what it evicts. Cheap checks only: no signature is verified here."""
        self.expire(now)
        v = self._version
        lim = self.limits
        slot = self._data.get(record.key)
        old = slot.get(record.author) if slot is not None else None
        if old is not None:
            if record.seq < old.record.seq:
                return Plan(record, storer, now, "older seq", version=v)
            if record.seq == old.record.seq:
                if record != old.record:
                    return Plan(record, storer, now, "same seq, other content", version=v)
                return Plan(record, storer, now, renewal=True, size=old.size, version=v)
        if len(record.value) > lim.max_value or record.ttl <= 0:
            return Plan(record, storer, now, self.too_large(record, 0), version=v)
        size = record_size(record)
        why = self.too_large(record, size)
        if why:
            return Plan(record, storer, now, why, size=size, version=v)
        charge = size + lim.record_overhead
        own = self._storers.get(storer)
        s_records, s_bytes = (own.records, own.charged) if own is not None else (0, 0)
        if old is not None and old.storer == storer:  # the new version replaces ours
            s_records, s_bytes = s_records - 1, s_bytes - old.charge
        if s_records + 1 > lim.max_storer_records or s_bytes + charge > lim.max_storer_bytes:
            return Plan(record, storer, now, "storer quota", size=size, version=v)
        gone: dict[tuple[bytes, bytes], _Entry] = {}
        if old is not None:
            gone[(record.key, record.author)] = old
        why = self._plan_key(record, storer, charge, slot, gone)
        if not why:
            why = self._plan_all(storer, charge, gone)
        if why:
            return Plan(record, storer, now, why, size=size, version=v)
        evict = tuple(n for n in gone if n != (record.key, record.author))
        return Plan(record, storer, now, size=size, evict=evict, version=v)

    def _plan_key(
        self,
        record: Record,
        storer: bytes,
        charge: int,
        slot: dict[bytes, _Entry] | None,
        gone: dict[tuple[bytes, bytes], _Entry],
    ) -> str:
        """Evictions (into ``gone``) that make room under the record's key, or why not."""
        if not slot:
            return ""
        lim = self.limits
        key = record.key
        count = len(slot) - len(gone)
        used = self._key_bytes[key] - sum(e.charge for e in gone.values())
        if count + 1 <= lim.max_per_key and used + charge <= lim.max_key_bytes:
            return ""
        per: dict[bytes, list[bytes]] = {}  # storer -> its authors under the key, oldest first
        held: dict[bytes, int] = {}  # storer -> charged bytes under the key
        for author, e in slot.items():
            if (key, author) not in gone:
                per.setdefault(e.storer, []).append(author)
                held[e.storer] = held.get(e.storer, 0) + e.charge
        mine_n, mine_b = len(per.get(storer, ())), held.get(storer, 0)
        while count + 1 > lim.max_per_key or used + charge > lim.max_key_bytes:
            others = [s for s in per if s != storer and per[s]]
            if not others:
                return "key full"
            if count + 1 > lim.max_per_key:
                big = max(others, key=lambda s: (len(per[s]), held[s]))
                if len(per[big]) <= mine_n + 1:
                    return "key full"
                at = 0  # its oldest
            else:
                big = max(others, key=lambda s: (held[s], len(per[s])))
                if held[big] <= mine_b + charge:
                    return "key full"
                sizes = [slot[a].charge for a in per[big]]
                at = sizes.index(max(sizes))  # its largest
            e = slot[per[big].pop(at)]
            gone[(key, e.record.author)] = e
            held[big] -= e.charge
            count -= 1
            used -= e.charge
        return ""

    def _plan_all(self, storer: bytes, charge: int, gone: dict[tuple[bytes, bytes], _Entry]) -> str:
        """Evictions (into ``gone``) that make room in the whole storage, or why not."""
        lim = self.limits
        count = self._count - len(gone)
        used = self._bytes - sum(e.charge for e in gone.values())
        if count + 1 <= lim.max_records and used + charge <= lim.max_bytes:
            return ""
        held = {s: u.charged for s, u in self._storers.items()}
        for e in gone.values():
            held[e.storer] -= e.charge
        mine = held.get(storer, 0)
        while count + 1 > lim.max_records or used + charge > lim.max_bytes:
            others = [s for s in held if s != storer and held[s] > 0]
            if not others:
                return "storage full"
            big = max(others, key=lambda s: held[s])
            if held[big] <= mine + charge:
                return "storage full"
            names = (n for n in self._storers[big].order if n not in gone)
            if count + 1 > lim.max_records:
                name = next(names)  # its oldest
            else:  # its largest
                name = max(names, key=lambda n: self._data[n[0]][n[1]].charge)
            e = self._data[name[0]][name[1]]
            gone[name] = e
            held[big] -= e.charge
            count -= 1
            used -= e.charge
        return ""

    def commit(self, plan: Plan) -> bool:
        """Carry out ``plan`` (made by :meth:`plan` with nothing changed since, else it is made
        again); True if the record is stored (or renewed)."""
        if plan.version != self._version:
            plan = self.plan(plan.record, plan.storer, plan.now)
        if plan.refused:
            self.stats[plan.refused] = self.stats.get(plan.refused, 0) + 1
            return False
        record, now = plan.record, plan.now
        expiry = now + min(record.ttl, self.limits.max_ttl)
        self._version += 1
        if plan.renewal:
            e = self._data[record.key][record.author]
            if expiry > e.expiry:
                e.expiry = expiry
                self._push(e.expiry, record.key, record.author)
            return True
        for key, author in plan.evict:
            self._remove(key, author)
            self.stats["evicted"] = self.stats.get("evicted", 0) + 1
        old = self._data.get(record.key, {}).get(record.author)
        if old is not None:
            expiry = max(expiry, old.expiry)
            self._remove(record.key, record.author)
        charge = plan.size + self.limits.record_overhead
        e = _Entry(record, expiry, plan.storer, plan.size, charge)
        self._data.setdefault(record.key, {})[record.author] = e
        self._key_bytes[record.key] = self._key_bytes.get(record.key, 0) + charge
        u = self._storers.get(plan.storer)
        if u is None:
            u = self._storers[plan.storer] = _Usage()
        u.records += 1
        u.charged += charge
        u.order[(record.key, record.author)] = None
        self._count += 1
        self._bytes += charge
        self._push(expiry, record.key, record.author)
        return True

    def put(self, record: Record, storer: bytes, now: float) -> bool:
        """Store ``record`` sent by ``storer`` until ``now + ttl``; False if refused."""
        return self.commit(self.plan(record, storer, now))

    def holds(self, record: Record) -> bool:
        """True if exactly ``record`` is stored (its signature was checked when it came in)."""
        e = self._data.get(record.key, {}).get(record.author)
        return e is not None and e.record == record

    # ------------------------------------------------------------------ reading
    def get(self, key: bytes, now: float, *, include_deleted: bool = False) -> list[Record]:
        """Live records under ``key`` (tombstones only if ``include_deleted``)."""
        slot = self._data.get(key)
        if not slot:
            return []
        return [
            e.record for e in slot.values()
            if e.expiry > now and (include_deleted or not e.record.deleted)
        ]  # fmt: skip

    def select(self, key: bytes, now: float, budget: int, most: int) -> list[Record]:
        """The live records under ``key`` (tombstones included) that an answer of ``budget``
        encoded bytes and ``most`` records carries: smallest first (ties by author), so small
        records -- subscriptions, services -- always fit beside big ones."""
        slot = self._data.get(key)
        if not slot:
            return []
        live = sorted(
            (e for e in slot.values() if e.expiry > now), key=lambda e: (e.size, e.record.author)
        )
        out: list[Record] = []
        for e in live:
            if len(out) >= most or e.size > budget:
                break
            budget -= e.size
            out.append(e.record)
        return out

    def sized_records(self, now: float) -> list[tuple[Record, int]]:
        """Every live record with its charge, tombstones included (for hand-overs)."""
        return [
            (e.record, e.charge) for slot in self._data.values() for e in slot.values()
            if e.expiry > now
        ]  # fmt: skip

    def records(self, now: float) -> list[Record]:
        """Every live record, tombstones included (for replication to closer nodes)."""
        return [r for r, _ in self.sized_records(now)]

    # ------------------------------------------------------------------ expiry
    def expire(self, now: float) -> int:
        """Drop expired records; returns how many (amortised O(log n) per record)."""
        dropped = 0
        heap = self._heap
        while heap and heap[0][0] <= now:
            expiry, _, key, author = heapq.heappop(heap)
            e = self._data.get(key, {}).get(author)
            if e is not None and e.expiry == expiry:
                self._remove(key, author)
                dropped += 1
        if dropped:
            self._version += 1
        return dropped

    def _push(self, expiry: float, key: bytes, author: bytes) -> None:
        self._pushed += 1
        heapq.heappush(self._heap, (expiry, self._pushed, key, author))
        if len(self._heap) > 2 * self._count + 64:  # renewals left stale entries: compact
            self._heap = [
                (e.expiry, n, k, a) for n, (k, slot) in enumerate(self._data.items())
                for a, e in slot.items()
            ]  # fmt: skip
            heapq.heapify(self._heap)

    def _remove(self, key: bytes, author: bytes) -> None:
        slot = self._data[key]
        e = slot.pop(author)
        if not slot:
            del self._data[key]
            del self._key_bytes[key]
        else:
            self._key_bytes[key] -= e.charge
        u = self._storers[e.storer]
        u.records -= 1
        u.charged -= e.charge
        del u.order[(key, author)]
        if not u.records:
            del self._storers[e.storer]
        self._count -= 1
        self._bytes -= e.charge
