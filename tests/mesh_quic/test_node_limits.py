"""MeshNode in one process: the frame limit of the core follows the transport's, an oversized
reply becomes the caller's REMOTE error, and nothing raised while flushing stops the flush."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from mesh.errors import MeshUsageError
from mesh.frames import Ping
from mesh.identity import NodeKey
from mesh.node import CallError, MeshNode, NodeConfig
from mesh.rpc import REMOTE

CAP = 256 * 1024


async def _pair(config: NodeConfig | None = None) -> tuple[MeshNode, MeshNode]:
    a = MeshNode(NodeKey.generate(), realms=["lab"], config=config)
    b = MeshNode(NodeKey.generate(), realms=["lab"], config=config)
    await b.start(bootstrap=[await a.start()])
    await b.wait_joined(10)
    return a, b


def test_core_limit_follows_the_transport_cap_and_big_replies_fail_cleanly() -> None:
    cfg = NodeConfig()
    cfg = replace(cfg, transport=replace(cfg.transport, max_frame_bytes=CAP))

    async def go() -> None:
        a, b = await _pair(cfg)
        try:
            assert a._core().config.limits.max_frame_bytes == CAP

            async def huge(caller: bytes, args: bytes) -> bytes:
                return bytes(CAP)

            await b.register("huge", huge)
            await b.register("echo", lambda caller, args: args)
            with pytest.raises(CallError) as err:
                await a.call("huge", b"", timeout=5)
            assert err.value.code == REMOTE and "max_frame_bytes" in err.value.message
            assert b.stats()["node.respond_refused"] == 1
            with pytest.raises(MeshUsageError, match="publication frame"):
                await a.publish("t", bytes(CAP))
            assert await a.call("echo", b"still up", timeout=5) == b"still up"
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


def test_an_exception_while_flushing_does_not_stop_the_other_frames() -> None:
    async def go() -> None:
        a, b = await _pair()
        try:
            await a.register("echo", lambda caller, args: args)
            tr = b.transport
            assert tr is not None
            real = tr.send
            tried: list[bytes] = []

            def flaky(node_id: bytes, data: bytes) -> bool:
                tried.append(data)
                if len(tried) == 1:
                    raise MeshUsageError("frame exceeds max_frame_bytes")
                return real(node_id, data)

            tr.send = flaky  # type: ignore[method-assign]
            node = b._core().realm("lab")
            contact = node.dht.routing.get(a.node_id)
            assert contact is not None
            node.send(contact, Ping(node.id, 1))
            node.send(contact, Ping(node.id, 2))
            b._flush()
            assert len(tried) == 2  # the second frame went out after the first one failed
            assert b.stats()["node.flush_errors"] == 1
            assert await b.call("echo", b"ok", timeout=5) == b"ok"  # timers and I/O go on
            # a timer that raises still leaves the next one armed
            core = b._core()
            real_timer = core.handle_timer

            def broken(now: float) -> None:
                core.handle_timer = real_timer  # type: ignore[method-assign]
                raise RuntimeError("a buggy timer")

            core.handle_timer = broken  # type: ignore[method-assign]
            with pytest.raises(RuntimeError):
                b._on_timer()
            assert b._timer is not None and b._timer_at == core.next_timer()
            assert await b.call("echo", b"again", timeout=5) == b"again"
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())
