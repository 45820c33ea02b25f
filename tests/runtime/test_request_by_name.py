"""Requests by registered name, from outside (:meth:`RuntimeSystem.request` / ``tell``) and
from an actor (:meth:`Worker.request`): a name being restarted is waited for within the
request's timeout; a name that does not come back is a typed error naming it."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from thespian.actors import ActorExitRequest

from actors.runtime import ChildSpec, NoProc, RuntimeSystem, SupFlags
from tests.runtime.conftest import eventually, uniq
from tests.runtime.lifeline_actors import LateStarter
from tests.runtime.workers import Asker, Recorder


def _kill(rt: RuntimeSystem, name: str) -> None:
    """Kill the actor registered as ``name`` (local: SIGKILL of its process; simple: an
    exit request, the closest thing in one thread) and wait until its name is gone."""
    address = rt.whereis(name)
    if rt.mode == "simple":
        rt.tell(address, ActorExitRequest())
    else:
        os.kill(rt.request(address, "pid"), signal.SIGKILL)
    eventually(lambda: rt.whereis(name) is None)


def _late(rt: RuntimeSystem, delay: float = 0.6) -> str:
    name = uniq("late")
    rt.start_supervisor(
        SupFlags("one_for_one", intensity=5, period=10.0),
        [ChildSpec("late", LateStarter, (delay,), name=name)],
    )
    return name


def test_request_and_tell_by_name(rt: RuntimeSystem) -> None:
    name = _late(rt)
    assert rt.request(name, "hi") == (1, "hi")
    rec = uniq("rec")
    rt.start_supervisor(SupFlags(), [ChildSpec("r", Recorder, name=rec)])
    rt.tell(rec, "note")
    assert eventually(lambda: rt.request(rec, "events")) == ["note"]


def test_request_by_name_waits_for_a_restarting_child(rt: RuntimeSystem) -> None:
    name = _late(rt, delay=0.6)
    _kill(rt, name)  # the replacement registers its name 0.6 s after it starts
    t0 = time.monotonic()
    assert rt.request(name, "again", timeout=10.0) == (2, "again")
    assert time.monotonic() - t0 < 10.0


def test_request_by_name_that_does_not_come_back_names_it(rt: RuntimeSystem) -> None:
    name = uniq("nobody")
    t0 = time.monotonic()
    with pytest.raises(NoProc, match=f"no actor registered as '{name}' within 0.3 s") as exc:
        rt.request(name, "x", timeout=0.3)
    assert exc.value.name == name and time.monotonic() - t0 < 3.0
    with pytest.raises(NoProc, match=f"'{name}'"):
        rt.tell(name, "x", timeout=0.1)
    with pytest.raises(NoProc, match="the target is None"):
        rt.request(rt.whereis(name), "x")
    late = _late(rt, delay=30.0)  # restarted, but not back within the request's timeout
    _kill(rt, late)
    with pytest.raises(NoProc, match=f"'{late}'"):
        rt.request(late, "x", timeout=0.5)


def _ask(rt: RuntimeSystem, asker: str, target: Any, timeout: float) -> tuple[Any, ...]:
    return tuple(rt.request(asker, ("ask", target, "q", timeout), timeout + 5.0))


def test_an_actor_requests_by_name(rt: RuntimeSystem) -> None:
    asker = uniq("asker")
    rt.start_supervisor(SupFlags(), [ChildSpec("a", Asker, name=asker)])
    name = _late(rt, delay=0.6)
    _, ok, value, *_ = _ask(rt, asker, name, 5.0)
    assert ok and value == (1, "q")
    _kill(rt, name)
    _, ok, value, *_ = _ask(rt, asker, name, 10.0)  # waits for the restarted child
    assert ok and value == (2, "q")
    nobody = uniq("nobody")
    _, ok, _, error, reason, _ = _ask(rt, asker, nobody, 0.3)
    assert not ok and error == "noproc" and reason == f"no actor registered as '{nobody}'"
