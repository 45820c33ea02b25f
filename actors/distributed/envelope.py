"""The champion envelope: a signed, versioned, compressed genotype with its provenance.

Wire form: a canonical msgpack array (no maps)::

    [schema, version, realm, morphology, origin, public_key, seq, generation, agent_id,
     lineage, fitness, evaluations, solved, sent_at, genotype_hash, codec, raw_size, body,
     signature]

* ``origin`` is the publishing node's id, SHA-256 of ``public_key`` (Ed25519, as the mesh);
  ``seq`` its per-node publication counter; ``generation``, ``agent_id`` and ``lineage``
  (the agent's parent ids) the champion's provenance at its origin; ``fitness`` the claimed
  fitness vector, ``evaluations`` the origin's evaluation count, ``solved`` whether the origin
  found it solves the task; ``sent_at`` the publisher's wall clock (informative: latency).
* ``body`` is the genotype's canonical encoding (:func:`actors.genotype.encode_agent`)
  compressed with zlib; ``raw_size`` its length and ``genotype_hash`` its SHA-256.
* ``signature`` is Ed25519 over ``b"megabrain-champion/1\\0" + realm id + b"\\0"`` + the
  canonical bytes of every other field: an envelope signed for one realm never verifies in
  another, and changing any byte breaks it.

:func:`decode_envelope` checks everything that needs no genotype decoding (size, canonical
form, schema and version, field types and bounds, origin = hash of the key, signature);
:func:`open_genotype` decompresses with a hard cap (never an unbounded decompress), checks
the hash and decodes the genotype with limits. Both raise only
:class:`~actors.distributed.errors.EnvelopeError` on bad input, with the rejection reason.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass, replace
from typing import Any

import msgpack

from actors.distributed.errors import EnvelopeError
from actors.genotype import Agent, CodecLimits, GenotypeDecodeError, decode_agent, encode_agent
from mesh.identity import ED25519, CryptoSuite, NodeKey, node_id_of, realm_id

__all__ = [
    "SCHEMA",
    "VERSION",
    "ChampionEnvelope",
    "EnvelopeLimits",
    "decode_envelope",
    "open_genotype",
    "seal",
]

SCHEMA = "megabrain.champion"
VERSION = 1
DOMAIN = b"megabrain-champion/1\x00"
CODEC = "zlib"
_FIELDS = 19


@dataclass(frozen=True, slots=True)
class EnvelopeLimits:
    """Hard limits on outside envelopes (defaults: :class:`~.config.MeshSettings`)."""

    max_envelope_bytes: int = 262_144
    max_genotype_bytes: int = 1_048_576
    max_neurons: int = 2_000
    max_text: int = 256
    max_lineage: int = 64
    max_fitness: int = 16


@dataclass(frozen=True, slots=True)
class ChampionEnvelope:
    """A decoded, signature-checked envelope (see the module docstring)."""

    realm: str
    morphology: str
    origin: bytes
    public_key: bytes
    seq: int
    generation: int
    agent_id: str
    lineage: tuple[str, ...]
    fitness: tuple[float, ...]
    evaluations: int
    solved: bool
    sent_at: float
    genotype_hash: bytes
    raw_size: int
    body: bytes
    signature: bytes

    @property
    def main_fitness(self) -> float:
        return self.fitness[0]

    def unsigned_wire(self) -> list[Any]:
        return [
            SCHEMA, VERSION, self.realm, self.morphology, self.origin, self.public_key,
            self.seq, self.generation, self.agent_id, list(self.lineage), list(self.fitness),
            self.evaluations, self.solved, self.sent_at, self.genotype_hash, CODEC,
            self.raw_size, self.body,
        ]  # fmt: skip

    def to_bytes(self) -> bytes:
        return _pack([*self.unsigned_wire(), self.signature])

    def provenance(self) -> dict[str, Any]:
        """A JSON-friendly summary (no genotype)."""
        return {
            "origin": self.origin.hex(),
            "realm": self.realm,
            "morphology": self.morphology,
            "seq": self.seq,
            "agent_id": self.agent_id,
            "generation": self.generation,
            "lineage": list(self.lineage),
            "fitness": list(self.fitness),
            "evaluations": self.evaluations,
            "solved": self.solved,
            "sent_at": self.sent_at,
            "genotype_hash": self.genotype_hash.hex(),
            "bytes": self.raw_size,
        }


def _pack(value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


def signed_bytes(realm: str, unsigned_wire: list[Any]) -> bytes:
    return DOMAIN + realm_id(realm) + b"\x00" + _pack(unsigned_wire)


def seal(
    key: NodeKey,
    agent: Agent,
    *,
    realm: str,
    seq: int,
    fitness: tuple[float, ...],
    evaluations: int = 0,
    solved: bool = False,
    sent_at: float = 0.0,
    level: int = 9,
    crypto: CryptoSuite = ED25519,
) -> ChampionEnvelope:
    """Sign and compress ``agent`` as a champion of ``realm`` (this node's own output:
    misuse raises ``ValueError``)."""
    if not fitness or not all(math.isfinite(f) for f in fitness):
        raise ValueError("fitness must be a non-empty vector of finite numbers")
    raw = encode_agent(agent)
    env = ChampionEnvelope(
        realm=realm,
        morphology=agent.morphology.name,
        origin=key.node_id,
        public_key=key.public_key,
        seq=seq,
        generation=agent.generation,
        agent_id=agent.id,
        lineage=tuple(agent.parent_ids),
        fitness=tuple(float(f) for f in fitness),
        evaluations=evaluations,
        solved=solved,
        sent_at=float(sent_at),
        genotype_hash=hashlib.sha256(raw).digest(),
        raw_size=len(raw),
        body=zlib.compress(raw, level),
        signature=b"",
    )
    return replace(env, signature=crypto.sign(key, signed_bytes(realm, env.unsigned_wire())))


def _text(v: Any, name: str, limits: EnvelopeLimits) -> str:
    if type(v) is not str or not v or len(v.encode()) > limits.max_text:
        raise EnvelopeError("malformed", f"{name} is not a short text")
    return v


def _int(v: Any, name: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    if type(v) is not int or not lo <= v <= hi:
        raise EnvelopeError("malformed", f"{name} is not an integer in [{lo}, {hi}]")
    return v


def _bin(v: Any, name: str, size: int | None = None) -> bytes:
    if type(v) is not bytes or (size is not None and len(v) != size):
        raise EnvelopeError("malformed", f"{name} is not {size or 'some'} bytes")
    return v


def _float(v: Any, name: str) -> float:
    if type(v) not in (float, int) or isinstance(v, bool) or not math.isfinite(v):
        raise EnvelopeError("malformed", f"{name} is not a finite number")
    return float(v)


def decode_envelope(
    data: bytes,
    limits: EnvelopeLimits = EnvelopeLimits(),
    crypto: CryptoSuite = ED25519,
) -> ChampionEnvelope:
    """Parse and authenticate an envelope (see the module docstring); ``EnvelopeError``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EnvelopeError("malformed", "not bytes")
    data = bytes(data)
    if len(data) > limits.max_envelope_bytes:
        raise EnvelopeError("oversized", f"{len(data)} > {limits.max_envelope_bytes} bytes")
    try:
        doc = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise EnvelopeError("malformed", f"not msgpack: {exc}") from None
    if type(doc) is not list or len(doc) < 2:
        raise EnvelopeError("malformed", "not an envelope array")
    if doc[0] != SCHEMA:
        raise EnvelopeError("schema", f"unknown schema {str(doc[0])[:40]!r}")
    if doc[1] != VERSION:
        raise EnvelopeError("schema", f"unsupported version {str(doc[1])[:20]!r}")
    if len(doc) != _FIELDS:
        raise EnvelopeError("malformed", f"{len(doc)} fields, expected {_FIELDS}")
    if _pack(doc) != data:
        raise EnvelopeError("malformed", "non-canonical encoding")
    (_, _, realm, morph, origin, pk, seq, gen, agent_id, lineage, fitness, evals, solved,
     sent_at, ghash, codec, raw_size, body, sig) = doc  # fmt: skip
    if type(lineage) is not list or len(lineage) > limits.max_lineage:
        raise EnvelopeError("malformed", "lineage is not a short list")
    if type(fitness) is not list or not 1 <= len(fitness) <= limits.max_fitness:
        raise EnvelopeError("malformed", "fitness is not a short non-empty list")
    if type(solved) is not bool:
        raise EnvelopeError("malformed", "solved is not a boolean")
    if codec != CODEC:
        raise EnvelopeError("schema", f"unknown codec {str(codec)[:20]!r}")
    env = ChampionEnvelope(
        realm=_text(realm, "realm", limits),
        morphology=_text(morph, "morphology", limits),
        origin=_bin(origin, "origin", 32),
        public_key=_bin(pk, "public_key", 32),
        seq=_int(seq, "seq"),
        generation=_int(gen, "generation"),
        agent_id=_text(agent_id, "agent_id", limits),
        lineage=tuple(_text(p, "lineage", limits) for p in lineage),
        fitness=tuple(_float(f, "fitness") for f in fitness),
        evaluations=_int(evals, "evaluations"),
        solved=solved,
        sent_at=_float(sent_at, "sent_at"),
        genotype_hash=_bin(ghash, "genotype_hash", 32),
        raw_size=_int(raw_size, "raw_size", 1, 2**40),
        body=_bin(body, "body"),
        signature=_bin(sig, "signature", 64),
    )
    if env.raw_size > limits.max_genotype_bytes:
        raise EnvelopeError("oversized", f"genotype of {env.raw_size} bytes")
    if node_id_of(env.public_key) != env.origin:
        raise EnvelopeError("forged", "origin is not the hash of the signing key")
    if not crypto.verify(env.public_key, env.signature, signed_bytes(env.realm, doc[:-1])):
        raise EnvelopeError("signature", "bad signature")
    return env


