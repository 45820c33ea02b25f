"""Peers that vanish or never answer (sybils): pending requests fail at once when a peer's
connection is gone, lookups route around silent contacts, calls fail over to providers that
answer (pure cores, simulated time)."""

from __future__ import annotations

from dataclasses import replace

from mesh import frames as F
from mesh.core import MeshConfig
from mesh.dht.records import SERVICE
from mesh.events import CallFailed, CallSucceeded, LookupCompleted
from mesh.membership import SwimConfig
from mesh.realms import Realm
from mesh.rpc import TIMEOUT
from mesh.sim import SimConfig, Simulation

from .helpers import connect, drain, make_core, pump

R = Realm("sybil")
NO_SWIM = MeshConfig(swim=SwimConfig(enabled=False))


def _ping(core, contact, replies):
    node = core.realm(R.id)
    return node.request(
        contact, lambda rid: F.Ping(R.id, rid), 2.0, lambda reply: replies.append(reply)
    )


def test_requests_to_a_lost_peer_fail_at_once_others_wait() -> None:
    a, b, c = make_core(1, [R]), make_core(2, [R]), make_core(3, [R])
    connect(a, b)
    connect(a, c)
    a.frames_to_send()
    to_b: list = []
    to_c: list = []
    for _ in range(3):
        _ping(a, F.Contact(b.node_id, b.address), to_b)
    _ping(a, F.Contact(c.node_id, c.address), to_c)
    a.peer_unreachable(b.node_id, 0.1)  # b's connection closed
    assert to_b == [None, None, None] and to_c == []  # at once, not at the 2 s timeout
    a.handle_timer(5.0)  # their timers were cancelled: no second callback
    assert to_b == [None, None, None] and to_c == [None]


def test_a_failed_dial_fails_the_requests_waiting_for_it() -> None:
    a = make_core(4, [R])
    ghost = make_core(5, [R])  # never authenticates
    replies: list = []
    _ping(a, F.Contact(ghost.node_id, "mem:gone"), replies)
    assert a.connections_to_open() == [F.Contact(ghost.node_id, "mem:gone")]
    a.peer_unreachable(ghost.node_id, 0.2)  # the shell's dial failed
    assert replies == [None]


def test_answered_records_who_answers_and_forgets_it_with_the_session() -> None:
    a, b = make_core(6, [R]), make_core(7, [R])
    connect(a, b)
    a.frames_to_send()
    replies: list = []
    _ping(a, F.Contact(b.node_id, b.address), replies)
    pump([a, b], now=0.5)
    assert isinstance(replies[0], F.Pong) and a.answered[b.node_id] == 0.5
    a.peer_unreachable(b.node_id, 1.0)
    assert b.node_id not in a.answered


def _lookup_times(
    stall: float, silent: int, seed: int = 3, lookups: int = 1
) -> list[tuple[float, int]]:
    """Simulated seconds each of ``lookups`` lookups (one after the other, same target)
    takes with ``silent`` killed nodes nearest the target, and the live contacts found."""
    cfg = replace(NO_SWIM, lookup_stall=stall)
    sim = Simulation(seed, SimConfig(), cfg)
    nodes = sim.add_nodes(120)
    sim.oracle_bootstrap()
    me = nodes[0]
    target = bytes(32)
    ranked = sorted(nodes[1:], key=lambda n: int.from_bytes(n.node_id, "big"))
    for n in ranked[:silent]:
        sim.kill(n)  # still in everyone's table; answers nothing
    live = {n.node_id for n in ranked[silent:]}
    out = []
    for _ in range(lookups):
        start = sim.now
        op = sim.do(me, lambda c: c.lookup("default", target, sim.now))
        sim.run_for(60, stop=lambda op=op: any(e.op == op for e in me.events_of(LookupCompleted)))
        [done] = [e for e in me.events_of(LookupCompleted) if e.op == op]
        out.append((sim.now - start, sum(c.node_id in live for c in done.contacts)))
    return out


def test_silent_contacts_cost_a_stall_delay_not_a_timeout_each() -> None:
    [(slow, found_slow)] = _lookup_times(0.0, silent=15)
    [(fast, found_fast)] = _lookup_times(0.5, silent=15)
    assert slow >= 2 * 5  # 15 silent among the first candidates: >= 5 rounds of 2 s
    assert fast <= slow / 2.5, (fast, slow)
    assert found_fast == found_slow == 20  # the same k live closest either way
    [(baseline, _)] = _lookup_times(0.5, silent=0)
    assert baseline < 1.0


def test_contacts_known_slow_are_queried_but_not_waited_for_again() -> None:
    (first, found1), (second, found2) = _lookup_times(0.5, silent=15, lookups=2)
    [(baseline, _)] = _lookup_times(0.5, silent=0)
    assert first > 1.0  # the first lookup stalls on them (five rounds of three)
    assert second < baseline + 0.2, (second, baseline)  # the next does not wait for them
    assert found1 == found2 == 20


