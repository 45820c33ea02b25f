"""OTP supervisor_SUITE semantics, run in ``simple`` and (tier multiproc) ``local``.

Each test starts its own root supervisor in the module's actor system, with names
no other test uses, and shuts it down at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from actors.runtime import (
    ChildSpec,
    Reply,
    RequestFailed,
    RequestTimeout,
    RuntimeSystem,
    SupervisorRefused,
    SupFlags,
)
from actors.runtime.messages import Shutdown, SupervisorArgs
from actors.runtime.supervisor import Supervisor
from tests.runtime.conftest import eventually, uniq
from tests.runtime.workers import (
    Asker,
    Echo,
    FailingStart,
    FastCounter,
    Later,
    Recorder,
    Silent,
    Stubborn,
    Tick,
    TimerHolder,
)


@pytest.fixture
def roots(rt: RuntimeSystem) -> Iterator[list[Any]]:
    """Root supervisors started by a test; stopped (and awaited) afterwards."""
    started: list[Any] = []
    yield started
    for root in started:
        ref = rt.monitor(root)
        rt.tell(root, Shutdown())
        rt.wait_down(ref, 30)


def start(rt: RuntimeSystem, roots: list[Any], flags: SupFlags, children: list[ChildSpec]) -> Any:
    sup = rt.start_supervisor(flags, children, name=uniq("sup"))
    roots.append(sup)
    return sup


def info(rt: RuntimeSystem, sup: Any) -> dict[str, Any]:
    return {c.id: c for c in rt.which_children(sup)}


def crash(rt: RuntimeSystem, address: Any) -> None:
    with pytest.raises(RequestFailed, match="boom"):
        rt.request(address, ("crash", "boom"))


def wait_incarnation(rt: RuntimeSystem, sup: Any, child_id: str, n: int) -> Any:
    """Wait until child ``child_id`` runs as incarnation ``n``; return its info."""
    return eventually(
        lambda: (
            (c := info(rt, sup).get(child_id)) is not None
            and c.incarnation == n
            and c.address is not None
            and c
        )
    )


def new_address(rt: RuntimeSystem, name: str, old: Any) -> Any:
    """Wait until ``name`` resolves to an address other than ``old``."""
    return eventually(lambda: (a := rt.whereis(name)) is not None and a != old and a)


def echo(cid: str, **kw: Any) -> ChildSpec:
    return ChildSpec(cid, Echo, name=kw.pop("name", None) or uniq(cid), **kw)


# -- strategies ---------------------------------------------------------------------


def test_one_for_one_restarts_only_the_failed_child(rt: RuntimeSystem, roots: list) -> None:
    sup = start(rt, roots, SupFlags("one_for_one", 5, 10), [echo("a"), echo("b")])
    before = info(rt, sup)
    crash(rt, before["a"].address)
    after = wait_incarnation(rt, sup, "a", 2)
    assert after.address != before["a"].address
    assert info(rt, sup)["b"].incarnation == 1
    assert rt.request(after.address, "ping") == "ping"


def test_one_for_all_restarts_all_in_order(rt: RuntimeSystem, roots: list) -> None:
    rec = rt.start_root(ChildSpec(uniq("rec"), Recorder))
    roots.append(rec)
    kids = [ChildSpec(c, Echo, (rec, c)) for c in "abc"]
    sup = start(rt, roots, SupFlags("one_for_all", 5, 10), kids)
    before = info(rt, sup)
    crash(rt, before["b"].address)
    for cid in "abc":
        wait_incarnation(rt, sup, cid, 2)
    events = rt.request(rec, "timeline")
    # started a, b, c; then the others stopped in reverse order; then a, b, c again
    assert events == [
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
        ("stop", "c"),
        ("stop", "a"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]


def test_rest_for_one_restarts_the_rest(rt: RuntimeSystem, roots: list) -> None:
    rec = rt.start_root(ChildSpec(uniq("rec"), Recorder))
    roots.append(rec)
    kids = [ChildSpec(c, Echo, (rec, c)) for c in "abcd"]
    sup = start(rt, roots, SupFlags("rest_for_one", 5, 10), kids)
    crash(rt, info(rt, sup)["b"].address)
    for cid in "bcd":
        wait_incarnation(rt, sup, cid, 2)
    assert info(rt, sup)["a"].incarnation == 1
    events = rt.request(rec, "timeline")
    assert events[4:] == [
        ("stop", "d"),
        ("stop", "c"),
        ("start", "b"),
        ("start", "c"),
        ("start", "d"),
    ]


def test_ordered_start_and_reverse_shutdown(rt: RuntimeSystem, roots: list) -> None:
    rec = rt.start_root(ChildSpec(uniq("rec"), Recorder))
    roots.append(rec)
    kids = [ChildSpec(c, Echo, (rec, c)) for c in "abc"]
    sup = rt.start_supervisor(SupFlags(), kids, name=uniq("sup"))
    ref = rt.monitor(sup)
    rt.tell(sup, Shutdown())
    assert rt.wait_down(ref, 30).reason.kind == "shutdown"
    assert rt.request(rec, "timeline") == [
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
        ("stop", "c"),
        ("stop", "b"),
        ("stop", "a"),
    ]


# -- restart types x exit reasons -----------------------------------------------------

CASES = [
    (restart, how, restart == "permanent" or (restart == "transient" and how == "crash"))
    for restart in ("permanent", "transient", "temporary")
    for how in ("normal", "shutdown", "crash")
]


@pytest.mark.parametrize(("restart", "how", "restarted"), CASES)
def test_restart_type_by_exit_reason(
    rt: RuntimeSystem, roots: list, restart: str, how: str, restarted: bool
) -> None:
    name = uniq("child")
    sup = start(
        rt,
        roots,
        SupFlags("one_for_one", 5, 10),
        [ChildSpec("c", Echo, restart=restart, name=name)],
    )
    address = rt.whereis(name)
    ref = rt.monitor(name)
    if how == "crash":
        crash(rt, address)
    else:
        assert rt.request(address, ("stop", how)) == "stopping"
    down = rt.wait_down(ref, 15)
    assert down.reason.kind == ("abnormal" if how == "crash" else how)
    if restarted:
        wait_incarnation(rt, sup, "c", 2)
        assert rt.request(new_address(rt, name, address), "x") == "x"
    else:
        children = info(rt, sup)
        if restart == "temporary":
            assert children == {}  # a temporary child's spec is deleted
        else:
            assert children["c"].incarnation == 1 and children["c"].address is None
        assert rt.whereis(name) is None


def test_crash_report_carries_reason_and_traceback(rt: RuntimeSystem, roots: list) -> None:
    name = uniq("c")
    start(rt, roots, SupFlags("one_for_one", 5, 10), [echo("c", name=name)])
    ref = rt.monitor(name)
    rt.tell(rt.whereis(name), ("crash", "in handle"))  # a plain message, not a request
    down = rt.wait_down(ref, 15)
    assert down.reason.kind == "abnormal"
    assert down.reason.reason == "RuntimeError: in handle"
    assert "Traceback" in down.reason.traceback and "workers.py" in down.reason.traceback


# -- intensity and escalation -------------------------------------------------------------


def test_intensity_escalates_through_nested_supervisors(rt: RuntimeSystem, roots: list) -> None:
    wname, mname = uniq("w"), uniq("mid")
    mid = ChildSpec(
        "mid",
        Supervisor,
        (SupervisorArgs(SupFlags("one_for_one", 1, 30), (echo("w", name=wname),)),),
        name=mname,
    )
    top = start(rt, roots, SupFlags("one_for_one", 5, 30), [mid])
    mref = rt.monitor(mname)
    first = rt.whereis(wname)
    crash(rt, first)  # restart 1: within intensity
    crash(rt, new_address(rt, wname, first))  # restart 2: mid gives up
    down = rt.wait_down(mref, 15)
    assert (down.reason.kind, down.reason.reason) == ("shutdown", "reached_max_restart_intensity")
    # the parent restarted mid, which started a fresh worker
    wait_incarnation(rt, top, "mid", 2)
    assert rt.request(eventually(lambda: rt.whereis(wname)), "x") == "x"


def test_root_gives_up_when_intensity_is_zero(rt: RuntimeSystem, roots: list) -> None:
    name = uniq("c")
    sup = rt.start_supervisor(
        SupFlags("one_for_one", 0, 5), [echo("c", name=name)], name=uniq("sup")
    )
    ref = rt.monitor(sup)
    crash(rt, rt.whereis(name))
    down = rt.wait_down(ref, 15)
    assert down.reason.reason == "reached_max_restart_intensity"
    assert rt.whereis(name) is None


def test_failing_on_start_counts_against_intensity(rt: RuntimeSystem, roots: list) -> None:
    sup = rt.start_supervisor(SupFlags("one_for_one", 2, 30), [echo("ok")], name=uniq("sup"))
    ref = rt.monitor(sup)
    with pytest.raises(RequestFailed, match="cannot start"):
        rt.start_child(sup, ChildSpec("bad", FailingStart))
    assert rt.wait_down(ref, 15).reason.reason == "reached_max_restart_intensity"


# -- shutdown ------------------------------------------------------------------------------


def test_child_ignoring_shutdown_is_killed_after_timeout(rt: RuntimeSystem, roots: list) -> None:
    name = uniq("stubborn")
    sup = start(rt, roots, SupFlags(), [ChildSpec("s", Stubborn, shutdown=300, name=name)])
    ref = rt.monitor(name)
    t0 = time.monotonic()
    rt.terminate_child(sup, "s")
    assert time.monotonic() - t0 >= 0.29
    assert rt.wait_down(ref, 15).reason.kind == "killed"
    assert info(rt, sup)["s"].address is None


def test_brutal_kill_and_orderly_shutdown(rt: RuntimeSystem, roots: list) -> None:
    bname, oname = uniq("brutal"), uniq("orderly")
    sup = start(
        rt,
        roots,
        SupFlags(),
        [
            ChildSpec("b", Echo, shutdown="brutal_kill", name=bname),
            ChildSpec("o", Echo, shutdown="infinity", name=oname),
        ],
    )
    bref, oref = rt.monitor(bname), rt.monitor(oname)
    rt.terminate_child(sup, "b")
    rt.terminate_child(sup, "o")
    assert rt.wait_down(bref, 15).reason.kind == "killed"
    assert rt.wait_down(oref, 15).reason.kind == "shutdown"


# -- dynamic children ---------------------------------------------------------------------


def test_dynamic_children_operations(rt: RuntimeSystem, roots: list) -> None:
    sup = start(rt, roots, SupFlags("one_for_one", 5, 10), [echo("a")])
    assert rt.count_children(sup).specs == 1
    b = rt.start_child(sup, echo("b"))
    assert rt.request(b, "hi") == "hi"
    with pytest.raises(SupervisorRefused, match="already_started"):
        rt.start_child(sup, echo("b"))
    with pytest.raises(SupervisorRefused, match="running"):
        rt.delete_child(sup, "b")
    rt.terminate_child(sup, "b")
    with pytest.raises(SupervisorRefused, match="already_present"):
        rt.start_child(sup, echo("b"))
    counts = rt.count_children(sup)
    assert (counts.specs, counts.active, counts.workers, counts.supervisors) == (2, 1, 2, 0)
    b2 = rt.restart_child(sup, "b")
    assert rt.request(b2, "again") == "again"
    with pytest.raises(SupervisorRefused, match="running"):
        rt.restart_child(sup, "b")
    rt.terminate_child(sup, "b")
    rt.delete_child(sup, "b")
    assert [c.id for c in rt.which_children(sup)] == ["a"]
    for op in (rt.terminate_child, rt.restart_child, rt.delete_child):
        with pytest.raises(SupervisorRefused, match="not_found"):
            op(sup, "zzz")


def test_simple_one_for_one(rt: RuntimeSystem, roots: list) -> None:
    template = ChildSpec("worker", Echo, (None, "t"), restart="transient")
    sup = start(rt, roots, SupFlags("simple_one_for_one", 5, 10), [template])
    assert rt.count_children(sup).specs == 0
    kids = [rt.start_child(sup, [i]) for i in range(3)]
    assert [rt.request(k, "extra") for k in kids] == [(0,), (1,), (2,)]
    crash(rt, kids[0])  # transient + abnormal: restarted with the same args
    first = wait_incarnation(rt, sup, "worker-1", 2)
    assert rt.request(first.address, "extra") == (0,)
    assert rt.request(kids[1], ("stop", "normal")) == "stopping"  # not restarted, removed
    eventually(lambda: rt.count_children(sup).specs == 2)
    rt.terminate_child(sup, kids[2])  # by address
    assert [c.id for c in rt.which_children(sup)] == ["worker-1"]
    with pytest.raises(SupervisorRefused, match="simple_one_for_one"):
        rt.restart_child(sup, "worker-1")


# -- robustness, registry, monitors, requests ------------------------------------------------


def test_unknown_messages_to_a_supervisor_are_dropped(rt: RuntimeSystem, roots: list) -> None:
    sup = start(rt, roots, SupFlags(), [echo("a")])
    rt.tell(sup, "garbage")
    rt.tell(sup, 12345)
    with pytest.raises(RequestFailed, match="bad_request: 'what'"):
        rt.request(sup, "what")
    assert [c.id for c in rt.which_children(sup)] == ["a"]


def test_names_survive_restarts_and_register(rt: RuntimeSystem, roots: list) -> None:
    name = uniq("named")
    start(rt, roots, SupFlags("one_for_one", 5, 10), [echo("a", name=name)])
    first = rt.whereis(name)
    crash(rt, first)
    second = new_address(rt, name, first)
    assert rt.request(second, "ok") == "ok"
    with pytest.raises(SupervisorRefused, match="already_registered"):
        rt.register(name, first)
    alias = uniq("alias")
    rt.register(alias, second)
    assert rt.whereis(alias) == second
    rt.unregister(alias)
    assert rt.whereis(alias) is None


def test_monitor_noproc_and_demonitor(rt: RuntimeSystem, roots: list) -> None:
    ref = rt.monitor(uniq("nobody"))
    assert rt.wait_down(ref, 5).reason.kind == "noproc"
    name = uniq("m")
    start(rt, roots, SupFlags("one_for_one", 5, 10), [echo("a", name=name)])
    ref = rt.monitor(name)
    rt.demonitor(ref)
    crash(rt, rt.whereis(name))
    with pytest.raises(RequestTimeout):
        rt.wait_down(ref, 0.5)


def test_actor_monitors_another_actor(rt: RuntimeSystem, roots: list) -> None:
    name = uniq("watched")
    rec = rt.start_root(ChildSpec(uniq("rec"), Recorder))
    roots.append(rec)
    start(rt, roots, SupFlags("one_for_one", 5, 10), [echo("a", name=name)])
    ref = rt.request(rec, ("monitor", name))
    crash(rt, rt.whereis(name))
    downs = eventually(
        lambda: [e for e in rt.request(rec, "events") if getattr(e, "ref", 0) == ref]
    )
    assert downs[0].reason.kind == "abnormal" and downs[0].target == name


def test_late_reply_never_reaches_the_next_request(rt: RuntimeSystem, roots: list) -> None:
    name = uniq("slow")
    start(rt, roots, SupFlags(), [echo("a", name=name)])
    address = rt.whereis(name)
    with pytest.raises(RequestTimeout):
        rt.request(address, ("sleep", 0.4), timeout=0.1)
    assert rt.request(address, "next", timeout=10) == "next"
    assert rt.request(address, "and next", timeout=10) == "and next"


def test_request_returns_promptly_while_a_long_actor_timer_is_pending(
    rt: RuntimeSystem, roots: list
) -> None:
    """A reply already delivered is returned at once, not after the next actor timer
    (in simple mode Thespian's ``listen`` sleeps until the next wakeup without first
    looking at the replies it already holds)."""
    holder, echo_name = uniq("holder"), uniq("echo")
    start(
        rt, roots, SupFlags(), [ChildSpec("h", TimerHolder, name=holder), echo("e", name=echo_name)]
    )
    silent, holder_address = rt.asys.createActor(Silent), rt.whereis(holder)
    t0 = time.monotonic()
    # from here a 20 s actor timer is pending, well inside the 60 s request timeouts
    assert rt.request(holder_address, ("hold", silent, 20.0), timeout=60) == "holding"
    target = rt.whereis(echo_name, timeout=60)
    for k in range(3):
        assert rt.request(target, k, timeout=60) == k
    assert time.monotonic() - t0 < 2.0


def test_request_watching_the_callee_fails_fast_when_it_exits(
    rt: RuntimeSystem, roots: list
) -> None:
    name = uniq("w")
    start(rt, roots, SupFlags("one_for_one", 5, 10), [echo("w", name=name)])
    address = rt.whereis(name)
    ref = rt.monitor(address)
    assert rt.request(address, "alive?", timeout=60, watch=ref) == "alive?"
    rt.tell(address, ("crash", "gone"))  # exits without answering what follows
    t0 = time.monotonic()
    with pytest.raises(RequestFailed, match="callee exited: abnormal"):
        rt.request(address, "anyone?", timeout=60, watch=ref)
    assert time.monotonic() - t0 < 20


def test_actor_side_request_reply_and_deadline(rt: RuntimeSystem, roots: list) -> None:
    asker, echo_name = uniq("asker"), uniq("echo")
    start(rt, roots, SupFlags(), [ChildSpec("q", Asker, name=asker), echo("e", name=echo_name)])
    q = rt.whereis(asker)
    ok = Reply(*rt.request(q, ("ask", rt.whereis(echo_name), "hello", 10.0)))
    assert ok.ok and ok.value == "hello"
    silent = rt.asys.createActor(Silent)
    t0 = time.monotonic()
    late = Reply(*rt.request(q, ("ask", silent, "anyone?", 0.3), timeout=10))
    assert (late.ok, late.error) == (False, "timeout")
    assert 0.29 <= time.monotonic() - t0 < 5
    # the asker keeps working after a timeout
    assert Reply(*rt.request(q, ("ask", rt.whereis(echo_name), 2, 10.0))).value == 2


def test_fast_handlers_serve_their_types_and_crash_like_any_handler(
    rt: RuntimeSystem, roots: list
) -> None:
    name = uniq("fast")
    sup = start(rt, roots, SupFlags(), [ChildSpec("f", FastCounter, name=name)])
    first = rt.whereis(name)
    for step in (1, 2, 3):
        rt.tell(first, Tick(step))
    assert eventually(lambda: rt.request(first, "count") == 6)
    rt.tell(first, Tick(0))  # raises in the fast handler: the worker crashes, is restarted
    assert wait_incarnation(rt, sup, "f", 2).address != first
    assert rt.request(new_address(rt, name, first), "count") == 0


def test_call_later_runs_when_due_and_never_once_the_actor_exited(
    rt: RuntimeSystem, roots: list
) -> None:
    rec, later = uniq("rec"), uniq("later")
    start(
        rt,
        roots,
        SupFlags(),
        [
            ChildSpec("r", Recorder, name=rec),
            ChildSpec("l", Later, name=later, restart="temporary"),
        ],
    )
    recorder = rt.whereis(rec)
    assert rt.request(rt.whereis(later), ("later", recorder, 0.05, "due")) == "ok"
    eventually(lambda: "due" in rt.request(recorder, "events"))
    assert rt.request(rt.whereis(later), ("exit", recorder)) == "exiting"
    events = eventually(lambda: (e := rt.request(recorder, "events")) and "exited" in e and e)
    assert "timer ran" not in events
