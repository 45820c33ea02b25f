"""QUIC transport of the mesh (aioquic): authenticated, framed, bounded connections between nodes.

One :class:`QuicTransport` per node listens on a UDP address and dials peers. Contracts:

* **TLS**: ALPN ``megabrain/1``; every node presents an ephemeral self-signed certificate
  (:mod:`mesh.tls`); clients do not verify the chain (``verify_mode=CERT_NONE``) because the
  node identity is proven by the mesh handshake, not by a CA.
* **Authentication first**: the client opens stream 0 and runs :class:`mesh.handshake.Handshake`
  (Hello / Challenge / Proof) with the connection's *binding* -- the server certificate's
  fingerprint, as each side observes it -- and its *boot id* (16 random bytes per process).
  Both signatures cover the transcript (both public keys, i.e. node ids, and both fresh nonces)
  and the binding, so they bind this very TLS connection: a relay that terminates TLS with its
  own certificate makes the client refuse the Challenge, and cannot obtain a Proof the server
  accepts. The client is authenticated once the Challenge verifies (it then sends its Proof),
  the server once the Proof verifies: one round trip. Nothing a peer sends is processed before
  that; a dialling peer may send only small handshake frames before our Challenge (anything
  else drops it), then up to ``max_preauth_bytes`` of bulk data that may overtake its Proof
  (held, bounded); an accepting peer may send nothing but handshake frames before we are
  authenticated. Any failure drops the connection and counts it (``stats``).
* **Framing**: every frame is a 4-byte big-endian length then that many bytes; a length above
  ``max_frame_bytes`` (or zero) drops the peer, since the stream cannot resynchronise.
  Frames travel on stream 0 (small, both directions) and on one unidirectional *bulk* stream per
  direction (frames of ``bulk_threshold`` bytes or more), so large payloads never delay probes.
* **One connection per peer**: when a second connection to an authenticated peer appears, the
  peer's *boot id* decides: a different boot id means the peer restarted (the new connection
  wins); the same boot id means both sides dialled at once (the connection dialled by the
  smaller node id wins, on both sides alike).
* **Bounded memory**: own send queues per lane (frames and bytes); frames enter aioquic only
  while its unacknowledged buffer for the stream is below ``stream_high_water`` (aioquic's
  ``drain`` gives no backpressure); a full queue drops the frame (``send_dropped``). Receive
  buffers are bounded by the frame cap and QUIC flow control; caps on connections, streams and
  pre-authentication bytes.
* **Rate limits**: a token bucket per peer on received frames; frames beyond it are dropped and
  a peer that keeps flooding (``flood_drop`` frames over the limit) is dropped and banned.
* **Per-address caps** (sybils): at most ``max_connections_per_address`` connections accepted
  from one remote address, and a budget of *new* node ids per address over time
  (:mod:`mesh.admission`); a node id admitted before from an address reconnects freely, and
  the caps only refuse newcomers -- they never close an admitted connection.
* **Liveness**: QUIC PING keepalive on quiet connections, aioquic's idle timeout, a handshake
  timeout; dialling a failed address again waits an exponential backoff.

The transport reports to its owner (the node) through :class:`TransportEvents` callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import random
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from socket import AF_INET, AF_INET6, SO_RCVBUF, SO_SNDBUF, SOCK_DGRAM, SOL_SOCKET
from typing import Any, Protocol

from aioquic.asyncio.server import QuicServer, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection

from mesh.addresses import literal_refusal, route_refusal, split_address
from mesh.admission import IdentityBudget
from mesh.errors import MeshError, MeshUsageError
from mesh.handshake import Handshake, PeerInfo
from mesh.identity import CryptoSuite, NodeKey
from mesh.listening import bind_errors
from mesh.quic_connection import (
    ALPN,
    AUTH,
    BOOT_BYTES,
    CLOSE_AUTH,
    CLOSE_DUPLICATE,
    CLOSE_LIMIT,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL,
    CLOSED,
    PeerConnection,
    TransportError,
)
from mesh.tls import TlsIdentity, make_tls_identity

__all__ = [
    "ALPN",
    "QuicTransport",
    "TransportConfig",
    "TransportError",
    "TransportEvents",
    "format_address",
    "parse_address",
]


@dataclass(frozen=True)
class TransportConfig:
    """Transport limits and timers (seconds, bytes, frames). Every field has a default."""

    #: Most simultaneous connections (authenticated or not); more are refused.
    max_connections: int = 256
    #: Most connections (authenticated or not, either direction) with one remote address (an
    #: IPv4 address, or an IPv6 /64: :func:`mesh.admission.address_key`); an incoming one
    #: beyond it is refused after TLS (``refused_address_cap``), so that one host cannot take
    #: every slot of ``max_connections``.
    max_connections_per_address: int = 32
    #: New identities per remote address, either direction (:class:`mesh.admission.
    #: IdentityBudget`): ``new_ids_per_address`` node ids never admitted from that address
    #: before may authenticate at once, then one more every ``new_id_interval`` seconds; beyond
    #: that a new node id is refused (``refused_new_identity``). The last
    #: ``known_ids_per_address`` node ids admitted from an address reconnect freely, and no
    #: admitted connection is ever closed by these caps. ``tracked_addresses`` bounds the
    #: memory (least recently used address forgotten).
    new_ids_per_address: int = 16
    new_id_interval: float = 10.0
    known_ids_per_address: int = 64
    tracked_addresses: int = 4096
    #: Largest frame (the length prefix's value); a larger one drops the peer.
    max_frame_bytes: int = 4 * 1024 * 1024
    #: Frames of at least this size go on the bulk stream.
    bulk_threshold: int = 16 * 1024
    #: Time allowed from the first packet to a verified handshake (Challenge or Proof).
    handshake_timeout: float = 5.0
    #: QUIC idle timeout: a connection silent this long is closed.
    idle_timeout: float = 20.0
    #: A connection that sent nothing for this long sends a QUIC PING.
    keepalive: float = 5.0
    #: Own send queue bound per connection, in frames and in bytes.
    send_queue_frames: int = 8192
    send_queue_bytes: int = 8 * 1024 * 1024
    #: Bytes aioquic may hold unacknowledged per stream before we hold frames back.
    stream_high_water: int = 1024 * 1024
    #: Largest UDP payload sent (bytes). 1200 is safe on any path (no PMTU discovery in
    #: aioquic); raise it on known networks (LAN: 1452) for fewer packets.
    max_datagram_size: int = 1200
    #: Largest UDP payload on loopback (a server listening on a loopback address, a dial to a
    #: loopback address; loopback MTU is 65,536). aioquic's per-packet cost dominates large
    #: frames: 16 KB datagrams cut a 50 KB frame from 43 packets to 4. 0: use
    #: ``max_datagram_size`` there too.
    loopback_datagram_size: int = 16_384
    #: UDP socket receive/send buffer requested (the kernel caps it at net.core.rmem_max /
    #: wmem_max). The 208 KiB default overflows on a burst of a few 50 KB frames.
    socket_buffer: int = 4 * 1024 * 1024
    #: QUIC flow-control windows.
    max_data: int = 4 * 1024 * 1024
    max_stream_data: int = 2 * 1024 * 1024
    #: Received frames per second per peer (token bucket rate and burst).
    rate: float = 50_000.0
    burst: float = 100_000.0
    #: Frames over the rate limit after which the peer is dropped and banned.
    flood_drop: int = 10_000
    #: Largest frame on stream 0 before authentication (handshake frames are small).
    max_handshake_frame: int = 64 * 1024
    #: Bytes a dialling peer's bulk stream may carry after our Challenge and before its Proof
    #: verified (its data can overtake a lost Proof packet); before our Challenge it may send
    #: nothing but handshake frames.
    max_preauth_bytes: int = 1024 * 1024
    #: Unidirectional streams a peer may open (its bulk lane).
    max_peer_uni_streams: int = 2
    #: How long a dropped bad peer's node id is refused.
    ban_time: float = 60.0
    #: Redial backoff of a failed address: first delay, growth factor, cap.
    backoff_initial: float = 0.5
    backoff_factor: float = 2.0
    backoff_max: float = 30.0


class TransportEvents(Protocol):
    """What the transport tells its owner (called on the event loop thread)."""

    def peer_authenticated(self, info: PeerInfo) -> None: ...

    def peer_lost(self, node_id: bytes) -> None: ...

    def frame_received(self, node_id: bytes, data: bytes) -> None: ...


def _is_loopback(host: str) -> bool:
    """True for a loopback IP literal (127.0.0.0/8, ::1) or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def parse_address(address: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` -> (host, port); MeshUsageError if malformed."""
    parts = split_address(address)
    if parts is None:
        raise MeshUsageError(f"bad address {address!r} (want HOST:PORT)")
    return parts


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class QuicTransport:
    """The node's QUIC endpoint (see the module docstring). Use on one event loop."""

    def __init__(
        self,
        key: NodeKey,
        make_handshake: Callable[[bool], Handshake],
        events: TransportEvents,
        *,
        crypto: CryptoSuite,
        config: TransportConfig | None = None,
        tls: TlsIdentity | None = None,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``wall_clock`` (epoch seconds) dates the TLS certificate and checks realm
        certificates' expiry in handshakes; ``rng`` draws the redial jitter."""
        self.key = key
        self.make_handshake = make_handshake
        self.events = events
        self.crypto = crypto
        self.config = config or TransportConfig()
        self.wall_clock = wall_clock
        self.rng = rng or random.Random()
        self.tls = tls or make_tls_identity(wall_clock())
        self.boot_id = os.urandom(BOOT_BYTES)
        self.stats: Counter[str] = Counter()
        self.last_errors: deque[tuple[str, str]] = deque(maxlen=32)
        self.loop = asyncio.get_running_loop()
        self.host = ""
        self.port = 0
        self._bind_ip = ""  # the IP the server socket is bound to: every dial's source
        self._server: QuicServer | None = None
        self._conns: set[PeerConnection] = set()
        self._active: dict[bytes, PeerConnection] = {}
        self._bans: dict[bytes, float] = {}
        c = self.config
        self._identities = IdentityBudget(
            c.new_ids_per_address, c.new_id_interval, c.known_ids_per_address,
            c.tracked_addresses,
        )  # fmt: skip
        self._backoff: dict[str, tuple[float, float]] = {}  # address -> (next try, delay)
        self._dials: dict[str, asyncio.Future[PeerInfo]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._housekeeper: asyncio.Task[None] | None = None
        self._closing = False

    # ------------------------------------------------------------------ configuration
    def datagram_size(self, loopback: bool) -> int:
        """The UDP payload size used on a loopback path or any other path."""
        c = self.config
        return (
            c.loopback_datagram_size
            if loopback and c.loopback_datagram_size
            else c.max_datagram_size
        )

    def _quic_config(self, client: bool, loopback: bool = False) -> QuicConfiguration:
        c = self.config
        q = QuicConfiguration(
            is_client=client,
            alpn_protocols=[ALPN],
            idle_timeout=c.idle_timeout,
            max_data=c.max_data,
            max_stream_data=c.max_stream_data,
            max_datagram_size=self.datagram_size(loopback),
        )
        if client:
            q.verify_mode = ssl.CERT_NONE  # identity comes from the mesh handshake
            q.server_name = "megabrain-node"
        else:
            q.certificate = self.tls.certificate
            q.private_key = self.tls.private_key
        return q

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    @bind_errors
    async def listen(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start the server on ``host:port`` (0: OS-assigned); returns the bound address.
        Raises :class:`~mesh.errors.ListenError` if the socket cannot be bound."""
        self._server = await serve(
            host, port, configuration=self._quic_config(False, _is_loopback(host)),
            create_protocol=self._accept,
        )  # fmt: skip
        sock = self._server._transport.get_extra_info("socket")  # type: ignore[union-attr]
        self._tune(sock)
        self.host, self.port = host, sock.getsockname()[1]
        self._bind_ip = str(sock.getsockname()[0])
        self._housekeeper = self.loop.create_task(self._housekeeping())
        return self.address

    def _tune(self, sock: Any) -> None:
        """Ask for larger UDP buffers (best effort: the kernel may cap or refuse)."""
        for opt in (SO_RCVBUF, SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(SOL_SOCKET, opt, self.config.socket_buffer)

    def _accept(self, quic: QuicConnection, stream_handler: Any = None) -> PeerConnection:
        conn = PeerConnection(quic, self, initiator=False)
        if self._closing or len(self._conns) >= self.config.max_connections:
            conn.refused = True
        self._conns.add(conn)
        return conn

    # ------------------------------------------------------------------ dialling
    def dial(
        self, address: str, expected: bytes | None = None, *, named_by_peer: bool = False
    ) -> asyncio.Future[PeerInfo]:
        """Connect to ``address`` and authenticate; the future gives the peer (or fails).

        Concurrent dials of one address share one attempt; a recently failed address fails
        at once until its backoff delay has passed (TransportError). Every dial passes the
        checks of :mod:`mesh.addresses` (family and scope of the listen address; with
        ``named_by_peer``, an IP literal): a refused address fails at once, without a socket
        or a packet (TransportError, counted as ``dial_refused``).
        """
        fut = self._dials.get(address)
        if fut is not None:
            return fut
        fut = self.loop.create_future()
        now = self.loop.time()
        nxt, _ = self._backoff.get(address, (0.0, 0.0))
        why = literal_refusal(address) if named_by_peer else None
        if why is not None:
            self._refuse(fut, address, why)
            return fut
        if self._closing or now < nxt:
            fut.set_exception(TransportError(f"{address}: backing off"))
            fut.exception()
            return fut
        self._dials[address] = fut
        task = self.loop.create_task(self._dial(address, expected, fut))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return fut

    async def _dial(
        self, address: str, expected: bytes | None, fut: asyncio.Future[PeerInfo]
    ) -> None:
        conn: PeerConnection | None = None
        try:
            host, port = parse_address(address)
            if not self._bind_ip:
                raise TransportError("not listening: nothing to dial from")
            family = AF_INET6 if ipaddress.ip_address(self._bind_ip).version == 6 else AF_INET
            infos = await self.loop.getaddrinfo(host, port, type=SOCK_DGRAM)
            addr = ([i for i in infos if i[0] == family] or infos)[0][4]
            why = "port 0" if port == 0 else route_refusal(self._bind_ip, str(addr[0]))
            if why is not None:
                self._refuse(fut, address, why)
                return
            bind_host = self._bind_ip  # the listening interface, never another wildcard
            if len(self._conns) >= self.config.max_connections:
                raise TransportError("connection cap reached")
            loopback = _is_loopback(str(addr[0])) and _is_loopback(bind_host)
            quic = QuicConnection(configuration=self._quic_config(True, loopback))
            udp, proto = await self.loop.create_datagram_endpoint(
                lambda: PeerConnection(quic, self, initiator=True), local_addr=(bind_host, 0)
            )
            self._tune(udp.get_extra_info("socket"))
            conn = proto
            assert conn is not None
            conn.expected = expected
            self._conns.add(conn)
            conn.connect(addr)
            info = await asyncio.wait_for(asyncio.shield(conn.ready), self.config.handshake_timeout)
            self._backoff.pop(address, None)
            fut.set_result(info)
        except (TimeoutError, OSError, TransportError, MeshError) as exc:
            other = self._active.get(expected) if expected is not None else None
            if other is not None and other.peer is not None:
                fut.set_result(other.peer)  # lost a simultaneous-dial tie: the peer is there
                return
            self.stats["dial_failed"] += 1
            _, delay = self._backoff.get(address, (0.0, 0.0))
            delay = min(
                self.config.backoff_max,
                max(self.config.backoff_initial, delay * self.config.backoff_factor),
            )
            jitter = 1.0 + 0.2 * self.rng.random()
            self._backoff[address] = (self.loop.time() + delay * jitter, delay)
            if conn is not None and conn.state != CLOSED:
                conn.shutdown(CLOSE_NORMAL, "dial failed")
            if not fut.done():
                fut.set_exception(TransportError(f"{address}: {exc or type(exc).__name__}"))
                fut.exception()
        finally:
            self._dials.pop(address, None)

    def _refuse(self, fut: asyncio.Future[PeerInfo], address: str, why: str) -> None:
        self.stats["dial_refused"] += 1
        self.last_errors.append(("dial_refused", f"{address}: {why}"))
        fut.set_exception(TransportError(f"{address}: refused: {why}"))
        fut.exception()

    # ------------------------------------------------------------------ admission
    def ban(self, node_id: bytes) -> None:
        self._bans[node_id] = self.loop.time() + self.config.ban_time

    def _room_for(self, conn: PeerConnection) -> bool:
        """An accepted connection's first datagram came from ``conn.remote``: is there room
        for one more connection from that address?"""
        n = sum(1 for c in self._conns if c.remote == conn.remote and c.state != CLOSED)
        return n <= self.config.max_connections_per_address

    def _admit(self, conn: PeerConnection) -> bool:
        """A connection finished authentication: apply bans, the new-identity budget of its
        address and the one-connection rule."""
        assert conn.peer is not None
        nid = conn.peer.node_id
        until = self._bans.get(nid)
        if until is not None and self.loop.time() < until:
            conn.fail("banned", "peer is banned", CLOSE_AUTH)
            return False
        if not self._identities.admit(conn.remote, nid, self.loop.time()):
            conn.fail("refused_new_identity", "too many new identities from its address",
                      CLOSE_LIMIT)  # fmt: skip
            return False
        self.stats["new_identities"] = self._identities.new_admitted
        old = self._active.get(nid)
        if old is not None and old is not conn and old.state == AUTH:
            if old.peer_boot == conn.peer_boot:
                # simultaneous dials: keep the one dialled by the smaller node id
                def dialler(c: PeerConnection) -> bytes:
                    return self.key.node_id if c.initiator else nid

                keep_new = dialler(conn) < dialler(old)
            else:
                keep_new = True  # the peer restarted: the old connection is stale
            loser = old if keep_new else conn
            if loser is old:
                del self._active[nid]  # replacing, not losing, the peer
            loser.fail("duplicate", "duplicate connection", CLOSE_DUPLICATE)
            if loser is conn:
                if not conn.ready.done():
                    conn.ready.set_result(old.peer)  # type: ignore[arg-type]
                return False
        self._active[nid] = conn
        self.stats["authenticated"] += 1
        if not conn.ready.done():
            conn.ready.set_result(conn.peer)
        self.events.peer_authenticated(conn.peer)
        return True

    def _gone(self, conn: PeerConnection, was_auth: bool) -> None:
        if conn.peer is not None and self._active.get(conn.peer.node_id) is conn:
            del self._active[conn.peer.node_id]
            if not self._closing:
                self.events.peer_lost(conn.peer.node_id)

    def _forget(self, conn: PeerConnection) -> None:
        self._conns.discard(conn)
        if conn.initiator and conn._transport is not None:
            conn._transport.close()

    # ------------------------------------------------------------------ data path
    def send(self, node_id: bytes, data: bytes) -> bool:
        """Queue a frame for an authenticated peer; False if no connection or queue full."""
        conn = self._active.get(node_id)
        if conn is None:
            self.stats["send_no_connection"] += 1
            return False
        if len(data) > self.config.max_frame_bytes:
            raise MeshUsageError("frame exceeds max_frame_bytes")
        return conn.enqueue(data)

    def connected(self, node_id: bytes) -> bool:
        return node_id in self._active

    def peers(self) -> dict[bytes, PeerInfo]:
        return {nid: c.peer for nid, c in self._active.items() if c.peer is not None}

    def drop(self, node_id: bytes, counter: str, reason: str, *, ban: bool = True) -> None:
        """Drop an authenticated peer for misbehaviour (counted, optionally banned)."""
        conn = self._active.get(node_id)
        if ban:
            self.ban(node_id)
        if conn is not None:
            conn.fail(counter, reason, CLOSE_PROTOCOL)

    def disconnect(self, node_id: bytes) -> None:
        """Close the connection to ``node_id`` gracefully (not counted as misbehaviour)."""
        conn = self._active.get(node_id)
        if conn is not None:
            self.stats["disconnected"] += 1
            conn.shutdown(CLOSE_NORMAL, "declared dead")

    def queued(self) -> int:
        return sum(c.queued() for c in self._active.values())

    def connection_count(self) -> int:
        return len(self._conns)

    # ------------------------------------------------------------------ housekeeping
    async def _housekeeping(self) -> None:
        cfg = self.config
        period = max(0.05, min(cfg.keepalive, cfg.handshake_timeout) / 4)
        while True:
            await asyncio.sleep(period)
            now = self.loop.time()
            for conn in list(self._conns):
                if conn.state == CLOSED:
                    continue
                if conn.state != AUTH and now - conn.created > cfg.handshake_timeout:
                    conn.fail("handshake_timeout", "authentication not completed in time")
                elif conn.state == AUTH and now - conn.last_send > cfg.keepalive:
                    conn._quic.send_ping(0)
                    conn.last_send = now
                    conn.transmit()
            for nid in [n for n, t in self._bans.items() if t <= now]:
                del self._bans[nid]
            for a in [a for a, (t, d) in self._backoff.items() if t + d * 4 < now]:
                del self._backoff[a]

    async def close(self) -> None:
        """Close every connection (CONNECTION_CLOSE to peers) and the UDP server."""
        self._closing = True
        if self._housekeeper is not None:
            self._housekeeper.cancel()
        for t in list(self._tasks):
            t.cancel()
        conns = list(self._conns)
        for conn in conns:
            if conn.state != CLOSED:
                conn.shutdown(CLOSE_NORMAL, "node closing")
        if conns:
            await asyncio.wait([self.loop.create_task(c.wait_closed()) for c in conns], timeout=1.0)
        for conn in conns:
            if conn.initiator and conn._transport is not None:
                conn._transport.close()
        if self._server is not None:
            self._server.close()
