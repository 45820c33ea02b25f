"""Capacity adverts and placement queries (:mod:`actors.remote.placement`), with literal times."""

from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.remote.placement import (
    ADVERT_LIMIT,
    Capacity,
    CapacityDecodeError,
    CapacityTable,
    PlacementError,
    Requirements,
    decode_capacity,
    encode_capacity,
    measure_capacity,
)

A, B, C = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
names = st.lists(st.text(min_size=1, max_size=20), max_size=8)
capacities = st.builds(
    Capacity,
    cores=st.integers(0, 512),
    free_memory=st.integers(0, 2**40),
    load=st.floats(0, 1e3, allow_nan=False),
    morphologies=names,
    tags=names,
    actors=names,
)


@given(capacities)
def test_an_advert_round_trips(cap: Capacity) -> None:
    data = encode_capacity(cap)
    assert len(data) <= ADVERT_LIMIT and decode_capacity(data) == cap


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_the_one_error(data: bytes) -> None:
    with contextlib.suppress(CapacityDecodeError):  # anything else fails the test
        decode_capacity(data)


@given(capacities, st.integers(0, 200))
def test_a_truncated_advert_is_refused(cap: Capacity, cut: int) -> None:
    data = encode_capacity(cap)
    cut = min(cut, len(data) - 1)
    with pytest.raises(CapacityDecodeError):
        decode_capacity(data[:cut])


def _doc(**changes: object) -> bytes:
    doc = {"v": 2, "cores": 2, "free_memory": 10, "load": 0.5, "morphologies": [], "tags": [],
           "actors": []}  # fmt: skip
    doc.update(changes)
    return bytes(msgpack.packb({k: v for k, v in doc.items() if v is not ...}))


@pytest.mark.parametrize(
    "data",
    [
        _doc(cores=-1),
        _doc(cores=True),
        _doc(load=float("nan")),
        _doc(load="high"),
        _doc(morphologies="xor"),
        _doc(morphologies=[1]),
        _doc(morphologies=["m"] * 2 + [f"x{i}" for i in range(64)]),
        _doc(tags=[[1]]),
        _doc(v=1),
        _doc(actors=["echo", 3]),
        _doc(extra=1),
        _doc(tags=...),
        bytes(msgpack.packb([1, 2, 3])),
        bytes(msgpack.packb({"v": 1, "cores": b"\x00" * 10})),
        b"\x91" * 3000 + b"\xc0",  # nested 3000 deep, under the size limit
        b"\x00" * (ADVERT_LIMIT + 1),
    ],
)
def test_bad_adverts_are_refused_by_reason(data: bytes) -> None:
    with pytest.raises(CapacityDecodeError):
        decode_capacity(data)


def test_a_table_ranks_least_loaded_first_ties_by_memory_then_node_id() -> None:
    table = CapacityTable()
    table.heard(C, encode_capacity(Capacity(2, 100, 1.0, ("dpnv",))), ttl=30, now=10.0)
    table.heard(A, encode_capacity(Capacity(4, 100, 2.0, ("dpnv", "xor"))), ttl=30, now=10.0)
    table.heard(B, encode_capacity(Capacity(1, 500, 0.5, ("dpnv",))), ttl=30, now=10.0)
    # load per core: C 0.5, A 0.5, B 0.5 -> memory: B first, then A and C by id
    assert table.query({"morphology": "dpnv"}, now=11.0) == [B, A, C]
    assert table.query({"morphology": "dpnv", "min_cores": 2}, now=11.0) == [A, C]
    assert table.query({"morphology": "xor"}, now=11.0) == [A]
    assert table.query({"morphology": "dpnv"}, now=11.0, limit=1, exclude=[B]) == [A]
    assert table.query(Requirements(min_free_memory=200), now=11.0) == [B]
    table.heard(A, encode_capacity(Capacity(4, 100, 0.0, ("dpnv",))), ttl=30, now=12.0)
    assert table.query({"morphology": "dpnv"}, now=13.0) == [A, B, C]  # A now idle


def test_adverts_expire_on_the_callers_clock_and_bad_ones_keep_the_last_good() -> None:
    table = CapacityTable()
    table.heard(A, encode_capacity(Capacity(1, 1, 0.0)), ttl=5, now=100.0)
    table.heard(B, encode_capacity(Capacity(1, 1, 0.0)), ttl=50, now=100.0)
    assert table.heard(A, b"\xc1", ttl=500, now=101.0) is None and table.rejected == 1
    assert table.query({}, now=104.9) == [A, B]
    assert table.query({}, now=105.0) == [B]
    assert table.expire(now=105.0) == [A]
    table.forget(B)
    assert table.query({}, now=106.0) == []


def test_requirements_are_checked_and_unknown_keys_refused() -> None:
    with pytest.raises(PlacementError, match="unknown placement requirement"):
        Requirements.from_mapping({"morphologie": "xor"})
    for bad in ({"min_cores": -1}, {"min_cores": 1.5}, {"tags": "gpu"}, {"morphology": ""},
                {"max_load_per_core": float("nan")}):  # fmt: skip
        with pytest.raises(PlacementError):
            Requirements.from_mapping(bad)
    req = Requirements.from_mapping({"tags": ["gpu"], "max_load_per_core": 1.0})
    assert req.met_by(Capacity(2, 0, 2.0, tags=("gpu", "ssd")))
    assert not req.met_by(Capacity(2, 0, 2.5, tags=("gpu",)))
    assert not req.met_by(Capacity(2, 0, 0.0, tags=("ssd",)))
    req = Requirements.from_mapping({"actor": "exoself", "morphology": "dpnv"})
    assert req.met_by(Capacity(1, 0, 0.0, ("dpnv",), actors=("echo", "exoself")))
    assert not req.met_by(Capacity(1, 0, 0.0, ("dpnv",), actors=("echo",)))
    with pytest.raises(PlacementError):
        Requirements.from_mapping({"actor": ""})


def test_this_hosts_capacity_is_measured() -> None:
    cap = measure_capacity(["xor", "dpnv"], ["test"])
    assert cap.cores >= 1 and cap.free_memory > 0 and cap.load >= 0
    assert cap.morphologies == ("dpnv", "xor") and cap.tags == ("test",)
    assert decode_capacity(encode_capacity(cap)) == cap
