"""SWIM against an authenticated hostile realm member, sans-I/O (real Ed25519 unless stated).

Three cores: ``a`` (the victim), ``c`` (an honest member) and ``x`` (the attacker, logged in
with its own valid key). The attacker sends hand-made SWIM frames; the rules checked here:
liveness is refuted only by the member itself and never forged permanently, incarnations stay
in range, the member set is bounded, and addresses named by a peer are never probed.
"""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter
from dataclasses import replace

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh import frames as F
from mesh.core import MeshConfig, MeshCore
from mesh.events import FrameRejected, MemberDied, MemberSuspected
from mesh.events import RejectReason as RR
from mesh.identity import ED25519, SIM_FAST, NodeKey
from mesh.membership import ALIVE, DEAD, SUSPECT, SwimConfig
from mesh.realms import Realm
from mesh.signing import sign_alive, signed_bytes
from mesh.swim_table import VerifyBudget

from .helpers import connect, drain, make_core, pump

R = Realm("swim")
CFG = MeshConfig(housekeeping_interval=0.0)


def swim(core: MeshCore):
    return core.realm(R.id).swim


def said(key: NodeKey, inc: int, status: int = ALIVE, address: str = "mem:9", crypto=ED25519):
    """``key``'s own ALIVE statement at ``inc``, labelled ``status``."""
    return sign_alive(crypto, key, R.id, address, inc).with_status(status)


def forged(node_id_key: NodeKey, inc: int, status: int = ALIVE, address: str = "mem:9"):
    """A statement in ``node_id_key``'s name that its key never signed."""
    return F.Update(status, node_id_key.public_key, address, inc, random.randbytes(64))


def send(src: MeshCore, dst: MeshCore, frame: F.Frame, now: float = 1.0) -> list:
    dst.receive(src.node_id, F.encode(frame), now)
    return drain(dst)


def probe(src: MeshCore, *updates: F.Update) -> F.Probe:
    return F.Probe(R.id, 99, updates)


def rejected(events) -> list:
    return [e.code for e in events if isinstance(e, FrameRejected)]


def _round(cores: list[MeshCore], now: float) -> None:
    for c in cores:
        c.handle_timer(now)
    pump(cores, now)


@pytest.fixture
def trio():
    """a, c, x connected and through two SWIM rounds: each holds the others' statements."""
    a, c, x = (make_core(i, [R], config=CFG) for i in (1, 2, 3))
    for p, q in ((a, c), (a, x), (c, x)):
        connect(p, q)
    for now in (1.6, 2.7, 3.8):
        _round([a, c, x], now)
    for core in (a, c, x):
        drain(core)
    for core, others in ((a, (c, x)), (c, (a, x)), (x, (a, c))):
        for o in others:
            assert swim(core).members[o.node_id].statement is not None
    return a, c, x


# --------------------------------------------------------------------------- forged liveness
def test_a_forged_alive_at_the_top_of_u64_is_malformed_and_changes_nothing(trio):
    a, c, x = trio
    inc = swim(a).incarnation
    for top in (2**64 - 1, F.MAX_INCARNATION):
        u = [ALIVE, a.key.public_key, "mem:9", top, bytes(64)]  # "a alive at 2**64 - 1"
        raw = msgpack.packb([F.PROTOCOL_VERSION, F.Probe.TYPE, R.id, 1, [u]], use_bin_type=True)
        a.receive(x.node_id, raw, 4.0)
        assert rejected(drain(a)) == [RR.MALFORMED]
    assert swim(a).incarnation == inc
    _round([a, c, x], 5.0)  # a still builds and sends every frame
    assert swim(c).status(a.node_id) == ALIVE


def test_forged_alive_suspect_and_dead_statements_are_rejected(trio):
    a, c, x = trio
    held = swim(a).members[c.node_id].incarnation
    big = F.MAX_INCARNATION - 1
    for bad in (
        forged(c.key, big, ALIVE),  # c alive at an incarnation nobody can exceed
        forged(c.key, big, DEAD),  # c dead for good
        forged(c.key, held, SUSPECT),  # at c's real incarnation, but not c's signature
        forged(a.key, big, DEAD),  # the victim itself, dead at the top
        F.Update(DEAD, c.key.public_key, "mem:2", held + 5, said(x.key, held + 5).signature),
        # ^ x's own signature passed off as c's
    ):
        events = send(x, a, probe(x, bad), 4.0)
        assert rejected(events) == [RR.AUTH_FAILED]
        assert not [e for e in events if isinstance(e, F.ProbeAck)]
    assert swim(a).members[c.node_id].incarnation == held
    assert swim(a).status(c.node_id) == ALIVE
    assert swim(a).incarnation == 0  # nothing to refute: nothing was signed by a
    assert swim(a).stats["forged"] == 5
    assert not a.frames_to_send()  # no ProbeAck to the liar


