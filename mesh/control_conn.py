"""Connections of the control endpoint (:mod:`mesh.control`): the asyncio protocol that reads
lines, runs one request at a time, answers, keeps the deadlines and closes after an error
answer; and the table that caps how many are open (see the limits in :mod:`mesh.control`).
"""

from __future__ import annotations

import asyncio
import fcntl
import sys
import termios
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mesh.control_wire import (
    ControlConfig,
    ControlError,
    LineBuffer,
    LineTooLong,
    Request,
    error_line,
    loads,
    parse_request,
)

__all__ = ["Connection", "Connections"]


class Connections:
    """The open connections of one endpoint: at most ``max_connections``, of which at most
    ``max_unauthenticated`` without a valid token yet (a newcomer evicts the oldest of those),
    and at most ``max_unauthenticated`` lingering after their last answer (beyond, the oldest
    is cut)."""

    def __init__(self, config: ControlConfig) -> None:
        self.config = config
        #: ``accepted``, ``refused``, ``evicted``, ``bad_token``, ``too_long``, ``timed_out``,
        #: ``bad_requests``.
        self.counters: Counter[str] = Counter()
        self.unauthenticated: dict[Connection, None] = {}  # oldest first
        self.authenticated: set[Connection] = set()
        self.lingering: dict[Connection, None] = {}  # closed after an error answer, oldest first

    def admit(self, conn: Connection) -> None:
        """A newcomer: it joins the unauthenticated, or is refused (all slots hold the token)."""
        self.counters["accepted"] += 1
        cfg = self.config
        full = len(self.unauthenticated) + len(self.authenticated) >= cfg.max_connections
        if self.unauthenticated and (len(self.unauthenticated) >= cfg.max_unauthenticated or full):
            self.counters["evicted"] += 1
            self._victim().close_with(
                "dropped: too many control connections without a valid token", retry=True
            )
        if len(self.unauthenticated) + len(self.authenticated) >= cfg.max_connections:
            self.counters["refused"] += 1
            conn.close_with("refused: too many control connections", retry=True)
            return
        self.unauthenticated[conn] = None

    def _victim(self) -> Connection:
        """The unauthenticated connection to evict: the oldest that has sent nothing yet (an
        idle one of a flood), else the oldest. A client sends its request line as soon as it
        is connected, and a flood accepted in one batch is admitted before any of its lines
        is read: evicting by age alone would drop such a client, unread, for idle ones."""
        for conn in self.unauthenticated:
            if not conn.has_input():
                return conn
        return next(iter(self.unauthenticated))

    def authenticate(self, conn: Connection) -> None:
        self.unauthenticated.pop(conn, None)
        self.authenticated.add(conn)

    def gone(self, conn: Connection) -> None:
        """``conn`` serves no more requests (closing or closed)."""
        self.unauthenticated.pop(conn, None)
        self.authenticated.discard(conn)

    def linger(self, conn: Connection) -> None:
        self.lingering[conn] = None
        if len(self.lingering) > self.config.max_unauthenticated:
            next(iter(self.lingering)).abort()

    def closed(self, conn: Connection) -> None:
        self.gone(conn)
        self.lingering.pop(conn, None)

    def close_all(self) -> None:
        for conn in [*self.unauthenticated, *self.authenticated, *self.lingering]:
            conn.abort()


