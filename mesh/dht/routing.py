"""XOR metric and the routing table of k-buckets (Kademlia paper, sections 2.1, 2.2, 2.4, 4.1).

Ids are 256-bit (SHA-256 node ids). The table is the paper's binary tree of buckets, stored in
its equivalent flat form: with bucket splitting restricted to the bucket that covers our own id
(section 2.4), bucket ``i < depth`` holds exactly the ids whose common prefix with ours is ``i``
bits long, and the last bucket holds every id sharing at least ``depth`` bits. When the last
bucket overflows it splits (``depth += 1``); a full bucket elsewhere never splits.

Section 2.2: every message from a peer refreshes it (moves it to the tail of its bucket, the
most recently seen end). A new contact for a full bucket does not evict anyone directly: it
enters the bucket's replacement cache (section 4.1) and :meth:`RoutingTable.add` returns the
least-recently-seen contact, which the caller should ping (an action, not I/O here) -- only
if that contact has been silent for ``ping_after`` seconds, so that a busy node does not ping
on every new sender (the paper's section 4.1 likewise defers pings it can avoid). If the ping
fails the caller calls :meth:`RoutingTable.remove`, which promotes the freshest replacement.

The table also remembers which node ids are *slow*: a request to them stalled or went
unanswered (:meth:`RoutingTable.mark_slow`, :meth:`RoutingTable.failed`) and they have not
answered one since (:meth:`RoutingTable.answered`). Lookups still query them but do not wait
for them (see :mod:`mesh.dht.lookup`), so contacts that vanished -- still listed by other
nodes until those notice -- cost one stall, not one per lookup. The memory outlives removal
from the buckets (other nodes keep returning such contacts) and is bounded (``slow_size``,
least recently marked forgotten first).
"""

from __future__ import annotations

import heapq
import random
from collections import OrderedDict
from collections.abc import Iterator

from mesh.frames import Contact

__all__ = ["ID_BITS", "K", "RoutingTable", "bucket_index", "common_prefix", "distance"]

ID_BITS = 256
K = 20


def distance(a: bytes, b: bytes) -> int:
    """The XOR distance of two ids (section 2.1), as an integer."""
    return int.from_bytes(a, "big") ^ int.from_bytes(b, "big")


def common_prefix(a: bytes, b: bytes) -> int:
    """Number of leading bits ``a`` and ``b`` share (256 for equal ids)."""
    return ID_BITS - distance(a, b).bit_length()


def bucket_index(own: bytes, other: bytes) -> int:
    """Index of the classic bucket ``other`` belongs to: floor(log2(distance)); -1 for ``own``.

    Bucket ``i`` covers distances in [2**i, 2**(i+1)) (section 2.2).
    """
    return distance(own, other).bit_length() - 1


class _Bucket:
    __slots__ = ("entries", "last_touched", "pending", "replacements")

    def __init__(self) -> None:
        self.entries: OrderedDict[bytes, Contact] = OrderedDict()  # head = least recently seen
        self.replacements: OrderedDict[bytes, Contact] = OrderedDict()
        self.pending: bytes | None = None  # id of the LRS contact we asked the caller to ping
        self.last_touched = 0.0