def test_a_lookup_nobody_answered_yet_waits_for_its_stalled_queries() -> None:
    from mesh.dht.lookup import Lookup

    me, only = b"\x00" * 32, F.Contact(b"\x01" * 32, "mem:1")
    late = F.Contact(b"\x02" * 32, "mem:2")
    lk = Lookup(b"\x03" * 32, [only], me, k=4, alpha=3)
    assert lk.next_queries() == [only]
    assert lk.on_stall(only.node_id)
    assert not lk.done  # a slow network is not an empty one
    lk.on_response(only.node_id, (late,))
    assert lk.next_queries() == [late]
    lk.on_response(late.node_id, ())
    assert lk.done and [c.node_id for c in lk.result()] == [late.node_id, only.node_id]


def _service_sim(seed: int = 5):
    sim = Simulation(seed, SimConfig(), NO_SWIM)
    nodes = sim.add_nodes(30)
    sim.oracle_bootstrap()
    return sim, nodes


def test_a_call_fails_over_from_vanished_providers() -> None:
    sim, nodes = _service_sim()
    providers = nodes[10:14]
    for p in providers:
        sim.do(p, lambda c: c.register("default", "echo", sim.now, handler=lambda a, _: a))
    sim.run_for(5)
    for p in providers[:3]:
        sim.kill(p)  # their SERVICE records live on; they answer nothing
    caller = nodes[20]
    ops = [sim.do(caller, lambda c: c.call("default", "echo", b"x", sim.now, timeout=10.0))
           for _ in range(5)]  # fmt: skip
    sim.run_for(15)
    ok = {e.op for e in caller.events_of(CallSucceeded)}
    assert ok == set(ops), caller.events_of(CallFailed)


def test_providers_that_answered_are_tried_first() -> None:
    sim, nodes = _service_sim(6)
    live, dead = nodes[11], nodes[12]
    for p in (live, dead):
        sim.do(p, lambda c: c.register("default", "echo", sim.now, handler=lambda a, _: a))
    sim.run_for(5)
    caller = nodes[21]
    # the caller hears from `live` (it answers a ping); `dead` then vanishes, still connected
    sim.do(
        caller,
        lambda c: c.realm("default").request(
            live.contact, lambda rid: F.Ping(c.realm("default").id, rid), 2.0, lambda r: None
        ),
    )
    sim.do(
        caller,
        lambda c: c.realm("default").request(
            dead.contact, lambda rid: F.Ping(c.realm("default").id, rid), 2.0, lambda r: None
        ),
    )
    sim.run_for(1)
    sim.kill(dead)
    t0 = sim.now
    ops = [sim.do(caller, lambda c: c.call("default", "echo", b"x", sim.now, timeout=10.0))
           for _ in range(6)]  # fmt: skip
    sim.run_for(10, stop=lambda: len(caller.events_of(CallSucceeded)) == len(ops))
    assert {e.op for e in caller.events_of(CallSucceeded)} == set(ops)
    assert sim.now - t0 < 1.0  # none waited for an attempt to `dead` to time out


def test_a_provider_that_refuses_is_skipped() -> None:
    a, b, c = (make_core(seed, [R]) for seed in (8, 9, 10))
    for x, y in ((a, b), (a, c), (b, c)):
        connect(x, y)
    b.register(R.id, "echo", 0.0, handler=lambda args, _: args)
    # c advertises the procedure (a record costs nothing) but does not serve it
    c.put(R.id, SERVICE, "echo", b"echo", 0.0, meta=(("addr", c.address),))
    pump([a, b, c])
    replies: list = []
    _ping(a, F.Contact(c.node_id, c.address), replies)  # c answers a: ranked first
    pump([a, b, c], now=0.5)
    drain(a)
    op = a.call(R.id, "echo", b"hi", 1.0, timeout=5.0)
    pump([a, b, c], now=1.0)
    ok = [e.value for e in drain(a) if isinstance(e, CallSucceeded) and e.op == op]
    assert ok == [b"hi"]
    assert c.frame_bytes["ErrorReply"] > 0  # c was asked first and refused


def test_an_unreachable_provider_is_paced_and_the_call_ends_at_its_deadline() -> None:
    a = make_core(11, [R])
    ghost = F.Contact(b"\x01" * 32, "mem:gone")
    op = a.call(R.id, "echo", b"", 0.0, timeout=5.0, provider=ghost)
    dials, t = 0, 0.0
    while t < 6.0:
        for contact in a.connections_to_open():
            dials += 1
            a.peer_unreachable(contact.node_id, t)  # every dial fails at once
        a.handle_timer(t)
        t += 0.05
    [f] = [e for e in drain(a) if isinstance(e, CallFailed)]
    assert f.op == op and f.code == TIMEOUT
    assert dials == 3  # attempts at 0, 2 and 4 s: once per attempt_timeout, no busy loop


def test_the_deadline_covers_the_provider_lookup() -> None:
    cfg = replace(NO_SWIM, lookup_stall=0.0)  # every silent contact costs request_timeout
    sim = Simulation(7, SimConfig(), cfg)
    nodes = sim.add_nodes(40)
    sim.oracle_bootstrap()
    caller = nodes[0]
    for n in nodes[1:]:
        sim.kill(n)
    t0 = sim.now
    op = sim.do(caller, lambda c: c.call("default", "echo", b"", sim.now, timeout=3.0))
    sim.run_for(30, stop=lambda: bool(caller.events_of(CallFailed)))
    [f] = caller.events_of(CallFailed)
    assert f.op == op and f.code == TIMEOUT
    assert sim.now - t0 <= 3.0 + 1e-6
