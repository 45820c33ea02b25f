"""Small remotable actors: what ``megabrain worker`` offers by default, used by the examples,
the tests and the benchmark.

* :class:`Echo` answers every request with its payload; ``("crash", why)`` crashes it and
  ``("stop",)`` stops it normally. ``("global", "register" | "whereis" | "unregister",
  NAME)`` makes it call its own ``register_global`` (registering itself) / ``whereis_global``
  / ``unregister_global`` and answers what that answered; ``"lost"`` answers the names whose
  :class:`~actors.runtime.remote_ref.NameLost` it received. ``("topic", "subscribe" |
  "unsubscribe", TOPIC)``, ``("topic", "publish", TOPIC, PAYLOAD)`` and ``("topic",
  "advertise", PROBLEM, PAYLOAD, META)`` make it call its own ``subscribe`` (itself) /
  ``unsubscribe`` / ``publish`` / ``advertise`` and answer what that answered; ``"events"``
  answers the :class:`~actors.runtime.remote_ref.TopicEvent` values it received.
* :class:`Recorder` keeps the plain messages it receives (at most ``limit``); the request
  ``"log"`` answers them in arrival order, ``"count"`` their number.
* :class:`Driver` drives another actor (local address or remote ref) from inside the runtime,
  through a worker's own ``request`` / ``tell`` / ``monitor``: ``("rtt", target, n, payload)``
  answers the n sequential round-trip times (s); ``("burst", target, n, size)`` tells n
  messages of ``size`` bytes and answers the seconds until the target (a Recorder) counted
  them all; ``("watch", target)`` monitors it and ``"downs"`` answers the Downs seen as
  ``(ref, kind, reason)``.
"""

from __future__ import annotations

import time
from typing import Any

from actors.runtime import NOREPLY, Caller, Down, Reply, Worker
from actors.runtime.remote_ref import NameLost, TopicEvent

__all__ = ["Driver", "Echo", "Recorder"]


class Echo(Worker):
    def on_start(self, *args: Any) -> None:
        self.args = args
        self.lost: list[str] = []
        self.events: list[TopicEvent] = []

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, NameLost):
            self.lost.append(msg.name)
        elif isinstance(msg, TopicEvent):
            self.events.append(msg)
        else:
            super().handle(msg, sender)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, tuple) and payload[:1] == ("global",) and len(payload) == 3:
            ops = {
                "register": self.register_global,
                "whereis": self.whereis_global,
                "unregister": self.unregister_global,
            }
            caller = self.deferred()
            ops[payload[1]](
                payload[2], lambda r: self.send(caller.address, r._replace(ref=caller.ref))
            )
            return NOREPLY
        if isinstance(payload, tuple) and payload[:1] == ("topic",) and len(payload) >= 3:
            caller = self.deferred()

            def back(r: Reply) -> None:
                self.send(caller.address, r._replace(ref=caller.ref))

            op, args = payload[1], payload[2:]
            if op == "subscribe":
                self.subscribe(args[0], back)
            elif op == "unsubscribe":
                self.unsubscribe(args[0], back)
            elif op == "publish":
                self.publish(args[0], args[1], back)
            elif op == "advertise":
                self.advertise(args[0], args[1], back, meta=args[2] if len(args) > 2 else None)
            else:
                raise ValueError(f"Echo does not know topic op {op!r}")
            return NOREPLY
        if payload == "events":
            return list(self.events)
        if payload == "lost":
            return list(self.lost)
        if isinstance(payload, tuple) and payload[:1] == ("crash",):
            raise RuntimeError(str(payload[1]) if len(payload) > 1 else "asked to crash")
        if isinstance(payload, tuple) and payload[:1] == ("stop",):
            self.stop()
            return "stopping"
        if payload == "args":
            return self.args
        return payload


class Recorder(Worker):
    def on_start(self, limit: int = 1_000_000) -> None:
        self.limit = int(limit)
        self.seen: list[Any] = []
        self.count = 0

    def handle(self, msg: Any, sender: Any) -> None:
        self.count += 1
        if len(self.seen) < self.limit:
            self.seen.append(msg)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "log":
            return list(self.seen)
        if payload == "count":
            return self.count
        raise ValueError(f"Recorder does not answer {payload!r}")


class Driver(Worker):
    def on_start(self) -> None:
        self.downs: list[tuple[str, str, str]] = []

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Down):
            self.downs.append((msg.ref, msg.reason.kind, msg.reason.reason))
        else:
            super().handle(msg, sender)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        op = payload[0] if isinstance(payload, tuple) else payload
        if op == "rtt":
            _, target, n, body = payload
            self._rtt(self.deferred(), target, int(n), body, [])
            return NOREPLY
        if op == "burst":
            _, target, n, size = payload
            t0 = time.monotonic()
            for i in range(int(n)):
                self.tell(target, (i, b"x" * int(size)))
            self._await_count(self.deferred(), target, int(n), t0)
            return NOREPLY
        if op == "watch":
            return self.monitor(payload[1])
        if op == "downs":
            return list(self.downs)
        raise ValueError(f"Driver does not answer {payload!r}")

    def _rtt(self, caller: Caller, target: Any, n: int, body: Any, out: list[float]) -> None:
        if len(out) >= n:
            self.reply(caller, out)
            return
        t0 = time.monotonic()

        def back(reply: Reply) -> None:
            if not reply.ok:
                self.send(caller.address, reply._replace(ref=caller.ref))
                return
            out.append(time.monotonic() - t0)
            self._rtt(caller, target, n, body, out)

        self.request(target, body, 30.0, back)

    def _await_count(self, caller: Caller, target: Any, n: int, t0: float) -> None:
        def back(reply: Reply) -> None:
            if reply.ok and reply.value >= n:
                self.reply(caller, time.monotonic() - t0)
            elif time.monotonic() - t0 > 300:
                self.send(caller.address, Reply(caller.ref, ok=False, error="timeout"))
            else:
                self.call_later(0.005, lambda: self._await_count(caller, target, n, t0))

        self.request(target, "count", 30.0, back)
