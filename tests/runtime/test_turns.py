"""What a supervised actor does between two messages: the remote tells of one turn reach the
gateway as one message (in order, at most 512 a message, before a request made after them),
a :class:`Batch` is handled message by message, and ``watch_fds`` wakes an actor when a
descriptor is readable (``local`` mode; refused in ``simple`` mode)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from actors.runtime import NOREPLY, ChildSpec, RuntimeSystem, SupFlags, Worker
from actors.runtime.errors import RequestTimeout
from actors.runtime.remote_ref import (
    GATEWAY_NAME,
    Batch,
    RemoteCall,
    RemoteRef,
    RemoteTell,
    RemoteTells,
)
from tests.runtime.conftest import eventually, uniq

NODE = "ab" * 32


class FakeGateway(Worker):
    """Registered as the gateway: logs what actors hand it, one entry per Thespian message."""

    def on_start(self, *args: Any) -> None:
        self.log: list[Any] = []

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, RemoteTell):
            self.log.append(("tell", msg.msg))
        elif isinstance(msg, RemoteTells):
            self.log.append(("tells", [t.msg for t in msg.tells]))

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "log":
            return list(self.log)
        if isinstance(payload, RemoteCall):
            self.log.append(("call", payload.payload))
            return "called"
        return None


class Teller(Worker):
    """``("tell", ref, n, then_call)``: n remote tells in one turn, then maybe a request."""

    def handle_call(self, payload: Any, sender: Any) -> Any:
        _, ref, n, then_call = payload
        for i in range(n):
            self.tell(ref, i)
        if then_call:
            caller = self.deferred()
            self.request(ref, "after", 5.0, lambda r: self.reply(caller, r.value))
            return NOREPLY
        return "sent"


class Unbatched(Worker):
    def on_start(self, *args: Any) -> None:
        self.seen: list[Any] = []

    def handle(self, msg: Any, sender: Any) -> None:
        self.seen.append(msg)
        if msg == "crash":
            raise RuntimeError("crash in a batch")

    def handle_call(self, payload: Any, sender: Any) -> Any:
        return list(self.seen)


def _tells(log: list[Any]) -> list[int]:
    out: list[int] = []
    for kind, body in log:
        if kind == "tell":
            out.append(body)
        elif kind == "tells":
            out.extend(body)
    return out


def test_one_turns_remote_tells_reach_the_gateway_as_one_message(rt: RuntimeSystem) -> None:
    rt.start_root(ChildSpec("gw", FakeGateway, name=GATEWAY_NAME))
    teller = rt.start_root(ChildSpec(uniq("teller"), Teller))
    ref = RemoteRef(NODE, name="far")
    # the first turn resolves the gateway's name meanwhile: its tells wait, then go in 512s
    assert rt.request(teller, ("tell", ref, 700, False)) == "sent"
    eventually(lambda: len(_tells(rt.request(GATEWAY_NAME, "log"))) == 700)
    first = rt.request(GATEWAY_NAME, "log")
    assert [len(b) for k, b in first] == [512, 188] and _tells(first) == list(range(700))
    # a later turn, the address known: held until the turn ends, 512 at most per message
    assert rt.request(teller, ("tell", ref, 1000, True)) == "called"
    log = rt.request(GATEWAY_NAME, "log")[2:]
    assert [k for k, _ in log] == ["tells", "tells", "call"]  # the request after its tells
    assert [len(b) for _, b in log[:2]] == [512, 488] and _tells(log) == list(range(1000))
    assert log[2] == ("call", "after")
    # one tell in a turn is one RemoteTell
    assert rt.request(teller, ("tell", ref, 1, False)) == "sent"
    eventually(lambda: rt.request(GATEWAY_NAME, "log")[-1] == ("tell", 0))


def test_a_batch_is_handled_message_by_message(rt: RuntimeSystem) -> None:
    name = uniq("unbatched")
    rt.start_supervisor(
        SupFlags("one_for_one", intensity=5, period=10.0), [ChildSpec("u", Unbatched, name=name)]
    )
    rt.tell(name, Batch(tuple(range(5))))
    rt.tell(name, "single")
    assert eventually(lambda: rt.request(name, "seen")) == [0, 1, 2, 3, 4, "single"]
    # a crash inside a batch: the rest of that batch goes to the crashed instance (dropped),
    # and the restarted one serves what comes next
    rt.tell(name, Batch(("a", "crash", "lost")))

    def restarted() -> bool:
        try:  # a request that reaches the crashing instance is not answered
            return rt.request(name, "seen", 2.0) == []
        except RequestTimeout:
            return False

    assert eventually(restarted, timeout=30)
    rt.tell(name, "next")
    assert eventually(lambda: rt.request(name, "seen")) == ["next"]


class Watcher(Worker):
    """Watches a pipe; every byte written to it is seen through ``on_readable``."""

    def on_start(self, *args: Any) -> None:
        self.got = b""
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.watch_fds([self.r])

    def on_readable(self, ready: list[int]) -> None:
        assert ready == [self.r]
        self.got += os.read(self.r, 4096)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "write later":  # from another thread, after this turn has ended
            threading.Timer(0.2, os.write, (self.w, b"xy")).start()
            return "ok"
        if payload == "stop watching":
            self.watch_fds([])
            return "ok"
        return self.got


@pytest.mark.multiproc
def test_watch_fds_wakes_the_actor_when_readable() -> None:
    with RuntimeSystem(mode="local") as rt:
        w = rt.start_root(ChildSpec("watcher", Watcher))
        assert rt.request(w, "write later") == "ok"
        time.sleep(1.0)  # no message reaches the actor meanwhile: only the watch wakes it
        assert rt.request(w, "got") == b"xy"
        assert rt.request(w, "stop watching") == "ok"
        assert rt.request(w, "write later") == "ok"
        time.sleep(0.6)
        assert rt.request(w, "got") == b"xy"  # not watched any more: not read


def test_watch_fds_is_refused_in_simple_mode() -> None:
    with (
        RuntimeSystem(mode="simple") as rt,
        pytest.raises(Exception, match="watch_fds needs local or cluster mode"),
    ):
        rt.start_root(ChildSpec("watcher", Watcher))


class TimerChain(Worker):
    """Every 1 ms a timer callback makes a request with a long deadline to ``peer`` and
    sets the next timer; counts the Thespian timers it sets."""

    def on_start(self, peer: Any) -> None:
        self.peer, self.armed, self.cycles, self.answers = peer, 0, 0, 0

    def wakeupAfter(self, period: Any, payload: Any = None) -> None:
        self.armed += 1
        super().wakeupAfter(period, payload)

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if payload == "go":
            self.call_later(0.001, self._tick)
            return "ok"
        return (self.cycles, self.answers, self.armed)

    def _tick(self) -> None:
        self.cycles += 1
        self.request(self.peer, "ping", 30.0, self._answered)
        if self.cycles < 200:
            self.call_later(0.001, self._tick)

    def _answered(self, reply: Any) -> None:
        self.answers += reply.ok


def test_requests_made_in_timer_callbacks_share_one_timer(rt: RuntimeSystem) -> None:
    from tests.runtime.workers import Echo

    peer = rt.start_root(ChildSpec(uniq("echo"), Echo))
    chain = rt.start_root(ChildSpec(uniq("chain"), TimerChain, (peer,)))
    assert rt.request(chain, "go") == "ok"

    def done() -> Any:
        s = rt.request(chain, "count")
        return s if s[:2] == (200, 200) else None

    _, _, armed = eventually(done)
    # about one timer per tick (the next tick), not two (one for each 30 s deadline too)
    assert armed <= 200 + 10, armed