class Connection(asyncio.Protocol):
    """One control connection: reads a line, runs it, writes the answer, then the next line.

    Reading runs only while a line is awaited: it pauses while a request runs and while an
    answer waits for the client to read it, so the buffer holds at most the line limit plus
    one socket read.
    """

    def __init__(
        self,
        table: Connections,
        token_ok: Callable[[Mapping[str, Any]], bool],
        answer: Callable[[Request], Awaitable[bytes]],
    ) -> None:
        self.table = table
        self.config = table.config
        self.counters = table.counters
        self.token_ok = token_ok
        self.answer = answer
        self.buf = LineBuffer()
        self.transport: asyncio.Transport | None = None
        self.authenticated = False
        self.busy = False
        self.eof = False
        self.closed = False
        self.write_paused = False
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def has_input(self) -> bool:
        """Whether the client sent bytes not yet taken as a line: buffered here or still
        unread in the socket."""
        if len(self.buf) or self.transport is None:
            return bool(len(self.buf))
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            pending = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except OSError:  # closed meanwhile
            return False
        return int.from_bytes(pending, sys.byteorder) > 0

    # ------------------------------------------------------------------ asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._deadline(self.config.first_line_timeout, "no complete request line")
        self.table.admit(self)

    def data_received(self, data: bytes) -> None:
        if not self.closed:
            self.buf.feed(data)
            self._next()

    def eof_received(self) -> bool:
        if self.closed:
            return False  # lingering: close now
        self.eof = True
        self._next()
        return True  # keeps the transport open for the answer of a running request

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        if self.task is not None:
            self.task.cancel()
        self.table.closed(self)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.closed and not self.busy:
            self._deadline(self.config.idle_timeout, "no complete request line")
            self._next()

    # ------------------------------------------------------------------ the line loop
    def _next(self) -> None:
        """Run the complete lines received, one at a time, until a request runs, an answer
        waits for the client, or more bytes are needed (then reading resumes)."""
        assert self.transport is not None
        cfg = self.config
        while not (self.busy or self.closed or self.write_paused):
            limit = cfg.max_line_bytes if self.authenticated else cfg.first_line_bytes
            try:
                line = self.buf.next_line(limit)
            except LineTooLong:
                self.counters["too_long"] += 1
                where = "" if self.authenticated else " before a line with the valid token"
                self.close_with(f"request line longer than {limit} bytes{where}")
                return
            if line is None:
                if self.eof:  # the client sent all it will: close after our answers
                    self._end()
                    self._close_after(self.config.write_timeout)
                else:
                    self.transport.resume_reading()
                return
            self._cancel_timer()
            try:
                req = self._parse(line)
            except ControlError as exc:
                self.counters["bad_requests"] += 1
                if not self.closed:
                    self._write(error_line(str(exc)))
                continue
            if req is not None:
                self.busy = True
                self.task = asyncio.get_running_loop().create_task(self._run(req))
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def _parse(self, line: bytes) -> Request | None:
        """The checked request; ControlError for a bad one from an authenticated client;
        None when the connection was closed for lacking the token."""
        try:
            obj = loads(line, self.config.max_depth)
            if type(obj) is not dict:
                raise ControlError("a request is a JSON object")
        except ControlError as exc:
            if not self.authenticated:
                self.close_with(str(exc))
            raise
        if not self.token_ok(obj):
            self.counters["bad_token"] += 1
            self.close_with("bad token")
            return None
        if not self.authenticated:
            self.authenticated = True
            self.table.authenticate(self)
        return parse_request(obj, self.config)

    async def _run(self, req: Request) -> None:
        line = await self.answer(req)
        self.task = None
        self.busy = False
        if not self.closed:
            self._write(line)
            self._next()

    def _write(self, line: bytes) -> None:
        """Send an answer and arm the next deadline: the client reads it, or sends a line."""
        assert self.transport is not None
        self.transport.write(line)  # calls pause_writing if the buffer passes its high mark
        if self.write_paused:
            self._deadline(self.config.write_timeout, "answer not read", abort=True)
        else:
            self._deadline(self.config.idle_timeout, "no complete request line")

    # ------------------------------------------------------------------ ending
    def _deadline(self, delay: float, what: str, abort: bool = False) -> None:
        self._cancel_timer()

        def expired() -> None:
            self.counters["timed_out"] += 1
            if abort:
                self.abort()
            else:
                self.close_with(f"{what} within {delay:g} s")

        self.timer = asyncio.get_running_loop().call_later(delay, expired)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def close_with(self, message: str, *, retry: bool = False) -> None:
        """Answer ``message`` as an error and half-close; then read and discard for
        ``linger`` s, so that a client still sending reads the answer before the close
        (closing with unread bytes would reset the connection and lose it)."""
        if self.closed or self.transport is None:
            return
        self._end()
        transport = self.transport
        transport.write(error_line(message, retry=retry))
        if not transport.can_write_eof() or self.eof:
            self._close_after(self.config.write_timeout)
            return
        try:
            transport.write_eof()
        except OSError:  # the peer is already gone (reset while queued for accept): cut it
            self.abort()
            return
        transport.resume_reading()
        self.timer = asyncio.get_running_loop().call_later(self.config.linger, self.abort)
        self.table.linger(self)

    def _close_after(self, delay: float) -> None:
        """Close once the answers are sent; cut the connection if they are not within
        ``delay`` s (a client that does not read)."""
        assert self.transport is not None
        self.transport.close()
        self.timer = asyncio.get_running_loop().call_later(delay, self.abort)

    def abort(self) -> None:
        self._end()
        self.table.closed(self)
        if self.transport is not None:
            self.transport.abort()

    def _end(self) -> None:
        """Serve no more requests (what was received and not run is dropped)."""
        self.closed = True
        self._cancel_timer()
        self.buf = LineBuffer()
        self.table.gone(self)