def test_a_statement_signed_for_another_realm_or_purpose_is_rejected(trio):
    a, c, x = trio
    inc = swim(a).members[c.node_id].incarnation + 1
    other = sign_alive(ED25519, c.key, Realm("elsewhere").id, "mem:2", inc)
    record_sig = ED25519.sign(c.key, signed_bytes("record", R.id, [c.key.public_key, "mem:2", inc]))
    for sig in (other.signature, record_sig):
        events = send(x, a, probe(x, F.Update(ALIVE, c.key.public_key, "mem:2", inc, sig)), 4.0)
        assert rejected(events) == [RR.AUTH_FAILED]
    assert swim(a).members[c.node_id].incarnation == inc - 1


# --------------------------------------------------------------------------- real accusations
def test_a_replayed_genuine_accusation_is_only_a_suspicion_that_the_member_refutes(trio):
    a, c, x = trio
    inc = swim(c).incarnation
    statement = swim(x).members[c.node_id].statement  # what c itself gossips
    events = send(x, a, probe(x, statement.with_status(DEAD)), 4.0)
    assert not rejected(events)
    assert swim(a).status(c.node_id) == SUSPECT  # a remote death notice is a suspicion
    assert [type(e) for e in events if isinstance(e, (MemberSuspected, MemberDied))] == [
        MemberSuspected
    ]
    pump([a, c, x], 4.0)  # a probed c at once, carrying the accusation; c refuted in its ack
    assert swim(c).incarnation == inc + 1
    assert swim(a).status(c.node_id) == ALIVE
    assert swim(a).members[c.node_id].incarnation == inc + 1
    # the old accusation, replayed: harmless, and not even checked again
    verified = swim(a).stats["verified"]
    for status in (SUSPECT, DEAD):
        assert not rejected(send(x, a, probe(x, statement.with_status(status)), 4.5))
    assert swim(a).status(c.node_id) == ALIVE
    assert swim(a).stats["verified"] == verified
    for now in (5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0):
        _round([a, c, x], now)
    assert not [e for e in drain(a) if isinstance(e, MemberDied)]
    assert swim(a).status(c.node_id) == ALIVE


def _deliver(src: MeshCore, dst: MeshCore, now: float) -> None:
    """Move the frames ``src`` queued for ``dst`` (only those)."""
    keep = []
    for t in src.frames_to_send():
        if t.peer == dst.node_id:
            dst.receive(src.node_id, t.data, now)
        else:
            keep.append(t)
    src._out.extend(keep)


def test_an_accusation_renewed_while_the_refutation_is_under_way_is_refuted_too(trio):
    a, c, x = trio
    a.frames_to_send()
    send(x, a, probe(x, swim(c).own().with_status(SUSPECT)), 4.0)  # a probes c at once
    _deliver(a, c, 4.0)  # c refutes (N+1); its ack is not delivered yet
    send(x, a, probe(x, swim(c).own().with_status(SUSPECT)), 4.0)  # x accuses c at N+1
    assert swim(a).status(c.node_id) == SUSPECT
    _deliver(c, a, 4.0)  # c's ack answers the older accusation: a probes c again
    pump([a, c, x], 4.0)
    assert swim(a).status(c.node_id) == ALIVE
    assert swim(a).members[c.node_id].incarnation == swim(c).incarnation == 2


def test_only_the_own_suspicion_timer_declares_a_member_dead():
    a, c = make_core(1, [R], config=CFG), make_core(2, [R], config=CFG)
    connect(a, c)
    _round([a, c], 1.6)
    statement = swim(a).members[c.node_id].statement
    a.peer_unreachable(c.node_id, 2.0)  # c is gone: nothing refutes
    x = make_core(3, [R], config=CFG)
    connect(x, a, 2.0)
    send(x, a, probe(x, statement.with_status(DEAD)), 2.0)
    assert swim(a).status(c.node_id) == SUSPECT
    a.handle_timer(2.0 + swim(a).suspicion_timeout() - 0.01)
    assert swim(a).status(c.node_id) == SUSPECT
    a.handle_timer(2.0 + swim(a).suspicion_timeout() + 0.01)
    assert swim(a).status(c.node_id) == DEAD


