"""Canonical msgpack codec for genotype records, with schema versions and limits.

Every record becomes a *document* of plain values (dicts with ``str`` keys in field order,
lists, ``str``, ``int``, ``float``, ``bool``, ``None``), derived from the dataclass fields
and their type annotations; :class:`~actors.genotype.records.Weight` becomes the positional
array ``[w, dw, lr, params]``. A stored or sent record is the envelope
``{"schema": "megabrain.genotype", "kind": <kind>, "version": <int>, "body": <document>}``.

An agent's ``fingerprint`` is derived, so it is not encoded; decoding recomputes it.

Canonical: the same record always gives the same bytes (maps in field order, floats as
float64, ints in their shortest form), and :func:`decode_agent` accepts only canonical
bytes, so ``encode(decode(b)) == b`` for every accepted ``b``.

Decoding outside bytes checks the size limits, every type, every id reference, vector
lengths, finite floats and every genotype invariant, and raises only
:class:`~actors.genotype.errors.GenotypeDecodeError`.

Older schema versions are upgraded by the functions registered with
:func:`register_migration` before the body is decoded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgpack

from actors.genotype.errors import GenotypeDecodeError, GenotypeUsageError
from actors.genotype.graph import compute_fingerprint, validate_agent
from actors.genotype.records import Agent, Fingerprint, Population, Specie, Weight

__all__ = [
    "DEFAULT_LIMITS",
    "KINDS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "CodecLimits",
    "decode_agent",
    "decode_record",
    "encode_agent",
    "encode_record",
    "envelope",
    "fingerprint_digest",
    "from_document",
    "open_envelope",
    "register_migration",
    "to_document",
]

SCHEMA = "megabrain.genotype"
SCHEMA_VERSION = 1

#: Record kinds an envelope may carry.
KINDS: dict[str, type[Any]] = {
    "agent": Agent,
    "specie": Specie,
    "population": Population,
    "fingerprint": Fingerprint,
}

_INT64 = 2**63
_isfinite = math.isfinite
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CodecLimits:
    """Hard limits applied when decoding outside input.

    * ``max_bytes`` -- size of the encoded record.
    * ``max_neurons`` -- neurons in one agent.
    * ``max_links`` -- links in one agent (see :meth:`Agent.size`).
    * ``max_history`` -- entries of the evolution history.
    """

    max_bytes: int = 32 * 1024 * 1024
    max_neurons: int = 100_000
    max_links: int = 2_000_000
    max_history: int = 1_000_000


DEFAULT_LIMITS = CodecLimits()

# -- document conversion ------------------------------------------------------------------

_Conv = Callable[[Any, str], Any]
_ENCODERS: dict[Any, Callable[[Any], Any]] = {}
_DECODERS: dict[Any, _Conv] = {}


class _Bad(Exception):
    pass


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _encoder(tp: Any) -> Callable[[Any], Any]:
    enc = _ENCODERS.get(tp)
    if enc is None:
        enc = _ENCODERS[tp] = _make_encoder(tp)
    return enc


def _enc_weight(v: Weight) -> list[Any]:
    return [float(v.w), float(v.dw), float(v.lr), [float(p) for p in v.params]]


def _make_encoder(tp: Any) -> Callable[[Any], Any]:
    if tp is Weight:  # fast path for the most numerous record
        return _enc_weight
    if tp is float:
        return float
    if tp in (str, int, bool):
        return lambda v: v
    if _is_dataclass_type(tp):
        hints = typing.get_type_hints(tp)
        derived = getattr(tp, "DERIVED_FIELDS", ())
        fields = [
            (f.name, _encoder(hints[f.name]))
            for f in dataclasses.fields(tp)
            if f.name not in derived
        ]
        if getattr(tp, "ENCODE_AS_ARRAY", False):
            return lambda v: [enc(getattr(v, name)) for name, enc in fields]
        return lambda v: {name: enc(getattr(v, name)) for name, enc in fields}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _encoder(args[0])
            return lambda v: [item(x) for x in v]
        encs = [_encoder(a) for a in args]
        return lambda v: [e(x) for e, x in zip(encs, v, strict=True)]
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            inner = _encoder(non_none[0])
            return lambda v: None if v is None else inner(v)
        if all(a in (str, int, float, bool) for a in non_none):
            return lambda v: v
    raise TypeError(f"no document encoding for {tp!r}")


def _decoder(tp: Any) -> _Conv:
    dec = _DECODERS.get(tp)
    if dec is None:
        dec = _DECODERS[tp] = _make_decoder(tp)
    return dec


def _dec_float(v: Any, path: str) -> float:
    if type(v) is not float or not math.isfinite(v):
        raise _Bad(f"{path}: expected a finite float, got {type(v).__name__}")
    return v


def _dec_int(v: Any, path: str) -> int:
    if type(v) is not int or not -_INT64 <= v < _INT64:
        raise _Bad(f"{path}: expected an int64, got {type(v).__name__}")
    return v


def _dec_str(v: Any, path: str) -> str:
    if type(v) is not str:
        raise _Bad(f"{path}: expected a string, got {type(v).__name__}")
    return v


def _dec_bool(v: Any, path: str) -> bool:
    if type(v) is not bool:
        raise _Bad(f"{path}: expected a bool, got {type(v).__name__}")
    return v


def _dec_scalar(v: Any, path: str) -> Any:
    t = type(v)
    if t is float:
        return _dec_float(v, path)
    if t is int:
        return _dec_int(v, path)
    if t in (str, bool):
        return v
    raise _Bad(f"{path}: expected a scalar, got {t.__name__}")


def _dec_weight(v: Any, path: str) -> Weight:
    """Fast path for the most numerous record: ``[w, dw, lr, [params…]]``."""
    if type(v) is not list or len(v) != 4:
        raise _Bad(f"{path}: expected a weight [w, dw, lr, params]")
    w, dw, lr, params = v
    if type(params) is not list:
        raise _Bad(f"{path}: weight params must be an array")
    for x in (w, dw, lr, *params):
        if type(x) is not float or not _isfinite(x):
            raise _Bad(f"{path}: weight values must be finite floats")
    return Weight(w, dw, lr, tuple(params))


def _make_decoder(tp: Any) -> _Conv:
    simple = {float: _dec_float, int: _dec_int, str: _dec_str, bool: _dec_bool, Weight: _dec_weight}
    if tp in simple:
        return simple[tp]
    if _is_dataclass_type(tp):
        hints = typing.get_type_hints(tp)
        derived = getattr(tp, "DERIVED_FIELDS", ())
        fields = [
            (f.name, _decoder(hints[f.name]))
            for f in dataclasses.fields(tp)
            if f.name not in derived
        ]
        names = [n for n, _ in fields]
        filler = dict.fromkeys(derived)
        if getattr(tp, "ENCODE_AS_ARRAY", False):

            def dec_array(v: Any, path: str) -> Any:
                if type(v) is not list or len(v) != len(fields):
                    raise _Bad(f"{path}: expected a {len(fields)}-element array")
                return tp(*[d(x, f"{path}.{n}") for (n, d), x in zip(fields, v, strict=True)])

            return dec_array

        def dec_map(v: Any, path: str) -> Any:
            if type(v) is not dict or list(v) != names:
                raise _Bad(f"{path}: expected a map with keys {names}")
            return tp(**{n: d(v[n], f"{path}.{n}") for n, d in fields}, **filler)

        return dec_map
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])

            def dec_seq(v: Any, path: str) -> tuple[Any, ...]:
                if type(v) is not list:
                    raise _Bad(f"{path}: expected an array")
                return tuple([item(x, path) for x in v])

            return dec_seq
        decs = [_decoder(a) for a in args]

        def dec_fixed(v: Any, path: str) -> tuple[Any, ...]:
            if type(v) is not list or len(v) != len(decs):
                raise _Bad(f"{path}: expected a {len(decs)}-element array")
            return tuple(d(x, path) for d, x in zip(decs, v, strict=True))

        return dec_fixed
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            inner = _decoder(non_none[0])
            return lambda v, path: None if v is None else inner(v, path)
        if all(a in (str, int, float, bool) for a in non_none):
            return _dec_scalar
    raise TypeError(f"no document decoding for {tp!r}")


def to_document(record: Any) -> Any:
    """The plain document of a record (JSON- and msgpack-compatible)."""
    return _encoder(type(record))(record)


def from_document(doc: Any, cls: type[T]) -> T:
    """Rebuild a record of type ``cls`` from its document, checking every type.

    Raises :class:`GenotypeDecodeError` on any fault (an agent is also run through
    :func:`~actors.genotype.graph.validate_agent`)."""
    try:
        record = _decoder(cls)(doc, cls.__name__)
        if isinstance(record, Agent):
            record = dataclasses.replace(record, fingerprint=compute_fingerprint(record))
            validate_agent(record, values_checked=True)
        return typing.cast(T, record)
    except GenotypeDecodeError:
        raise
    except Exception as exc:  # _Bad, invariant and constructor errors, and anything else
        raise GenotypeDecodeError(str(exc)) from exc


# -- envelopes and migrations -------------------------------------------------------------

_MIGRATIONS: dict[tuple[str, int], Callable[[Any], Any]] = {}


def register_migration(kind: str, from_version: int, upgrade: Callable[[Any], Any]) -> None:
    """Register ``upgrade``, turning a ``kind`` body of ``from_version`` into a body of
    ``from_version + 1``. Decoding applies the chain up to :data:`SCHEMA_VERSION`."""
    if kind not in KINDS or not 1 <= from_version < SCHEMA_VERSION:
        raise GenotypeUsageError(f"no schema step {kind} v{from_version} -> v{from_version + 1}")
    _MIGRATIONS[(kind, from_version)] = upgrade


def envelope(record: Any) -> dict[str, Any]:
    """The versioned envelope document of a record (what is packed or dumped as JSON)."""
    kind = next((k for k, c in KINDS.items() if type(record) is c), None)
    if kind is None:
        raise TypeError(f"cannot encode {type(record).__name__}")
    return {"schema": SCHEMA, "kind": kind, "version": SCHEMA_VERSION, "body": to_document(record)}


def open_envelope(doc: Any, expect: str | None, limits: CodecLimits) -> tuple[Any, bool]:
    """The record inside envelope ``doc`` and whether it was at the current version."""
    try:
        if type(doc) is not dict or list(doc) != ["schema", "kind", "version", "body"]:
            raise _Bad("not a genotype envelope")
        if doc["schema"] != SCHEMA:
            raise _Bad(f"unknown schema {doc['schema']!r}")
        kind = doc["kind"]
        if type(kind) is not str or kind not in KINDS or (expect and kind != expect):
            raise _Bad(f"unexpected record kind {kind!r}")
        version = doc["version"]
        if type(version) is not int or not 1 <= version <= SCHEMA_VERSION:
            raise _Bad(f"unsupported schema version {version!r}")
        body = doc["body"]
        current = version == SCHEMA_VERSION
        while version < SCHEMA_VERSION:
            step = _MIGRATIONS.get((kind, version))
            if step is None:
                raise _Bad(f"no migration for {kind} v{version}")
            body = step(body)
            version += 1
        if kind == "agent":
            _check_agent_limits(body, limits)
    except GenotypeDecodeError:
        raise
    except Exception as exc:  # a migration hook or limit check may fail in any way
        raise GenotypeDecodeError(str(exc)) from exc
    return from_document(body, KINDS[kind]), current


def _check_agent_limits(body: Any, limits: CodecLimits) -> None:
    """Size limits, checked on the raw document before the costly typed decode."""
    if type(body) is not dict:
        raise _Bad("agent body is not a map")
    neurons = body.get("neurons")
    if type(neurons) is not list or len(neurons) > limits.max_neurons:
        raise _Bad(f"agent holds more than {limits.max_neurons} neurons (or none)")
    history = body.get("evo_hist")
    if type(history) is list and len(history) > limits.max_history:
        raise _Bad(f"agent history longer than {limits.max_history}")
    links = 0
    for n in neurons:
        if type(n) is dict:
            for key in ("inputs", "mod_inputs"):
                seq = n.get(key)
                links += len(seq) if type(seq) is list else 0
    for a in body.get("actuators") or ():
        if type(a) is dict and type(a.get("fanin_ids")) is list:
            links += len(a["fanin_ids"])
    if links > limits.max_links:
        raise _Bad(f"agent holds more than {limits.max_links} links")


# -- bytes --------------------------------------------------------------------------------


def _pack(doc: Any) -> bytes:
    return typing.cast(bytes, msgpack.packb(doc, use_bin_type=True))


def encode_record(record: Agent | Specie | Population | Fingerprint) -> bytes:
    """Canonical msgpack bytes of any record kind (an agent is validated first)."""
    if isinstance(record, Agent):
        validate_agent(record)
    return _pack(envelope(record))


def encode_agent(agent: Agent) -> bytes:
    """Canonical msgpack bytes of ``agent``; raises :class:`InvalidGenotypeError` if it
    breaks an invariant (this process never emits an invalid genotype)."""
    return encode_record(agent)


def decode_record(
    data: bytes, kind: str | None = None, limits: CodecLimits = DEFAULT_LIMITS
) -> Any:
    """Decode canonical bytes of any record kind (or of ``kind`` only)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise GenotypeDecodeError("input is not bytes")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise GenotypeDecodeError(f"input is larger than {limits.max_bytes} bytes")
    try:
        doc = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
        )  # msgpack caps every container and string length at len(data)
    except Exception as exc:  # msgpack raises several unrelated types on bad input
        raise GenotypeDecodeError(f"not msgpack: {exc}") from exc
    record, current = open_envelope(doc, kind, limits)
    if current and _pack(doc) != data:
        raise GenotypeDecodeError("non-canonical encoding")
    return record


def decode_agent(data: bytes, limits: CodecLimits = DEFAULT_LIMITS) -> Agent:
    """Decode and fully validate an agent; raises only :class:`GenotypeDecodeError`."""
    return typing.cast(Agent, decode_record(data, "agent", limits))


def fingerprint_digest(fp: Fingerprint | Agent) -> str:
    """SHA-256 hex digest of the canonical encoding of a fingerprint (or an agent's);
    equal fingerprints, equal digests -- a compact key for speciation."""
    if isinstance(fp, Agent):
        fp = fp.fingerprint
    return hashlib.sha256(_pack(to_document(fp))).hexdigest()
