"""Frame codec: round trips, canonical form, limits, and the fuzz invariant.

Invariant (as h11's fuzzer states it): ``decode`` returns a valid frame or raises
``FrameError`` -- nothing else, for any bytes, whole or cut at any byte.
"""

import random
import tracemalloc

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh import frames as F
from mesh.errors import FrameError
from mesh.identity import SIM_FAST, NodeKey
from mesh.realms import Realm, issue_certificate
from mesh.signing import sign_alive, sign_event, sign_record

R = b"\x07" * 32
KEY = NodeKey.generate(random.Random(0))
REC = sign_record(
    SIM_FAST, KEY, R, kind=3, record_key=b"k" * 32, seq=9, ttl=60, value=b"topic",
    meta=(("fitness", 0.5), ("addr", "sim:1"), ("n", -3), ("ok", True), ("b", b"\x00")),
)  # fmt: skip
EV = sign_event(SIM_FAST, KEY, R, "tweann.genotypes.xor", 4, b"\x01\x02")
CERT = issue_certificate(KEY, "closed", b"n" * 32, 1e9, SIM_FAST)
C = F.Contact(b"c" * 32, "quic://127.0.0.1:4433")
U = sign_alive(SIM_FAST, KEY, R, "sim:2", 7).with_status(1)
V = F.PROTOCOL_VERSION

SAMPLES: list[F.Frame] = [
    F.Hello(b"", KEY.public_key, b"n" * 32, "addr", (F.RealmClaim(R), F.RealmClaim(R, CERT))),
    F.Challenge(b"", KEY.public_key, b"n" * 32, "", (), b"s" * 64),
    F.Proof(b"", b"s" * 64),
    F.Ping(R, 1),
    F.Pong(R, 2**64 - 1),
    F.FindNode(R, 3, b"t" * 32),
    F.Nodes(R, 4, (C, C)),
    F.Store(R, 5, REC),
    F.FindValue(R, 6, b"k" * 32),
    F.Value(R, 7, (REC,), (C,)),
    F.Ack(R, 8),
    F.Subscribe(R, 9, REC),
    F.Unsubscribe(R, 10, REC),
    F.Publish(R, 11, EV, True),
    F.Call(R, 12, "echo", b"args", 2.5),
    F.Result(R, 13, b"value"),
    F.ErrorReply(R, 14, 4, "boom"),
    F.Probe(R, 15, (U,)),
    F.ProbeAck(R, 16, ()),
    F.ProbeRequest(R, 17, b"t" * 32, (U, U)),
]


def test_every_frame_type_has_a_sample():
    assert {type(f) for f in SAMPLES} == set(F.FRAME_TYPES.values())


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: type(f).__name__)
def test_round_trip_and_canonical(frame):
    data = F.encode(frame)
    assert F.decode(data) == frame
    assert F.encode(F.decode(data)) == data


def test_version_type_realm_and_shape_are_checked():
    good = msgpack.unpackb(F.encode(F.Ping(R, 1)))
    for bad in (
        [V + 1, *good[1:]],  # protocol version
        [V - 1, *good[1:]],  # the previous version
        [V, 99, *good[2:]],  # unknown type
        [V, 10, b"short", 1],  # realm length
        [V, 1, R, *good[3:]],  # handshake frame with a realm
        [V, 10, R],  # missing field
        [V, 10, R, 1, 2],  # extra field
        [V, 10, R, -1],  # negative rid
        [V, 10, R, True],  # bool is not an int
        {"v": 1},  # not an array
    ):
        with pytest.raises(FrameError):
            F.decode(msgpack.packb(bad, use_bin_type=True))


def test_non_canonical_encodings_are_rejected():
    data = F.encode(F.Ping(R, 1))
    # the same value with the rid as a uint64 instead of a fixint
    longer = data[:-1] + b"\xcf" + (1).to_bytes(8, "big")
    assert msgpack.unpackb(longer) == msgpack.unpackb(data)
    with pytest.raises(FrameError):
        F.decode(longer)
    with pytest.raises(FrameError):  # a map where arrays are required
        F.decode(msgpack.packb({1: 2}))
    unsorted = REC.to_wire()
    unsorted[6] = [["z", 1], ["a", 2]]
    with pytest.raises(FrameError):
        F.decode(msgpack.packb([V, 14, R, 1, unsorted], use_bin_type=True))


def test_limits_are_enforced():
    small = F.Limits(max_frame_bytes=1000, max_collection=4, max_depth=6, max_text=16)
    with pytest.raises(FrameError):
        F.decode(F.encode(F.Result(R, 1, b"x" * 2000)), small)
    with pytest.raises(FrameError):
        F.decode(F.encode(F.Nodes(R, 1, (C,) * 5)), small)
    with pytest.raises(FrameError):
        F.decode(F.encode(F.Call(R, 1, "x" * 17, b"", 1.0)), small)
    deep: list = [V, 12, R, 1]
    for _ in range(20):
        deep = [deep]
    with pytest.raises(FrameError):
        F.decode(msgpack.packb([V, 13, R, 1, [deep]], use_bin_type=True))
    with pytest.raises(FrameError):
        F.decode(b"\x91" * 5000)  # nesting beyond msgpack's own stack
    with pytest.raises(FrameError):
        F.decode(F.encode(F.Call(R, 1, "x", b"", float("nan"))))
    with pytest.raises(FrameError):
        F.decode(bytearray(F.encode(F.Ping(R, 1))))  # type: ignore[arg-type]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:
            del b[rng.randrange(len(b))]
        elif op == 2:
            b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        elif op == 3 and b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        else:
            i = rng.randrange(len(b) + 1)
            b[i:i] = rng.randbytes(rng.randint(1, 8))
    return bytes(b)


