"""The DHT against an authenticated hostile member, sans-I/O: quotas, poisoned keys, answers
within the frame limit, refusals before signature checks, bounded hand-overs.

The attacker is a real core that authenticated to the victim; it sends hand-made STOREs of
records signed by keys it minted (real Ed25519 unless said otherwise).
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.core import MeshConfig, MeshCore
from mesh.dht.records import GENOTYPE, SUBSCRIPTION, record_key
from mesh.dht.storage import StorageLimits, record_size
from mesh.events import EventReceived, FrameRejected, StoreCompleted
from mesh.events import RejectReason as RR
from mesh.frames import Ack, Contact, FindValue, Limits, Publish, Store, Value, decode, encode
from mesh.identity import ED25519, SIM_FAST, CryptoSuite, NodeKey
from mesh.membership import SwimConfig
from mesh.realms import Realm
from mesh.signing import sign_event, sign_record

from .helpers import QUIET, connect, drain, make_core, pump

REALM = Realm("lab")
RID = REALM.id


class CountingCrypto:
    """Ed25519 that counts verifications (to prove which checks come first)."""

    name = "counting-ed25519"

    def __init__(self, inner: CryptoSuite = ED25519) -> None:
        self.inner = inner
        self.verified = 0

    def sign(self, key: NodeKey, message: bytes) -> bytes:
        return self.inner.sign(key, message)

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        self.verified += 1
        return self.inner.verify(public_key, signature, message)


def minted(n: int, seed: int = 0) -> list[NodeKey]:
    rng = random.Random(seed)
    return [NodeKey.generate(rng) for _ in range(n)]


def record(author: NodeKey, key: bytes, value: bytes, *, kind=GENOTYPE, seq=1, crypto=ED25519):
    return sign_record(crypto, author, RID, kind=kind, record_key=key, seq=seq, ttl=3600,
                       value=value)  # fmt: skip


def store(attacker: MeshCore, victim: MeshCore, r, rid: int = 1, now: float = 1.0) -> list:
    victim.receive(attacker.node_id, encode(Store(RID, rid, r)), now)
    return drain(victim)


def rejected(events) -> list:
    return [(e.code, e.detail) for e in events if isinstance(e, FrameRejected)]


def pair(config: MeshConfig = QUIET, crypto: CryptoSuite = ED25519):
    attacker = make_core(1, [REALM])
    victim = make_core(2, [REALM], crypto=crypto, config=config)
    connect(attacker, victim)
    return attacker, victim


def test_store_flood_keeps_at_most_the_storers_quota_and_refuses_unverified():
    crypto = CountingCrypto()
    attacker, victim = pair(crypto=crypto)
    base = crypto.verified  # the handshake's
    storage = victim.realm(RID).dht.storage
    lim = storage.limits
    big = bytes(1_000_000)
    authors = minted(8)
    refused = []
    for i in range(200):  # 200 signed STOREs of 1 MB under random keys
        r = record(authors[i % 8], random.Random(i).randbytes(32), big)
        refused += rejected(store(attacker, victim, r, rid=i))
    kept = len(storage)
    assert kept == lim.max_storer_bytes // (record_size(r) + lim.record_overhead)
    assert storage.total_bytes <= lim.max_storer_bytes
    assert refused == [(RR.RECORD_REFUSED, "storer quota")] * (200 - kept)
    assert crypto.verified - base == kept  # the refused ones were never verified
    assert victim.stats["dht_bytes"] == storage.total_bytes
    # another peer still stores
    honest = make_core(3, [REALM])
    connect(honest, victim)
    sub = record(honest.key, record_key(SUBSCRIPTION, RID, "t"), b"t", kind=SUBSCRIPTION)
    assert rejected(store(honest, victim, sub)) == []


def test_a_poisoned_key_is_still_answered_within_the_frame_limit():
    """5 x 0.95 MB under one key from 5 minted authors: FIND_VALUE is answered, by a frame
    within the limit, that carries the honest small records of the key."""
    roomy = StorageLimits(max_key_bytes=16 << 20, max_storer_bytes=16 << 20)
    for limits in (StorageLimits(), roomy):
        attacker, victim = pair(MeshConfig(swim=SwimConfig(enabled=False),
                                           housekeeping_interval=0.0, storage=limits))  # fmt: skip
        key = record_key(GENOTYPE, RID, "xor")
        for i, author in enumerate(minted(5, seed=9)):
            store(attacker, victim, record(author, key, bytes([i]) * 950_000), rid=i)
        honest = make_core(3, [REALM])
        connect(honest, victim)
        champion = record(honest.key, key, b"c" * 60_000)
        assert rejected(store(honest, victim, champion)) == []
        victim.frames_to_send()
        victim.receive(honest.node_id, encode(FindValue(RID, 77, key)), 2.0)
        [answer] = victim.frames_to_send()
        assert len(answer.data) <= victim.config.limits.max_frame_bytes
        value = decode(answer.data)
        assert isinstance(value, Value) and value.rid == 77
        assert value.records[0] == champion  # smallest first
        held = len(victim.realm(RID).dht.storage.get(key, 2.0))
        assert held == (3 if limits == StorageLimits() else 6)
        assert len(value.records) == min(held, 5)  # 4 x 0.95 MB + 60 KB fit in 4 MiB
        assert victim.stats["answers_truncated"] == (held > len(value.records))


_record_strategy = st.tuples(
    st.sampled_from([GENOTYPE, SUBSCRIPTION]),
    st.integers(0, 9000),  # value bytes
    st.integers(0, 3),  # meta pairs
    st.booleans(),  # tombstone
)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1500, 40_000),
    st.lists(_record_strategy, max_size=40),
    st.lists(st.integers(0, 300), max_size=25),
)
def test_every_answer_frame_encodes_within_the_limit(max_frame, specs, addresses):
    """Any storage content, any routing table: every frame the victim sends answering a
    FIND_VALUE fits ``max_frame_bytes`` and decodes; its records are the smallest first."""
    config = MeshConfig(
        swim=SwimConfig(enabled=False), housekeeping_interval=0.0,
        limits=Limits(max_frame_bytes=max_frame),
        storage=StorageLimits(max_value=1 << 20, max_name_record=1 << 20),
    )  # fmt: skip
    victim = make_core(2, [REALM], crypto=SIM_FAST, config=config)
    peer = make_core(1, [REALM], crypto=SIM_FAST)
    connect(peer, victim)
    node = victim.realm(RID)
    rng = random.Random(len(specs) * 7919 + max_frame)
    for n in addresses:
        node.dht.routing.add(Contact(rng.randbytes(32), "a" * n), 0.0)
    key = record_key(GENOTYPE, RID, "k")
    for i, (kind, size, metas, deleted) in enumerate(specs):
        r = sign_record(
            SIM_FAST, NodeKey.generate(rng), RID, kind=kind, record_key=key, seq=1, ttl=60,
            value=bytes(size), meta=[(f"m{j}", "x" * (j * 100)) for j in range(metas)],
            deleted=deleted,
        )  # fmt: skip
        node.dht.storage.put(r, bytes([i % 5]) * 32, 0.0)
    victim.frames_to_send()
    victim.receive(peer.node_id, encode(FindValue(RID, 5, key)), 1.0)
    sent = victim.frames_to_send()
    for t in sent:
        assert len(t.data) <= max_frame
        decode(t.data, config.limits)
    held = sorted(node.dht.storage.get(key, 1.0, include_deleted=True), key=record_size)
    if sent:
        [t] = sent
        value = decode(t.data, config.limits)
        assert isinstance(value, Value)
        sizes = sorted(record_size(r) for r in value.records)
        assert sizes == sorted(record_size(r) for r in held)[: len(sizes)]  # a prefix
        if len(sizes) < len(held):  # the next one would not have fitted
            assert len(t.data) + record_size(held[len(sizes)]) + 2 > max_frame
    else:  # only when not even an empty answer fits (contacts alone too big)
        assert victim.stats["oversized_dropped"] == 1


def test_refusals_come_before_signature_checks():
    crypto = CountingCrypto()
    attacker, victim = pair(crypto=crypto)
    crypto.verified = 0  # not counting the handshake
    author = minted(1)[0]
    key = record_key(GENOTYPE, RID, "g")
    r5 = record(author, key, b"five", seq=5)
    assert rejected(store(attacker, victim, r5)) == []
    assert crypto.verified == 1
    for i in range(100):  # the same record again: a renewal, acked, unverified
        assert rejected(store(attacker, victim, r5, rid=i)) == []
    r4 = record(author, key, b"four", seq=4)
    for _ in range(100):
        assert rejected(store(attacker, victim, r4)) == [(RR.RECORD_REFUSED, "older seq")]
    assert crypto.verified == 1
    # pub/sub: a replayed event is recognised before its signature is checked
    victim.frames_to_send()  # the STOREs' acks
    ev = sign_event(ED25519, attacker.key, RID, "t", 1, b"x")
    for i in range(1000):
        victim.receive(attacker.node_id, encode(Publish(RID, i, ev, True)), 2.0)
    events = drain(victim)
    assert crypto.verified == 2
    codes = [e.code for e in events if isinstance(e, FrameRejected)]
    assert codes == [RR.REPLAYED_EVENT] * 998  # the first copy is an uncharged retry
    acks = [decode(t.data) for t in victim.frames_to_send()]
    assert len(acks) == 1000 and all(isinstance(a, Ack) for a in acks)  # at-least-once


def test_squatted_topic_still_reaches_honest_subscribers():
    """An attacker fills the victim's share of a topic's SUBSCRIPTION key (1,024 records of
    minted authors, the per-key maximum); honest subscribers still subscribe there and a
    publisher that finds them through the victim delivers to them."""
    attacker, victim = pair()
    key = record_key(SUBSCRIPTION, RID, "topic")
    for i, author in enumerate(minted(1024, seed=4)):
        r = record(author, key, b"topic", kind=SUBSCRIPTION)
        assert rejected(store(attacker, victim, r, rid=i)) == []
    storage = victim.realm(RID).dht.storage
    assert len(storage.get(key, 1.0)) == 1024
    subs = [make_core(10 + i, [REALM]) for i in range(3)]
    publisher = make_core(20, [REALM])
    cores = [victim, attacker, *subs, publisher]
    for i, a in enumerate(cores):  # everyone knows everyone (the attacker answers lookups)
        for b in cores[i + 1 :]:
            if {a, b} != {victim, attacker}:
                connect(a, b)
    pump(cores)
    for s in subs:
        op = s.subscribe(RID, "topic", 3.0)
        pump(cores, 3.0)
        [done] = [e for e in drain(s) if isinstance(e, StoreCompleted) and e.op == op]
        assert done.stored >= 1
    assert storage.usage(attacker.node_id)[0] == 1021  # one record lost per subscriber
    publisher.publish(RID, "topic", b"news", 4.0, reliable=False)
    for _ in range(3):  # connections to the minted "subscribers" are never opened here
        pump(cores, 4.0)
        publisher.connections_to_open()
    for s in subs:
        assert [e.payload for e in drain(s) if isinstance(e, EventReceived)] == [b"news"]


def test_a_newcomer_is_handed_at_most_our_per_storer_quota():
    lim = StorageLimits(max_storer_records=10)
    config = MeshConfig(swim=SwimConfig(enabled=False), housekeeping_interval=0.0, storage=lim)
    welcomer = make_core(1, [REALM], crypto=SIM_FAST, config=config)
    storage = welcomer.realm(RID).dht.storage
    rng = random.Random(2)
    for i in range(50):  # records stored here by five other peers
        r = sign_record(SIM_FAST, NodeKey.generate(rng), RID, kind=GENOTYPE,
                        record_key=rng.randbytes(32), seq=1, ttl=600, value=b"g")  # fmt: skip
        assert storage.put(r, bytes([i % 5]) * 32, 0.0)
    newcomer = make_core(2, [REALM], crypto=SIM_FAST, config=config)
    connect(welcomer, newcomer)
    stores = [decode(t.data) for t in welcomer.frames_to_send()]
    assert sum(isinstance(f, Store) for f in stores) == 10
    assert welcomer.stats["handover_skipped"] == 40
    for f in stores:
        newcomer.receive(welcomer.node_id, encode(f), 0.0)
    assert len(newcomer.realm(RID).dht.storage) == 10
    assert not [e for e in drain(newcomer) if isinstance(e, FrameRejected)]


def test_hand_overs_share_one_budget_so_relogging_in_is_no_amplifier():
    """Newcomers logging in one after the other (say, one attacker under fresh keys) share
    the hand-over budget: beyond its burst they get its rate, not our storage each time."""
    one = record_size(record(minted(1)[0], bytes(32), b"g", crypto=SIM_FAST)) + 1024
    config = MeshConfig(swim=SwimConfig(enabled=False), housekeeping_interval=0.0,
                        handover_burst=12 * one, handover_rate=one / 10)  # fmt: skip
    welcomer = make_core(1, [REALM], crypto=SIM_FAST, config=config)
    storage = welcomer.realm(RID).dht.storage
    rng = random.Random(5)
    for i in range(30):
        r = sign_record(SIM_FAST, NodeKey.generate(rng), RID, kind=GENOTYPE,
                        record_key=rng.randbytes(32), seq=1, ttl=600, value=b"g")  # fmt: skip
        assert storage.put(r, bytes([i % 3]) * 32, 0.0)

    def handed(now: float) -> int:
        newcomer = make_core(int(now * 100) + 7, [REALM], crypto=SIM_FAST, config=config)
        connect(welcomer, newcomer, now)
        return sum(isinstance(decode(t.data), Store) for t in welcomer.frames_to_send())

    assert [handed(0.0), handed(0.0), handed(0.0)] == [12, 0, 0]
    assert handed(50.0) == 5  # 50 s at one record per 10 s
