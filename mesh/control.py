"""Local control endpoint of a running node: newline-delimited JSON over TCP on loopback.

A node started by ``megabrain node`` serves this endpoint on 127.0.0.1 (OS-assigned port by
default) and writes ``{"control": "127.0.0.1:PORT", "token": "...", "node_id": "...",
"listen": "..."}`` to its control file (mode 0600). Every request is one JSON object on one line
and carries that ``token``; every answer is one line ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}``. Binary values travel as hex strings. Requests (every op also
takes ``realm``?, default the node's first realm):

=============  =================================================  ===============================
``op``         fields                                             result
=============  =================================================  ===============================
auth           --                                                 ``{}`` (see *Limits*)
status         --                                                 node id, address, realms
peers          ``offset``?, ``limit``?                            peers with SWIM status, by id
stats          --                                                 counters (node, core,
                                                                  transport, control)
find           ``problem``                                        genotype advertisements
advertise      ``problem``, ``payload``, ``meta``?                stored replica count
call           ``procedure``, ``args``?, ``timeout``?             ``value`` (hex) or an error
register       ``procedure``, ``kind``? (``echo``|``node_id``)    stored replica count
subscribe      ``topic``                                          stored replica count
publish        ``topic``, ``payload``                             op id
events         ``topic``, ``max``?, ``wait``?                     received events (drained)
lookup         ``target`` (hex id)                                closest contacts
=============  =================================================  ===============================

``register`` offers built-in procedures only (``echo`` returns its arguments, ``node_id`` the
node's id): the endpoint never runs code sent to it. Every field is checked
(:mod:`mesh.control_wire`): ``timeout`` is a number in (0, 300] s, ``wait`` in [0, 60] s,
``max`` in [1, 10,000], ``meta`` an object of strings, booleans, finite numbers and 64-bit
integers; unknown ops and fields are refused. Anything that is not a valid request gets one
error answer; the endpoint never dies of bad input.

Limits (:class:`~mesh.control_wire.ControlConfig`, defaults). A connection is *unauthenticated*
until it sent a line with the valid token. At most 32 connections, of which at most 16
unauthenticated: a newcomer beyond 16 unauthenticated, or beyond 32 in all, evicts the oldest
unauthenticated one, which is answered ``{"ok": false, "error": ..., "retry": true}``
(nothing of it ran); a newcomer finding 32 connections that all hold the token gets that
answer itself. Lines: at most 64 KiB before the token, 3 MiB after it (a client with a
larger request sends ``auth`` first, on the same connection). A line without the valid token,
or too long, gets its error answer and the connection is closed: the server half-closes and
reads and discards for 2 s (at most 16 connections linger so, the oldest is cut beyond), so
that a client still sending reads the answer instead of a reset. JSON nested deeper than 16
is refused before parsing. Deadlines: the first line must be complete 5 s after connecting,
each next one 60 s after the previous answer, and a client must read an answer within 30 s.
One request per connection runs at a time (reading pauses meanwhile). Answers are at most
16 MiB, which is the client's line limit too: the server never sends a longer one (it answers
an error instead; ``events`` returns the events that fit and keeps the rest; ``peers`` pages
with ``offset`` and ``limit``).

Memory: without the token, at most 16 open connections x (64 KiB of line + one 256 KiB
socket read) and 16 lingering x one 256 KiB read = 9 MiB; with it (the node's owner), at most
32 x (3 MiB + 256 KiB of request and one answer of <= 16 MiB); the event queues at most
16 MiB in all.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from mesh.control_client import ControlClient
from mesh.control_conn import Connection, Connections
from mesh.control_events import EventQueues
from mesh.control_wire import (
    DEFAULT_CONFIG,
    ControlConfig,
    ControlError,
    Request,
    answer_line,
    error_line,
)
from mesh.errors import MeshError
from mesh.frames import Record
from mesh.listening import bind_errors
from mesh.node import MeshNode
from mesh.transport import format_address

__all__ = ["ControlClient", "ControlConfig", "ControlError", "ControlServer", "record_json"]

#: Most connections accepted per turn of the event loop (asyncio's default listen backlog):
#: it bounds the sockets held before each is admitted or evicted.
_ACCEPT_BATCH = 100


def record_json(r: Record) -> dict[str, Any]:
    """A JSON-friendly view of a DHT record."""
    return {
        "author": r.author.hex(),
        "seq": r.seq,
        "ttl": r.ttl,
        "value": r.value.hex(),
        "meta": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in r.meta},
    }


class ControlServer:
    """Serves the control protocol for one :class:`MeshNode` (see the module docstring)."""

    def __init__(
        self, node: MeshNode, token: str | None = None, config: ControlConfig = DEFAULT_CONFIG
    ) -> None:
        self.node = node
        self.token = token or secrets.token_hex(16)
        self.config = config
        self.address = ""
        self._server: asyncio.Server | None = None
        self._conns = Connections(config)
        #: See :class:`~mesh.control_conn.Connections` (also in the ``stats`` answer, as
        #: ``control.*``, with ``control.events_dropped``).
        self.counters = self._conns.counters
        self._events = EventQueues(config)
        self._token = self.token.encode()

    @bind_errors  # an OSError binding host:port becomes ListenError
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Connection(self._conns, self._token_ok, self.answer),
            host,
            port,
            backlog=_ACCEPT_BATCH,  # asyncio accepts at most this many per turn, and listens so
        )
        sock = self._server.sockets[0]
        with socket.socket(fileno=os.dup(sock.fileno())) as listening:
            listening.listen(self.config.backlog)  # a longer queue, the same accept batch
        self.address = format_address(host, sock.getsockname()[1])
        return self.address

    def write_file(self, path: str | os.PathLike[str]) -> None:
        """Write the control file (address, token, node id, listen address), mode 0600."""
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.info(with_token=True), f)
        os.replace(tmp, p)

    def info(self, with_token: bool = False) -> dict[str, Any]:
        out = {
            "node_id": self.node.node_id.hex(),
            "listen": self.node.address,
            "control": self.address,
            "pid": os.getpid(),
        }
        if with_token:
            out["token"] = self.token
        return out

    def connections(self) -> tuple[int, int]:
        """Open connections: (unauthenticated, authenticated)."""
        return len(self._conns.unauthenticated), len(self._conns.authenticated)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._conns.close_all()

    def _token_ok(self, req: Mapping[str, Any]) -> bool:
        tok = req.get("token")
        if type(tok) is not str:
            return False
        return hmac.compare_digest(tok.encode("utf-8", "surrogatepass"), self._token)

    # ------------------------------------------------------------------ requests
    async def answer(self, req: Request) -> bytes:
        """The answer line to a checked request (never raises)."""
        try:
            result = await _HANDLERS[req.op](self, req.fields)
        except ControlError as exc:
            return error_line(str(exc))
        except TimeoutError:
            return error_line("timeout")
        except MeshError as exc:
            return error_line(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug must not cost the node its endpoint
            return error_line(f"internal error: {type(exc).__name__}: {exc}")
        hint = "; ask for pages with offset and limit" if req.op == "peers" else ""
        return answer_line(result, self.config, hint)

    async def _auth(self, f: Mapping[str, Any]) -> Any:
        return {}

    async def _status(self, f: Mapping[str, Any]) -> Any:
        return {**self.info(), "realms": [r.name for r in self.node.realms]}

    async def _peers(self, f: Mapping[str, Any]) -> Any:
        peers = self.node.peers(f["realm"])
        end = None if f["limit"] is None else f["offset"] + f["limit"]
        return [
            {
                "node_id": p.node_id.hex(),
                "address": p.address,
                "status": p.status,
                "connected": p.connected,
                "realms": list(p.realms),
            }
            for p in peers[f["offset"] : end]
        ]

    async def _stats(self, f: Mapping[str, Any]) -> Any:
        out = self.node.stats()
        unauth, auth = self.connections()
        out.update({f"control.{k}": v for k, v in sorted(self.counters.items())})
        out.update({"control.unauthenticated": unauth, "control.authenticated": auth})
        out["control.events_dropped"] = self._events.dropped
        return out

    async def _find(self, f: Mapping[str, Any]) -> Any:
        return [record_json(r) for r in await self.node.find(f["problem"], realm=f["realm"])]

    async def _advertise(self, f: Mapping[str, Any]) -> Any:
        st = await self.node.advertise(f["problem"], f["payload"], meta=f["meta"], realm=f["realm"])
        return {"stored": st.stored}

    async def _call(self, f: Mapping[str, Any]) -> Any:
        value = await self.node.call(
            f["procedure"], f["args"], realm=f["realm"], timeout=f["timeout"]
        )
        return {"value": value.hex()}

    async def _register(self, f: Mapping[str, Any]) -> Any:
        if f["kind"] == "echo":
            handler = _echo
        else:
            nid = self.node.node_id

            def handler(caller: bytes, args: bytes) -> bytes:
                return nid

        st = await self.node.register(f["procedure"], handler, realm=f["realm"])
        return {"stored": st.stored}

    async def _subscribe(self, f: Mapping[str, Any]) -> Any:
        self._events.open(f["topic"])
        st = await self.node.subscribe(f["topic"], self._events.add, realm=f["realm"])
        return {"stored": st.stored}

    async def _publish(self, f: Mapping[str, Any]) -> Any:
        return {"op": await self.node.publish(f["topic"], f["payload"], realm=f["realm"])}

    async def _events_op(self, f: Mapping[str, Any]) -> Any:
        return await self._events.drain(f["topic"], f["max"], f["wait"])

    async def _lookup(self, f: Mapping[str, Any]) -> Any:
        contacts = await self.node.lookup(f["target"], realm=f["realm"])
        return [{"node_id": c.node_id.hex(), "address": c.address} for c in contacts]


_Handler = Callable[[ControlServer, Mapping[str, Any]], Awaitable[Any]]
_HANDLERS: dict[str, _Handler] = {
    "auth": ControlServer._auth,
    "status": ControlServer._status,
    "peers": ControlServer._peers,
    "stats": ControlServer._stats,
    "find": ControlServer._find,
    "advertise": ControlServer._advertise,
    "call": ControlServer._call,
    "register": ControlServer._register,
    "subscribe": ControlServer._subscribe,
    "publish": ControlServer._publish,
    "events": ControlServer._events_op,
    "lookup": ControlServer._lookup,
}


def _echo(caller: bytes, args: bytes) -> bytes:
    return args
