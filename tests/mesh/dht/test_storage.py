import random

from mesh.dht.storage import Storage, StorageLimits
from mesh.identity import SIM_FAST, NodeKey
from mesh.signing import sign_record

R = b"r" * 32
S = b"s" * 32  # the storing peer
K1, K2 = NodeKey.generate(random.Random(1)), NodeKey.generate(random.Random(2))


def rec(key, seq, ttl=60, value=b"v", deleted=False, k=b"k" * 32):
    return sign_record(SIM_FAST, key, R, kind=1, record_key=k, seq=seq, ttl=ttl, value=value,
                       deleted=deleted)  # fmt: skip


def test_ttl_expiry_and_multi_author_keys():
    s = Storage()
    assert s.put(rec(K1, 1, ttl=10), S, 0.0)
    assert s.put(rec(K2, 1, ttl=100), S, 0.0)
    assert len(s.get(b"k" * 32, 5.0)) == 2
    assert [r.author for r in s.get(b"k" * 32, 50.0)] == [K2.public_key]
    assert s.expire(50.0) == 1 and len(s) == 1
    assert s.get(b"k" * 32, 100.0) == []


def test_seq_rules():
    s = Storage()
    assert s.put(rec(K1, 5), S, 0.0)
    assert s.put(rec(K1, 5), S, 1.0)  # same record: renewal
    assert not s.put(rec(K1, 5, value=b"other"), S, 1.0)  # same seq, other content
    assert not s.put(rec(K1, 4), S, 1.0)  # rollback
    assert s.put(rec(K1, 6, deleted=True), S, 1.0)  # tombstone replaces
    assert s.get(b"k" * 32, 2.0) == []
    assert len(s.get(b"k" * 32, 2.0, include_deleted=True)) == 1


def test_limits():
    s = Storage(StorageLimits(max_ttl=30, max_per_key=1, max_records=2, max_value=4))
    assert not s.put(rec(K1, 1, value=b"12345"), S, 0.0)
    assert not s.put(rec(K1, 1, ttl=0), S, 0.0)
    assert s.put(rec(K1, 1, ttl=10_000), S, 0.0)
    assert s.get(b"k" * 32, 29.0) and not s.get(b"k" * 32, 31.0)  # TTL capped at 30
    assert not s.put(rec(K2, 1), S, 0.0)  # one author per key here
    assert s.put(rec(K2, 1, k=b"j" * 32), S, 0.0)
    assert not s.put(rec(K2, 1, k=b"i" * 32), S, 0.0)  # two records in all
    assert s.put(rec(K2, 1, k=b"i" * 32), S, 40.0)  # after expiry there is room again
