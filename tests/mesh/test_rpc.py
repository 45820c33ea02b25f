from mesh.core import MeshConfig
from mesh.events import CallFailed, CallReceived, CallSucceeded
from mesh.membership import SwimConfig
from mesh.realms import Realm
from mesh.rpc import NO_ROUTE, REFUSED, REMOTE, TIMEOUT
from mesh.sim import SimConfig, Simulation

from .helpers import connect, drain, make_core, pump

R = Realm("rpc")


def pair():
    a, b = make_core(1, [R]), make_core(2, [R])
    connect(a, b)
    return a, b


def only(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_call_with_provider_and_typed_errors():
    a, b = pair()
    calls = []
    b.register(R.id, "echo", 0.0, handler=lambda args, caller: calls.append(caller) or args[::-1])
    b.register(R.id, "boom", 0.0, handler=lambda args, caller: 1 / 0)
    a.frames_to_send()
    b.frames_to_send()
    provider = a.realm(R.id).dht.routing.get(b.node_id)
    assert provider is not None
    ok = a.call(R.id, "echo", b"abc", 0.0, provider=provider)
    missing = a.call(R.id, "nope", b"", 0.0, provider=provider)
    boom = a.call(R.id, "boom", b"", 0.0, provider=provider)
    pump([a, b])
    events = drain(a)
    [s] = only(events, CallSucceeded)
    assert (s.op, s.value) == (ok, b"cba") and calls == [a.node_id]
    failed = {e.op: e for e in only(events, CallFailed)}
    assert failed[missing].code == REFUSED
    assert failed[boom].code == REMOTE and "ZeroDivisionError" in failed[boom].message


def test_a_retried_request_is_not_executed_twice():
    a, b = pair()
    runs = []
    b.register(R.id, "inc", 0.0, handler=lambda args, caller: runs.append(1) or b"done")
    a.frames_to_send()
    b.frames_to_send()
    provider = a.realm(R.id).dht.routing.get(b.node_id)
    op = a.call(R.id, "inc", b"", 0.0, provider=provider, timeout=10.0)
    for t in a.frames_to_send():  # the call reaches b ...
        b.receive(a.node_id, t.data, 0.1)
    assert len(runs) == 1
    lost = b.frames_to_send()  # ... but its result is lost
    assert len(lost) == 1
    a.handle_timer(2.5)  # attempt timeout: a retries with the same correlation id
    pump([a, b], now=2.6)
    assert len(runs) == 1
    [s] = only(drain(a), CallSucceeded)
    assert s.op == op and s.value == b"done"


def test_deferred_call_respond_timeout_and_retry_while_running():
    a, b = pair()
    b.register(R.id, "slow", 0.0)  # no handler: the application answers
    a.frames_to_send()
    b.frames_to_send()
    provider = a.realm(R.id).dht.routing.get(b.node_id)
    op = a.call(R.id, "slow", b"q", 0.0, provider=provider, timeout=5.0)
    pump([a, b])
    [rec] = only(drain(b), CallReceived)
    assert rec.procedure == "slow" and rec.args == b"q" and rec.caller == a.node_id
    a.handle_timer(2.1)  # retry while b is still working: ignored, not a second CallReceived
    pump([a, b], now=2.1)
    assert not only(drain(b), CallReceived)
    b.respond(R.id, rec.op, 2.2, b"answer")
    pump([a, b], now=2.2)
    [s] = only(drain(a), CallSucceeded)
    assert s.op == op and s.value == b"answer"
    # a call nobody answers fails with TIMEOUT at its deadline
    op2 = a.call(R.id, "slow", b"", 3.0, provider=provider, timeout=3.0)
    pump([a, b], now=3.0)
    for t in (5.0, 6.5):
        a.handle_timer(t)
        pump([a, b], now=t)
    [f] = only(drain(a), CallFailed)
    assert f.op == op2 and f.code == TIMEOUT


def test_calls_find_providers_through_the_dht():
    sim = Simulation(31, SimConfig(), MeshConfig(swim=SwimConfig(enabled=False)))
    sim.add_nodes(200)
    sim.oracle_bootstrap()
    server = sim.nodes[50]

    def square(args: bytes, caller: bytes) -> bytes:
        return str(int(args) ** 2).encode()

    sim.do(server, lambda c: c.register("default", "square", sim.now, handler=square))
    sim.run_for(5)
    caller = sim.nodes[150]
    op = sim.do(caller, lambda c: c.call("default", "square", b"12", sim.now))
    none = sim.do(caller, lambda c: c.call("default", "cube", b"2", sim.now))
    sim.run_for(10)
    [s] = caller.events_of(CallSucceeded)
    assert s.op == op and s.value == b"144"
    [f] = caller.events_of(CallFailed)
    assert f.op == none and f.code == NO_ROUTE