def inflate(body: bytes, cap: int) -> bytes:
    """zlib-decompress ``body`` producing at most ``cap`` bytes; ``EnvelopeError`` if the
    stream would produce more (``oversized``) or is not one complete zlib stream."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(body, cap + 1)
    except zlib.error as exc:
        raise EnvelopeError("genotype", f"bad zlib stream: {exc}") from None
    if len(out) > cap or d.unconsumed_tail:
        raise EnvelopeError("oversized", f"genotype decompresses beyond {cap} bytes")
    if not d.eof or d.unused_data:
        raise EnvelopeError("genotype", "truncated or trailing zlib data")
    return out


def open_genotype(
    env: ChampionEnvelope,
    limits: EnvelopeLimits = EnvelopeLimits(),
) -> Agent:
    """The genotype inside ``env``: decompressed under the cap, hash-checked, decoded with
    limits, and of the envelope's morphology. Raises ``EnvelopeError``."""
    raw = inflate(env.body, min(env.raw_size, limits.max_genotype_bytes))
    if len(raw) != env.raw_size or hashlib.sha256(raw).digest() != env.genotype_hash:
        raise EnvelopeError("genotype", "genotype does not match its hash")
    codec_limits = CodecLimits(max_bytes=limits.max_genotype_bytes, max_neurons=limits.max_neurons)
    try:
        agent = decode_agent(raw, codec_limits)
    except GenotypeDecodeError as exc:
        raise EnvelopeError("genotype", str(exc)[:200]) from None
    if agent.morphology.name != env.morphology:
        raise EnvelopeError("morphology", "genotype is of another morphology")
    if agent.id != env.agent_id:
        raise EnvelopeError("genotype", "agent id differs from the envelope's")
    return agent
