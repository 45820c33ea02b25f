"""An in-process node with its control endpoint on its own event-loop thread, and raw
line-level access to the endpoint for tests that play a misbehaving client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from mesh.control import ControlConfig, ControlServer
from mesh.identity import NodeKey
from mesh.node import MeshNode, NodeConfig

T = TypeVar("T")


class Served:
    """A MeshNode and its ControlServer running on a private loop thread."""

    def __init__(self, tmp: Path, config: ControlConfig, node_config: NodeConfig) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.node = MeshNode(NodeKey.generate(), config=node_config)
        self.control = ControlServer(self.node, config=config)
        self.control_file = tmp / "node.control.json"

        async def start() -> tuple[str, int]:
            await self.node.start()
            host, port = (await self.control.start()).rsplit(":", 1)
            self.control.write_file(self.control_file)
            return host, int(port)

        self.host, self.port = self.run(start())
        self.token = self.control.token

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the loop thread (to read server state without racing it)."""

        async def go() -> T:
            return fn()

        return self.run(go())

    def connections(self) -> tuple[int, int]:
        return self.call(self.control.connections)

    def counter(self, name: str) -> int:
        return self.call(lambda: self.control.counters[name])

    def close(self) -> None:
        async def stop() -> None:
            await self.control.close()
            await self.node.close()

        try:
            self.run(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


@contextlib.contextmanager
def served(
    tmp: Path, config: ControlConfig | None = None, node_config: NodeConfig | None = None
) -> Iterator[Served]:
    s = Served(tmp, config or ControlConfig(), node_config or NodeConfig())
    try:
        yield s
    finally:
        s.close()


class Line:
    """A raw client connection: send bytes, read answer lines, see the end."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ask(self, obj: Any) -> dict[str, Any]:
        self.send(json.dumps(obj).encode() + b"\n")
        return self.answer()

    def answer(self) -> dict[str, Any]:
        raw = self.file.readline()
        assert raw.endswith(b"\n"), f"no answer line (got {raw[:200]!r})"
        out: dict[str, Any] = json.loads(raw)
        return out

    def closed(self) -> bool:
        """True if the server ended the connection (EOF or reset) with nothing more sent."""
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def send_in_background(line: Line, data: bytes) -> threading.Thread:
    """Send ``data`` from a thread (the server may stop reading or close meanwhile)."""

    def go() -> None:
        with contextlib.suppress(OSError):
            line.send(data)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t
