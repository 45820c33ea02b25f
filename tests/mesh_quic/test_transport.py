"""QuicTransport over real sockets on 127.0.0.1, in one process: binding, duplicates, limits."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioquic.asyncio.client import connect
from aioquic.quic.configuration import QuicConfiguration

import mesh.quic_connection as connection_mod
import mesh.transport as transport_mod
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import ED25519, NodeKey
from mesh.realms import Realm
from mesh.transport import ALPN, QuicTransport, TransportConfig, TransportError

REALMS = (Realm("default"),)


class Recorder:
    def __init__(self) -> None:
        self.authenticated: list[PeerInfo] = []
        self.lost: list[bytes] = []
        self.frames: list[tuple[bytes, bytes]] = []

    def peer_authenticated(self, info: PeerInfo) -> None:
        self.authenticated.append(info)

    def peer_lost(self, node_id: bytes) -> None:
        self.lost.append(node_id)

    def frame_received(self, node_id: bytes, data: bytes) -> None:
        self.frames.append((node_id, data))


async def make(config: TransportConfig | None = None, key: NodeKey | None = None):
    key = key or NodeKey.generate()
    rec = Recorder()
    rng = random.Random(1)
    holder: dict[str, QuicTransport] = {}

    def hs(initiator: bool) -> Handshake:
        return Handshake(key, REALMS, ED25519, rng, initiator=initiator,
                         address=holder["t"].address)  # fmt: skip

    t = QuicTransport(key, hs, rec, crypto=ED25519, config=config)
    holder["t"] = t
    await t.listen("127.0.0.1", 0)
    return t, rec


async def until(pred: Callable[[], Any], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.01)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 30))


def test_authenticates_both_ways_and_frames_keep_order_per_lane() -> None:
    async def go() -> None:
        a, ra = await make()
        b, rb = await make()
        try:
            info = await a.dial(b.address, b.key.node_id)
            assert info.node_id == b.key.node_id and info.address == b.address
            await until(lambda: rb.authenticated)
            assert rb.authenticated[0].node_id == a.key.node_id
            small = [b"s%05d" % i for i in range(2000)]
            big = [bytes([i]) * 50_000 for i in range(20)]
            for i, s in enumerate(small):
                assert a.send(b.key.node_id, s)
                if i % 100 == 0:
                    assert a.send(b.key.node_id, big[i // 100])
            assert b.send(a.key.node_id, b"reply")
            await until(lambda: len(rb.frames) == 2020 and ra.frames)
            got = [d for _, d in rb.frames]
            assert [d for d in got if len(d) < 100] == small
            assert [d for d in got if len(d) >= 100] == big
            assert ra.frames == [(b.key.node_id, b"reply")]
        finally:
            await a.close()
            await b.close()

    run(go)


def test_relayed_connection_fails_channel_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that saw another certificate than the server's own (a TLS-terminating relay)
    produces a binding the server refuses, even though the mesh handshake itself is valid."""

    async def go() -> None:
        a, _ = await make()
        b, rb = await make()
        monkeypatch.setattr(connection_mod, "certificate_fingerprint", lambda c: b"\x00" * 32)
        try:
            with pytest.raises(TransportError):
                await a.dial(b.address)
            await until(lambda: b.stats["auth_failed"] >= 1)
            assert rb.authenticated == [] and rb.frames == []
            assert any("channel binding" in r for _, r in b.last_errors)
        finally:
            await a.close()
            await b.close()

    run(go)


def test_wrong_expected_node_id_is_refused() -> None:
    async def go() -> None:
        a, _ = await make()
        b, _ = await make()
        try:
            with pytest.raises(TransportError):
                await a.dial(b.address, NodeKey.generate().node_id)
            assert a.stats["auth_failed"] == 1 and not a.connected(b.key.node_id)
            # a failed address backs off: an immediate redial fails fast
            with pytest.raises(TransportError, match="backing off"):
                await a.dial(b.address)
        finally:
            await a.close()
            await b.close()

    run(go)


