"""The actor class of ``supervised_actors.py`` (actor classes live in importable modules)."""

import os
from typing import Any

from actors.runtime import Worker


class Counter(Worker):
    """Adds numbers it is sent; ``"crash"`` raises (let it crash); ``"pid"`` its process."""

    def on_start(self, start: int = 0) -> None:
        self.total = start

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "crash":
            raise RuntimeError("asked to crash")
        if payload == "pid":
            return os.getpid()
        self.total += payload
        return self.total
