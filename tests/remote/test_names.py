"""The pure core of global names (``actors.remote.names``): the claim codec, what a reader
drops from the network, and the rule that settles two registrations of one name."""

from __future__ import annotations

import contextlib
import random

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.remote import names, wire
from actors.remote.names import (
    Claim,
    NameRecordError,
    NamesConfig,
    check_name,
    decode_claim,
    encode_claim,
    read_claims,
    winner,
)
from actors.runtime.errors import RuntimeConfigError
from actors.runtime.remote_ref import RemoteRef
from mesh.frames import Record
from mesh.identity import NodeKey

KEYS = [NodeKey.from_seed(bytes([i]) * 32) for i in range(4)]
NODES = [k.node_id.hex() for k in KEYS]


def _record(key: NodeKey, value: bytes, seq: int = 1, deleted: bool = False) -> Record:
    return Record(1, b"k" * 32, key.public_key, seq, 30, deleted, (), value, b"s" * 64)


def _claim_value(i: int, name: str = "svc", since: int = 1000, **ref: str) -> bytes:
    return encode_claim(name, RemoteRef(NODES[i], **(ref or {"name": "local"})), since)


def test_a_claim_round_trips() -> None:
    ref = RemoteRef(NODES[0], actor="a-1")
    data = encode_claim("svc", ref, 1234)
    assert len(data) <= names.MAX_RECORD
    assert decode_claim("svc", NODES[0], data, seq=7) == Claim("svc", ref, 1234, 7)


def test_names_are_checked() -> None:
    assert check_name("svc") is None
    assert check_name("megabrain.gateway") is not None
    assert check_name("megabrain.x")[0] == "reserved_name"  # type: ignore[index]
    for bad in ("", "x" * (names.MAX_NAME + 1), 3, None, b"svc"):
        assert check_name(bad)[0] == "schema"  # type: ignore[index]
    with pytest.raises(NameRecordError):
        encode_claim("megabrain.x", RemoteRef(NODES[0], name="n"), 1)
    with pytest.raises(NameRecordError):
        encode_claim("svc", RemoteRef(NODES[0], name="n"), -1)


FORGED = [
    b"",
    b"\xc1",  # never used in msgpack
    msgpack.packb([1, 2, 3]),
    msgpack.packb({"v": 1, "name": "svc", "since": 5}),  # no ref
    msgpack.packb({"v": 1, "name": "svc", "ref": "x", "since": 5}),  # ref is not a RemoteRef
    msgpack.packb({"v": 2, "name": "svc", "ref": None, "since": 5}),
    wire.encode({"v": 2, "name": "svc", "ref": RemoteRef(NODES[0], name="n"), "since": 5}),
    wire.encode({"v": True, "name": "svc", "ref": RemoteRef(NODES[0], name="n"), "since": 5}),
    wire.encode({"v": 1, "name": "other", "ref": RemoteRef(NODES[0], name="n"), "since": 5}),
    wire.encode({"v": 1, "name": "svc", "ref": RemoteRef(NODES[0], name="n"), "since": -5}),
    wire.encode({"v": 1, "name": "svc", "ref": RemoteRef(NODES[0], name="n"), "since": 1.5}),
    wire.encode({"v": 1, "name": "svc", "ref": RemoteRef(NODES[0], name="n"), "since": True}),
    wire.encode({"v": 1, "name": "svc", "ref": RemoteRef(NODES[0], name="n"), "since": 5, "x": 1}),
    # a ref naming an actor of another node than the record's author
    wire.encode({"v": 1, "name": "svc", "ref": RemoteRef(NODES[1], name="n"), "since": 5}),
    b"\x00" * (names.MAX_RECORD + 1),
    msgpack.packb([[[[[[[[[[1]]]]]]]]]]),
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_claims_are_refused(data: bytes) -> None:
    with pytest.raises(NameRecordError):
        decode_claim("svc", NODES[0], data)


def test_every_truncation_of_a_claim_is_refused() -> None:
    data = _claim_value(0)
    for n in range(len(data)):
        with pytest.raises(NameRecordError):
            decode_claim("svc", NODES[0], data[:n])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_decode_or_raise_name_record_error(data: bytes) -> None:
    with contextlib.suppress(NameRecordError):  # anything else fails the test
        decode_claim("svc", NODES[0], data)


def test_read_claims_drops_and_counts_bad_records_and_skips_tombstones() -> None:
    recs = [
        _record(KEYS[0], _claim_value(0, since=10)),
        _record(KEYS[1], b"\xc1garbage"),
        _record(KEYS[2], _claim_value(1, since=1)),  # names node 1's actor: forged
        _record(KEYS[3], _claim_value(3), deleted=True),
    ]
    claims, rejected = read_claims("svc", recs)
    assert [c.node for c in claims] == [NODES[0]] and rejected == 2


def test_read_claims_keeps_the_newest_record_of_an_author() -> None:
    old = _record(KEYS[0], _claim_value(0, since=10, actor="old"), seq=5)
    new = _record(KEYS[0], _claim_value(0, since=10, actor="new"), seq=9)
    for recs in ([old, new], [new, old]):
        claims, rejected = read_claims("svc", recs)
        assert [c.ref.actor for c in claims] == ["new"] and rejected == 0


def test_the_earliest_registration_wins_then_the_lowest_node_id() -> None:
    a = Claim("svc", RemoteRef(NODES[0], name="x"), since=200)
    b = Claim("svc", RemoteRef(NODES[1], name="x"), since=100)
    c = Claim("svc", RemoteRef(NODES[2], name="x"), since=100)
    low = min(b, c, key=lambda x: x.node)
    assert winner([a, b, c]) == low
    assert winner([a]) == a
    assert winner([]) is None


def test_every_reader_picks_the_same_winner_whatever_the_order() -> None:
    rng = random.Random(7)
    claims = [Claim("svc", RemoteRef(n, name="x"), since=rng.choice([5, 6, 7])) for n in NODES]
    first = winner(claims)
    for _ in range(50):
        rng.shuffle(claims)
        assert winner(claims) == first


def test_a_claim_by_a_dead_node_does_not_count() -> None:
    a = Claim("svc", RemoteRef(NODES[0], name="x"), since=1)
    b = Claim("svc", RemoteRef(NODES[1], name="x"), since=2)
    assert winner([a, b]) == a
    assert winner([a, b], dead={NODES[0]}) == b
    assert winner([a, b], dead=set(NODES)) is None


def test_names_config_is_checked() -> None:
    assert NamesConfig().refresh < NamesConfig().ttl
    for kw in ({"ttl": 0}, {"ttl": 10, "refresh": 10}, {"ttl": 1.5}, {"op_timeout": 0}):
        with pytest.raises(RuntimeConfigError):
            NamesConfig(**kw)  # type: ignore[arg-type]
