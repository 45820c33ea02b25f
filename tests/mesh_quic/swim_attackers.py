"""A hostile realm member for the SWIM attack tests: real QUIC, its own valid keys (a fresh one
per login when it is dropped and banned), hand-made SWIM frames.

Each attack is a coroutine that runs for ``duration`` seconds against node processes and
returns a Counter of what it did; :class:`Background` runs one in a thread while the test's
main thread drives honest traffic through the nodes' control endpoints.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

from mesh import frames as F
from mesh.errors import MeshError
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import ED25519, NodeKey, realm_id
from mesh.realms import Realm
from mesh.signing import sign_alive
from mesh.transport import QuicTransport, TransportConfig, parse_address

REALM = Realm("default")
RID = realm_id("default")
ALIVE, SUSPECT, DEAD = 0, 1, 2


class _Inbox:
    """Transport events of one attacker login: the frames the victim sent us.

    The attacker answers the victim's DHT requests (empty answers) and SWIM probes, as a
    member that looks healthy: the attacks here are SWIM attacks; a member that stays silent
    is another one (it delays every DHT lookup that asks it by the request timeout)."""

    def __init__(self) -> None:
        self.frames: deque[F.Frame] = deque(maxlen=64)
        self.arrived = asyncio.Event()
        self.login: Login | None = None

    def peer_authenticated(self, info: PeerInfo) -> None:
        pass

    def peer_lost(self, node_id: bytes) -> None:
        pass

    def frame_received(self, node_id: bytes, data: bytes) -> None:
        try:
            f = F.decode(data)
        except MeshError:
            return
        login = self.login
        if login is None:
            return
        if node_id == login.victim:
            self.frames.append(f)
            self.arrived.set()
        answer = _ANSWERS.get(type(f))
        if answer is not None:
            login.tr.send(node_id, F.encode(answer(login, f)))


_ANSWERS: dict[type, Callable[[Login, Any], F.Frame]] = {
    F.Ping: lambda lg, f: F.Pong(RID, f.rid),
    F.FindNode: lambda lg, f: F.Nodes(RID, f.rid, ()),
    F.FindValue: lambda lg, f: F.Value(RID, f.rid, (), ()),
    F.Store: lambda lg, f: F.Ack(RID, f.rid),
    F.Subscribe: lambda lg, f: F.Ack(RID, f.rid),
    F.Unsubscribe: lambda lg, f: F.Ack(RID, f.rid),
    F.Probe: lambda lg, f: F.ProbeAck(RID, f.rid, (lg.own(),)),
}


class Login:
    """One authenticated session with a victim, under a fresh key."""

    def __init__(self, tr: QuicTransport, inbox: _Inbox, key: NodeKey, victim: bytes) -> None:
        self.tr, self.inbox, self.key, self.victim = tr, inbox, key, victim
        self.rid = random.getrandbits(32)
        self._own: F.Update | None = None

    @classmethod
    async def open(cls, address: str) -> Login:
        key = NodeKey.generate()
        rng = random.Random()
        inbox = _Inbox()

        def make(initiator: bool) -> Handshake:  # announces its address, as nodes do
            return Handshake(key, (REALM,), ED25519, rng, initiator=initiator, address=tr.address)

        cfg = TransportConfig(send_queue_frames=100_000, send_queue_bytes=1 << 28)
        tr = QuicTransport(key, make, inbox, crypto=ED25519, config=cfg)
        host, _ = parse_address(address)
        await tr.listen(host, 0)
        try:
            info = await tr.dial(address)
        except BaseException:
            await tr.close()
            raise
        login = inbox.login = cls(tr, inbox, key, info.node_id)
        return login

    @property
    def up(self) -> bool:
        return self.tr.connected(self.victim)

    def own(self) -> F.Update:
        if self._own is None:
            self._own = sign_alive(ED25519, self.key, RID, self.tr.address, 1)
        return self._own

    def send(self, frame: F.Frame | bytes) -> bool:
        data = frame if isinstance(frame, bytes) else F.encode(frame)
        return self.tr.send(self.victim, data)

    def probe(self, *updates: F.Update) -> bool:
        self.rid += 1
        return self.send(F.Probe(RID, self.rid, updates))

    async def statement(self, of: bytes, timeout: float = 2.0) -> F.Update | None:
        """The current statement of member ``of`` as the victim sends it: the first update of
        its ack when ``of`` is the victim itself, else whatever gossip carries it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.inbox.frames.clear()
        while loop.time() < deadline and self.up:
            self.inbox.arrived.clear()
            self.probe(self.own())
            try:
                await asyncio.wait_for(self.inbox.arrived.wait(), 0.2)
            except TimeoutError:
                continue
            for f in self.inbox.frames:
                if isinstance(f, F.ProbeAck | F.Probe):
                    for u in f.updates:
                        if u.node_id == of:
                            return u.with_status(ALIVE)
        return None

    async def close(self) -> None:
        await self.tr.close()


