"""Actor classes for the lifeline and request-by-name tests (importable, as actors must be)."""

from __future__ import annotations

import ctypes
import os
from datetime import timedelta
from typing import Any

from thespian.actors import WakeupMessage

from actors.runtime import Worker
from actors.runtime.messages import Init

_PR_GET_PDEATHSIG = 2


def death_signal() -> int:
    """The signal this process gets when its parent dies (0: none), from prctl(2)."""
    value = ctypes.c_int(0)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0)
    return value.value


class DeathSig(Worker):
    """Request ``"pdeathsig"``: this actor process's parent-death signal; ``"pid"``, ``"ppid"``."""

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "pdeathsig":
            return death_signal()
        if payload == "pid":
            return os.getpid()
        if payload == "ppid":
            return os.getppid()
        return payload


class LateStarter(Worker):
    """Answers requests with ``(incarnation, payload)``. From its second incarnation on it
    reports Started (and so gets its name back in the registry) only ``delay`` seconds
    after it was started: a restart during which the name is not registered."""

    def on_start(self, delay: float = 0.5) -> None:
        self.delay = delay

    def _on_init(self, msg: Init) -> bool:
        self.on_start(*msg.args)
        if msg.incarnation == 1:
            return True
        self.wakeupAfter(timedelta(seconds=self.delay), "ready")
        return False

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, WakeupMessage) and msg.payload == "ready":
            self._announce_started()

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "pid":
            return os.getpid()
        assert self.init_msg is not None
        return (self.init_msg.incarnation, payload)
