"""A minimal worker used by ``megabrain runtime check`` and the benchmarks.

Requests: ``"pid"`` -> its OS pid; anything else is echoed back.
"""

from __future__ import annotations

import os
from typing import Any

from actors.runtime.child import Worker

__all__ = ["Probe"]


class Probe(Worker):
    """Echo worker: answers ``"pid"`` with its pid, echoes every other payload."""

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "pid":
            return os.getpid()
        return payload
