"""Events received on topics subscribed through the control endpoint, kept until drained
(:mod:`mesh.control`'s ``events`` op), within a count and a byte budget."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from typing import Any

from mesh.control_wire import ControlConfig, ControlError
from mesh.events import EventReceived

__all__ = ["EventQueues"]


class EventQueues:
    """Events received on topics subscribed through the endpoint, until drained: at most
    ``max_events`` per topic and ``max_event_bytes`` (their JSON size) in all; beyond, the
    oldest event of the fullest queue is dropped (counted in ``dropped``)."""

    def __init__(self, config: ControlConfig) -> None:
        self.config = config
        self.dropped = 0
        self._queues: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._bytes: Counter[str] = Counter()
        self._total = 0
        self._arrived = asyncio.Event()

    def open(self, topic: str) -> None:
        self._queues.setdefault(topic, deque())

    def add(self, ev: EventReceived) -> None:
        q = self._queues.setdefault(ev.topic, deque())
        payload = ev.payload.hex()
        item = {"author": ev.author.hex(), "seq": ev.seq, "payload": payload}
        size = len(payload) + 128  # its JSON, and a margin for the keys and numbers
        q.append((size, item))
        self._bytes[ev.topic] += size
        self._total += size
        if len(q) > self.config.max_events:
            self._drop(ev.topic)
        while self._total > self.config.max_event_bytes:
            self._drop(max(self._bytes, key=self._bytes.__getitem__))
        self._arrived.set()

    def _drop(self, topic: str) -> None:
        size, _ = self._queues[topic].popleft()
        self._bytes[topic] -= size
        self._total -= size
        self.dropped += 1

    async def drain(self, topic: str, most: int, wait: float) -> list[dict[str, Any]]:
        """Up to ``most`` events of ``topic`` (as many as fit an answer), waiting up to
        ``wait`` s for the first."""
        q = self._queues.get(topic)
        if q is None:
            raise ControlError(f"not subscribed to {topic!r} through this endpoint")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not q and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except TimeoutError:
                break
        out: list[dict[str, Any]] = []
        room = self.config.max_answer_bytes - 1024
        while q and len(out) < most and (not out or q[0][0] <= room):
            size, item = q.popleft()
            self._bytes[topic] -= size
            self._total -= size
            room -= size
            out.append(item)
        return out
