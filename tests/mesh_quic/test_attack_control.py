"""The control endpoint of a ``megabrain node`` process under the attacks of issue 12.

Each test performs one attack for real against a node process -- without the token from an
attacker process (tests/mesh_quic/control_attackers.py), or, for malformed requests, with it
-- while an honest ControlClient in this process keeps asking (``status`` and a ``call`` of
another node's ``echo`` through it), and asserts: the node stays up; every honest request succeeds
during the attack and after it; the node's resident memory grows by less than the bound the
module docstring of mesh/control.py states plus a fixed allowance for the interpreter; each
bad request gets its one error line.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.mesh_quic.control_helpers import Line, send_in_background
from tests.mesh_quic.procs import ROOT, NodeProc, wait_for

pytestmark = pytest.mark.multiproc

MiB = 1024 * 1024
#: What the endpoint may hold for connections without the token (mesh/control.py): 16 open x
#: (64 KiB line + one 256 KiB socket read) and 16 lingering x one 256 KiB read.
UNAUTHENTICATED_BOUND = 16 * (64 * 1024 + 256 * 1024) + 16 * 256 * 1024
#: Allowance for the interpreter around it (allocator slack, asyncio objects per connection).
SLACK = 16 * MiB
EVICTED = "dropped: too many control connections without a valid token"


@dataclass
class Honest:
    """An honest client asking in a thread until stopped; what it saw."""

    node: NodeProc
    failures: list[str] = field(default_factory=list)
    ok: int = 0
    rss_peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.ps = psutil.Process(self.node.proc.pid)
        self.rss_base = self.ps.memory_info().rss
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set() and self.node.proc.poll() is None:
            try:
                assert self.node.request("status")["node_id"] == self.node.node_id
                arg = n.to_bytes(4, "big").hex()
                got = self.node.request("call", procedure="echo-b", args=arg, timeout=10)
                assert got["value"] == arg
                self.ok += 1
            except Exception as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}"[:300])
            with contextlib.suppress(psutil.Error):
                self.rss_peak = max(self.rss_peak, self.ps.memory_info().rss)
            n += 1
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)

    def growth(self) -> int:
        return self.rss_peak - self.rss_base


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProc]:
    """The victim, and a node B that offers ``echo-b`` (the honest client calls it)."""
    victim = NodeProc(tmp_path, "victim", [], [])
    try:
        b = NodeProc(tmp_path, "b", [victim.listen], [])
    except BaseException:
        victim.kill()
        raise
    try:
        b.request("register", procedure="echo-b", kind="echo")
        wait_for(lambda: _call_ok(victim), 20, "victim -> B echo")
        yield victim
    finally:
        victim.kill()
        b.kill()


@pytest.fixture
def honest(node: NodeProc) -> Iterator[Honest]:
    h = Honest(node)
    try:
        yield h
    finally:
        h.stop()


def _call_ok(n: NodeProc) -> bool:
    try:
        return bool(n.request("call", procedure="echo-b", args="00", timeout=5))
    except Exception:
        return False


def _attack(node: NodeProc, name: str, *args: str, timeout: float = 120.0) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tests.mesh_quic.control_attackers", name,
           node.info["control"], *args]  # fmt: skip
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def _control_connections(node: NodeProc) -> int:
    port = int(node.info["control"].rsplit(":", 1)[1])
    conns = psutil.Process(node.proc.pid).net_connections("tcp")
    return sum(1 for c in conns if c.laddr and c.laddr.port == port and c.status != "LISTEN")


def _after(node: NodeProc, honest: Honest, seconds: float = 2.0) -> None:
    """Honest requests keep succeeding after the attack; the node is up; nothing failed, and
    the node logged no traceback."""
    ok = honest.ok
    wait_for(lambda: honest.ok >= ok + 5, seconds + 10, "honest requests after the attack")
    honest.stop()
    assert node.proc.poll() is None
    assert honest.failures == []
    assert "Traceback" not in node.stderr(), node.stderr()[-3000:]  # no error escaped


def test_partial_lines_without_a_token_are_answered_and_memory_stays_bounded(
    node: NodeProc,
    honest: Honest,
) -> None:
    """20 connections without the token, each sending a 15.9 MiB line that never ends
    (before: RSS 43 -> 363 MB)."""
    report = _attack(node, "partial-lines", "--count", "20")
    assert report["closed"] == 20 and report["answered"] == 20
    too_long = "request line longer than 65536 bytes before a line with the valid token"
    assert set(report["errors"]) <= {too_long, EVICTED}, report["errors"]
    assert report["errors"][too_long] >= 4  # 16 at once at most; evicted ones were told
    _after(node, honest)
    assert honest.growth() < UNAUTHENTICATED_BOUND + SLACK, honest.growth() / MiB
    stats = node.request("stats")
    assert stats["control.too_long"] == report["errors"][too_long]
    print(json.dumps({"partial_lines": report, "rss_growth_mb": round(honest.growth() / MiB, 1),
                      "honest_ok": honest.ok}))  # fmt: skip


@pytest.mark.parametrize("reopen", [False, True], ids=["held", "reopened"])
def test_900_idle_connections_are_capped(node: NodeProc, honest: Honest, reopen: bool) -> None:
    """900 connections opened at once and held idle for 5 s (before: all 900 accepted); with
    ``reopen``, each one closed is opened again until the end."""
    held: list[int] = []  # sockets of the node on the control port
    admitted: list[int] = []  # connections the endpoint serves (as its stats say)
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            held.append(_control_connections(node))
            stats = node.request("stats")
            admitted.append(stats["control.unauthenticated"] + stats["control.authenticated"])
            sampling.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    args = ["--count", "900", "--seconds", "5"] + (["--reopen"] if reopen else [])
    report = _attack(node, "idle", *args)
    sampling.set()
    sampler.join(10)
    print(json.dumps({"idle": report, "max_sockets": max(held), "max_admitted": max(admitted),
                      "honest_ok": honest.ok,
                      "rss_growth_mb": round(honest.growth() / MiB, 1)}))  # fmt: skip
    # the node held at most its cap; the others were told and closed, or still waited in the
    # kernel's accept queue (connected for the attacker, never the node's) at the end
    assert report["opened"] >= 900
    assert report["closed"] + report["open_at_end"] == report["opened"]
    assert max(admitted) <= 16 + 2, max(admitted)  # the honest client and the sampler
    # sockets: 32 served, 16 lingering, and what asyncio accepted in bursts (its listen
    # backlog, 100, at a time) before each was admitted or evicted -- on a loaded machine a
    # few bursts at once; never the flood
    assert max(held) <= 32 + 16 + 3 * 100, max(held)
    assert set(report["errors"]) <= {EVICTED, "no complete request line within 5 s"}
    _after(node, honest)
    assert honest.growth() < UNAUTHENTICATED_BOUND + SLACK, honest.growth() / MiB
    stats = node.request("stats")
    assert stats["control.unauthenticated"] <= 16
    # every connection the endpoint closed was told why, and counted
    assert report["answered"] == report["closed"]
    assert stats["control.evicted"] >= report["errors"].get(EVICTED, 0)


@pytest.mark.parametrize("authenticated", [False, True])
def test_a_17_mib_line_gets_an_error_answer_before_the_close(
    node: NodeProc, honest: Honest, authenticated: bool
) -> None:
    """Before: the connection was reset without an answer."""
    host, port = node.info["control"].rsplit(":", 1)
    conn = Line(host, int(port))
    if authenticated:
        assert conn.ask({"op": "auth", "token": node.ctl.token})["ok"]
    sender = send_in_background(conn, b'{"op": "status", "x": "' + b"a" * (17 * MiB) + b'"}\n')
    answer = conn.answer()
    limit = 3 * MiB if authenticated else 64 * 1024
    assert answer["ok"] is False and f"longer than {limit} bytes" in answer["error"]
    assert conn.closed()
    sender.join(10)
    conn.close()
    _after(node, honest)
    bound = 32 * (3 * MiB + 256 * 1024) if authenticated else UNAUTHENTICATED_BOUND
    assert honest.growth() < bound + SLACK


def test_malformed_requests_with_the_token_each_get_one_error_line(
    node: NodeProc, honest: Honest
) -> None:
    """A 100k-deep line (before: an unhandled RecursionError), ``call`` timeouts NaN, 1e308
    and Infinity (before: never answered), bad hex (before: Python's raw ValueError)."""
    host, port = node.info["control"].rsplit(":", 1)
    conn = Line(host, int(port), timeout=20)
    tok = node.ctl.token
    assert conn.ask({"op": "auth", "token": tok})["ok"]
    call = '{"op": "call", "token": "%s", "procedure": "echo-self", "timeout": %s}'
    cases = [
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested deeper than 16"),
        (b'{"op": "status", "token": "%s", "x": ' % tok.encode() + b"{" * 100_000, "unbalanced"),
        ((call % (tok, "NaN")).encode(), "invalid JSON: NaN is not JSON"),
        ((call % (tok, "Infinity")).encode(), "invalid JSON: Infinity is not JSON"),
        ((call % (tok, "-Infinity")).encode(), "invalid JSON: -Infinity is not JSON"),
        ((call % (tok, "1e308")).encode(), "field 'timeout': expected a number in (0, 300]"),
        ((call % (tok, "1e999")).encode(), "field 'timeout': expected a number in (0, 300]"),
        (json.dumps({"op": "publish", "token": tok, "topic": "t", "payload": "xyz"}).encode(),
         "field 'payload': expected hex digits (0-9, a-f), two per byte"),
        (json.dumps({"op": "call", "token": tok, "procedure": "echo-self", "args": "0x00"})
         .encode(), "field 'args': expected hex"),
        (json.dumps({"op": "lookup", "token": tok, "target": "zz"}).encode(), "field 'target'"),
        (json.dumps({"op": "advertise", "token": tok, "problem": "p"}).encode(),
         "missing field 'payload' for op 'advertise'"),
        (json.dumps({"op": "destroy", "token": tok}).encode(), "unknown op 'destroy'"),
        (json.dumps({"op": "call", "token": tok, "procedure": ["x"]}).encode(),
         "field 'procedure': expected a string"),
    ]  # fmt: skip
    for line, message in cases:
        t0 = time.monotonic()
        conn.send(line + b"\n")
        answer = conn.answer()
        assert answer == {"ok": False, "error": answer["error"]} and message in answer["error"]
        assert time.monotonic() - t0 < 10, "answered at once, not after a timeout"
    assert conn.ask({"op": "status", "token": tok})["ok"]  # one answer per line, in order
    conn.close()
    _after(node, honest)
    assert node.request("stats")["control.bad_requests"] == len(cases)
