"""Misbehaving peers for the bad-peer tests: real QUIC clients that break the protocol."""

from __future__ import annotations

import asyncio
import os
import random

from mesh.frames import Hello, Ping, Proof, decode, encode
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import ED25519, NodeKey, realm_id
from mesh.realms import Realm
from mesh.transport import QuicTransport, TransportConfig, TransportError

REALMS = (Realm("default"),)


class _Sink:
    def peer_authenticated(self, info: PeerInfo) -> None:
        pass

    def peer_lost(self, node_id: bytes) -> None:
        pass

    def frame_received(self, node_id: bytes, data: bytes) -> None:
        pass


class _WrongKey(Handshake):
    """Claims another node's public key, signs with its own."""

    claimed = NodeKey.generate().public_key

    def initiate(self) -> bytes:
        f = decode(super().initiate())
        assert isinstance(f, Hello)
        self._hello = encode(Hello(b"", self.claimed, f.nonce, f.address, f.claims))
        return self._hello


class _BadProof(Handshake):
    """Answers the challenge with a random signature."""

    def receive(self, data: bytes, now: float) -> bytes | None:
        super().receive(data, now)
        return encode(Proof(b"", os.urandom(64)))


async def _transport(kind: type[Handshake] = Handshake) -> QuicTransport:
    key = NodeKey.generate()
    rng = random.Random()

    def make(initiator: bool) -> Handshake:
        return kind(key, REALMS, ED25519, rng, initiator=initiator)

    cfg = TransportConfig(send_queue_frames=100_000, send_queue_bytes=1 << 28)
    tr = QuicTransport(key, make, _Sink(), crypto=ED25519, config=cfg)
    await tr.listen("127.0.0.1", 0)
    return tr


async def failed_handshake(address: str, kind: type[Handshake]) -> bool:
    """True if the victim refused the connection."""
    tr = await _transport(kind)
    try:
        await tr.dial(address)
    except TransportError:
        return True
    finally:
        await tr.close()
    return False


async def authenticated_then(address: str, action: str, count: int = 0) -> None:
    """Authenticate properly, then misbehave: ``garbage``, ``oversized`` or ``flood``."""
    tr = await _transport()
    try:
        info = await tr.dial(address)
        conn = tr._active[info.node_id]
        if action == "garbage":
            for i in range(count):
                tr.send(info.node_id, b"\xc1 not msgpack " + i.to_bytes(4, "big"))
        elif action == "oversized":
            conn._quic.send_stream_data(0, (1 << 30).to_bytes(4, "big") + b"x" * 1000)
            conn.transmit()
        elif action == "flood":
            ping = encode(Ping(realm_id("default"), 1))
            sent = 0
            while sent < count and tr.connected(info.node_id):
                if tr.send(info.node_id, ping):
                    sent += 1
                else:
                    await asyncio.sleep(0.001)
                if sent % 1000 == 0:
                    await asyncio.sleep(0)
        # give the victim time to react, then see whether it hung up on us
        for _ in range(100):
            if not tr.connected(info.node_id):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"victim did not drop the {action} peer")
    finally:
        await tr.close()


async def garbage_before_auth(address: str) -> bool:
    """Send garbage on the handshake stream instead of a Hello."""
    tr = await _transport(_GarbageHello)
    try:
        await tr.dial(address)
    except TransportError:
        return True
    finally:
        await tr.close()
    return False


class _GarbageHello(Handshake):
    def initiate(self) -> bytes:
        super().initiate()
        return b"\x93\x01garbage-instead-of-hello"
