"""A hostile realm member against the DHT and pub/sub of a node: real QUIC, valid login.

The attacker authenticates with a key of its own (a legitimate member of the open realm
``default``), then sends well-formed, correctly signed frames meant to exhaust the victim:

* ``store-flood``: STOREs of big records under random keys (records signed by minted keys);
* ``poison``: big records under one genotype key from several minted keys, then FIND_VALUE
  for that key, to see whether (and how) the victim still answers;
* ``replay``: one signed pub/sub event sent again and again on several connections, each
  re-authenticating under a freshly minted key when the victim drops it.

Run one as a process (the tests do, so that the attack runs beside honest traffic)::

    python -m tests.mesh_quic.dht_attackers store-flood 127.0.0.1:PORT --count 200
    python -m tests.mesh_quic.dht_attackers poison 127.0.0.1:PORT --problem xor
    python -m tests.mesh_quic.dht_attackers replay 127.0.0.1:PORT --connections 4 --seconds 8

Each prints one JSON line with what it did and saw, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from mesh.dht.records import GENOTYPE, record_key
from mesh.frames import FindValue, Frame, Publish, Store, Value, decode, encode
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import ED25519, NodeKey, realm_id
from mesh.realms import Realm
from mesh.signing import sign_event, sign_record
from mesh.transport import QuicTransport, TransportConfig, TransportError

REALM = Realm("default")
RID = realm_id("default")


class _Inbox:
    """Transport events of the attacker: keeps the frames the victim sends back."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, Frame]] = []
        self.arrived = asyncio.Event()

    def peer_authenticated(self, info: PeerInfo) -> None:
        pass

    def peer_lost(self, node_id: bytes) -> None:
        self.arrived.set()

    def frame_received(self, node_id: bytes, data: bytes) -> None:
        try:
            self.frames.append((len(data), decode(data)))
        except Exception:  # anything the victim sends is fine; we only keep what decodes
            return
        self.arrived.set()


async def login(address: str, key: NodeKey | None = None) -> tuple[QuicTransport, bytes, _Inbox]:
    """Authenticate to ``address`` as a member of the realm; (transport, victim id, inbox)."""
    key = key or NodeKey.generate()
    rng = random.Random()
    inbox = _Inbox()

    def make(initiator: bool) -> Handshake:
        return Handshake(key, (REALM,), ED25519, rng, initiator=initiator)

    cfg = TransportConfig(send_queue_frames=100_000, send_queue_bytes=1 << 28)
    tr = QuicTransport(key, make, inbox, crypto=ED25519, config=cfg)
    await tr.listen("127.0.0.1", 0)
    info = await tr.dial(address)
    return tr, info.node_id, inbox


async def _send_all(tr: QuicTransport, victim: bytes, frames: list[bytes]) -> int:
    """Queue every frame (waiting while our queue is full); returns how many went out."""
    sent = 0
    for data in frames:
        while tr.connected(victim) and not tr.send(victim, data):
            await asyncio.sleep(0.002)
        if not tr.connected(victim):
            break
        sent += 1
    while tr.connected(victim) and tr.queued():  # let it drain before we leave
        await asyncio.sleep(0.01)
    return sent


def _record(author: NodeKey, key: bytes, value: bytes, seq: int = 1) -> Any:
    return sign_record(ED25519, author, RID, kind=GENOTYPE, record_key=key, seq=seq,
                       ttl=3600, value=value)  # fmt: skip


async def store_flood(address: str, count: int, size: int) -> dict[str, Any]:
    """``count`` STOREs of ``size``-byte records under random keys, signed by minted keys."""
    tr, victim, _ = await login(address)
    authors = [NodeKey.generate() for _ in range(8)]
    try:
        frames = [
            encode(Store(RID, i + 1, _record(authors[i % 8], os.urandom(32), os.urandom(size))))
            for i in range(count)
        ]
        t0 = time.monotonic()
        sent = await _send_all(tr, victim, frames)
        return {"sent": sent, "seconds": time.monotonic() - t0,
                "still_connected": tr.connected(victim)}  # fmt: skip
    finally:
        await tr.close()