def raw_probe(updates: list[list[Any]]) -> bytes:
    """A Probe built by hand (values ``encode`` would never produce)."""
    return msgpack.packb([F.PROTOCOL_VERSION, F.Probe.TYPE, RID, 1, updates], use_bin_type=True)


def forged(public_key: bytes, address: str, inc: int, status: int) -> F.Update:
    return F.Update(status, public_key, address, inc, random.randbytes(64))


class Sessions:
    """Keeps one login per victim address, logging in again (fresh key) when dropped."""

    def __init__(self, stats: Counter[str]) -> None:
        self.stats = stats
        self.logins: dict[str, Login] = {}

    async def get(self, address: str) -> Login | None:
        login = self.logins.get(address)
        if login is not None and login.up:
            return login
        if login is not None:
            await login.close()
            self.stats["dropped_by_victim"] += 1
        try:
            login = self.logins[address] = await Login.open(address)
        except MeshError:
            self.logins.pop(address, None)
            self.stats["login_failed"] += 1
            return None
        self.stats["logins"] += 1
        return login

    async def close(self) -> None:
        await asyncio.gather(*(login.close() for login in self.logins.values()))


async def forge_liveness(a: str, b: str, b_id: bytes, duration: float) -> Counter[str]:
    """The forged-probe attack, sustained for ``duration`` s: to B "B alive at 2**64-1" (and
    inside the range, forged, alive and dead), to A "B dead at 2**64-1" and forged death
    notices, and to A B's genuine current statement replayed as a death notice.

    Paced to stay within the victims' rejected-frame budget (the malformed frames every 4 s,
    the forged ones twice a second), so that one login per victim lasts the whole attack; a
    login the victim drops anyway is replaced by one under a fresh key."""
    stats: Counter[str] = Counter()
    sessions = Sessions(stats)
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + duration
    genuine: F.Update | None = None
    top = F.MAX_INCARNATION - 1
    next_malformed = start
    try:
        while loop.time() < end:
            malformed = loop.time() >= next_malformed
            if malformed:
                next_malformed += 4.0
            to_b = await sessions.get(b)
            if to_b is not None:
                genuine = await to_b.statement(b_id, timeout=0.5) or genuine  # B's latest
            if genuine is None:
                await asyncio.sleep(0.1)
                continue
            pk = genuine.public_key
            if to_b is not None:
                if malformed:
                    to_b.send(raw_probe([[ALIVE, pk, "127.0.0.1:9", 2**64 - 1, bytes(64)]]))
                    stats["malformed"] += 1
                to_b.probe(forged(pk, "127.0.0.1:9", top, ALIVE))
                to_b.probe(forged(pk, "127.0.0.1:9", top, DEAD))
                stats["forged"] += 2
            to_a = await sessions.get(a)
            if to_a is not None:
                if malformed:
                    to_a.send(raw_probe([[DEAD, pk, "127.0.0.1:9", 2**64 - 1, bytes(64)]]))
                    stats["malformed"] += 1
                to_a.probe(forged(pk, "127.0.0.1:9", top, DEAD))
                stats["forged"] += 1
                to_a.probe(genuine.with_status(DEAD))  # a real, replayed accusation
                stats["genuine_accusations"] += 1
            await asyncio.sleep(0.5)
    finally:
        await sessions.close()
    return stats


