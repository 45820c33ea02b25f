"""Champion envelopes: round trip, authentication, limits, and the one error type."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import zlib

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.distributed.envelope import (
    ChampionEnvelope,
    EnvelopeLimits,
    decode_envelope,
    inflate,
    open_genotype,
    seal,
    signed_bytes,
)
from actors.distributed.errors import EnvelopeError
from actors.genotype import encode_agent
from tests.distributed.helpers import agent, envelope, key

A = key(1)
B = key(2)


def _reason(data: bytes, limits: EnvelopeLimits | None = None) -> str:
    with pytest.raises(EnvelopeError) as info:
        env = decode_envelope(data, limits or EnvelopeLimits())
        open_genotype(env, limits or EnvelopeLimits())
    return info.value.reason


def _resign(env: ChampionEnvelope, k=A, **changes: object) -> bytes:
    env = dataclasses.replace(env, **changes)  # type: ignore[arg-type]
    sig = k.sign(signed_bytes(env.realm, env.unsigned_wire()))
    return dataclasses.replace(env, signature=sig).to_bytes()


def test_round_trip_keeps_provenance_and_genotype() -> None:
    g = agent("dpnv", 3)
    env = seal(A, g, realm="lab", seq=7, fitness=(0.25, 1.0), evaluations=42, sent_at=5.5)
    back = decode_envelope(env.to_bytes())
    assert back == env
    assert back.origin == A.node_id and back.seq == 7 and back.generation == g.generation
    assert back.lineage == g.parent_ids and back.fitness == (0.25, 1.0)
    assert open_genotype(back) == g
    assert back.raw_size == len(encode_agent(g)) > len(back.body)  # compressed


def test_every_tampered_byte_is_rejected() -> None:
    data = envelope(A).to_bytes()
    reasons = set()
    for i in range(0, len(data), 7):
        bad = bytearray(data)
        bad[i] ^= 0x01
        reasons.add(_reason(bytes(bad)))
    assert reasons <= {"signature", "malformed", "schema", "forged", "oversized", "genotype"}
    assert "signature" in reasons


def test_changed_fitness_breaks_the_signature() -> None:
    env = envelope(A)
    data = dataclasses.replace(env, fitness=(9.0,)).to_bytes()
    assert _reason(data) == "signature"


def test_forged_origin_and_foreign_key() -> None:
    env = envelope(A)
    # B signs an envelope claiming A's origin with B's key: the origin is not B's key hash
    assert _reason(_resign(env, B, public_key=B.public_key)) == "forged"
    # B signs with A's public key in the envelope: the signature does not verify
    assert _reason(_resign(env, B)) == "signature"


def test_signature_is_bound_to_the_realm() -> None:
    env = envelope(A, realm="lab")
    moved = dataclasses.replace(env, realm="other").to_bytes()
    assert _reason(moved) == "signature"


def test_schema_and_version() -> None:
    doc = msgpack.unpackb(envelope(A).to_bytes())
    for i, value in ((0, "megabrain.other"), (1, 2)):
        bad = list(doc)
        bad[i] = value
        assert _reason(msgpack.packb(bad, use_bin_type=True)) == "schema"
    assert _reason(msgpack.packb([1, 2, 3])) == "schema"
    assert _reason(b"\xc1") == "malformed"
    assert _reason(msgpack.packb({"a": 1})) == "malformed"


def test_oversized_envelope_and_genotype() -> None:
    data = envelope(A).to_bytes()
    assert _reason(data, EnvelopeLimits(max_envelope_bytes=len(data) - 1)) == "oversized"
    env = envelope(A)
    assert _reason(data, EnvelopeLimits(max_genotype_bytes=env.raw_size - 1)) == "oversized"


def test_zip_bomb_is_capped_not_inflated() -> None:
    bomb = zlib.compress(b"\0" * 50_000_000, 9)  # ~49 KB expanding to 50 MB
    with pytest.raises(EnvelopeError) as info:
        inflate(bomb, 1_000_000)
    assert info.value.reason == "oversized"
    # a bomb that lies about its size: claims 2 KB, the cap stops at 2 KB + 1
    env = envelope(A)
    raw = b"\0" * 50_000_000
    lying = _resign(env, body=bomb, genotype_hash=hashlib.sha256(raw).digest())
    assert _reason(lying) == "oversized"


def test_truncated_or_padded_body() -> None:
    env = envelope(A)
    assert _reason(_resign(env, body=env.body[:-3])) == "genotype"
    assert _reason(_resign(env, body=env.body + b"xx")) == "genotype"
    assert _reason(_resign(env, genotype_hash=bytes(32))) == "genotype"


def test_non_canonical_encoding() -> None:
    packed = envelope(A).to_bytes()
    head = msgpack.packb("megabrain.champion")
    assert packed[0] == 0xDC  # array16: 19 fields
    assert packed[3 : 3 + len(head)] == head and packed[3 + len(head)] == 1  # version fixint
    at = 3 + len(head)
    bloated = packed[:at] + b"\xcc\x01" + packed[at + 1 :]  # the same 1 written as uint8
    assert _reason(bloated) == "malformed"


def test_other_morphology_inside() -> None:
    env = envelope(A, morph="xor")
    assert _reason(_resign(env, morphology="dpnv")) == "morphology"


def test_seal_refuses_bad_fitness() -> None:
    with pytest.raises(ValueError):
        seal(A, agent(), realm="lab", seq=1, fitness=(float("nan"),))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_raise_only_envelope_error(data: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        decode_envelope(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_mutated_envelopes_raise_only_envelope_error(pos: int, byte: int) -> None:
    data = bytearray(envelope(A).to_bytes())
    data[pos % len(data)] = byte
    with contextlib.suppress(EnvelopeError):
        open_genotype(decode_envelope(bytes(data)))
