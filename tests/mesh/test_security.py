"""Forged, unsigned, replayed and cross-realm frames are rejected -- every one of them.

Real Ed25519 everywhere here. The attacker is an authenticated peer that sends hand-made
frames; the victim must report FrameRejected and never deliver, store or answer them.
"""

import random

import msgpack
import pytest

from mesh import frames
from mesh.dht.records import SUBSCRIPTION, VALUE, record_key
from mesh.events import EventReceived, FrameRejected
from mesh.events import RejectReason as RR
from mesh.frames import (
    Ack,
    Event,
    Ping,
    Pong,
    Publish,
    Record,
    Store,
    Subscribe,
    decode,
    encode,
)  # fmt: skip
from mesh.identity import ED25519, NodeKey
from mesh.realms import Realm
from mesh.signing import sign_event, sign_record

from .helpers import connect, drain, make_core, pump

R1, R2, R3 = Realm("one"), Realm("two"), Realm("three")


@pytest.fixture
def pair():
    attacker = make_core(1, [R1, R2])
    victim = make_core(2, [R1, R2, R3])
    connect(attacker, victim)
    victim.subscribe(R1.id, "topic", 0.0)
    victim.subscribe(R2.id, "topic", 0.0)
    attacker.frames_to_send()
    victim.frames_to_send()
    drain(victim)
    return attacker, victim


def deliver(attacker, victim, frame, now=1.0):
    victim.receive(attacker.node_id, encode(frame), now)
    return drain(victim)


def delivered(events):
    return [e for e in events if isinstance(e, EventReceived)]


def rejected(events):
    """The reason codes of the FrameRejected events (empty: nothing rejected)."""
    return [e.code for e in events if isinstance(e, FrameRejected)]


def test_a_genuine_event_is_delivered_once(pair):
    attacker, victim = pair
    ev = sign_event(ED25519, attacker.key, R1.id, "topic", 1, b"payload")
    events = deliver(attacker, victim, Publish(R1.id, 0, ev, False))
    assert [e.payload for e in delivered(events)] == [b"payload"]


def test_forged_events_are_all_rejected(pair):
    attacker, victim = pair
    someone = NodeKey.generate(random.Random(99))
    good = sign_event(ED25519, attacker.key, R1.id, "topic", 1, b"payload")
    rng = random.Random(5)
    forgeries: list[Event] = [
        # claims another author
        Event("topic", someone.public_key, 1, b"payload", good.signature),
        # tampered payload, topic, seq
        Event("topic", good.author, 1, b"paylOad", good.signature),
        Event("topic2", good.author, 1, b"payload", good.signature),
        Event("topic", good.author, 2, b"payload", good.signature),
        # signed by the attacker but naming someone else as author
        Event("topic", someone.public_key, 1, b"x", attacker.key.sign(b"x")),
    ]
    for _ in range(200):  # random single-bit flips anywhere in the signature
        sig = bytearray(good.signature)
        sig[rng.randrange(64)] ^= 1 << rng.randrange(8)
        forgeries.append(Event("topic", good.author, 1, b"payload", bytes(sig)))
    for forged in forgeries:
        events = deliver(attacker, victim, Publish(R1.id, 0, forged, False))
        assert not delivered(events)
        assert rejected(events) == [RR.FORGED_EVENT]
    assert victim.realm(R1.id).pubsub.stats["forged"] == len(forgeries)


def test_unsigned_events_are_rejected(pair):
    attacker, victim = pair
    unsigned = Event("topic", attacker.key.public_key, 1, b"payload", bytes(64))
    events = deliver(attacker, victim, Publish(R1.id, 0, unsigned, False))
    assert not delivered(events) and rejected(events) == [RR.FORGED_EVENT]
    # an event without its signature field at all is malformed
    wire = Publish(R1.id, 0, unsigned, False).to_wire()
    wire[2] = wire[2][:4]  # [topic, author, seq, payload] -- no signature
    raw = msgpack.packb([frames.PROTOCOL_VERSION, Publish.TYPE, *wire], use_bin_type=True)
    victim.receive(attacker.node_id, raw, 1.0)
    events = drain(victim)
    assert not delivered(events) and rejected(events) == [RR.MALFORMED]


def test_replayed_events_are_rejected_even_after_the_dedup_ttl(pair):
    attacker, victim = pair
    ev1 = sign_event(ED25519, attacker.key, R1.id, "topic", 1, b"one")
    assert delivered(deliver(attacker, victim, Publish(R1.id, 0, ev1, False)))
    # the first copy is taken for a retry whose ack was lost: acked, not delivered, uncharged
    events = deliver(attacker, victim, Publish(R1.id, 7, ev1, True))
    assert not delivered(events) and rejected(events) == []
    assert [decode(t.data) for t in victim.frames_to_send()] == [Ack(R1.id, 7)]
    for _ in range(5):
        events = deliver(attacker, victim, Publish(R1.id, 0, ev1, False))
        assert not delivered(events) and rejected(events) == [RR.REPLAYED_EVENT]
    # the author moves far ahead; the dedup cache forgets; the old one is still refused
    guard = victim.realm(R1.id).pubsub.guard
    ev_far = sign_event(ED25519, attacker.key, R1.id, "topic", guard.window + 10, b"far")
    assert delivered(deliver(attacker, victim, Publish(R1.id, 0, ev_far, False)))
    guard.expire(1e9)
    assert len(guard) == 0
    events = deliver(attacker, victim, Publish(R1.id, 0, ev1, False), now=2e9)
    assert not delivered(events) and rejected(events) == [RR.REPLAYED_EVENT]
    # a copy is recognised before its signature is checked: a forged copy is a copy too
    forged_copy = Event(ev1.topic, ev1.author, ev1.seq, b"other", bytes(64))
    events = deliver(attacker, victim, Publish(R1.id, 0, forged_copy, False), now=2e9)
    assert not delivered(events) and rejected(events) == [RR.REPLAYED_EVENT]


