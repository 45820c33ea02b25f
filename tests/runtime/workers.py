"""Actor classes used by the runtime tests (actors must live in importable modules)."""

from __future__ import annotations

import os
import time
from typing import Any

from thespian.actors import Actor

from actors.runtime import NOREPLY, Worker, seal


class Echo(Worker):
    """Replies to requests; ``("crash", text)`` raises, ``("stop", reason)`` exits;
    ``"seal"`` answers this process's ``(installed, fingerprint, rejected)`` seal state.

    Args: ``(recorder_address_or_None, label)``; with a recorder, it reports
    ``("start", label, t)`` and ``("stop", label, t)`` there, ``t`` from the
    system-wide monotonic clock (so events from several processes can be ordered
    by when they happened, not by when they arrived).
    """

    def on_start(self, recorder: Any = None, label: str = "", *extra: Any) -> None:
        self.recorder = recorder
        self.label = label
        self.extra = extra
        if recorder is not None:
            self.send(recorder, ("start", label, time.monotonic()))

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "pid":
            return os.getpid()
        if payload == "extra":
            return self.extra
        if payload == "seal":  # this process's transport seal
            return (seal.installed(), seal.fingerprint(), seal.rejected())
        if isinstance(payload, tuple) and payload[0] == "crash":
            raise RuntimeError(payload[1])
        if isinstance(payload, tuple) and payload[0] == "stop":
            self.stop(payload[1])
            return "stopping"
        if isinstance(payload, tuple) and payload[0] == "sleep":
            time.sleep(payload[1])
            return "slept"
        return payload

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, tuple) and msg[0] == "crash":
            raise RuntimeError(msg[1])

    def on_stop(self, reason: str) -> None:
        if self.recorder is not None:
            self.send(self.recorder, ("stop", self.label, time.monotonic()))


class Stubborn(Echo):
    """Ignores shutdown requests (its supervisor must kill it after the timeout)."""

    def accept_shutdown(self, reason: str) -> bool:
        return False


class FailingStart(Worker):
    """Crashes in on_start."""

    def on_start(self, *args: Any) -> None:
        raise ValueError("cannot start")


class Recorder(Worker):
    """Collects every plain message; request ``"events"`` returns them in order."""

    def on_start(self, *args: Any) -> None:
        self.events: list[Any] = []

    def handle(self, msg: Any, sender: Any) -> None:
        self.events.append(msg)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "events":
            return list(self.events)
        if payload == "timeline":  # (kind, label) of timed events, in time order
            timed = sorted(
                (e for e in self.events if isinstance(e, tuple) and len(e) == 3), key=lambda e: e[2]
            )
            return [(kind, label) for kind, label, _ in timed]
        if isinstance(payload, tuple) and payload[0] == "monitor":
            return self.monitor(payload[1])
        return None


class Silent(Actor):
    """A plain Thespian actor that never answers anything."""

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        return


class Asker(Worker):
    """Request ``("ask", target, payload, timeout)``: asks ``target`` from inside the
    actor system and answers with the :class:`Reply` it got (deferred reply)."""

    def handle_call(self, payload: Any, sender: Any) -> Any:
        _, target, inner, timeout = payload
        caller = self.deferred()
        self.request(target, inner, timeout, lambda reply: self.reply(caller, tuple(reply)))
        return NOREPLY


class TimerHolder(Worker):
    """Request ``("hold", target, seconds)``: starts an actor-side request to ``target``
    (which never answers) with a ``seconds`` deadline, so an actor timer stays pending
    that long, and answers ``"holding"`` at once."""

    def handle_call(self, payload: Any, sender: Any) -> Any:
        _, target, seconds = payload
        self.request(target, "anyone?", seconds, lambda reply: None)
        return "holding"
