"""Storage bounds against hostile storers: quotas per storing peer, per key, in all; fair share.

Pure storage, no network: records are signed with the simulator's fast suite (storage never
checks signatures) and charged to the storer passed to ``put``.
"""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.dht.records import GENOTYPE, SERVICE, SUBSCRIPTION
from mesh.dht.storage import Storage, StorageLimits, record_size
from mesh.identity import SIM_FAST, NodeKey
from mesh.signing import sign_record

R = b"r" * 32
KEY = b"k" * 32
ATTACKER, HONEST, OTHER = b"A" * 32, b"H" * 32, b"O" * 32
_rng = random.Random(3)
AUTHORS = [NodeKey.generate(_rng) for _ in range(64)]


def rec(author, seq=1, value=b"v", kind=GENOTYPE, key=KEY, ttl=600):
    return sign_record(SIM_FAST, author, R, kind=kind, record_key=key, seq=seq, ttl=ttl,
                       value=value)  # fmt: skip


DEFAULT = StorageLimits()


def charge(record, lim=DEFAULT):
    return record_size(record) + lim.record_overhead


def test_a_storer_at_its_quota_is_refused_and_others_are_not():
    lim = StorageLimits(max_storer_records=3, max_storer_bytes=1 << 20)
    s = Storage(lim)
    for i in range(3):
        assert s.put(rec(AUTHORS[i], key=bytes([i]) * 32), ATTACKER, 0.0)
    assert s.plan(rec(AUTHORS[3], key=b"x" * 32), ATTACKER, 0.0).refused == "storer quota"
    assert not s.put(rec(AUTHORS[3], key=b"x" * 32), ATTACKER, 0.0)
    assert s.usage(ATTACKER)[0] == 3 and s.stats["storer quota"] == 1
    assert s.put(rec(AUTHORS[3], key=b"x" * 32), HONEST, 0.0)
    # a newer version of one of its own records replaces it within the quota
    assert s.put(rec(AUTHORS[0], seq=2, key=bytes([0]) * 32), ATTACKER, 1.0)
    # bytes count too: a storer with room for records but not for bytes
    s2 = Storage(StorageLimits(max_storer_bytes=10_000))
    assert s2.put(rec(AUTHORS[0], value=b"x" * 5000), ATTACKER, 0.0)
    assert s2.plan(rec(AUTHORS[1], value=b"x" * 5000), ATTACKER, 0.0).refused == "storer quota"
    assert s2.usage(ATTACKER)[1] == charge(rec(AUTHORS[0], value=b"x" * 5000))


def test_store_flood_is_bounded_by_the_storer_quota():
    """200 STOREs of 1 MB under random keys from one peer: at most its byte quota is kept."""
    s = Storage()
    lim = s.limits
    big = b"\x00" * 1_000_000
    stored = sum(s.put(rec(AUTHORS[i % 64], key=i.to_bytes(32, "big"), value=big), ATTACKER, 0.0)
                 for i in range(200))  # fmt: skip
    assert stored == lim.max_storer_bytes // charge(rec(AUTHORS[0], value=big)) == 8
    assert s.total_bytes <= lim.max_storer_bytes
    assert s.put(rec(AUTHORS[0], value=b"small"), HONEST, 0.0)


def test_name_records_are_capped_small():
    s = Storage()
    cap = s.limits.max_name_record
    for kind in (SERVICE, SUBSCRIPTION):
        assert s.put(rec(AUTHORS[0], kind=kind, value=b"topic", key=bytes([kind]) * 32), HONEST, 0)
        fat = rec(AUTHORS[1], kind=kind, value=b"t" * cap, key=bytes([kind]) * 32)
        assert s.plan(fat, HONEST, 0.0).refused == "name record too large"
    assert s.put(rec(AUTHORS[1], kind=GENOTYPE, value=b"g" * cap), HONEST, 0.0)