def test_fuzz_100k_random_and_mutated_frames_only_raise_frame_error():
    rng = random.Random(1234)
    seeds = [F.encode(f) for f in SAMPLES]
    tracemalloc.start()
    try:
        outcomes = {"ok": 0, "error": 0}
        for i in range(100_000):
            if i % 4 == 0:
                data = rng.randbytes(rng.randint(0, 64))
            elif i % 4 == 1:  # random msgpack-ish headers claiming huge lengths
                data = bytes([rng.choice([0xDC, 0xDD, 0xDE, 0xDF, 0xC6, 0xDB])]) + rng.randbytes(8)
            else:
                data = _mutate(rng.choice(seeds), rng)
            try:
                frame = F.decode(data)
            except FrameError:
                outcomes["error"] += 1
            else:
                assert F.encode(frame) == data  # anything accepted is canonical
                outcomes["ok"] += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcomes["error"] > 90_000
    assert peak < 16 * 1024 * 1024, f"peak {peak} bytes"


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: type(f).__name__)
def test_every_truncation_and_byte_at_a_time_prefix_is_a_frame_error(frame):
    data = F.encode(frame)
    for cut in range(len(data)):
        with pytest.raises(FrameError):
            F.decode(data[:cut])
    with pytest.raises(FrameError):
        F.decode(data + b"\x00")  # trailing bytes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_hypothesis_arbitrary_bytes(data):
    try:
        frame = F.decode(data)
    except FrameError:
        return
    assert F.encode(frame) == data


@settings(max_examples=200, deadline=None)
@given(
    rid=st.integers(0, 2**64 - 1),
    procedure=st.text(max_size=50),
    args=st.binary(max_size=100),
    timeout=st.floats(allow_nan=False, allow_infinity=False),
)
def test_hypothesis_call_round_trip(rid, procedure, args, timeout):
    frame = F.Call(R, rid, procedure, args, timeout)
    assert F.decode(F.encode(frame)) == frame


def _probe_wire(updates: list) -> bytes:
    return msgpack.packb([V, F.Probe.TYPE, R, 1, updates], use_bin_type=True)


def test_incarnations_are_range_checked_at_decode():
    ok = U.to_wire()
    assert F.decode(_probe_wire([ok])).updates == (U,)
    for inc in (F.MAX_INCARNATION, F.MAX_INCARNATION + 1, 2**64 - 1, -1):
        bad = [*ok[:3], inc, ok[4]]
        with pytest.raises(FrameError, match="incarnation"):
            F.decode(_probe_wire([bad]))
    top = [*ok[:3], F.MAX_INCARNATION - 1, ok[4]]  # the largest accepted (signature aside)
    assert F.decode(_probe_wire([top])).updates[0].incarnation == F.MAX_INCARNATION - 1


def test_updates_carry_a_full_statement_and_at_most_max_updates_fit_a_frame():
    ok = U.to_wire()
    assert len(F.decode(_probe_wire([ok] * F.MAX_UPDATES)).updates) == F.MAX_UPDATES
    with pytest.raises(FrameError, match="at most"):
        F.decode(_probe_wire([ok] * (F.MAX_UPDATES + 1)))
    for bad in (
        ok[:4],  # no signature
        [3, *ok[1:]],  # unknown status
        [ok[0], b"k" * 31, *ok[2:]],  # short public key
        [*ok[:4], b"s" * 63],  # short signature
    ):
        with pytest.raises(FrameError):
            F.decode(_probe_wire([bad]))
    assert U.node_id == KEY.node_id  # derived from the public key, not carried


def test_a_probe_request_names_its_target_by_node_id_only():
    wire = F.ProbeRequest(R, 1, b"t" * 32, ()).to_wire()
    with pytest.raises(FrameError):  # the version 1 form: a contact with an address
        F.decode(msgpack.packb([V, 42, R, 1, [b"t" * 32, "[::1]:9"], []], use_bin_type=True))
    assert F.decode(msgpack.packb([V, 42, *wire], use_bin_type=True)).target == b"t" * 32


def test_realm_claim_for_closed_realm_round_trips():
    realm = Realm("closed", authority=KEY.public_key, cert=CERT)
    claim = realm.claim()
    hello = F.Hello(b"", KEY.public_key, b"n" * 32, "", (claim,))
    assert F.decode(F.encode(hello)).claims[0].cert == CERT
