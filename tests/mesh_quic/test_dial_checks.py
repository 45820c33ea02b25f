"""One process, real sockets: a refused dial fails at once, opens no socket, and is counted;
a dial goes out from the listen address, never from a wildcard."""

from __future__ import annotations

import asyncio
import os
import random

import psutil
import pytest

from mesh.handshake import Handshake
from mesh.identity import ED25519, NodeKey
from mesh.realms import Realm
from mesh.transport import QuicTransport, TransportError
from tests.mesh_quic.attackers import _Sink


async def _transport(host: str) -> QuicTransport:
    key = NodeKey.generate()

    def make(initiator: bool) -> Handshake:
        return Handshake(key, (Realm("r"),), ED25519, random.Random(), initiator=initiator)

    tr = QuicTransport(key, make, _Sink(), crypto=ED25519)
    await tr.listen(host, 0)
    return tr


def _udp_binds() -> list[str]:
    return [c.laddr.ip for c in psutil.Process(os.getpid()).net_connections(kind="udp")]


@pytest.mark.parametrize(
    ("listen", "target", "named_by_peer"),
    [
        ("127.0.0.1", "[::1]:9", True),
        ("127.0.0.1", "[::1]:9", False),  # a seed of the other family: no "::" socket
        ("127.0.0.1", "10.9.8.7:9", True),
        ("127.0.0.1", "localhost:9", True),
        ("127.0.0.1", "127.0.0.1:0", True),
        ("::1", "127.0.0.1:9", True),
        ("::1", "[::ffff:127.0.0.1]:9", True),
    ],
)
def test_a_refused_dial_opens_no_socket(listen: str, target: str, named_by_peer: bool) -> None:
    async def main() -> None:
        tr = await _transport(listen)
        try:
            before = sorted(_udp_binds())
            with pytest.raises(TransportError, match="refused"):
                await tr.dial(target, named_by_peer=named_by_peer)
            assert sorted(_udp_binds()) == before
            assert tr.stats["dial_refused"] == 1 and tr.stats["dial_failed"] == 0
        finally:
            await tr.close()

    asyncio.run(main())


def test_dials_go_out_from_the_listen_address() -> None:
    async def main() -> None:
        a, b = await _transport("::1"), await _transport("::1")
        try:
            info = await a.dial(b.address, b.key.node_id, named_by_peer=True)
            assert info.node_id == b.key.node_id
            assert set(_udp_binds()) == {"::1"}
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())
