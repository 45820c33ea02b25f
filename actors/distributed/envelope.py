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
  compressed as ``codec`` says; ``raw_size`` its length and ``genotype_hash`` its SHA-256.
* ``codec`` is ``"zlib-d1"`` (the default) or ``"zlib"``. ``"zlib"`` is a plain zlib stream
  (``zlib.compress``). ``"zlib-d1"`` is a zlib stream with the preset dictionary
  ``zdict_v1.bin`` (:data:`ZDICT_V1`, about 10 KB: key names, the default constraint map,
  mutation operator lists and the framing every genotype repeats, built by
  :mod:`actors.distributed.zdict_build`). It saves 0.8-0.9 KB a genotype: a small DPNV
  champion (3.2 KB raw) compresses to about 0.4 KB instead of 1.2 KB. The dictionary is
  fixed for good: the module checks its SHA-256 against :data:`ZDICT_V1_SHA256` at import,
  and a different dictionary needs a new codec name. A body must be what its codec says: a
  stream that names a dictionary under ``"zlib"``, or none or another one under
  ``"zlib-d1"``, is rejected.
* ``signature`` is Ed25519 over ``b"megabrain-champion/1\\0" + realm id + b"\\0"`` + the
  canonical bytes of every other field: an envelope signed for one realm never verifies in
  another, and changing any byte breaks it.

:func:`decode_envelope` checks everything that needs no genotype decoding (size, canonical
form, schema, version and codec, field types and bounds, origin = hash of the key,
signature); :func:`open_genotype` decompresses with a hard cap (never an unbounded
decompress), checks the hash and decodes the genotype with limits. Both raise only
:class:`~actors.distributed.errors.EnvelopeError` on bad input, with the rejection reason.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import msgpack

from actors.distributed.errors import EnvelopeError, ShareUsageError
from actors.genotype import Agent, CodecLimits, GenotypeDecodeError, decode_agent, encode_agent
from mesh.identity import ED25519, CryptoSuite, NodeKey, node_id_of, realm_id

__all__ = [
    "CODEC",
    "CODECS",
    "CODEC_ZLIB",
    "CODEC_ZLIB_D1",
    "SCHEMA",
    "VERSION",
    "ZDICT_V1",
    "ZDICT_V1_SHA256",
    "ChampionEnvelope",
    "EnvelopeLimits",
    "check_dictionary",
    "decode_envelope",
    "deflate",
    "inflate",
    "open_genotype",
    "seal",
]

SCHEMA = "megabrain.champion"
VERSION = 1
DOMAIN = b"megabrain-champion/1\x00"
_FIELDS = 19

CODEC_ZLIB = "zlib"
CODEC_ZLIB_D1 = "zlib-d1"
#: The codec :func:`seal` uses unless told otherwise.
CODEC = CODEC_ZLIB_D1
#: SHA-256 of ``zdict_v1.bin``, the dictionary of ``zlib-d1``. Never change either.
ZDICT_V1_SHA256 = "aabc3a4b92a3d42cc814315488b84ba7db78e6a5c9e7728e50661406ef562e67"


def check_dictionary(data: bytes, sha256: str, name: str) -> bytes:
    """``data`` if its SHA-256 is ``sha256``; ``RuntimeError`` otherwise (a pinned
    dictionary was edited: the codec that names it would no longer read what others send)."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise RuntimeError(f"{name} has SHA-256 {digest}, expected {sha256}: it must not change")
    return data


#: The preset dictionary of ``zlib-d1`` (checked at import).
ZDICT_V1 = check_dictionary(
    resources.files("actors.distributed").joinpath("zdict_v1.bin").read_bytes(),
    ZDICT_V1_SHA256,
    "zdict_v1.bin",
)
#: Codec name -> preset dictionary (``None``: plain zlib).
_DICTIONARIES: dict[str, bytes | None] = {CODEC_ZLIB: None, CODEC_ZLIB_D1: ZDICT_V1}
#: Codec name -> the zlib header's dictionary id (Adler-32 of the dictionary, big-endian).
_DICT_IDS = {c: zlib.adler32(d).to_bytes(4, "big") for c, d in _DICTIONARIES.items() if d}
CODECS = tuple(_DICTIONARIES)


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
    codec: str
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
            self.evaluations, self.solved, self.sent_at, self.genotype_hash, self.codec,
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
            "codec": self.codec,
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
    codec: str = CODEC,
    crypto: CryptoSuite = ED25519,
) -> ChampionEnvelope:
    """Sign and compress ``agent`` as a champion of ``realm`` with ``codec`` (one of
    :data:`CODECS`; this node's own output: misuse raises :class:`ShareUsageError`)."""
    if not fitness or not all(math.isfinite(f) for f in fitness):
        raise ShareUsageError("fitness must be a non-empty vector of finite numbers")
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
        codec=codec,
        raw_size=len(raw),
        body=deflate(raw, codec, level),
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
    if type(codec) is not str or codec not in _DICTIONARIES:
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
        codec=codec,
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


def deflate(raw: bytes, codec: str = CODEC, level: int = 9) -> bytes:
    """``raw`` compressed with ``codec`` (:class:`ShareUsageError` if unknown)."""
    if codec not in CODECS:
        raise ShareUsageError(f"unknown codec {codec!r} (known: {', '.join(CODECS)})")
    zdict = _DICTIONARIES[codec]
    if zdict is None:
        return zlib.compress(raw, level)
    c = zlib.compressobj(level, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return c.compress(raw) + c.flush()


def inflate(body: bytes, cap: int, codec: str = CODEC_ZLIB) -> bytes:
    """Decompress ``body`` of ``codec`` (default plain zlib) producing at most ``cap`` bytes;
    ``EnvelopeError`` if the stream would produce more (``oversized``), is not one complete
    zlib stream, or its header names a preset dictionary other than the codec's (none for
    ``"zlib"``)."""
    if type(codec) is not str or codec not in _DICTIONARIES:
        raise EnvelopeError("schema", f"unknown codec {str(codec)[:20]!r}")
    zdict = _DICTIONARIES[codec]
    if len(body) < 2:
        raise EnvelopeError("genotype", "truncated zlib stream")
    if not body[1] & 0x20:  # FDICT: a dictionary id follows the two header bytes
        dict_id = None
    elif len(body) < 6:
        raise EnvelopeError("genotype", "truncated zlib stream")
    else:
        dict_id = body[2:6]
    if dict_id != _DICT_IDS.get(codec):
        raise EnvelopeError("genotype", f"zlib stream not compressed as {codec!r}")
    d = zlib.decompressobj() if zdict is None else zlib.decompressobj(zdict=zdict)
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
    raw = inflate(env.body, min(env.raw_size, limits.max_genotype_bytes), env.codec)
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
