"""Small actors used by ``megabrain runtime check`` and ``benchmarks/runtime_messaging.py``.

* :class:`Probe` -- echo worker: ``"pid"`` -> its pid, any other request echoed; a
  plain ``("hop", i, n)`` message is counted and the sender told ``"counted"`` at
  the last one.
* :class:`Pinger` -- drives a measurement against a target through the wrappers
  (requests with correlation ids and deadlines); answers when done (deferred reply).
* :class:`RawPinger`, :class:`RawPonger` -- the same measurements with plain
  Thespian actors, the peer that benchmarks compare against.
* :class:`Relay` -- a plain Thespian actor (no child wrapper, no supervision) that forwards a
  :class:`Hop` to its next relay (:class:`SetNext`); the last one answers the sender recorded
  in the hop. A ring of relays carrying the same small payload as a phenotype's ``Forward``
  is the peer of ``benchmarks/phenotype_actor_speed.py``: the raw cost of one message.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from thespian.actors import Actor

from actors.runtime.child import NOREPLY, Caller, Worker
from actors.runtime.messages import Reply

__all__ = ["Hop", "Pinger", "Probe", "RawPinger", "RawPonger", "Relay", "SetNext"]


class Probe(Worker):
    """Echo worker (see module docstring)."""

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "pid":
            return os.getpid()
        return payload

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, tuple) and msg[0] == "hop" and msg[1] == msg[2] - 1:
            self.send(sender, "counted")


class Pinger(Worker):
    """Request ``("rtt", target, n)``: n sequential request/reply round trips to
    ``target``; replies with the list of round-trip times in seconds.
    Request ``("burst", target, n)``: n one-way messages; replies with the seconds
    until the target has counted them all."""

    def on_start(self, *args: Any) -> None:
        self._asker: Caller | None = None
        self._times: list[float] = []
        self._target: Any = None
        self._n = 0
        self._t = 0.0

    def handle_call(self, payload: Any, sender: Any) -> Any:
        kind, self._target, self._n = payload
        self._asker = self.deferred()
        self._times = []
        self._t = time.perf_counter()
        if kind == "rtt":
            self.request(self._target, "ping", 60.0, self._on_pong)
        else:
            for i in range(self._n):
                self.send(self._target, ("hop", i, self._n))
        return NOREPLY

    def _on_pong(self, reply: Reply) -> None:
        now = time.perf_counter()
        if not reply.ok:
            raise RuntimeError(f"round trip failed: {reply.error}")
        self._times.append(now - self._t)
        if len(self._times) < self._n:
            self._t = time.perf_counter()
            self.request(self._target, "ping", 60.0, self._on_pong)
        elif self._asker is not None:
            self.reply(self._asker, self._times)

    def handle(self, msg: Any, sender: Any) -> None:
        if msg == "counted" and self._asker is not None:
            self.reply(self._asker, time.perf_counter() - self._t)


class RawPonger(Actor):
    """Plain Thespian: answers ``"ping"`` with ``"pong"``; counts hops like Probe;
    ``("poke", address)`` makes it send ``"hello"`` there (see the benchmark)."""

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if msg == "ping":
            self.send(sender, "pong")
        elif isinstance(msg, tuple) and msg[0] == "poke":
            self.send(msg[1], "hello")
        elif isinstance(msg, tuple) and msg[0] == "hop" and msg[1] == msg[2] - 1:
            self.send(sender, "counted")


class RawPinger(Actor):
    """Plain Thespian version of :class:`Pinger` (same messages, no wrappers)."""

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, tuple) and msg[0] in ("rtt", "burst"):
            kind, self.target, self.n = msg
            self.asker, self.times = sender, []
            self.t = time.perf_counter()
            if kind == "rtt":
                self.send(self.target, "ping")
            else:
                for i in range(self.n):
                    self.send(self.target, ("hop", i, self.n))
        elif msg == "pong":
            now = time.perf_counter()
            self.times.append(now - self.t)
            if len(self.times) < self.n:
                self.t = time.perf_counter()
                self.send(self.target, "ping")
            else:
                self.send(self.asker, self.times)
        elif msg == "counted":
            self.send(self.asker, time.perf_counter() - self.t)
        elif isinstance(msg, tuple) and msg[0] == "poke":
            self.send(msg[1], "hello")


@dataclass(frozen=True, slots=True)
class SetNext:
    address: Any


@dataclass(frozen=True, slots=True)
class Hop:
    """``left`` hops to go; ``origin`` gets the hop when none is left (``None``: the sender of
    the first hop)."""

    left: int
    origin: Any
    values: tuple[float, ...] = (0.0,)


class Relay(Actor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.next: Any = None

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if type(msg) is Hop:
            origin = sender if msg.origin is None else msg.origin
            if msg.left <= 1:
                self.send(origin, msg)
            else:
                self.send(self.next, Hop(msg.left - 1, origin, msg.values))
        elif isinstance(msg, SetNext):
            self.next = msg.address
            self.send(sender, "ok")