def mint(n: int, host: str) -> list[F.Update]:
    """``n`` ALIVE statements of freshly minted keys (validly signed) at made-up addresses."""
    out = []
    for i in range(n):
        key = NodeKey.generate()
        addr = f"[{host}]:{20_000 + i}" if ":" in host else f"{host}:{20_000 + i}"
        out.append(sign_alive(ED25519, key, RID, addr, 1))
    return out


async def flood_members(
    address: str,
    identities: int,
    duration: float,
    over: threading.Event | None = None,
    release: threading.Event | None = None,
) -> Counter[str]:
    """The member flood: ``identities`` logins (ten at a time), each gossiping 64 members of
    fresh keys (valid signatures) per Probe, and 1,023-member Probes as the unfixed node
    accepted them, for ``duration`` seconds. Then it sets ``over`` and keeps its logins
    connected (answering) until ``release`` is set: identities leaving is churn, another
    matter than the flood."""
    stats: Counter[str] = Counter()
    host, _ = parse_address(address)
    pool = mint(2 * identities * F.MAX_UPDATES, host)
    loop = asyncio.get_running_loop()
    end = loop.time() + duration
    logins: list[Login] = []
    try:
        i = 0
        while loop.time() < end:
            if len(logins) < identities:
                n = min(10, identities - len(logins))
                opened = await asyncio.gather(
                    *(Login.open(address) for _ in range(n)), return_exceptions=True
                )
                for o in opened:
                    if isinstance(o, Login):
                        logins.append(o)
                        stats["logins"] += 1
                    else:
                        stats["login_failed"] += 1
            for login in logins:
                if not login.up:
                    continue
                batch = pool[i % len(pool) : i % len(pool) + F.MAX_UPDATES]
                i += F.MAX_UPDATES
                login.probe(*batch)
                stats["members_sent"] += len(batch)
            if logins and logins[0].up:
                big = [u.to_wire() for u in pool[:1023]]
                logins[0].send(raw_probe(big))
                stats["oversized_probes"] += 1
            await asyncio.sleep(0.2)
        if over is not None:
            over.set()
        while release is not None and not release.is_set() and loop.time() < end + 60:
            await asyncio.sleep(0.05)
    finally:
        await asyncio.gather(*(login.close() for login in logins))
    return stats


async def name_addresses(address: str, targets: list[str], duration: float) -> Counter[str]:
    """Peer-named addresses: gossip members of our making whose signed addresses are
    ``targets``, ask the victim to probe each (ProbeRequest), ask it to probe unknown node
    ids, and send a ProbeRequest in the version-1 form that carried an address."""
    stats: Counter[str] = Counter()
    sessions = Sessions(stats)
    keys = [NodeKey.generate() for _ in targets]
    statements = [sign_alive(ED25519, k, RID, t, 1) for k, t in zip(keys, targets, strict=True)]
    loop = asyncio.get_running_loop()
    end = loop.time() + duration
    v1_sent: set[Login] = set()
    try:
        while loop.time() < end:
            login = await sessions.get(address)
            if login is not None:
                login.probe(login.own(), *statements)
                for k in keys:
                    login.rid += 1
                    login.send(F.ProbeRequest(RID, login.rid, k.node_id, ()))
                login.send(F.ProbeRequest(RID, 1, NodeKey.generate().node_id, ()))
                stats["probe_requests"] += len(keys) + 1
                if login not in v1_sent:  # malformed: once per login (the reject budget)
                    v1_sent.add(login)
                    v1 = [F.PROTOCOL_VERSION, F.ProbeRequest.TYPE, RID, 2, [keys[0].node_id,
                          targets[0]], []]  # fmt: skip
                    login.send(msgpack.packb(v1, use_bin_type=True))
                    stats["v1_probe_requests"] += 1
            await asyncio.sleep(0.1)
    finally:
        await sessions.close()
    return stats


class Background:
    """Run ``attack()`` on its own event loop in a thread; ``join()`` returns its result."""

    def __init__(self, attack: Callable[[], Awaitable[Counter[str]]]) -> None:
        self.result: Counter[str] | None = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = asyncio.run(attack())  # type: ignore[arg-type]
            except BaseException as exc:  # reported to the test by join()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float = 60.0) -> Counter[str]:
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.result is not None, "the attack did not finish"
        return self.result