def test_cross_realm_frames_are_rejected(pair):
    attacker, victim = pair
    # signed for realm one, sent in realm two: the signature's domain names realm one
    ev = sign_event(ED25519, attacker.key, R1.id, "topic", 1, b"x")
    events = deliver(attacker, victim, Publish(R2.id, 0, ev, False))
    assert not delivered(events) and rejected(events)
    # a realm the attacker never proved (victim is in it, attacker is not)
    ev3 = sign_event(ED25519, attacker.key, R3.id, "topic", 2, b"x")
    for frame in (Publish(R3.id, 0, ev3, False), Ping(R3.id, 1)):
        events = deliver(attacker, victim, frame)
        assert rejected(events) == [RR.WRONG_REALM] and not delivered(events)
    assert not victim.frames_to_send()  # not even a Pong
    # a realm nobody here knows
    events = deliver(attacker, victim, Ping(Realm("elsewhere").id, 1))
    assert rejected(events) == [RR.WRONG_REALM]


def test_frames_from_unauthenticated_peers_are_rejected():
    victim = make_core(3, [R1])
    stranger = NodeKey.generate(random.Random(4))
    victim.receive(stranger.node_id, encode(Ping(R1.id, 1)), 0.0)
    assert rejected(drain(victim)) == [RR.NO_SESSION]
    assert not victim.frames_to_send()


def test_a_node_never_sends_a_realms_frames_to_a_non_member():
    a = make_core(5, [R1, R3])
    b = make_core(6, [R1])
    connect(a, b)
    a.frames_to_send()
    a.realm(R3.id).send(b.realm(R1.id).contact, Ping(R3.id, 1))
    a.realm(R1.id).send(b.realm(R1.id).contact, Ping(R1.id, 2))
    sent = [decode(t.data) for t in a.frames_to_send()]
    assert sent == [Ping(R1.id, 2)]


def _record(core, realm, seq, value=b"v", key=None):
    return sign_record(
        ED25519, core.key, realm.id,
        kind=VALUE, record_key=key or record_key(VALUE, realm.id, "x"), seq=seq, ttl=60,
        value=value,
    )  # fmt: skip


def test_forged_stale_and_cross_realm_records_are_not_stored(pair):
    attacker, victim = pair
    storage = victim.realm(R1.id).dht.storage
    good = _record(attacker, R1, 5)
    assert not rejected(deliver(attacker, victim, Store(R1.id, 1, good)))
    assert len(storage) == 1
    newer = _record(attacker, R1, 6, b"newer")
    forged = Record(*newer.to_wire()[:7], b"other", newer.signature)
    other_realm = _record(attacker, R2, 6)
    unsigned = Record(*newer.to_wire()[:8], bytes(64))
    # refused before their signature is checked (not newer than the record held)
    older = _record(attacker, R1, 4, b"old")
    same_seq_other_value = _record(attacker, R1, 5, b"changed")
    stale_forgery = Record(*good.to_wire()[:7], b"other", good.signature)
    for bad, code in (
        (forged, RR.FORGED_RECORD), (other_realm, RR.FORGED_RECORD), (unsigned, RR.FORGED_RECORD),
        (older, RR.RECORD_REFUSED), (same_seq_other_value, RR.RECORD_REFUSED),
        (stale_forgery, RR.RECORD_REFUSED),
    ):  # fmt: skip
        events = deliver(attacker, victim, Store(R1.id, 2, bad))
        assert rejected(events) == [code]
    [kept] = storage.get(good.key, 1.0)
    assert kept == good
    # a SUBSCRIBE frame must carry a subscription record
    events = deliver(attacker, victim, Subscribe(R1.id, 3, _record(attacker, R1, 9)))
    assert rejected(events) == [RR.BAD_SUBSCRIPTION]
    sub = sign_record(
        ED25519, attacker.key, R1.id, kind=SUBSCRIPTION,
        record_key=record_key(SUBSCRIPTION, R1.id, "t"), seq=10, ttl=60, value=b"t",
    )  # fmt: skip
    assert not rejected(deliver(attacker, victim, Subscribe(R1.id, 4, sub)))


def test_unexpected_responses_are_rejected(pair):
    attacker, victim = pair
    events = deliver(attacker, victim, Pong(R1.id, 12345))
    assert rejected(events) == [RR.UNEXPECTED_RESPONSE]
    [ev] = [e for e in events if isinstance(e, FrameRejected)]
    assert ev.reason == "unexpected_response"


def test_two_cores_exchange_a_ping():
    a = make_core(7, [R1])
    b = make_core(8, [R1])
    connect(a, b)
    got = []
    a.realm(R1.id).request(b.realm(R1.id).contact, lambda rid: Ping(R1.id, rid), 1.0, got.append)
    pump([a, b])
    assert len(got) == 1 and got[0] is not None
