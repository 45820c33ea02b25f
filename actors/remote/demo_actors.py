"""Small remotable actors: what ``megabrain worker`` offers by default, used by the examples,
the tests and the benchmark.

* :class:`Echo` answers every request with its payload; ``("crash", why)`` crashes it and
  ``("stop",)`` stops it normally.
* :class:`Recorder` keeps the plain messages it receives (at most ``limit``); the request
  ``"log"`` answers them in arrival order, ``"count"`` their number.
"""

from __future__ import annotations

from typing import Any

from actors.runtime import Worker

__all__ = ["Echo", "Recorder"]


class Echo(Worker):
    def on_start(self, *args: Any) -> None:
        self.args = args

    def handle_call(self, payload: Any, sender: Any) -> Any:
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