def test_simultaneous_dials_keep_one_connection_on_both_sides() -> None:
    async def go() -> None:
        a, ra = await make()
        b, rb = await make()
        try:
            r1, r2 = await asyncio.gather(
                a.dial(b.address, b.key.node_id), b.dial(a.address, a.key.node_id)
            )
            assert r1.node_id == b.key.node_id and r2.node_id == a.key.node_id
            await until(lambda: a.connection_count() == 1 and b.connection_count() == 1)
            ca, cb = a._active[b.key.node_id], b._active[a.key.node_id]
            assert ca.initiator != cb.initiator  # the same connection, seen from both ends
            assert a.send(b.key.node_id, b"x") and b.send(a.key.node_id, b"y")
            await until(lambda: rb.frames and ra.frames)
        finally:
            await a.close()
            await b.close()

    run(go)


def test_restarted_peer_replaces_its_stale_connection() -> None:
    async def go() -> None:
        a, ra = await make()
        key_b = NodeKey.generate()
        b1, _ = await make(key=key_b)
        b2 = None
        try:
            await b1.dial(a.address, a.key.node_id)
            await until(lambda: a.connected(key_b.node_id))
            old = a._active[key_b.node_id]
            b2, _ = await make(key=key_b)  # same key, new process: new boot id
            await b2.dial(a.address, a.key.node_id)
            await until(lambda: a._active.get(key_b.node_id) not in (None, old))
            assert ra.lost == []  # replaced, never reported lost
            assert a.send(key_b.node_id, b"to the new one")
        finally:
            await a.close()
            await b1.close()
            if b2 is not None:
                await b2.close()

    run(go)


def test_send_queue_is_bounded_and_counts_drops() -> None:
    async def go() -> None:
        cfg = TransportConfig(send_queue_frames=10, stream_high_water=1)
        a, _ = await make(cfg)
        b, rb = await make()
        try:
            await a.dial(b.address)
            accepted = [a.send(b.key.node_id, b"f%d" % i) for i in range(25)]
            assert accepted.count(True) == 10 and a.stats["send_dropped"] == 15
            await until(lambda: len(rb.frames) == 10)
        finally:
            await a.close()
            await b.close()

    run(go)


def test_connection_cap_refuses_extra_connections() -> None:
    async def go() -> None:
        srv, _ = await make(TransportConfig(max_connections=1))
        c1, _ = await make()
        c2, _ = await make()
        try:
            await c1.dial(srv.address)
            with pytest.raises(TransportError):
                await c2.dial(srv.address)
            assert srv.stats["refused_connection_cap"] == 1
            assert c1.connected(srv.key.node_id)
        finally:
            for t in (srv, c1, c2):
                await t.close()

    run(go)


def test_silent_client_is_dropped_at_handshake_timeout() -> None:
    async def go() -> None:
        srv, _ = await make(TransportConfig(handshake_timeout=0.4))
        host, port = transport_mod.parse_address(srv.address)
        cfg = QuicConfiguration(is_client=True, alpn_protocols=[ALPN], verify_mode=0)
        try:
            async with connect(host, port, configuration=cfg) as client:
                await until(lambda: srv.stats["handshake_timeout"] == 1)
                await asyncio.wait_for(client.wait_closed(), 5)
        finally:
            await srv.close()

    run(go)


@pytest.mark.parametrize(
    ("what", "counter"),
    [("big handshake frame", "oversized_frame"), ("data stream", "protocol_violation")],
)
def test_unauthenticated_client_cannot_make_the_server_buffer(what: str, counter: str) -> None:
    async def go() -> None:
        srv, rec = await make()
        host, port = transport_mod.parse_address(srv.address)
        cfg = QuicConfiguration(is_client=True, alpn_protocols=[ALPN], verify_mode=0)
        try:
            async with connect(host, port, configuration=cfg) as client:
                quic = client._quic
                if what == "big handshake frame":  # announce 1 MiB on stream 0 instead of a Hello
                    quic.send_stream_data(0, (1 << 20).to_bytes(4, "big") + b"h" * 1000)
                else:  # a unidirectional stream before any handshake
                    sid = quic.get_next_available_stream_id(is_unidirectional=True)
                    quic.send_stream_data(sid, (100).to_bytes(4, "big") + b"d" * 100)
                client.transmit()
                await until(lambda: srv.stats[counter] == 1)
                await asyncio.wait_for(client.wait_closed(), 5)
            assert rec.authenticated == [] and rec.frames == []
        finally:
            await srv.close()

    run(go)
