"""Local control endpoint of a running node: newline-delimited JSON over TCP on loopback.

A node started by ``megabrain node`` serves this endpoint on 127.0.0.1 (OS-assigned port by
default) and writes ``{"control": "127.0.0.1:PORT", "token": "...", "node_id": "...",
"listen": "..."}`` to its control file (mode 0600). Every request is one JSON object on one line
and carries that ``token``; every answer is one line ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}``. Binary values travel as hex strings. Requests:

=============  =================================================  ===============================
``op``         fields                                             result
=============  =================================================  ===============================
status         --                                                 node id, address, realms
peers          ``realm``?                                         list of peers with SWIM status
stats          --                                                 counters (node, core, transport)
find           ``problem``, ``realm``?                            genotype advertisements
advertise      ``problem``, ``payload``, ``meta``?, ``realm``?    stored replica count
call           ``procedure``, ``args``, ``timeout``?, ``realm``?  ``value`` (hex) or an error
register       ``procedure``, ``kind`` (``echo``|``node_id``)     stored replica count
subscribe      ``topic``, ``realm``?                              stored replica count
publish        ``topic``, ``payload``, ``realm``?                 op id
events         ``topic``, ``max``?, ``wait``?                     received events (drained)
lookup         ``target`` (hex id), ``realm``?                    closest contacts
=============  =================================================  ===============================

``register`` offers built-in procedures only (``echo`` returns its arguments, ``node_id`` the
node's id): the endpoint never runs code sent to it. Anything that is not a valid request gets
an error answer; the endpoint never dies of bad input.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
from collections import deque
from pathlib import Path
from socket import create_connection
from typing import Any

from mesh.errors import MeshError, MeshUsageError
from mesh.events import EventReceived
from mesh.frames import Record
from mesh.listening import bind_errors
from mesh.node import MeshNode
from mesh.transport import format_address, parse_address

__all__ = ["ControlClient", "ControlError", "ControlServer", "record_json"]

_MAX_LINE = 16 * 1024 * 1024
_MAX_EVENTS = 10_000


class ControlError(MeshError):
    """A control request failed (bad request, or the node reported an error)."""


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

    def __init__(self, node: MeshNode, token: str | None = None) -> None:
        self.node = node
        self.token = token or secrets.token_hex(16)
        self._server: asyncio.Server | None = None
        self._events: dict[str, deque[dict[str, Any]]] = {}
        self._arrived = asyncio.Event()
        self.address = ""

    @bind_errors  # an OSError binding host:port becomes ListenError
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._client, host, port, limit=_MAX_LINE)
        sock = self._server.sockets[0]
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

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    break
                if not line:
                    break
                try:
                    answer = {"ok": True, "result": await self._handle(json.loads(line))}
                except (ControlError, MeshError, ValueError, TypeError, KeyError) as exc:
                    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                except TimeoutError:
                    answer = {"ok": False, "error": "timeout"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _on_event(self, ev: EventReceived) -> None:
        q = self._events.setdefault(ev.topic, deque(maxlen=_MAX_EVENTS))
        q.append({"author": ev.author.hex(), "seq": ev.seq, "payload": ev.payload.hex()})
        self._arrived.set()

    async def _handle(self, req: Any) -> Any:
        if not isinstance(req, dict):
            raise ControlError("a request is a JSON object")
        if not hmac.compare_digest(str(req.get("token", "")), self.token):
            raise ControlError("bad token")
        op = req.get("op")
        node = self.node
        realm = req.get("realm")
        if op == "status":
            return {**self.info(), "realms": [r.name for r in node.realms]}
        if op == "peers":
            return [
                {
                    "node_id": p.node_id.hex(),
                    "address": p.address,
                    "status": p.status,
                    "connected": p.connected,
                    "realms": list(p.realms),
                }
                for p in node.peers(realm)
            ]
        if op == "stats":
            return node.stats()
        if op == "find":
            return [record_json(r) for r in await node.find(str(req["problem"]), realm=realm)]
        if op == "advertise":
            meta = req.get("meta") or {}
            if not isinstance(meta, dict):
                raise ControlError("meta is an object")
            payload = bytes.fromhex(req["payload"])
            st = await node.advertise(str(req["problem"]), payload, meta=meta, realm=realm)
            return {"stored": st.stored}
        if op == "call":
            value = await node.call(
                str(req["procedure"]), bytes.fromhex(req.get("args", "")),
                realm=realm, timeout=float(req.get("timeout", 10.0)),
            )  # fmt: skip
            return {"value": value.hex()}
        if op == "register":
            kind = req.get("kind", "echo")
            if kind == "echo":
                handler = _echo
            elif kind == "node_id":
                nid = node.node_id

                def handler(caller: bytes, args: bytes) -> bytes:
                    return nid
            else:
                raise ControlError(f"unknown built-in procedure kind {kind!r}")
            st = await node.register(str(req["procedure"]), handler, realm=realm)
            return {"stored": st.stored}
        if op == "subscribe":
            topic = str(req["topic"])
            self._events.setdefault(topic, deque(maxlen=_MAX_EVENTS))
            st = await node.subscribe(topic, self._on_event, realm=realm)
            return {"stored": st.stored}
        if op == "publish":
            payload = bytes.fromhex(req["payload"])
            return {"op": await node.publish(str(req["topic"]), payload, realm=realm)}
        if op == "events":
            return await self._drain(str(req["topic"]), int(req.get("max", 1000)),
                                     float(req.get("wait", 0.0)))  # fmt: skip
        if op == "lookup":
            contacts = await node.lookup(bytes.fromhex(req["target"]), realm=realm)
            return [{"node_id": c.node_id.hex(), "address": c.address} for c in contacts]
        raise ControlError(f"unknown op {op!r}")

    async def _drain(self, topic: str, most: int, wait: float) -> list[dict[str, Any]]:
        q = self._events.get(topic)
        if q is None:
            raise ControlError(f"not subscribed to {topic!r} through this endpoint")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait, 60.0)
        while not q and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except TimeoutError:
                break
        return [q.popleft() for _ in range(min(most, len(q)))]


def _echo(caller: bytes, args: bytes) -> bytes:
    return args


class ControlClient:
    """A blocking client of the control endpoint (for the CLI and tests)."""

    def __init__(self, control_file: str | os.PathLike[str], timeout: float = 30.0) -> None:
        try:
            info = json.loads(Path(control_file).read_text())
            self.host, self.port = parse_address(info["control"])
            self.token = info["token"]
        except (OSError, ValueError, KeyError, TypeError, MeshUsageError) as exc:
            raise ControlError(f"cannot read control file {control_file}: {exc}") from exc
        self.info = info
        self.timeout = timeout

    def request(self, op: str, **fields: Any) -> Any:
        """Send one request; return its result or raise ControlError with the node's message."""
        msg = json.dumps({"op": op, "token": self.token, **fields}).encode() + b"\n"
        try:
            with create_connection((self.host, self.port), timeout=self.timeout) as s:
                s.sendall(msg)
                f = s.makefile("rb")
                line = f.readline(_MAX_LINE)
        except OSError as exc:
            raise ControlError(f"node not reachable at {self.host}:{self.port}: {exc}") from exc
        if not line:
            raise ControlError("node closed the control connection")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise ControlError(answer.get("error", "unknown error"))
        return answer["result"]