def test_squatting_a_subscription_key_does_not_lock_subscribers_out():
    """The rule: at a full key, a new record evicts the oldest record of the storer holding
    the most there while that storer holds more than the newcomer will."""
    lim = StorageLimits(max_per_key=32)
    s = Storage(lim)
    sub = dict(kind=SUBSCRIPTION, value=b"topic")
    for i in range(32):  # one connection fills the key with minted authors
        assert s.put(rec(AUTHORS[i], **sub), ATTACKER, 0.0)
    assert not s.put(rec(AUTHORS[32], **sub), ATTACKER, 0.0)  # it cannot add more itself
    honest = [bytes([i]) * 32 for i in range(10)]
    for i, storer in enumerate(honest):
        assert s.put(rec(AUTHORS[40 + i], **sub), storer, 1.0)
    held = s.get(KEY, 2.0)
    assert len(held) == 32 and s.usage(ATTACKER)[0] == 22
    assert {r.author for r in held} >= {a.public_key for a in AUTHORS[40:50]}
    oldest_gone = {a.public_key for a in AUTHORS[:10]}  # the squatter lost its oldest first
    assert not oldest_gone & {r.author for r in held}
    # storers holding as much as the newcomer will are never evicted for it
    s2 = Storage(StorageLimits(max_per_key=4))
    for i in range(4):
        assert s2.put(rec(AUTHORS[i], **sub), bytes([i]) * 32, 0.0)
    assert s2.plan(rec(AUTHORS[9], **sub), HONEST, 0.0).refused == "key full"


def test_byte_squatting_does_not_lock_a_champion_out():
    """Two 0.95 MB records fill a key's bytes; a 60 KB champion from another storer still
    gets in, displacing the biggest storer's oldest record."""
    s = Storage()
    big = b"\x01" * 950_000
    tiny = rec(AUTHORS[5], value=b"t")
    assert s.put(tiny, ATTACKER, 0.0)
    assert s.put(rec(AUTHORS[0], value=big), ATTACKER, 0.0)
    assert s.put(rec(AUTHORS[1], value=big), ATTACKER, 0.0)
    assert not s.put(rec(AUTHORS[2], value=big), ATTACKER, 0.0)  # key bytes full
    champion = rec(AUTHORS[10], value=b"\x02" * 200_000)
    assert s.put(champion, HONEST, 1.0)
    held = {r.author for r in s.get(KEY, 1.0)}
    assert champion.author in held and AUTHORS[0].public_key not in held
    assert s.stats["evicted"] == 1 and tiny.author in held  # its largest went, only


def test_full_storage_evicts_the_biggest_storer_first():
    lim = StorageLimits(max_bytes=40_000, max_storer_bytes=80_000)
    s = Storage(lim)
    i = 0
    while s.put(rec(AUTHORS[i % 64], key=i.to_bytes(32, "big"), value=b"a" * 3000), ATTACKER, 0):
        i += 1
    assert s.total_bytes > lim.max_bytes - 4200
    assert s.plan(rec(AUTHORS[0], key=b"z" * 32, value=b"a" * 3000), ATTACKER, 0).refused == (
        "storage full"
    )
    before = s.usage(ATTACKER)[0]
    assert s.put(rec(AUTHORS[1], key=b"y" * 32, value=b"h" * 3000), HONEST, 1.0)
    assert s.usage(ATTACKER)[0] == before - 1 and s.total_bytes <= lim.max_bytes
    assert s.get((0).to_bytes(32, "big"), 1.0) == []  # its oldest record went first
    # storers holding no more than the newcomer will are not evicted for it
    s2 = Storage(StorageLimits(max_bytes=3 * charge(rec(AUTHORS[0], value=b"a" * 3000))))
    for i in range(3):
        assert s2.put(rec(AUTHORS[i], key=bytes([i]) * 32, value=b"a" * 3000), bytes([i]) * 32, 0)
    newcomer = rec(AUTHORS[9], key=b"n" * 32, value=b"a" * 3000)
    assert s2.plan(newcomer, HONEST, 0.0).refused == "storage full"


def test_identical_record_renews_without_new_charge():
    s = Storage()
    r = rec(AUTHORS[0])
    assert s.put(r, HONEST, 0.0)
    used = s.total_bytes
    plan = s.plan(r, ATTACKER, 500.0)  # a welcome hand-over of the same record by another
    assert plan.renewal and not plan.refused
    assert s.commit(plan) and s.total_bytes == used and s.usage(ATTACKER) == (0, 0)
    assert s.get(KEY, 1000.0)  # renewed: lives until 500 + 600