# --------------------------------------------------------------------------- refutation
def test_refutation_goes_one_above_the_own_incarnation_heard(trio):
    a, _c, x = trio
    own = swim(a).own()
    send(x, a, probe(x, own.with_status(SUSPECT)), 4.0)
    assert swim(a).incarnation == 1
    # an old statement of ours (already superseded): nothing to do
    send(x, a, probe(x, own.with_status(DEAD)), 4.0)
    assert swim(a).incarnation == 1
    # a statement an earlier run of our key signed, far above: we move above it
    earlier = said(a.key, 5_000, ALIVE, address="mem:old")
    send(x, a, probe(x, earlier), 4.0)
    assert swim(a).incarnation == 5_001
    assert swim(a).stats["refuted"] == 2


def test_an_own_statement_at_the_last_incarnation_cannot_be_refuted_and_nothing_breaks(trio):
    a, c, x = trio
    last = said(a.key, F.MAX_INCARNATION - 1, DEAD)
    send(x, a, probe(x, last), 4.0)
    assert swim(a).stats["refute_impossible"] == 1
    assert swim(a).incarnation == 0
    _round([a, c, x], 5.0)


def test_the_own_statement_is_signed_once_per_incarnation():
    class Counting:
        name = "counting"

        def __init__(self):
            self.signed = Counter()

        def sign(self, key, message):
            self.signed[message.split(b"\x00")[1]] += 1
            return ED25519.sign(key, message)

        def verify(self, public_key, signature, message):
            return ED25519.verify(public_key, signature, message)

    crypto = Counting()
    a, c = make_core(1, [R], crypto, CFG), make_core(2, [R], crypto, CFG)
    connect(a, c)
    for i in range(10):
        _round([a, c], 1.6 + i)
    assert crypto.signed[b"swim-alive"] == 2  # one statement each, for ten rounds of probes


# --------------------------------------------------------------------------- bounded members
def _keys(n: int, seed: int) -> list[NodeKey]:
    rng = random.Random(seed)
    return [NodeKey.generate(rng) for _ in range(n)]


def _flood(a: MeshCore, introducer: MeshCore, keys, crypto, now: float = 4.0) -> None:
    for i in range(0, len(keys), F.MAX_UPDATES):
        batch = tuple(said(k, 1, crypto=crypto) for k in keys[i : i + F.MAX_UPDATES])
        a.receive(introducer.node_id, F.encode(probe(introducer, *batch)), now)
        a.frames_to_send()
        a.connections_to_open()
        drain(a)


def test_one_introducer_holds_at_most_its_quota_of_unconfirmed_members():
    a, x = make_core(1, [R], SIM_FAST, CFG), make_core(3, [R], SIM_FAST, CFG)
    connect(x, a)
    s = swim(a)
    quota = s.config.max_unconfirmed_per_peer
    _flood(a, x, _keys(1000, 101), SIM_FAST)
    assert s.table.unconfirmed == quota
    assert len(s.members) == quota + 1  # and x itself
    assert s.stats["verified"] == quota  # nothing beyond the quota was even checked
    assert s.stats["quota_refused"] == 1000 - quota
    assert len(s._gossip) <= len(s.members)


def test_the_member_set_is_capped_and_a_confirmed_newcomer_still_gets_in():
    cfg = replace(CFG, swim=SwimConfig(max_members=100))
    a = make_core(1, [R], SIM_FAST, cfg)
    liars = [make_core(10 + i, [R], SIM_FAST, cfg) for i in range(5)]
    for x in liars:
        connect(x, a)
    keys = _keys(5 * 64, 102)
    for i, x in enumerate(liars):
        _flood(a, x, keys[i * 64 : (i + 1) * 64], SIM_FAST)
    s = swim(a)
    assert len(s.members) == 100
    assert s.stats["full_refused"] > 0
    honest = make_core(99, [R], SIM_FAST, cfg)
    connect(honest, a, 5.0)  # an authenticated session: confirmed, evicts an unconfirmed one
    assert len(s.members) == 100
    assert s.status(honest.node_id) == ALIVE and s.members[honest.node_id].confirmed


