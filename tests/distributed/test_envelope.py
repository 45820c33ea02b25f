"""Champion envelopes: round trip, authentication, limits, codecs, and the one error type."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import random
import zlib
from importlib import resources

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.distributed import zdict_build
from actors.distributed.envelope import (
    CODEC,
    CODEC_ZLIB,
    CODEC_ZLIB_D1,
    CODECS,
    ZDICT_V1,
    ZDICT_V1_SHA256,
    ChampionEnvelope,
    EnvelopeLimits,
    check_dictionary,
    decode_envelope,
    deflate,
    inflate,
    open_genotype,
    seal,
    signed_bytes,
)
from actors.distributed.errors import EnvelopeError
from actors.genotype import Agent, encode_agent, offspring
from morphologies import morphology_names
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
    lying = _resign(env, body=bomb, codec="zlib", genotype_hash=hashlib.sha256(raw).digest())
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


def _evolved(morph: str, seed: int, generations: int = 10) -> Agent:
    """A champion-like genotype: ``generations`` rounds of offspring from a seed agent."""
    rng = random.Random(seed)
    g = dataclasses.replace(agent(morph, seed), population_id=f"{morph}-{seed}", specie_id="s4")
    for _ in range(generations):
        g = offspring(g, rng)
    return dataclasses.replace(g, fitness=rng.random())


def _sealed(g: Agent, codec: str) -> ChampionEnvelope:
    return seal(A, g, realm="lab", seq=1, fitness=(0.5,), evaluations=1500, codec=codec)


@pytest.mark.parametrize("codec", CODECS)
def test_round_trip_with_each_codec(codec: str) -> None:
    g = _evolved("dpnv", 5)
    env = _sealed(g, codec)
    back = decode_envelope(env.to_bytes())
    assert back == env and back.codec == codec and back.provenance()["codec"] == codec
    assert open_genotype(back) == g
    assert inflate(back.body, back.raw_size, codec) == encode_agent(g)


def test_seal_uses_the_dictionary_codec_by_default() -> None:
    assert CODEC == CODEC_ZLIB_D1 and set(CODECS) == {CODEC_ZLIB, CODEC_ZLIB_D1}
    assert envelope(A).codec == CODEC_ZLIB_D1
    assert msgpack.unpackb(envelope(A).to_bytes())[15] == CODEC_ZLIB_D1


def test_codec_is_signed() -> None:
    env = _sealed(agent(), CODEC_ZLIB)
    relabelled = dataclasses.replace(env, codec=CODEC_ZLIB_D1).to_bytes()
    assert _reason(relabelled) == "signature"


@pytest.mark.parametrize("morph", morphology_names())
def test_dictionary_codec_is_smaller(morph: str) -> None:
    for g in (agent(morph, 9), _evolved(morph, 9)):
        plain, d1 = _sealed(g, CODEC_ZLIB), _sealed(g, CODEC_ZLIB_D1)
        assert len(d1.body) < len(plain.body) < plain.raw_size == d1.raw_size
        assert len(d1.to_bytes()) < len(plain.to_bytes())
        assert open_genotype(decode_envelope(d1.to_bytes())) == g


def test_body_of_another_codec_is_rejected() -> None:
    g = agent("dpnv", 2)
    raw = encode_agent(g)
    for sealed_as, labelled in ((CODEC_ZLIB, CODEC_ZLIB_D1), (CODEC_ZLIB_D1, CODEC_ZLIB)):
        env = _sealed(g, sealed_as)
        assert _reason(_resign(env, codec=labelled)) == "genotype"
        with pytest.raises(EnvelopeError) as info:
            inflate(env.body, len(raw), labelled)
        assert info.value.reason == "genotype"
    # a stream of another preset dictionary, and one that names a dictionary but is cut short
    c = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, ZDICT_V1[:-1])
    other = c.compress(raw) + c.flush()
    env = _sealed(g, CODEC_ZLIB_D1)
    for body in (other, env.body[:4], env.body[:1], b""):
        assert _reason(_resign(env, body=body)) == "genotype"
        assert _reason(_resign(env, body=body, codec=CODEC_ZLIB)) == "genotype"


def test_zip_bomb_under_the_dictionary_codec_is_capped() -> None:
    raw = b"\0" * 50_000_000
    bomb = deflate(raw, CODEC_ZLIB_D1)
    with pytest.raises(EnvelopeError) as info:
        inflate(bomb, 1_000_000, CODEC_ZLIB_D1)
    assert info.value.reason == "oversized"
    env = envelope(A)
    assert env.codec == CODEC_ZLIB_D1
    lying = _resign(env, body=bomb, genotype_hash=hashlib.sha256(raw).digest())
    assert _reason(lying) == "oversized"


def test_truncated_or_padded_body_under_each_codec() -> None:
    for codec in CODECS:
        env = _sealed(agent(), codec)
        assert _reason(_resign(env, body=env.body[:-3])) == "genotype"
        assert _reason(_resign(env, body=env.body + b"xx")) == "genotype"


def test_unknown_codec() -> None:
    env = envelope(A)
    for codec in ("zstd", "zlib-d2", "", 1, [CODEC_ZLIB_D1]):
        assert _reason(_resign(env, codec=codec)) == "schema"
    with pytest.raises(EnvelopeError) as info:
        inflate(env.body, env.raw_size, "zlib-d2")
    assert info.value.reason == "schema"
    with pytest.raises(ValueError):
        seal(A, agent(), realm="lab", seq=1, fitness=(0.5,), codec="zlib-d2")
    with pytest.raises(ValueError):
        deflate(b"x", "zlib-d2")


def test_dictionary_is_pinned() -> None:
    data = resources.files("actors.distributed").joinpath("zdict_v1.bin").read_bytes()
    assert data == ZDICT_V1 and 0 < len(data) <= 32_768
    assert hashlib.sha256(data).hexdigest() == ZDICT_V1_SHA256
    assert check_dictionary(data, ZDICT_V1_SHA256, "zdict_v1.bin") is data
    edited = bytes([data[0] ^ 1]) + data[1:]
    for bad in (edited, data + b"\0", data[:-1], b""):
        with pytest.raises(RuntimeError, match="must not change"):
            check_dictionary(bad, ZDICT_V1_SHA256, "zdict_v1.bin")


def test_dictionary_build_is_deterministic() -> None:
    built = zdict_build.build_dictionary()
    assert built == zdict_build.build_dictionary()
    assert len(built) <= 32_768
    assert built.endswith(zdict_build.sample(zdict_build.BASE, zdict_build.SEEDS[0]))


def test_local_misuse_raises_the_packages_usage_error() -> None:
    from actors.distributed.errors import ShareUsageError

    with pytest.raises(ShareUsageError, match="fitness"):
        seal(A, agent(), realm="lab", seq=1, fitness=())
    with pytest.raises(ShareUsageError, match="unknown codec"):
        deflate(b"x", "zlib-d2")
