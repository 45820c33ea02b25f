"""Per-address caps of the QUIC transport (one process, real sockets on 127.0.0.1): new
identities per address over time, connections per address; admitted peers are never closed
by them and reconnect freely."""

from __future__ import annotations

from mesh.identity import NodeKey
from mesh.transport import QuicTransport, TransportConfig, TransportError
from tests.mesh_quic.test_transport import make, run, until


async def _kept(client: QuicTransport, server: QuicTransport) -> bool:
    """Dial ``server``; True if it admitted us. (The dialler counts itself authenticated once
    the server's Challenge verifies; a server that refuses our Proof closes right after.)"""
    try:
        await client.dial(server.address)
    except TransportError:
        return False
    me, it = client.key.node_id, server.key.node_id
    await until(lambda: server.connected(me) or not client.connected(it))
    return server.connected(me)


def test_new_identities_per_address_are_capped_known_ones_reconnect() -> None:
    async def go() -> None:
        victim, _ = await make(TransportConfig(new_ids_per_address=3, new_id_interval=60.0))
        keys = [NodeKey.generate() for _ in range(5)]
        clients = [(await make(key=k))[0] for k in keys]
        try:
            kept = [await _kept(c, victim) for c in clients]
            assert kept == [True, True, True, False, False]
            assert victim.stats["refused_new_identity"] == 2
            assert victim.stats["bad_peers"] == 0  # a refusal is no misbehaviour
            for c in clients[:3]:  # the admitted ones were never closed
                assert c.connected(victim.key.node_id)
            # an admitted identity restarts (same key, new process): admitted again, free
            await clients[0].close()
            await until(lambda: victim.stats["authenticated"] == 3 and not
                        victim.connected(keys[0].node_id))  # fmt: skip
            clients[0] = (await make(key=keys[0]))[0]
            assert await _kept(clients[0], victim)
            assert victim.stats["refused_new_identity"] == 2
            # the cap holds in both directions: the victim's own dial to a 6th new identity
            sixth, _ = await make()
            clients.append(sixth)
            try:
                await victim.dial(sixth.address)
                raise AssertionError("dial to a new identity over the budget succeeded")
            except TransportError:
                pass
            assert victim.stats["refused_new_identity"] == 3
        finally:
            for t in (victim, *clients):
                await t.close()

    run(go)


def test_connections_per_address_are_capped() -> None:
    async def go() -> None:
        victim, _ = await make(TransportConfig(max_connections_per_address=2))
        clients = [(await make())[0] for _ in range(3)]
        try:
            kept = [await _kept(c, victim) for c in clients]
            assert kept == [True, True, False]
            assert victim.stats["refused_address_cap"] == 1
            assert all(c.connected(victim.key.node_id) for c in clients[:2])
            # a slot freed is a slot for the next one
            await clients[0].close()
            await until(lambda: victim.connection_count() == 1)
            late, _ = await make()
            clients.append(late)
            assert await _kept(late, victim)
        finally:
            for t in (victim, *clients):
                await t.close()

    run(go)
