"""Sybil attackers for the sybil tests: many freshly minted identities from one host.

Each sybil is a real QUIC transport with its own Ed25519 key that authenticates properly (it
proves its key and the realm, claims its own listening address) and then answers nothing.
Run as a process so that a test can make every sybil vanish at once (SIGKILL: no
CONNECTION_CLOSE reaches the victims) or leave cleanly (``--hold``, then close)::

    python -m tests.mesh_quic.sybil_attackers --target HOST:PORT --count 200 --hold 30

It prints one JSON line when the sybils are logged in (``{"logged_in": n, "refused": m}``),
then, at the end of ``--hold``, closes every connection and prints ``{"left": n}``.
``--call PROCEDURE`` makes each logged-in sybil also send that procedure a CALL on each
target (and never read the answer). In a test process, :meth:`Sybil.relay` sends PUBLISH
frames carrying events signed by other (fresh) keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys

from mesh.errors import MeshError
from mesh.frames import Call, Publish, encode
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import ED25519, NodeKey, realm_id
from mesh.node import MeshNode
from mesh.realms import Realm
from mesh.signing import sign_event
from mesh.transport import QuicTransport, TransportConfig, TransportError
from tests.mesh_quic.attackers import _Sink

__all__ = ["Sybil", "main"]


class Sybil:
    """One fresh identity on its own UDP port."""

    def __init__(self, realm: str) -> None:
        self.key = NodeKey.generate()
        self.realms = (Realm(realm),)
        self.rng = random.Random()
        self.transport: QuicTransport | None = None
        self.peers: list[PeerInfo] = []

    def _handshake(self, initiator: bool) -> Handshake:
        assert self.transport is not None
        return Handshake(
            self.key, self.realms, ED25519, self.rng, initiator=initiator,
            address=self.transport.address,
        )  # fmt: skip

    async def start(self) -> None:
        cfg = TransportConfig(handshake_timeout=10.0, idle_timeout=60.0)
        # a sybil ignores everything it receives
        self.transport = QuicTransport(
            self.key, self._handshake, _Sink(), crypto=ED25519, config=cfg
        )
        await self.transport.listen("127.0.0.1", 0)

    async def login(self, target: str) -> bool:
        assert self.transport is not None
        try:
            self.peers.append(await self.transport.dial(target))
        except TransportError:
            return False
        # the dialler counts itself authenticated when the Challenge verifies; the victim
        # may still refuse the Proof (a cap): see whether the connection survives a moment
        await asyncio.sleep(0.3)
        return self.transport.connected(self.peers[-1].node_id)

    def relay(self, realm: str, topic: str, author: NodeKey, seq: int, payload: bytes) -> None:
        """Deliver to every peer a PUBLISH carrying an event that ``author`` signed -- a key
        that never connected to anyone: the receiver sees it authored by ``author`` and
        delivered ``via`` this sybil."""
        assert self.transport is not None
        rid = realm_id(realm)
        event = sign_event(ED25519, author, rid, topic, seq, payload)
        frame = encode(Publish(rid, 0, event, False))
        for p in self.peers:
            self.transport.send(p.node_id, frame)

    def call(self, realm: str, procedure: str) -> None:
        assert self.transport is not None
        rid = self.rng.getrandbits(63)
        frame = encode(Call(realm_id(realm), rid, procedure, b"sybil", 30.0))
        for p in self.peers:
            self.transport.send(p.node_id, frame)

    async def close(self) -> None:
        if self.transport is not None:
            await self.transport.close()


async def _run_nodes(args: argparse.Namespace) -> None:
    """Full mesh nodes with fresh keys: join through the targets, offer ``--register`` and call
    ``--call`` (as an honest member would), then stay until killed or ``--hold`` ends."""
    nodes = [MeshNode(NodeKey.generate(), [args.realm]) for _ in range(args.count)]
    for n in nodes:
        await n.start("127.0.0.1", 0, bootstrap=args.target)
    await asyncio.gather(*(n.wait_joined(timeout=20.0) for n in nodes), return_exceptions=True)
    for procedure in args.register:
        await asyncio.gather(*(n.register(procedure, _echo) for n in nodes))
    calls = 0
    if args.call:
        for n in nodes:
            try:
                await n.call(args.call, b"sybil", timeout=5.0)
                calls += 1
            except MeshError:
                pass
    print(
        json.dumps(
            {"logged_in": sum(bool(n.core and n.core.sessions) for n in nodes), "calls": calls}
        ),
        flush=True,
    )
    await asyncio.sleep(args.hold)
    await asyncio.gather(*(n.close() for n in nodes))
    print(json.dumps({"left": len(nodes)}), flush=True)


def _echo(caller: bytes, args: bytes) -> bytes:
    return args


async def _run(args: argparse.Namespace) -> None:
    if args.nodes:
        await _run_nodes(args)
        return
    sybils = [Sybil(args.realm) for _ in range(args.count)]
    await asyncio.gather(*(s.start() for s in sybils))
    logged = refused = 0
    for i in range(0, len(sybils), args.batch):
        batch = sybils[i : i + args.batch]
        for target in args.target:
            oks = await asyncio.gather(*(s.login(target) for s in batch))
            logged += sum(oks)
            refused += len(oks) - sum(oks)
    if args.call:
        for s in sybils:
            s.call(args.realm, args.call)
    print(json.dumps({"logged_in": logged, "refused": refused}), flush=True)
    await asyncio.sleep(args.hold)
    await asyncio.gather(*(s.close() for s in sybils))
    print(json.dumps({"left": len(sybils)}), flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--target", action="append", required=True, help="HOST:PORT (repeatable)")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--batch", type=int, default=20, help="sybils logging in at once")
    p.add_argument("--hold", type=float, default=3600.0, help="seconds before leaving")
    p.add_argument("--realm", default="default")
    p.add_argument("--call", default="", help="procedure each sybil calls once per target")
    p.add_argument("--nodes", action="store_true", help="full mesh nodes instead of bare logins")
    p.add_argument("--register", action="append", default=[],
                   help="--nodes: a procedure each sybil offers (repeatable)")  # fmt: skip
    asyncio.run(_run(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