def test_expiry_releases_quota_and_stale_heap_entries_are_compacted():
    s = Storage(StorageLimits(max_storer_records=2))
    assert s.put(rec(AUTHORS[0], ttl=10), ATTACKER, 0.0)
    assert s.put(rec(AUTHORS[1], ttl=10), ATTACKER, 0.0)
    assert not s.put(rec(AUTHORS[2], ttl=10), ATTACKER, 5.0)
    assert s.put(rec(AUTHORS[2], ttl=10), ATTACKER, 11.0)  # the others expired: room again
    r = rec(AUTHORS[2], ttl=10)
    for t in range(1000):  # renewals push heap entries; the heap stays proportional
        assert s.put(r, ATTACKER, 11.0 + t * 0.001)
    assert len(s._heap) <= 2 * len(s) + 64


# ---------------------------------------------------------------------- property: invariants
_op = st.tuples(
    st.integers(0, 5),  # storer
    st.integers(0, 31),  # author
    st.integers(0, 3),  # key
    st.integers(1, 4),  # seq
    st.sampled_from([0, 10, 300, 3000, 9000]),  # value bytes
    st.integers(0, 1),  # time step
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_op, max_size=120))
def test_bounds_hold_and_evictions_are_fair(ops):
    """Small limits so that every rule fires (evictions, full keys, full storage, quotas)."""
    lim = StorageLimits(
        max_per_key=5, max_key_bytes=20_000, max_storer_records=10, max_storer_bytes=30_000,
        max_records=14, max_bytes=40_000, max_value=10_000, record_overhead=100,
    )  # fmt: skip
    s = Storage(lim)
    now = 0.0
    storers = [bytes([i]) * 32 for i in range(6)]
    for who, author, key, seq, size, dt in ops:
        now += dt
        r = rec(AUTHORS[author], seq=seq, key=bytes([key]) * 32, value=b"x" * size, ttl=40)
        storer = storers[who]
        s.expire(now)
        before = _holdings(s, r.key)
        plan = s.plan(r, storer, now)
        stored = s.commit(plan)
        # every bound holds after every operation
        assert len(s) <= lim.max_records and s.total_bytes <= lim.max_bytes
        for x in storers:
            n, b = s.usage(x)
            assert n <= lim.max_storer_records and b <= lim.max_storer_bytes
        for slot in s._data.values():
            assert len(slot) <= lim.max_per_key
            assert sum(e.charge for e in slot.values()) <= lim.max_key_bytes
        assert sum(s.usage(x)[1] for x in storers) == s.total_bytes
        # a record is evicted only from another storer that held more than the newcomer
        # holds once stored: records or bytes at the key, or bytes in all
        after = _holdings(s, r.key)
        for key_, author_ in plan.evict if stored else ():
            victim = before["storer_of"].get((key_, author_))
            assert victim is not None and victim != storer
            measures = ("key_n", "key_b", "all_b") if key_ == r.key else ("all_b",)
            assert any(before[m].get(victim, 0) > after[m].get(storer, 0) for m in measures)


def _holdings(s, key):
    """Per-storer holdings: records and bytes under ``key``, bytes in all; who stored what."""
    out = {"key_n": {}, "key_b": {}, "all_b": {}, "storer_of": {}}
    for k, slot in s._data.items():
        for a, e in slot.items():
            out["storer_of"][(k, a)] = e.storer
            out["all_b"][e.storer] = out["all_b"].get(e.storer, 0) + e.charge
            if k == key:
                out["key_n"][e.storer] = out["key_n"].get(e.storer, 0) + 1
                out["key_b"][e.storer] = out["key_b"].get(e.storer, 0) + e.charge
    slot = dict(s._data.get(key, {}))
    out["key_n_total"] = len(slot)
    out["key_b_total"] = sum(e.charge for e in slot.values())
    out["entry"] = lambda r: slot.get(r.author)
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 63), st.sampled_from([0, 300, 3000, 9000])), max_size=40),
    st.sampled_from([0, 300, 3000, 9000]),
)
def test_a_key_filled_by_one_storer_takes_any_other_storers_record(fill, size):
    """The squatting guarantee: whatever one storer put under a key, a record from another
    storer of at most half the key's bytes is stored."""
    lim = StorageLimits(max_per_key=8, max_key_bytes=20_000, record_overhead=100)
    s = Storage(lim)
    for author, n in fill:
        s.put(rec(AUTHORS[author], value=b"a" * n), ATTACKER, 0.0)
    r = rec(NodeKey.generate(random.Random(size)), value=b"h" * size)
    assert charge(r, lim) <= lim.max_key_bytes // 2
    assert s.put(r, HONEST, 1.0)
    assert r in s.get(KEY, 1.0)