def test_a_full_member_table_costs_under_a_kibibyte_per_member():
    """The memory bound of docs/mesh_quic.md: max_members (4,096) members, each with its
    statement, its gossip entry and its table entries, in under 4 MiB."""
    cfg = replace(CFG, swim=SwimConfig(max_unconfirmed_per_peer=4096, verify_burst=1e6,
                                       verify_total_burst=1e6))  # fmt: skip
    a, x = make_core(1, [R], SIM_FAST, cfg), make_core(3, [R], SIM_FAST, cfg)
    connect(x, a)
    wires = [
        F.encode(probe(x, *(said(k, 1, address=f"127.0.0.1:{20_000 + i}", crypto=SIM_FAST)
                            for i, k in enumerate(_keys(64, 1000 + j)))))
        for j in range(65)
    ]  # fmt: skip
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for w in wires:
            a.receive(x.node_id, w, 4.0)
            a.frames_to_send()
            drain(a)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    s = swim(a)
    assert len(s.members) == s.config.max_members == 4096
    assert len(s._gossip) <= len(s.members)
    assert grown < 4 * 1024 * 1024, f"{grown / len(s.members):.0f} bytes per member"


def test_a_flood_of_unconfirmed_members_does_not_stretch_suspicion_timeouts():
    a, x = make_core(1, [R], SIM_FAST, CFG), make_core(3, [R], SIM_FAST, CFG)
    connect(x, a)
    s = swim(a)
    before = s.suspicion_timeout()
    _flood(a, x, _keys(64, 105), SIM_FAST)
    assert s.table.unconfirmed == 64
    assert s.suspicion_timeout() == before == s.config.suspicion_mult * s.config.period


def test_a_member_whose_session_closed_is_probed_out_of_turn(trio):
    a, c, _x = trio
    a.frames_to_send()
    a.connections_to_open()
    a.peer_unreachable(c.node_id, 4.0)  # c's connection closed (c left, or a path broke)
    assert a.connections_to_open() == [F.Contact(c.node_id, "mem:2")]
    queued = [F.decode(data) for _, data in a._waiting[c.node_id]]
    assert [type(f) for f in queued] == [F.Probe]
    a.handle_timer(4.0 + swim(a).config.period)  # no answer, direct or indirect
    assert swim(a).status(c.node_id) == SUSPECT


def test_unconfirmed_members_get_half_the_probes_at_most_and_never_help():
    a, x = make_core(1, [R], SIM_FAST, CFG), make_core(3, [R], SIM_FAST, CFG)
    connect(x, a)
    fakes = {k.node_id for k in _keys(64, 106)}
    _flood(a, x, _keys(64, 106), SIM_FAST)
    probed: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    now = 4.0
    for _ in range(40):  # 10 s: about ten protocol periods
        now += 0.25
        a.handle_timer(now)
        for t in a.frames_to_send():
            f = F.decode(t.data)
            if isinstance(f, F.Probe):
                probed["x" if t.peer == x.node_id else "?"] += 1
            if isinstance(f, F.ProbeRequest):
                asked["x" if t.peer == x.node_id else "fake"] += 1
            if t.peer == x.node_id:
                x.receive(a.node_id, t.data, now)
        for c in a.connections_to_open():
            probed["fake" if c.node_id in fakes else "?"] += 1
        pump([a, x], now)
        drain(a)
    assert probed["?"] == 0
    assert probed["x"] >= 4 and probed["fake"] >= 4  # alternating turns
    assert asked["x"] >= 1 and asked["fake"] == 0  # indirect probes via confirmed members only


def test_dead_members_are_reaped_after_the_retention_time_and_free_the_quota():
    cfg = replace(CFG, swim=SwimConfig(dead_retention=30.0, max_unconfirmed_per_peer=8))
    a, x = make_core(1, [R], SIM_FAST, cfg), make_core(3, [R], SIM_FAST, cfg)
    connect(x, a)
    fakes = _keys(8, 103)
    _flood(a, x, fakes, SIM_FAST, now=1.0)
    s = swim(a)
    assert s.table.unconfirmed == 8
    now = 1.0
    while now < 80.0:  # nobody answers for the fakes (x does not relay probes for them)
        now += 0.25
        a.handle_timer(now)
        for t in a.frames_to_send():
            if t.peer == x.node_id:
                x.receive(a.node_id, t.data, now)
        for t in x.frames_to_send():
            if t.peer == a.node_id:
                a.receive(x.node_id, t.data, now)
        a.connections_to_open()
        drain(a)
        drain(x)
    assert s.stats["reaped"] == 8
    assert all(k.node_id not in s.members for k in fakes)
    assert s.table.unconfirmed == 0
    assert s.status(x.node_id) == ALIVE
    _flood(a, x, _keys(8, 104), SIM_FAST, now=now)  # the quota is free again
    assert s.table.unconfirmed == 8


