"""MeshNode in one process over real QUIC sockets: API round trips and failure semantics."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mesh.errors import MeshUsageError
from mesh.identity import NodeKey, node_id_of
from mesh.node import CallError, MeshNode
from mesh.rpc import NO_ROUTE, REMOTE


async def _pair() -> tuple[MeshNode, MeshNode]:
    a = MeshNode(NodeKey.generate(), realms=["lab", "other"])
    b = MeshNode(NodeKey.generate(), realms=["lab"])
    await b.start(bootstrap=[await a.start()])
    await b.wait_joined(10)
    return a, b


def test_api_round_trips_and_errors() -> None:
    async def go() -> None:
        a, b = await _pair()
        try:
            got: list[bytes] = []
            arrived = asyncio.Event()

            def broken(ev: Any) -> None:
                raise RuntimeError("a buggy subscriber")

            def good(ev: Any) -> None:
                got.append(ev.payload)
                arrived.set()

            await b.subscribe("t", broken)
            await b.subscribe("t", good)
            await a.publish("t", b"one")
            await asyncio.wait_for(arrived.wait(), 10)
            assert got == [b"one"] and b.stats()["node.callback_errors"] == 1
            # subscribing again re-stores the record and keeps each handler once
            await b.subscribe("t", good)
            arrived.clear()
            await a.publish("t", b"two")
            await asyncio.wait_for(arrived.wait(), 10)
            assert got == [b"one", b"two"]  # one dispatch calls every handler: no duplicate

            async def slow_double(caller: bytes, args: bytes) -> bytes:
                assert caller == a.node_id
                await asyncio.sleep(0.01)
                return args * 2

            def fails(caller: bytes, args: bytes) -> bytes:
                raise ValueError("bad input")

            await b.register("double", slow_double)
            await b.register("fails", fails)
            assert await a.call("double", b"ab", realm="lab") == b"abab"
            with pytest.raises(CallError) as err:
                await a.call("fails", b"")
            assert err.value.code == REMOTE and "bad input" in err.value.message
            with pytest.raises(CallError) as err:
                await a.call("missing", b"", timeout=3)
            assert err.value.code == NO_ROUTE
            with pytest.raises(MeshUsageError):
                await b.call("double", b"", realm="other")  # b never joined it
            await a.advertise("xor", b"g", meta={"fitness": 2.0})
            recs = await b.find("xor")
            assert [r.value for r in recs] == [b"g"] and dict(recs[0].meta)["fitness"] == 2.0
            assert b.node_id in {c.node_id for c in await a.lookup(b.node_id)}
            peers = {p.node_id: p for p in a.peers()}
            assert peers[b.node_id].connected and peers[b.node_id].status == "alive"
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(go(), 60))


def test_value_records_one_per_author_replaced_and_withdrawn() -> None:
    async def go() -> None:
        a, b = await _pair()
        try:
            await a.put_value("cap", b"a1", meta={"n": 1}, ttl=60)
            await b.put_value("cap", b"b1")
            got = {node_id_of(r.author): r.value for r in await a.get_values("cap")}
            assert got == {a.node_id: b"a1", b.node_id: b"b1"}
            await a.put_value("cap", b"a2", ttl=60)  # replaces a's record, keeps b's
            recs = {node_id_of(r.author): r for r in await b.get_values("cap")}
            assert recs[a.node_id].value == b"a2" and recs[a.node_id].ttl == 60
            assert recs[b.node_id].value == b"b1"
            await b.put_value("cap", b"", deleted=True)  # withdrawn
            assert [node_id_of(r.author) for r in await a.get_values("cap")] == [a.node_id]
            assert await a.get_values("other-name") == []
            assert await b.find("cap") == []  # another kind: genotype adverts do not see it
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(go(), 60))


def test_close_is_clean_and_the_peer_notices() -> None:
    async def go() -> None:
        a, b = await _pair()
        await b.close()
        await b.close()  # idempotent
        loop = asyncio.get_running_loop()
        end = loop.time() + 5
        while a.transport is not None and a.transport.connected(b.node_id):
            assert loop.time() < end, "peer did not see CONNECTION_CLOSE"
            await asyncio.sleep(0.02)
        await a.close()

    asyncio.run(asyncio.wait_for(go(), 30))


def test_restarted_node_with_the_same_key_is_heard_again() -> None:
    """A publisher restarted with its key: its new publications are not taken for replays."""

    async def go() -> None:
        a = MeshNode(NodeKey.generate(), realms=["lab"])
        key = NodeKey.generate()
        seed = await a.start()
        got: list[bytes] = []
        arrived = asyncio.Event()

        def on_event(ev: Any) -> None:
            got.append(ev.payload)
            arrived.set()

        b = MeshNode(key, realms=["lab"])
        b2 = MeshNode(key, realms=["lab"])
        try:
            await a.subscribe("t", on_event)
            await b.start(bootstrap=[seed])
            await b.wait_joined(10)
            await b.publish("t", b"before")
            await asyncio.wait_for(arrived.wait(), 10)
            old_seq = b._core().seq
            await b.close()
            arrived.clear()
            await b2.start(bootstrap=[seed])
            await b2.wait_joined(10)
            assert b2._core().seq > old_seq
            await b2.publish("t", b"after")
            await asyncio.wait_for(arrived.wait(), 10)
            assert got == [b"before", b"after"]
        finally:
            await a.close()
            await b.close()
            await b2.close()

    asyncio.run(asyncio.wait_for(go(), 60))
