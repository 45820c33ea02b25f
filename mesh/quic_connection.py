"""One authenticated QUIC connection of the mesh transport (see :mod:`mesh.transport`).

:class:`PeerConnection` is the aioquic protocol object of one connection, dialled or accepted:
it runs the mesh handshake (bound to this TLS connection) on stream 0, parses length-prefixed frames
on stream 0 and on the peer's bulk stream, applies the per-peer rate limit, and keeps the two
bounded send lanes that it moves into aioquic below the stream high-water mark. Everything it
learns goes to its owning :class:`~mesh.transport.QuicTransport`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Any

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic import events as qe
from aioquic.quic.connection import QuicConnection

from mesh.admission import address_key
from mesh.errors import AuthError, FrameError, MeshError
from mesh.handshake import Handshake, PeerInfo
from mesh.rate import TokenBucket
from mesh.tls import certificate_fingerprint

if TYPE_CHECKING:
    from mesh.transport import QuicTransport

__all__ = ["ALPN", "PeerConnection", "TransportError"]

ALPN = "megabrain/1"
BOOT_BYTES = 16
_CONTROL_STREAM = 0
# error codes of our CONNECTION_CLOSE frames (application range)
CLOSE_NORMAL, CLOSE_AUTH, CLOSE_PROTOCOL, CLOSE_LIMIT, CLOSE_DUPLICATE = 0, 1, 2, 3, 4


class TransportError(MeshError):
    """A dial failed (address unreachable, handshake refused or timed out, wrong node id)."""


#: Close counters that are no misbehaviour of the peer (not counted in ``bad_peers``).
_NOT_MISBEHAVIOUR = frozenset(
    {"duplicate", "refused_connection_cap", "refused_address_cap", "refused_new_identity"}
)

# handshake states
HELLO, CHALLENGE, PROOF, AUTH, CLOSED = range(5)


class PeerConnection(QuicConnectionProtocol):
    """One QUIC connection: handshake, framing, lanes and queues (see the module docstring)."""

    def __init__(self, quic: QuicConnection, owner: QuicTransport, initiator: bool) -> None:
        super().__init__(quic)
        self.owner = owner
        self.initiator = initiator
        self.state = CHALLENGE if initiator else HELLO
        self.created = owner.loop.time()
        self.last_send = self.created
        self.hs: Handshake | None = None
        self.hello = b""
        self.challenge = b""
        self.server_fp = owner.tls.fingerprint if not initiator else b""
        self.peer: PeerInfo | None = None
        self.peer_boot = b""
        self.expected: bytes | None = None
        self.ready: asyncio.Future[PeerInfo] = owner.loop.create_future()
        self.refused = False
        self.refused_counter = "refused_connection_cap"
        #: The remote address as the per-address caps count it (set by the first datagram).
        self.remote = ""
        self._rx: dict[int, bytearray] = {}
        self._preauth: list[tuple[int, bytes]] = []
        self._preauth_bytes = 0
        self._peer_uni = 0
        self._bulk_sid: int | None = None
        self._q: tuple[deque[bytes], deque[bytes]] = (deque(), deque())
        self._q_bytes = 0
        self._bucket = TokenBucket(owner.config.rate, owner.config.burst, self.created)
        self._over = 0

    # ------------------------------------------------------------------ aioquic events
    def datagram_received(self, data: bytes | str, addr: Any) -> None:
        if not self.remote:
            self.remote = address_key(str(addr[0]))
            if not self.initiator and not self.owner._room_for(self):
                self.refused = True  # refused with a close once TLS completes (_tls_done)
                self.refused_counter = "refused_address_cap"
        super().datagram_received(data, addr)

    def quic_event_received(self, event: qe.QuicEvent) -> None:
        if self.state == CLOSED and not isinstance(event, qe.ConnectionTerminated):
            return
        try:
            if isinstance(event, qe.StreamDataReceived):
                self._data(event.stream_id, event.data)
            elif isinstance(event, qe.HandshakeCompleted):
                self._tls_done(event)
            elif isinstance(event, qe.ConnectionTerminated):
                self._terminated()
        except (AuthError, FrameError) as exc:
            self.fail("auth_failed", f"{type(exc).__name__}: {exc}", CLOSE_AUTH)

    def _tls_done(self, event: qe.HandshakeCompleted) -> None:
        if self.refused:
            self.fail(self.refused_counter, "connection cap reached", CLOSE_LIMIT)
            return
        if event.alpn_protocol != ALPN:
            self.fail("bad_alpn", f"ALPN {event.alpn_protocol!r}", CLOSE_PROTOCOL)
            return
        if self.initiator:
            cert = getattr(self._quic.tls, "_peer_certificate", None)
            if cert is None:
                self.fail("auth_failed", "server presented no certificate", CLOSE_AUTH)
                return
            self.server_fp = certificate_fingerprint(cert)
            self.hs = self.owner.make_handshake(True)
            self.hs.bind_connection(self.server_fp, self.owner.boot_id)
            self.hello = self.hs.initiate()
            self._write(_CONTROL_STREAM, self.hello)

    def _data(self, sid: int, data: bytes) -> None:
        buf = self._rx.get(sid)
        if buf is None:
            if sid != _CONTROL_STREAM:
                # only the peer's own unidirectional streams are allowed besides stream 0
                peer_uni = 3 if self.initiator else 2
                if sid % 4 != peer_uni or self._peer_uni >= self.owner.config.max_peer_uni_streams:
                    self.fail("protocol_violation", f"unexpected stream {sid}", CLOSE_PROTOCOL)
                    return
                self._peer_uni += 1
            buf = self._rx[sid] = bytearray()
        cfg = self.owner.config
        if self.state != AUTH and sid != _CONTROL_STREAM:
            if self.initiator or self.state != PROOF:
                # the acceptor sends data only after our Proof, i.e. after we authenticated;
                # the dialler only after our Challenge
                self.fail("protocol_violation", "data before authentication", CLOSE_PROTOCOL)
                return
            # the dialler's data may overtake its Proof (loss): hold a bounded amount
            self._preauth_bytes += len(data)
            if self._preauth_bytes > cfg.max_preauth_bytes:
                self.fail("protocol_violation", "too much data before authentication")
                return
        buf += data
        pos = 0
        n_buf = len(buf)
        while n_buf - pos >= 4:
            n = int.from_bytes(buf[pos : pos + 4], "big")
            cap = (
                cfg.max_handshake_frame
                if self.state != AUTH and sid == _CONTROL_STREAM
                else cfg.max_frame_bytes
            )
            if n == 0 or n > cap:
                self.fail("oversized_frame", f"frame of {n} bytes (cap {cap})", CLOSE_LIMIT)
                return
            if n_buf - pos - 4 < n:
                break
            frame = bytes(buf[pos + 4 : pos + 4 + n])
            pos += 4 + n
            self._frame(sid, frame)
            if self.state == CLOSED:
                return
        if pos:
            del buf[:pos]

    def _frame(self, sid: int, frame: bytes) -> None:
        if self.state == AUTH:
            now = self.owner.loop.time()
            if not self._bucket.take(now):
                self._over += 1
                self.owner.stats["rate_limited_frames"] += 1
                if self._over >= self.owner.config.flood_drop:
                    self.fail("flood", "rate limit exceeded persistently", CLOSE_LIMIT, ban=True)
                return
            assert self.peer is not None
            self.owner.stats["frames_received"] += 1
            self.owner.events.frame_received(self.peer.node_id, frame)
            return
        if sid != _CONTROL_STREAM:
            self._preauth.append((sid, frame))  # bounded in _data; delivered once authenticated
            return
        now = self.owner.wall_clock()
        if self.state == HELLO:
            self.hs = self.owner.make_handshake(False)
            self.hs.bind_connection(self.server_fp, self.owner.boot_id)
        hs = self.hs
        if hs is None:
            raise AuthError("handshake data before the TLS handshake completed")
        if self.state == HELLO:
            reply = hs.receive(frame, now)
            if reply is None:
                raise AuthError("handshake produced no challenge")
            self.hello, self.challenge = frame, reply
            self._write(_CONTROL_STREAM, reply)
            self.state = PROOF
        elif self.state == CHALLENGE:
            proof = hs.receive(frame, now)
            if proof is None:
                raise AuthError("handshake produced no proof")
            self.challenge = frame
            self._check_expected()
            self._write(_CONTROL_STREAM, proof)
            self._authenticated()
        elif self.state == PROOF:
            hs.receive(frame, now)
            self._authenticated()

    def _check_expected(self) -> None:
        assert self.hs is not None and self.hs.peer is not None
        if self.expected is not None and self.hs.peer.node_id != self.expected:
            raise AuthError("peer is not the node we dialled (wrong key)")

    def _authenticated(self) -> None:
        assert self.hs is not None and self.hs.peer is not None
        self.peer = self.hs.peer
        self.peer_boot = self.peer.boot
        self.state = AUTH
        self.hs = None
        if not self.owner._admit(self):
            return
        held, self._preauth = self._preauth, []
        for sid, frame in held:
            self._frame(sid, frame)
            if self.state != AUTH:
                return
        self._pump()
        self.transmit()

    # ------------------------------------------------------------------ sending
    def _write(self, sid: int, data: bytes) -> None:
        self._quic.send_stream_data(sid, len(data).to_bytes(4, "big") + data)
        self.last_send = self.owner.loop.time()
        self._transmit_soon()

    def _buffered(self, sid: int) -> int:
        stream = self._quic._streams.get(sid)
        if stream is None:
            return 0
        s = stream.sender
        return int(s._buffer_stop - s._buffer_start)

    def enqueue(self, data: bytes) -> bool:
        """Queue one frame for the peer; False (and counted) if the queue is full."""
        cfg = self.owner.config
        lane = self._q[1 if len(data) >= cfg.bulk_threshold else 0]
        if (
            len(self._q[0]) + len(self._q[1]) >= cfg.send_queue_frames
            or self._q_bytes + len(data) > cfg.send_queue_bytes
        ):
            self.owner.stats["send_dropped"] += 1
            return False
        lane.append(data)
        self._q_bytes += len(data)
        self._transmit_soon()
        return True

    def _pump(self) -> None:
        if self.state != AUTH or not (self._q[0] or self._q[1]):
            return
        high = self.owner.config.stream_high_water
        for lane, q in enumerate(self._q):
            if not q:
                continue
            if lane == 0:
                sid = _CONTROL_STREAM
            else:
                if self._bulk_sid is None:
                    self._bulk_sid = self._quic.get_next_available_stream_id(is_unidirectional=True)
                sid = self._bulk_sid
            room = high - self._buffered(sid)
            parts: list[bytes] = []
            while q and room > 0:
                data = q.popleft()
                self._q_bytes -= len(data)
                parts.append(len(data).to_bytes(4, "big"))
                parts.append(data)
                room -= len(data) + 4
            if parts:
                self._quic.send_stream_data(sid, b"".join(parts))
                self.last_send = self.owner.loop.time()
                self.owner.stats["frames_sent"] += len(parts) // 2

    def transmit(self) -> None:
        if self.state == AUTH:
            self._pump()
        super().transmit()

    def queued(self) -> int:
        return len(self._q[0]) + len(self._q[1])

    # ------------------------------------------------------------------ closing
    def fail(
        self, counter: str, reason: str, code: int = CLOSE_PROTOCOL, ban: bool = False
    ) -> None:
        """Drop this connection for ``reason``, counting it under ``counter``."""
        if self.state == CLOSED:
            return
        self.owner.stats[counter] += 1
        self.owner.stats["bad_peers"] += counter not in _NOT_MISBEHAVIOUR
        peer = self.peer or (self.hs.peer if self.hs is not None else None)
        if ban and peer is not None:
            self.owner.ban(peer.node_id)
        self.owner.last_errors.append((counter, reason))
        self.shutdown(code, reason)

    def shutdown(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        was_auth = self.state == AUTH
        self.state = CLOSED
        self._q[0].clear()
        self._q[1].clear()
        self._q_bytes = 0
        self._rx.clear()
        self._preauth.clear()
        if not self.ready.done():
            self.ready.set_exception(TransportError(reason or "connection closed"))
            self.ready.exception()  # retrieved: server-side connections have no waiter
        with contextlib.suppress(Exception):  # a connection aioquic already tore down
            self.close(error_code=code, reason_phrase=reason[:100])
        self.owner._gone(self, was_auth)

    def _terminated(self) -> None:
        if self.state != CLOSED:
            self.shutdown(CLOSE_NORMAL, "connection terminated")
        self.owner._forget(self)
