"""The remote-actor wire codec: registered message types round-trip, everything else is refused
by reason (never unpickled, never executed)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.remote import wire
from actors.remote.wire import WireError, decode, encode, register_message
from actors.runtime.messages import Exit
from actors.runtime.remote_ref import RemoteRef

NODE = "ab" * 32


@register_message("tests.remote.Ping")
@dataclass(frozen=True)
class Ping:
    n: int
    text: str = ""
    items: tuple = ()


@register_message("tests.remote.Checked")
@dataclass(frozen=True)
class Checked:
    value: object

    def __post_init__(self) -> None:
        if self.value == "bad":
            raise ValueError("refused by the class")


@dataclass(frozen=True)
class NotRegistered:
    n: int


def _ext(code: int, inner: object) -> bytes:
    return msgpack.packb(msgpack.ExtType(code, msgpack.packb(inner, use_bin_type=True)))


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5) | st.integers(0, 99), inner, max_size=4)
    | st.builds(Ping, st.integers(0, 9), st.text(max_size=5), st.tuples(inner)),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(values)
def test_values_round_trip(value: object) -> None:
    assert decode(encode(value)) == value


def test_refs_exits_and_messages_keep_their_types() -> None:
    v = (RemoteRef(NODE, actor="a1"), RemoteRef(NODE, name="n"), Exit("abnormal", "x", "tb"))
    out = decode(encode([v, Ping(1, "t", (2, 3))]))
    assert out == [v, Ping(1, "t", (2, 3))]
    assert type(out[0]) is tuple and type(out[1].items) is tuple


def test_an_unregistered_class_is_refused_when_sending() -> None:
    with pytest.raises(WireError) as e:
        encode({"x": NotRegistered(1)})
    assert e.value.reason == "unregistered_type"


@pytest.mark.parametrize(
    "name", ["os.system", "builtins.eval", "tests.remote.test_wire.NotRegistered"]
)
def test_an_unregistered_name_is_refused_when_received(name: str) -> None:
    with pytest.raises(WireError) as e:
        decode(_ext(1, [name, [1]]))
    assert e.value.reason == "unregistered_type"


@pytest.mark.parametrize(
    "fields, reason",
    [
        (["one"], "schema"),  # n is an int
        ([True], "schema"),  # a bool is not an int here
        ([1, 2], "schema"),  # text is a str
        ([1, "a", (), 4], "schema"),  # too many fields
        ([], "schema"),  # missing n
    ],
)
def test_a_registered_message_with_bad_fields_is_refused(fields: list, reason: str) -> None:
    with pytest.raises(WireError) as e:
        decode(_ext(1, ["tests.remote.Ping", fields]))
    assert e.value.reason == reason


def test_the_class_own_validation_refuses_by_schema() -> None:
    with pytest.raises(WireError) as e:
        decode(_ext(1, ["tests.remote.Checked", ["bad"]]))
    assert e.value.reason == "schema"
    assert decode(_ext(1, ["tests.remote.Checked", ["good"]])) == Checked("good")


@pytest.mark.parametrize(
    "inner",
    [["g" * 64, "x", None], ["zz", "x", None], [NODE, None, None], [NODE, "a", "b"], [NODE]],
)
def test_a_bad_ref_is_refused(inner: list) -> None:
    with pytest.raises(WireError) as e:
        decode(_ext(3, inner))
    assert e.value.reason == "schema"


def test_a_bad_exit_is_refused() -> None:
    for inner in (["vanished", "", ""], ["normal", 1, ""], ["normal"]):
        with pytest.raises(WireError) as e:
            decode(_ext(4, inner))
        assert e.value.reason == "schema"


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"\x92\x01", b"\xdd\xff\xff\xff\xff", _ext(9, [1]), _ext(2, {"a": 1}),
     msgpack.packb({(1, 2): 3}, use_bin_type=True)[:3], pickle.dumps(Ping(1))],
)  # fmt: skip
def test_garbage_and_pickle_are_malformed(data: bytes) -> None:
    with pytest.raises(WireError) as e:
        decode(data)
    assert e.value.reason in ("malformed", "schema")


def test_size_limits_both_ways() -> None:
    with pytest.raises(WireError) as e:
        encode(b"x" * 2000, max_bytes=1000)
    assert e.value.reason == "oversized"
    with pytest.raises(WireError) as e:
        decode(encode(b"x" * 2000), max_bytes=1000)
    assert e.value.reason == "oversized"


def test_depth_limits_both_ways() -> None:
    deep: object = 1
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(WireError) as e:
        encode(deep)
    assert e.value.reason == "too_deep"
    raw = msgpack.packb(deep)  # built by a peer without our encoder
    with pytest.raises(WireError) as e:
        decode(raw)
    assert e.value.reason == "too_deep"
    nested = b"\x91" * 100_000 + b"\x01"  # far beyond the interpreter's recursion limit
    with pytest.raises(WireError) as e:
        decode(nested)
    assert e.value.reason in ("too_deep", "malformed")


def test_ints_out_of_range_and_bad_keys() -> None:
    for v in (2**64, -(2**63) - 1, {(1,): 2}, {None: 1}, {True: 1}):
        with pytest.raises(WireError) as e:
            encode(v)
        assert e.value.reason == "schema"


def test_a_name_is_registered_once() -> None:
    @dataclass(frozen=True)
    class Other:
        n: int

    with pytest.raises(ValueError, match="already registered"):
        register_message("tests.remote.Ping")(Other)
    assert register_message("tests.remote.Ping")(Ping) is Ping  # the same class again: fine
