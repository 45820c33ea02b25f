"""The local control endpoint against misbehaving clients, on real sockets (in-process node).

Every bad request gets one error line; a line without the valid token, or too long, gets its
error line and then the end of the connection; connections, lines, nesting, timeouts and
deadlines are capped; large legitimate requests and answers pass through ControlClient.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from mesh.control import ControlClient, ControlConfig, ControlError
from mesh.core import MeshConfig
from mesh.frames import Contact
from mesh.membership import SwimConfig
from mesh.node import NodeConfig
from tests.mesh_quic.control_helpers import Line, send_in_background, served
from tests.mesh_quic.procs import wait_for

MiB = 1024 * 1024


def test_control_file_is_private(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        assert s.control_file.stat().st_mode & 0o777 == 0o600
        assert ControlClient(s.control_file).request("status")["node_id"] == s.node.node_id.hex()


def test_each_bad_request_with_the_token_gets_one_error_and_the_connection_serves_on(
    tmp_path: Path,
) -> None:
    with served(tmp_path) as s:
        t = s.token
        conn = Line(s.host, s.port)
        assert conn.ask({"op": "auth", "token": t}) == {"ok": True, "result": {}}
        raw = [
            (b"not json at all", "invalid JSON"),
            (b"[1, 2, 3]", "a request is a JSON object"),
            (b'{"op": "call", "token": "%s", "procedure": "p", "timeout": NaN}', "NaN is not"),
            (b'{"op": "call", "token": "%s", "procedure": "p", "timeout": Infinity}', "Infinity"),
            (b'{"op": "call", "token": "%s", "procedure": "p", "timeout": 1e308}', "'timeout'"),
            (b'{"op": "call", "token": "%s", "procedure": "p", "timeout": 1e999}', "'timeout'"),
            (b'{"op": "call", "token": "%s", "procedure": "p", "timeout": -1}', "'timeout'"),
            (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 16"),
            (b'{"op": "status", "token": "%s", "x": ' + b"[" * 30 + b"]" * 30 + b"}", "nested"),
        ]
        for line, message in raw:
            conn.send(line.replace(b"%s", t.encode()) + b"\n")
            answer = conn.answer()
            assert answer["ok"] is False and message in answer["error"], (line[:80], answer)
        bad = [
            ({"op": "no-such-op"}, "unknown op 'no-such-op'"),
            ({"op": "find"}, "missing field 'problem'"),
            ({"op": "status", "verbose": True}, "unknown field(s) 'verbose'"),
            ({"op": "publish", "topic": "t", "payload": "zz"}, "field 'payload': expected hex"),
            ({"op": "call", "procedure": "p", "args": "0g"}, "field 'args': expected hex"),
            ({"op": "call", "procedure": 5}, "field 'procedure'"),
            ({"op": "lookup", "target": "00" * 31}, "field 'target': expected a node id"),
            ({"op": "register", "procedure": "p", "kind": "exec"}, "field 'kind'"),
            ({"op": "events", "topic": "never-subscribed"}, "not subscribed"),
            ({"op": "events", "topic": "t", "wait": 1e9}, "field 'wait'"),
            ({"op": "find", "problem": "p", "realm": "not-joined"}, "has not joined that realm"),
            ({"op": "call", "procedure": "nobody", "timeout": 0.5}, "CallError"),
        ]
        for req, message in bad:
            answer = conn.ask({**req, "token": t})
            assert answer["ok"] is False and message in answer["error"], (req, answer)
            assert set(answer) == {"ok", "error"}
        ok = conn.ask({"op": "status", "token": t})  # answers stayed one per request
        assert ok["ok"] and ok["result"]["node_id"] == s.node.node_id.hex()
        conn.close()


@pytest.mark.parametrize(
    "line",
    [
        b"not json",
        b"[1]",
        b'{"op": "status"}',
        b'{"op": "status", "token": "wrong"}',
        b'{"op": "status", "token": 12}',
        b'{"op": "status", "token": "\\u00e9\\ud800"}',
        b'{"op": "call", "timeout": NaN}',
        b"[" * 30_000 + b"]" * 30_000,
        b"{" * 60_000,
    ],
    ids=["garbage", "array", "no-token", "wrong", "number", "non-ascii", "nan", "deep", "open"],
)
def test_a_line_without_the_valid_token_is_answered_then_the_connection_closed(
    tmp_path: Path, line: bytes
) -> None:
    with served(tmp_path) as s:
        conn = Line(s.host, s.port)
        conn.send(line + b"\n")
        answer = conn.answer()
        assert answer["ok"] is False and answer["error"]
        assert conn.closed()
        wait_for(lambda: s.connections() == (0, 0), 5, "connection released")
        assert ControlClient(s.control_file).request("status")


@pytest.mark.parametrize("authenticated", [False, True])
def test_a_17_mib_line_is_answered_then_the_connection_closed(
    tmp_path: Path, authenticated: bool
) -> None:
    with served(tmp_path) as s:
        conn = Line(s.host, s.port)
        if authenticated:
            assert conn.ask({"op": "auth", "token": s.token}) == {"ok": True, "result": {}}
        sender = send_in_background(conn, b'{"op": "status", "x": "' + b"a" * (17 * MiB))
        answer = conn.answer()
        limit = 3 * MiB if authenticated else 64 * 1024
        assert answer["ok"] is False
        assert f"request line longer than {limit} bytes" in answer["error"]
        assert ("before a line with the valid token" in answer["error"]) is not authenticated
        assert conn.closed()
        sender.join(10)
        conn.close()
        assert s.counter("too_long") == 1
        assert ControlClient(s.control_file).request("status")


def test_connections_are_capped_and_the_oldest_without_a_token_evicted(tmp_path: Path) -> None:
    cfg = ControlConfig(max_connections=6, max_unauthenticated=3)
    with served(tmp_path, cfg) as s:
        idle = [Line(s.host, s.port) for _ in range(3)]
        wait_for(lambda: s.connections() == (3, 0), 5, "3 unauthenticated")
        newcomer = Line(s.host, s.port)
        evicted = idle[0].answer()
        assert evicted == {
            "ok": False, "retry": True,
            "error": "dropped: too many control connections without a valid token",
        }  # fmt: skip
        assert idle[0].closed()
        wait_for(lambda: s.connections() == (3, 0), 5, "still 3 unauthenticated")
        # connections with the token are not evicted; beyond the total cap a newcomer is refused
        authed = []
        for _ in range(6):  # each evicts an idle one once the total is reached
            authed.append(Line(s.host, s.port))
            assert authed[-1].ask({"op": "auth", "token": s.token})["ok"]
        assert s.connections() == (0, 6)
        refused = Line(s.host, s.port)
        answer = refused.answer()
        assert answer["retry"] is True and "refused: too many" in answer["error"]
        assert refused.closed()
        for a in authed:
            assert a.ask({"op": "status", "token": s.token})["ok"]
        # a client refused while all slots are held retries, and gets in once one is free
        box: dict[str, object] = {}
        client = threading.Thread(
            target=lambda: box.update(r=ControlClient(s.control_file).request("status"))
        )
        before = s.counter("refused")
        client.start()
        wait_for(lambda: s.counter("refused") > before, 5, "the client refused once")
        authed.pop().close()
        client.join(10)
        assert box["r"]["node_id"] == s.node.node_id.hex()  # type: ignore[index]
        for c in [*idle, newcomer, refused, *authed]:
            c.close()
        assert s.counter("evicted") >= 1


def test_evicting_a_connection_its_client_already_closed_admits_the_newcomer(
    tmp_path: Path,
) -> None:
    """A flood's client that closed while its connection waited in the accept queue: the
    answer to it is reset, and half-closing it then fails (before: that OSError escaped from
    the newcomer's admission, which left the newcomer out of the table and the evicted
    connection open, and logged a traceback per connection)."""
    cfg = ControlConfig(max_unauthenticated=1)
    with served(tmp_path, cfg) as s:
        errors: list[dict[str, object]] = []
        s.call(lambda: s.loop.set_exception_handler(lambda loop, ctx: errors.append(ctx)))
        gate = threading.Event()
        s.loop.call_soon_threadsafe(gate.wait, 10)  # the endpoint accepts nothing meanwhile
        gone = socket.create_connection((s.host, s.port))
        gone.close()  # queued for accept, closed by its client
        newcomer = Line(s.host, s.port)
        gate.set()
        wait_for(lambda: s.counter("evicted") == 1, 5, "the closed one evicted")
        assert newcomer.ask({"op": "status", "token": s.token})["ok"]
        assert errors == []
        wait_for(lambda: s.connections() == (0, 1), 5, "only the newcomer open")
        assert s.call(lambda: list(s.control._conns.lingering)) == []
        newcomer.close()


def test_connections_closed_after_an_error_linger_within_a_cap(tmp_path: Path) -> None:
    cfg = ControlConfig(max_unauthenticated=2, linger=30.0)
    with served(tmp_path, cfg) as s:
        conns = []
        for _ in range(4):  # one at a time: none is evicted
            c = Line(s.host, s.port)
            conns.append(c)
            c.send(b'{"op": "status", "token": "wrong"}\n')
            assert c.answer() == {"ok": False, "error": "bad token"}
            assert c.closed()  # the answer, then the end of the server's side
        lingering = lambda: len(s.call(lambda: list(s.control._conns.lingering)))  # noqa: E731
        assert lingering() == 2  # the two oldest were cut at once
        for c in conns:
            c.close()
        wait_for(lambda: lingering() == 0, 5, "lingering ones closed with their clients")


def test_deadlines_close_idle_and_slow_connections(tmp_path: Path) -> None:
    cfg = ControlConfig(first_line_timeout=0.4, idle_timeout=0.6, write_timeout=0.5)
    with served(tmp_path, cfg) as s:
        silent = Line(s.host, s.port)
        trickle = Line(s.host, s.port)
        trickle.send(b'{"op": "sta')
        for c in (silent, trickle):
            answer = c.answer()
            assert answer == {"ok": False, "error": "no complete request line within 0.4 s"}
            assert c.closed()
        idle = Line(s.host, s.port)
        assert idle.ask({"op": "status", "token": s.token})["ok"]
        idle.send(b'{"op": "st')  # a partial line does not restart the deadline
        assert idle.answer() == {"ok": False, "error": "no complete request line within 0.6 s"}
        assert idle.closed()
        # a client that sends requests and never reads the answers is cut off
        slow = socket.create_connection((s.host, s.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = json.dumps({"op": "stats", "token": s.token}).encode() + b"\n"
        slow.sendall(req * 2000)
        wait_for(lambda: s.counter("timed_out") >= 4, 20, "the slow reader cut off")
        wait_for(lambda: s.connections() == (0, 0), 5, "all released")
        slow.close()
        assert ControlClient(s.control_file).request("status")


def test_pipelined_requests_and_a_half_closed_client(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        conn = Line(s.host, s.port)
        status = json.dumps({"op": "status", "token": s.token}).encode()
        conn.send(status + b"\n" + b"junk\n" + status + b"\n")
        conn.sock.shutdown(socket.SHUT_WR)
        answers = [conn.answer() for _ in range(3)]
        assert [a["ok"] for a in answers] == [True, False, True]
        assert conn.closed()


def test_large_legit_requests_and_answers_pass_through_the_client(tmp_path: Path) -> None:
    node_config = NodeConfig(mesh=MeshConfig(swim=SwimConfig(enabled=False)))
    with served(tmp_path, node_config=node_config) as s:
        client = ControlClient(s.control_file)
        payload = bytes(range(256)) * 4096  # 1 MiB: the largest DHT record value
        stored = client.request("advertise", problem="big", payload=payload.hex(), meta={"f": 1.5})
        assert stored["stored"] >= 1
        found = client.request("find", problem="big")
        assert [bytes.fromhex(r["value"]) for r in found] == [payload]
        with pytest.raises(ControlError, match="exceeds the 3145728-byte line limit"):
            client.request("publish", topic="t", payload="00" * (2 * MiB))

        def fill() -> None:  # 4,096 members (the SWIM cap) with the longest addresses
            swim = s.node._core().realms[s.node.realms[0].id].swim
            for i in range(4096):
                nid = i.to_bytes(4, "big") * 8
                swim.table.add(Contact(nid, f"127.0.0.1:{i}".ljust(1024, "x")), None)

        s.call(fill)
        peers = client.request("peers")
        assert len(peers) == 4096 and len(json.dumps(peers)) > 4 * MiB
        page = client.request("peers", offset=4000, limit=200)
        assert [p["node_id"] for p in page] == [p["node_id"] for p in peers[4000:]]


def test_an_answer_over_the_limit_is_an_error_and_events_come_in_pages(tmp_path: Path) -> None:
    cfg = ControlConfig(max_answer_bytes=64 * 1024)
    with served(tmp_path, cfg) as s:
        client = ControlClient(s.control_file, config=cfg)

        def fill() -> None:
            swim = s.node._core().realms[s.node.realms[0].id].swim
            for i in range(200):
                swim.table.add(Contact(i.to_bytes(4, "big") * 8, "x" * 1000), None)

        s.call(fill)
        with pytest.raises(ControlError, match="answer limit; ask for pages with offset and limit"):
            client.request("peers")
        assert len(client.request("peers", limit=20)) == 20
        client.request("subscribe", topic="news")
        for n in range(10):
            client.request("publish", topic="news", payload=(b"%d" % n * 5000).hex())
        got: list[dict] = []
        for _ in range(20):
            got += client.request("events", topic="news", wait=1.0)
            if len(got) == 10:
                break
        assert sorted(bytes.fromhex(e["payload"])[:1] for e in got) == [
            b"%d" % n for n in range(10)
        ]


def test_event_queues_drop_the_oldest_beyond_their_bytes(tmp_path: Path) -> None:
    cfg = ControlConfig(max_event_bytes=40_000)
    with served(tmp_path, cfg) as s:
        client = ControlClient(s.control_file)
        client.request("subscribe", topic="t")
        for n in range(10):
            client.request("publish", topic="t", payload=bytes([n]).hex() * 5000)
        wait_for(lambda: s.call(lambda: s.control._events.dropped) >= 7, 10, "7 events dropped")
        got = client.request("events", topic="t")
        assert [bytes.fromhex(e["payload"])[0] for e in got] == [7, 8, 9]
        assert client.request("stats")["control.events_dropped"] == 7


class FakeEndpoint:
    """A listener that answers every connection with fixed bytes (a process that took the
    port of a node that died, or a broken node)."""

    def __init__(self, tmp: Path, reply: bytes) -> None:
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.reply = reply
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.file = tmp / "fake.control.json"
        port = self.srv.getsockname()[1]
        self.file.write_text(json.dumps({"control": f"127.0.0.1:{port}", "token": "t"}))

    def _serve(self) -> None:
        conn, _ = self.srv.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(self.reply)

    def close(self) -> None:
        self.thread.join(10)
        self.srv.close()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"", "closed the control connection without answering"),
        (b'{"ok": tr', "mid-answer"),
        (b"garbage\n", "malformed answer"),
        (b'{"ok": true, "result": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n", "nested deeper"),
        (b'{"ok": true, "result": "' + b"x" * (64 * 1024) + b'"}\n', "answer limit"),
        (b'{"ok": true, "result": {}}\n{"more": 1}\n', None),
    ],
    ids=["eof", "truncated", "garbage", "deep", "too-long", "ok"],
)
def test_the_client_gives_a_clear_error_on_garbage(
    tmp_path: Path, reply: bytes, message: str | None
) -> None:
    fake = FakeEndpoint(tmp_path, reply)
    client = ControlClient(
        fake.file, timeout=10, config=replace(ControlConfig(), max_answer_bytes=32 * 1024)
    )
    try:
        if message is None:
            assert client.request("status") == {}
        else:
            with pytest.raises(ControlError, match=message):
                client.request("status")
    finally:
        fake.close()


def test_the_client_refuses_to_send_nan(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        client = ControlClient(s.control_file)
        with pytest.raises(ControlError, match="cannot be sent as JSON"):
            client.request("call", procedure="p", timeout=float("nan"))
        with pytest.raises(ControlError, match="field 'timeout'"):
            client.request("call", procedure="p", timeout=1e308)
