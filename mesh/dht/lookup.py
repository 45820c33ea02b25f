"""The iterative node lookup (Kademlia paper, section 2.3), as a sans-I/O state machine.

The initiator picks the alpha contacts closest to the target from its own table and sends them
FIND_NODE (or FIND_VALUE) in parallel. Every answer adds the contacts it returns to a shortlist
ordered by XOR distance; as answers come in, queries go to the closest not-yet-queried
candidates, keeping at most alpha in flight. The lookup ends when the k closest candidates
still standing have all answered (the paper's termination rule: no answer brought a closer node
and every one of the k closest has been queried). A contact that fails (timeout, or its
connection is gone) is dropped. A contact that is merely slow -- unanswered after the shell's
*stall* delay, :meth:`Lookup.on_stall` -- is "removed from consideration until and unless it
does respond" (section 2.3): it frees its slot of the alpha in flight and no longer counts
among the k closest the termination rule waits for, so a table full of silent or vanished
contacts costs a stall delay per alpha of them, not a request timeout each; if it answers
while the lookup runs, its answer counts as any other. A contact the caller already knows to
be slow (``slow``: it stalled or failed before and has not answered since) is queried too,
but stalled from the start: it holds no slot and is not waited for. A lookup in which no one
has answered yet does not end on stalled queries alone: it waits for an answer or for their
failures (a node cut off from everyone still waits the request timeout, not less).

For FIND_VALUE the lookup does not stop at the first record: keys here are multi-author (every
subscriber of a topic stores its own record under one key), so it runs to the same end and
merges the records of all responders (highest ``seq`` per author).

``rounds``: each query has a depth -- 1 for the contacts taken from our own table, d + 1 for a
contact learned from an answer to a depth-d query. :attr:`Lookup.rounds` is the depth of the
query to the closest node found, i.e. the sequential round trips needed to reach it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mesh.frames import Contact, Record

__all__ = ["DisjointLookup", "Lookup"]

_NEW, _INFLIGHT, _DONE, _FAILED, _STALLED = 0, 1, 2, 3, 4


class Lookup:
    """One iterative lookup of ``target``; feed it answers, ask it whom to query next."""

    def __init__(
        self,
        target: bytes,
        initial: list[Contact],
        own_id: bytes,
        *,
        k: int = 20,
        alpha: int = 3,
        find_value: bool = False,
        claimed: set[bytes] | None = None,
        slow: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.target = target
        self._claimed = claimed
        self._slow = slow
        self._stalled = 0  # queries stalled and not answered or failed yet
        self._answered = 0
        self.k = k
        self.alpha = alpha
        self.find_value = find_value
        self._t = int.from_bytes(target, "big")
        self._own = own_id
        self._state: dict[bytes, int] = {}
        self._depth: dict[bytes, int] = {}
        self._contacts: dict[bytes, Contact] = {}
        self._shortlist: list[tuple[int, bytes]] = []  # sorted (distance, id), failed excluded
        self._inflight = 0
        self._records: dict[bytes, Record] = {}
        self.queries = 0
        for c in initial:
            self._learn(c, 1)

    def _learn(self, c: Contact, depth: int) -> None:
        nid = c.node_id
        if nid == self._own or nid in self._state:
            return
        self._state[nid] = _NEW
        self._depth[nid] = depth
        self._contacts[nid] = c
        d = self._t ^ int.from_bytes(nid, "big")
        sl = self._shortlist
        # insertion keeps the list sorted; lists are short (a few dozen entries)
        lo, hi = 0, len(sl)
        while lo < hi:
            mid = (lo + hi) // 2
            if sl[mid][0] < d:
                lo = mid + 1
            else:
                hi = mid
        sl.insert(lo, (d, nid))

    def next_queries(self) -> list[Contact]:
        """Contacts to query now (marks them in flight); empty when none should start."""
        out: list[Contact] = []
        sl = self._shortlist
        claimed = self._claimed
        i = 0
        window = 0  # shortlist entries looked at that count among the k closest
        while self._inflight < self.alpha and i < len(sl) and window < self.k:
            nid = sl[i][1]
            state = self._state[nid]
            if state == _NEW:
                if claimed is not None:
                    if nid in claimed:  # another disjoint path owns it: not ours to use
                        self._state[nid] = _FAILED
                        del sl[i]
                        continue
                    claimed.add(nid)
                self.queries += 1
                out.append(self._contacts[nid])
                if self._slow is not None and self._slow(nid):  # known slow: not waited for
                    self._state[nid] = _STALLED
                    self._stalled += 1
                    i += 1
                    continue
                self._state[nid] = _INFLIGHT
                self._inflight += 1
            window += state != _STALLED
            i += 1
        return out

    def depth_of(self, node_id: bytes) -> int:
        return self._depth.get(node_id, 0)

    def _owned(self) -> set[bytes]:
        return {nid for nid, st in self._state.items() if st == _DONE}

    def on_response(
        self, node_id: bytes, contacts: tuple[Contact, ...], records: tuple[Record, ...] = ()
    ) -> None:
        """``node_id`` answered with ``contacts`` (and, for FIND_VALUE, ``records``)."""
        state = self._state.get(node_id)
        if state not in (_INFLIGHT, _STALLED):
            return
        self._state[node_id] = _DONE
        self._answered += 1
        if state == _INFLIGHT:
            self._inflight -= 1
        else:
            self._stalled -= 1
        depth = self._depth[node_id] + 1
        for c in contacts[: self.k]:
            self._learn(c, depth)
        self.add_records(records)

    def add_records(self, records: Iterable[Record]) -> None:
        """Merge FIND_VALUE records (newest ``seq`` per author wins)."""
        for r in records:
            old = self._records.get(r.author)
            if old is None or r.seq > old.seq:
                self._records[r.author] = r

    def on_failure(self, node_id: bytes) -> None:
        """``node_id`` did not answer in time: drop it from the shortlist."""
        state = self._state.get(node_id)
        if state not in (_INFLIGHT, _STALLED):
            return
        self._state[node_id] = _FAILED
        if state == _INFLIGHT:
            self._inflight -= 1
        else:
            self._stalled -= 1
        d = self._t ^ int.from_bytes(node_id, "big")
        self._shortlist.remove((d, node_id))

    def on_stall(self, node_id: bytes) -> bool:
        """``node_id`` has not answered within the stall delay: free its slot and stop
        counting it among the k closest, until it answers (:meth:`on_response`) or fails.
        True if it was still in flight (it answered or failed already otherwise)."""
        if self._state.get(node_id) != _INFLIGHT:
            return False
        self._state[node_id] = _STALLED
        self._inflight -= 1
        self._stalled += 1
        return True

    @property
    def done(self) -> bool:
        """True once the k closest live candidates (stalled ones aside) have all answered --
        and someone has answered, unless no query is pending any more."""
        if self._inflight or (self._stalled and not self._answered):
            return False
        live = (nid for _, nid in self._shortlist if self._state[nid] != _STALLED)
        for n, nid in enumerate(live):
            if n >= self.k:
                break
            if self._state[nid] == _NEW:
                return False
        return True

    def result(self) -> list[Contact]:
        """The k closest contacts that answered, closest first."""
        out = []
        for _, nid in self._shortlist:
            if self._state[nid] == _DONE:
                out.append(self._contacts[nid])
                if len(out) >= self.k:
                    break
        return out

    def records(self) -> list[Record]:
        """FIND_VALUE: merged records, newest per author, tombstones removed."""
        return [r for r in self._records.values() if not r.deleted]

    @property
    def rounds(self) -> int:
        """Depth of the query that reached the closest responder (0 if none answered)."""
        for _, nid in self._shortlist:
            if self._state[nid] == _DONE:
                return self._depth[nid]
        return 0


class DisjointLookup:
    """S/Kademlia (Baumgart & Mies, 2007, section 4.4): ``d`` lookups over disjoint node sets.

    The initial contacts are dealt round-robin to ``d`` :class:`Lookup` paths sharing one set
    of claimed nodes, so no node is queried by two paths: an adversary must sit on every path
    to hide the target. Same interface as :class:`Lookup`; the result merges the paths.
    """

    def __init__(
        self,
        target: bytes,
        initial: list[Contact],
        own_id: bytes,
        *,
        k: int = 20,
        alpha: int = 3,
        d: int = 2,
        find_value: bool = False,
        slow: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.target = target
        self.k = k
        self._t = int.from_bytes(target, "big")
        claimed: set[bytes] = set()
        self.paths = [
            Lookup(target, initial[i::d], own_id, k=k, alpha=alpha, find_value=find_value,
                   claimed=claimed, slow=slow)
            for i in range(d)
        ]  # fmt: skip
        self._owner: dict[bytes, Lookup] = {}

    def next_queries(self) -> list[Contact]:
        out = []
        for path in self.paths:
            for c in path.next_queries():
                self._owner[c.node_id] = path
                out.append(c)
        return out

    def on_response(
        self, node_id: bytes, contacts: tuple[Contact, ...], records: tuple[Record, ...] = ()
    ) -> None:
        path = self._owner.get(node_id)
        if path is not None:
            path.on_response(node_id, contacts, records)

    def on_failure(self, node_id: bytes) -> None:
        path = self._owner.get(node_id)
        if path is not None:
            path.on_failure(node_id)

    def on_stall(self, node_id: bytes) -> bool:
        path = self._owner.get(node_id)
        return path is not None and path.on_stall(node_id)

    def add_records(self, records: Iterable[Record]) -> None:
        self.paths[0].add_records(records)

    @property
    def done(self) -> bool:
        return all(p.done for p in self.paths)

    def result(self) -> list[Contact]:
        merged = {c.node_id: c for p in self.paths for c in p.result()}
        ranked = sorted(merged.values(), key=lambda c: int.from_bytes(c.node_id, "big") ^ self._t)
        return ranked[: self.k]

    def records(self) -> list[Record]:
        best: dict[bytes, Record] = {}
        for p in self.paths:
            for r in p._records.values():
                old = best.get(r.author)
                if old is None or r.seq > old.seq:
                    best[r.author] = r
        return [r for r in best.values() if not r.deleted]

    @property
    def rounds(self) -> int:
        """Rounds of the path that reached the overall closest responder."""
        result = self.result()
        if not result:
            return 0
        closest = result[0].node_id
        return next((p.depth_of(closest) for p in self.paths if closest in p._owned()), 0)

    @property
    def queries(self) -> int:
        return sum(p.queries for p in self.paths)