def test_signature_checks_a_peer_can_cause_are_budgeted():
    cfg = replace(CFG, swim=SwimConfig(verify_rate=10.0, verify_burst=20.0))
    a, x = make_core(1, [R], ED25519, cfg), make_core(3, [R], ED25519, cfg)
    connect(x, a)
    s = swim(a)
    key = NodeKey.generate(random.Random(5))
    for i in range(200):  # a member of x's making that climbs an incarnation per frame
        a.receive(x.node_id, F.encode(probe(x, said(key, i + 1))), 1.0 + i * 0.01)
        drain(a)
    assert s.stats["verified"] <= 20 + 10 * 2 + 1  # burst + rate over the 2 s it took
    assert s.stats["verify_throttled"] >= 150


# --------------------------------------------------------------------------- peer-named targets
def test_the_shared_verify_budget_spares_a_members_own_statements():
    b = VerifyBudget(rate=1.0, burst=5.0, total_rate=1.0, total_burst=8.0)
    peers = [bytes([i]) * 32 for i in range(4)]
    taken = sum(b.take(p, 0.0) for p in peers for _ in range(5))
    assert taken == 8  # the shared bucket, although each peer had 5
    assert b.take(peers[3], 0.0, own=True)  # a member's own statement: its own bucket only
    assert sum(b.take(peers[3], 0.0, own=True) for _ in range(10)) == 4  # 5 - the one above
    assert b.take(peers[0], 3.0)  # refilled


def test_a_probe_request_for_an_unknown_target_opens_nothing(trio):
    a, _c, x = trio
    a.frames_to_send()
    a.connections_to_open()
    send(x, a, F.ProbeRequest(R.id, 7, NodeKey.generate().node_id, (swim(x).own(),)), 4.0)
    assert swim(a).stats["probe_request_refused"] == 1
    assert not a.frames_to_send() and not a.connections_to_open()


def test_a_probe_request_probes_the_member_at_the_address_it_signed(trio):
    a, _c, x = trio
    member = NodeKey.generate(random.Random(77))
    send(x, a, probe(x, said(member, 3, address="mem:77")), 4.0)  # known now, unconfirmed
    a.frames_to_send()
    a.connections_to_open()
    for rid in range(20):  # twenty requests for one target: one probe
        send(x, a, F.ProbeRequest(R.id, rid, member.node_id, ()), 4.0)
    assert a.connections_to_open() == [F.Contact(member.node_id, "mem:77")]
    assert len(a._waiting[member.node_id]) == 1
    assert swim(a).stats["probe_request_dropped"] == 20 - swim(a).config.max_relays_per_target


# --------------------------------------------------------------------------- properties
KEYS = _keys(4, 109)
VICTIM = KEYS[0]


@st.composite
def updates(draw):
    key = draw(st.sampled_from(KEYS))
    kind = draw(st.sampled_from(("low",) * 4 + ("top",) * 3 + ("over",)))
    inc = draw(
        {
            "low": st.integers(0, 8),
            "top": st.integers(F.MAX_INCARNATION - 4, F.MAX_INCARNATION - 1),
            "over": st.integers(F.MAX_INCARNATION, 2**64 - 1),  # the frame is malformed
        }[kind]
    )
    status = draw(st.sampled_from((ALIVE, SUSPECT, DEAD)))
    address = draw(st.sampled_from(("mem:1", "mem:2")))
    if inc >= F.MAX_INCARNATION or (draw(st.booleans()) and draw(st.booleans())):
        return F.Update(status, key.public_key, address, inc, bytes(64))  # not signed
    return said(key, inc, status, address=address, crypto=SIM_FAST)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(updates(), min_size=1, max_size=8), min_size=1, max_size=12))
def test_any_updates_leave_every_frame_encodable_and_incarnations_in_range(frames_in):
    """Whatever an authenticated peer sends (its own key's statements, ours, forgeries, at
    any incarnation up to the bound), the node keeps building frames that encode and decode
    and its own incarnation stays below the bound."""
    cfg = replace(CFG, swim=SwimConfig(max_members=3))
    a = MeshCore(VICTIM, [R], random.Random(1), config=cfg, crypto=SIM_FAST, address="mem:0")
    peer = make_core(7, [R], SIM_FAST, cfg)
    connect(peer, a)
    now = 1.0
    for batch in frames_in:
        now += 0.4
        a.receive(peer.node_id, F.encode(F.Probe(R.id, 1, tuple(batch))), now)
        a.handle_timer(now)
        for t in a.frames_to_send():
            assert F.decode(t.data).realm == R.id
        a.connections_to_open()
        drain(a)
        s = swim(a)
        assert 0 <= s.incarnation < F.MAX_INCARNATION
        assert len(s.members) <= 3
        assert all(-1 <= m.incarnation < F.MAX_INCARNATION for m in s.members.values())
