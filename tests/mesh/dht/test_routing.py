import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.dht.routing import RoutingTable, bucket_index, common_prefix, distance
from mesh.frames import Contact

ids = st.binary(min_size=32, max_size=32)


@settings(max_examples=300)
@given(ids, ids, ids)
def test_xor_is_a_metric(a, b, c):
    # section 2.1: d(x,x)=0, d(x,y)>0 for x!=y, symmetry, triangle inequality
    assert distance(a, a) == 0
    assert (distance(a, b) == 0) == (a == b)
    assert distance(a, b) == distance(b, a)
    assert distance(a, c) <= distance(a, b) + distance(b, c)
    # XOR's triangle property is even stronger: d(a,b) xor d(b,c) == d(a,c)
    assert distance(a, b) ^ distance(b, c) == distance(a, c)


@settings(max_examples=300)
@given(ids, ids, ids)
def test_xor_is_unidirectional(a, b, c):
    # for a point and a distance there is exactly one point at that distance
    d = distance(a, b)
    assert (distance(a, c) == d) == (b == c)


@settings(max_examples=300)
@given(ids, ids)
def test_bucket_index_matches_distance_range(own, other):
    i = bucket_index(own, other)
    if own == other:
        assert i == -1
        return
    assert 2**i <= distance(own, other) < 2 ** (i + 1)
    assert common_prefix(own, other) == 255 - i


def _rid(rng):
    return rng.randbytes(32)


def test_table_keeps_k_per_bucket_and_splits_only_own_bucket():
    rng = random.Random(1)
    own = _rid(rng)
    table = RoutingTable(own, k=8)
    added = [_rid(rng) for _ in range(2000)]
    for nid in added:
        table.add(Contact(nid), 0.0)
    buckets = table._buckets
    for pos, b in enumerate(buckets):
        assert len(b.entries) <= 8
        for nid in b.entries:
            cpl = common_prefix(own, nid)
            if pos < len(buckets) - 1:
                assert cpl == pos
            else:
                assert cpl >= pos
    # the far buckets fill up: half of all random ids fall in bucket 0
    assert len(buckets[0].entries) == 8
    assert table.depth >= 6
    assert len(table) == sum(len(b.entries) for b in buckets)


def test_closest_matches_brute_force():
    rng = random.Random(2)
    own = _rid(rng)
    table = RoutingTable(own, k=20)
    for _ in range(500):
        table.add(Contact(_rid(rng)), 0.0)
    everyone = [c.node_id for c in table.contacts()]
    for _ in range(50):
        t = _rid(rng)
        want = sorted(everyone, key=lambda n: distance(n, t))[:20]
        assert [c.node_id for c in table.closest(t)] == want


def test_full_bucket_asks_to_ping_lrs_and_evicts_only_if_it_fails():
    rng = random.Random(3)
    own = bytes(32)
    table = RoutingTable(own, k=2, ping_after=10.0)
    far = [b"\x80" + rng.randbytes(31) for _ in range(4)]  # all in bucket 0 (cpl 0)
    assert table.add(Contact(far[0]), 0.0) is None
    assert table.add(Contact(far[1]), 1.0) is None
    # split happens first (own bucket), then bucket 0 is full
    assert table.add(Contact(far[2]), 2.0) is None  # LRS seen 2 s ago: no ping yet
    ping = table.add(Contact(far[3]), 20.0)
    assert ping is not None and ping.node_id == far[0]  # least recently seen
    assert table.add(Contact(b"\x81" + bytes(31)), 21.0) is None  # ping already pending
    # the LRS answers: it stays, moved to the tail; nobody evicted
    table.add(Contact(far[0]), 22.0)
    assert far[0] in table and far[1] in table and far[3] not in table
    # next time the (new) LRS fails to answer: evicted, freshest replacement promoted
    ping = table.add(Contact(far[2]), 40.0)
    assert ping is not None and ping.node_id == far[1]
    table.remove(far[1])
    assert far[1] not in table
    assert far[2] in table  # freshest replacement


def test_refresh_targets_fall_in_their_buckets():
    rng = random.Random(4)
    own = _rid(rng)
    table = RoutingTable(own, k=4)
    for _ in range(300):
        table.add(Contact(_rid(rng)), 0.0)
    targets = table.refresh_targets(100.0, 50.0, rng)
    assert len(targets) == len(table._buckets)
    last = len(targets) - 1
    for pos, t in enumerate(targets):
        cpl = common_prefix(own, t)
        assert cpl == pos if pos < last else cpl >= pos
    assert table.refresh_targets(120.0, 50.0, rng) == []  # all touched at 100


def test_contacts_failing_twice_in_a_row_are_replaced():
    table = RoutingTable(bytes(32), k=1)
    a, b = b"\x80" + bytes(31), b"\x81" + bytes(31)
    table.add(Contact(a), 0.0)
    table.add(Contact(b), 0.0)  # bucket full: b waits as a replacement
    assert not table.failed(a)
    table.add(Contact(a), 1.0)  # answered again: the count restarts
    assert not table.failed(a)
    assert table.failed(a)
    assert a not in table and b in table