async def poison(address: str, problem: str, count: int, size: int, queries: int) -> dict[str, Any]:
    """``count`` records of ``size`` bytes under ``problem``'s genotype key from as many
    minted keys, then ``queries`` FIND_VALUEs for that key: what came back."""
    tr, victim, inbox = await login(address)
    key = record_key(GENOTYPE, RID, problem)
    try:
        frames = [
            encode(Store(RID, i + 1, _record(NodeKey.generate(), key, os.urandom(size))))
            for i in range(count)
        ]
        sent = await _send_all(tr, victim, frames)
        answers = []
        for q in range(queries):
            rid = 1000 + q
            tr.send(victim, encode(FindValue(RID, rid, key)))
            deadline = time.monotonic() + 5.0
            got = None
            while got is None and time.monotonic() < deadline and tr.connected(victim):
                got = next((f for f in inbox.frames if isinstance(f[1], Value)
                            and f[1].rid == rid), None)  # fmt: skip
                if got is None:
                    inbox.arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(inbox.arrived.wait(), 0.2)
            if got is None:
                answers.append(None)
            else:
                n, value = got
                assert isinstance(value, Value)
                answers.append({"bytes": n, "records": len(value.records),
                                "sizes": sorted(len(r.value) for r in value.records)})  # fmt: skip
        return {"sent": sent, "answers": answers}
    finally:
        await tr.close()


async def replay(
    address: str, connections: int, seconds: float, reconnect: bool, want_ack: bool
) -> dict[str, Any]:
    """On ``connections`` connections at once, send one signed event again and again for
    ``seconds``; a connection the victim drops logs in again under a new key (if
    ``reconnect``)."""
    stop = time.monotonic() + seconds
    totals = {"frames": 0, "logins": 0, "dropped": 0, "login_failed": 0}

    async def one() -> None:
        while time.monotonic() < stop:
            key = NodeKey.generate()
            try:
                tr, victim, _ = await login(address, key)
            except (TransportError, OSError, TimeoutError):
                totals["login_failed"] += 1
                await asyncio.sleep(0.05)
                continue
            totals["logins"] += 1
            ev = sign_event(ED25519, key, RID, "victim.topic", 1, b"replayed payload")
            data = encode(Publish(RID, 1, ev, want_ack))
            try:
                n = 0
                while time.monotonic() < stop and tr.connected(victim):
                    if tr.send(victim, data):
                        totals["frames"] += 1
                        n += 1
                        if n % 200 == 0:
                            await asyncio.sleep(0)
                    else:
                        await asyncio.sleep(0.001)
                if not tr.connected(victim):
                    totals["dropped"] += 1
            finally:
                await tr.close()
            if not reconnect:
                return

    await asyncio.gather(*(one() for _ in range(connections)))
    return totals


_ATTACKS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "store-flood": lambda a: store_flood(a.address, a.count, a.size),
    "poison": lambda a: poison(a.address, a.problem, a.count, a.size, a.queries),
    "replay": lambda a: replay(a.address, a.connections, a.seconds, not a.no_reconnect, a.want_ack),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("attack", choices=sorted(_ATTACKS))
    p.add_argument("address")
    p.add_argument("--count", type=int, help="records (store-flood 200, poison 5)")
    p.add_argument("--size", type=int, help="value bytes (store-flood 1e6, poison 950e3)")
    p.add_argument("--problem", default="xor")
    p.add_argument("--queries", type=int, default=3)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--no-reconnect", action="store_true")
    p.add_argument("--want-ack", action="store_true")
    args = p.parse_args(argv)
    flood = args.attack == "store-flood"
    args.count = args.count if args.count is not None else (200 if flood else 5)
    args.size = args.size if args.size is not None else (1_000_000 if flood else 950_000)
    result = asyncio.run(_ATTACKS[args.attack](args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