class RoutingTable:
    """k-buckets around ``own_id``; contacts are :class:`~mesh.frames.Contact`."""

    def __init__(
        self,
        own_id: bytes,
        k: int = K,
        replacement_size: int | None = None,
        ping_after: float = 0.0,
        slow_size: int = 1024,
    ) -> None:
        self.own_id = own_id
        self._own_int = int.from_bytes(own_id, "big")
        self.k = k
        self.replacement_size = k if replacement_size is None else replacement_size
        self._buckets: list[_Bucket] = [_Bucket()]
        self._where: dict[bytes, int] = {}  # node id -> bucket position
        self._seen: dict[bytes, float] = {}  # node id -> last time heard from
        self._failures: dict[bytes, int] = {}  # node id -> unanswered requests in a row
        self._ints: dict[bytes, int] = {}  # node id -> its integer value (for distances)
        #: Ask to ping the least-recently-seen contact only if it was silent this long.
        self.ping_after = ping_after
        self._slow: OrderedDict[bytes, None] = OrderedDict()
        self.slow_size = slow_size

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._where

    @property
    def depth(self) -> int:
        """Number of splits so far (= number of buckets - 1)."""
        return len(self._buckets) - 1

    def _pos(self, node_id: bytes) -> int:
        cpl = ID_BITS - (self._own_int ^ int.from_bytes(node_id, "big")).bit_length()
        return min(cpl, len(self._buckets) - 1)

    def get(self, node_id: bytes) -> Contact | None:
        pos = self._where.get(node_id)
        return None if pos is None else self._buckets[pos].entries.get(node_id)

    def add(self, contact: Contact, now: float) -> Contact | None:
        """Insert or refresh ``contact``; return a contact to ping if its bucket is full.

        The returned contact is the bucket's least-recently-seen one; it is returned only once
        per bucket until :meth:`remove` or a refresh of it resolves the pending ping.
        """
        nid = contact.node_id
        if nid == self.own_id:
            return None
        pos = self._where.get(nid)
        if pos is not None:  # known: move to tail, keep the newest address
            b = self._buckets[pos]
            b.entries[nid] = contact
            b.entries.move_to_end(nid)
            b.last_touched = now
            self._seen[nid] = now
            self._failures.pop(nid, None)
            if b.pending == nid:
                b.pending = None
            return None
        while True:
            pos = self._pos(nid)
            b = self._buckets[pos]
            if len(b.entries) < self.k:
                b.entries[nid] = contact
                b.replacements.pop(nid, None)
                b.last_touched = now
                self._where[nid] = pos
                self._ints[nid] = int.from_bytes(nid, "big")
                self._seen[nid] = now
                return None
            if pos == len(self._buckets) - 1 and len(self._buckets) < ID_BITS:
                self._split()  # section 2.4: split the bucket covering our own id
                continue
            # Section 4.1: keep it as a replacement; ask to ping the least-recently-seen.
            b.replacements[nid] = contact
            b.replacements.move_to_end(nid)
            while len(b.replacements) > self.replacement_size:
                b.replacements.popitem(last=False)
            if b.pending is None:
                lrs = next(iter(b.entries))
                if now - self._seen.get(lrs, now) >= self.ping_after:
                    b.pending = lrs
                    return b.entries[lrs]
            return None

    def _split(self) -> None:
        last = self._buckets[-1]
        depth = len(self._buckets) - 1
        near, far = _Bucket(), _Bucket()
        for nid, c in last.entries.items():
            target = far if self._cpl(nid) == depth else near
            target.entries[nid] = c
        for nid, c in last.replacements.items():
            target = far if self._cpl(nid) == depth else near
            target.replacements[nid] = c
        far.last_touched = near.last_touched = last.last_touched
        self._buckets[-1] = far
        self._buckets.append(near)
        for nid in near.entries:
            self._where[nid] = depth + 1

    def _cpl(self, nid: bytes) -> int:
        return ID_BITS - (self._own_int ^ int.from_bytes(nid, "big")).bit_length()

    def mark_slow(self, node_id: bytes) -> None:
        """A request to ``node_id`` has gone unanswered for too long (see the module doc)."""
        self._slow[node_id] = None
        self._slow.move_to_end(node_id)
        while len(self._slow) > self.slow_size:
            self._slow.popitem(last=False)

    def answered(self, node_id: bytes) -> None:
        """``node_id`` answered a request: it is not slow (any more)."""
        self._slow.pop(node_id, None)

    def is_slow(self, node_id: bytes) -> bool:
        return node_id in self._slow

    def failed(self, node_id: bytes, limit: int = 2) -> bool:
        """``node_id`` left a request unanswered; after ``limit`` in a row it is removed.

        Section 4.1's lazy replacement: stale contacts are found by the traffic we send
        anyway, and a replacement takes the slot. Returns True if the contact was removed.
        The node id is also marked slow (:meth:`mark_slow`).
        """
        self.mark_slow(node_id)
        if node_id not in self._where:
            return False
        n = self._failures.get(node_id, 0) + 1
        if n < limit:
            self._failures[node_id] = n
            return False
        return self.remove(node_id)

    def remove(self, node_id: bytes) -> bool:
        """Drop a contact (failed ping, dead peer); promote the freshest replacement."""
        pos = self._where.pop(node_id, None)
        if pos is None:
            for b in self._buckets:
                b.replacements.pop(node_id, None)
            return False
        b = self._buckets[pos]
        del b.entries[node_id]
        self._seen.pop(node_id, None)
        self._failures.pop(node_id, None)
        del self._ints[node_id]
        if b.pending == node_id:
            b.pending = None
        if b.replacements:
            nid, c = b.replacements.popitem(last=True)
            b.entries[nid] = c
            self._where[nid] = pos
            self._ints[nid] = int.from_bytes(nid, "big")
            self._seen[nid] = 0.0  # heard of, not from: first in line for a ping
        return True

    def closest(self, target: bytes, count: int | None = None) -> list[Contact]:
        """The ``count`` (default k) known contacts closest to ``target`` by XOR distance.

        Buckets are visited in increasing distance from the target: with ``j`` the target's
        bucket position, bucket ``j`` shares more than ``j`` leading bits with the target,
        the buckets after it exactly ``j``, and bucket ``i < j`` exactly ``i`` -- so whole
        groups can be taken in that order and only the last group needs sorting.
        """
        count = self.k if count is None else count
        t = int.from_bytes(target, "big")
        ints = self._ints
        picked: list[Contact] = []
        for group in self._groups_by_distance(t):
            need = count - len(picked)
            if len(group) <= need:
                picked.extend(group)
                if len(group) == need:
                    break
                continue
            picked.extend(heapq.nsmallest(need, group, key=lambda c: ints[c.node_id] ^ t))
            break
        picked.sort(key=lambda c: ints[c.node_id] ^ t)
        return picked

    def _groups_by_distance(self, t: int) -> Iterator[list[Contact]]:
        buckets = self._buckets
        last = len(buckets) - 1
        j = min(ID_BITS - (self._own_int ^ t).bit_length(), last)
        yield list(buckets[j].entries.values())
        if j < last:
            yield [c for b in buckets[j + 1 :] for c in b.entries.values()]
        for i in range(j - 1, -1, -1):
            yield list(buckets[i].entries.values())

    def contacts(self) -> list[Contact]:
        """Every contact in the table."""
        return [c for b in self._buckets for c in b.entries.values()]

    def refresh_targets(self, now: float, interval: float, rng: random.Random) -> list[bytes]:
        """Random ids in buckets not touched for ``interval`` seconds (section 2.3 refresh)."""
        out = []
        for pos, b in enumerate(self._buckets):
            if now - b.last_touched >= interval:
                b.last_touched = now
                out.append(self._random_id_in(pos, rng))
        return out

    def _random_id_in(self, pos: int, rng: random.Random) -> bytes:
        last = pos == len(self._buckets) - 1
        r = rng.getrandbits(ID_BITS)
        if last:  # share at least `pos` bits with own id
            mask = (1 << (ID_BITS - pos)) - 1 if pos < ID_BITS else 0
            value = (self._own_int & ~mask) | (r & mask)
        else:  # share exactly `pos` bits: flip bit pos
            keep = ID_BITS - pos
            mask = (1 << (keep - 1)) - 1
            flipped = self._own_int ^ (1 << (keep - 1))
            value = (flipped & ~mask) | (r & mask)
        return value.to_bytes(32, "big")
