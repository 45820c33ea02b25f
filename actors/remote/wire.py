"""What crosses the mesh between gateways: registered message types encoded with msgpack.

Nothing received is unpickled or executed. A value on the wire is a primitive (None, bool,
int in 64 bits, float, str, bytes, list, tuple, dict with str or int keys), a
:class:`~actors.runtime.remote_ref.RemoteRef`, an :class:`~actors.runtime.messages.Exit`,
or an instance of a frozen dataclass registered with :func:`register_message` under a name.
Decoding builds a registered dataclass by its name with exactly its declared fields, so the
only code a peer can make run is the ``__init__`` (and ``__post_init__`` validation) of a
class this process registered itself. Limits: ``max_bytes`` per encoded value, ``max_depth``
of nesting, ``max_items`` per container. Every failure is one :class:`WireError` with a
``reason``: ``unregistered_type``, ``oversized``, ``too_deep``, ``malformed`` or ``schema``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import msgpack

from actors.runtime.messages import Exit
from actors.runtime.remote_ref import RemoteRef

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "WireError",
    "decode",
    "encode",
    "register_message",
    "registered",
]

#: Default limit of one encoded value (bytes): below the mesh's frame limit.
MAX_BYTES = 1 << 20
#: Default nesting limit (containers and messages).
MAX_DEPTH = 32
#: Most items in one list, tuple or dict.
MAX_ITEMS = 65_536

_EXT_MSG = 1
_EXT_TUPLE = 2
_EXT_REF = 3
_EXT_EXIT = 4
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1

REASONS = ("unregistered_type", "oversized", "too_deep", "malformed", "schema")


class WireError(ValueError):
    """A value that cannot be encoded, or bytes that do not decode to an allowed value."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_BY_NAME: dict[str, type] = {}
_BY_TYPE: dict[type, tuple[str, tuple[str, ...]]] = {}
#: Per class and field: the types a field annotated with a plain type accepts (else None:
#: the class's own ``__post_init__`` is its check).
_CHECKS: dict[type, tuple[tuple[type, ...] | None, ...]] = {}
_SIMPLE: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (float, int),
    str: (str,),
    bytes: (bytes,),
    bool: (bool,),
    list: (list,),
    tuple: (tuple,),
    dict: (dict,),
}


def register_message(name: str | None = None) -> Callable[[type], type]:
    """Class decorator: ``cls`` (a dataclass) may cross the mesh as ``name`` (default: its
    ``module.QualName``). A name is registered once; registering another class under it
    raises ``ValueError``."""

    def deco(cls: type) -> type:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a dataclass")
        key = name or f"{cls.__module__}.{cls.__qualname__}"
        if _BY_NAME.get(key, cls) is not cls:
            raise ValueError(f"message name {key!r} is already registered")
        fields = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        hints = typing.get_type_hints(cls)
        _BY_NAME[key] = cls
        _BY_TYPE[cls] = (key, fields)
        _CHECKS[cls] = tuple(_SIMPLE.get(hints.get(f)) for f in fields)
        return cls

    return deco


def registered() -> dict[str, type]:
    """The registered message names and classes."""
    return dict(_BY_NAME)


# ---------------------------------------------------------------------------- encode
def _plain(value: Any, depth: int, max_depth: int) -> Any:
    """``value`` as msgpack-native data with ExtTypes for tuples, refs, exits and messages."""
    if depth > max_depth:
        raise WireError("too_deep", f"nesting beyond {max_depth}")
    if value is None or isinstance(value, bool | float | str | bytes):
        return value
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise WireError("schema", f"integer {value} is out of 64-bit range")
        return value
    kind = type(value)
    if kind is list:
        return [_plain(v, depth + 1, max_depth) for v in value]
    if kind is tuple:
        inner = [_plain(v, depth + 1, max_depth) for v in value]
        return msgpack.ExtType(_EXT_TUPLE, _pack(inner))
    if kind is dict:
        out = {}
        for k, v in value.items():
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise WireError("schema", f"dict key {k!r} is not a str or int")
            out[k] = _plain(v, depth + 1, max_depth)
        return out
    if kind is RemoteRef:
        return msgpack.ExtType(_EXT_REF, _pack([value.node, value.actor, value.name]))
    if kind is Exit:
        return msgpack.ExtType(_EXT_EXIT, _pack([value.kind, value.reason, value.traceback]))
    entry = _BY_TYPE.get(kind)
    if entry is None:
        raise WireError("unregistered_type", f"{kind.__module__}.{kind.__qualname__}")
    name, fields = entry
    inner = [name, [_plain(getattr(value, f), depth + 1, max_depth) for f in fields]]
    return msgpack.ExtType(_EXT_MSG, _pack(inner))


def _pack(data: Any) -> bytes:
    return msgpack.packb(data, use_bin_type=True)  # type: ignore[no-any-return]


def encode(value: Any, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> bytes:
    """The wire bytes of ``value`` (WireError if it is not allowed or too large)."""
    try:
        data = _pack(_plain(value, 0, max_depth))
    except RecursionError:
        raise WireError("too_deep", "nesting beyond the interpreter's limit") from None
    if len(data) > max_bytes:
        raise WireError("oversized", f"{len(data)} bytes > {max_bytes}")
    return data


# ---------------------------------------------------------------------------- decode
class _Decoder:
    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth

    def unpack(self, data: bytes, depth: int) -> Any:
        if depth > self.max_depth:
            raise WireError("too_deep", f"nesting beyond {self.max_depth}")
        try:
            raw = msgpack.unpackb(
                data, raw=False, strict_map_key=False, use_list=True,
                max_array_len=MAX_ITEMS, max_map_len=MAX_ITEMS,
                ext_hook=msgpack.ExtType, max_ext_len=len(data),
            )  # fmt: skip
        except WireError:
            raise
        except RecursionError:
            raise WireError("too_deep", "nesting beyond the interpreter's limit") from None
        except Exception as exc:  # msgpack raises several types on bad input
            raise WireError("malformed", f"{type(exc).__name__}: {exc}") from None
        return self.value(raw, depth)

    def value(self, raw: Any, depth: int) -> Any:
        if depth > self.max_depth:
            raise WireError("too_deep", f"nesting beyond {self.max_depth}")
        if raw is None or isinstance(raw, bool | int | float | str | bytes):
            return raw
        if isinstance(raw, list):
            return [self.value(v, depth + 1) for v in raw]
        if isinstance(raw, dict):
            out = {}
            for k, v in raw.items():
                if not isinstance(k, str | int) or isinstance(k, bool):
                    raise WireError("schema", f"dict key of type {type(k).__name__}")
                out[k] = self.value(v, depth + 1)
            return out
        if isinstance(raw, msgpack.ExtType):
            return self.ext(raw, depth)
        raise WireError("malformed", f"unexpected {type(raw).__name__}")

    def ext(self, raw: msgpack.ExtType, depth: int) -> Any:
        inner = self.unpack(raw.data, depth + 1)
        if raw.code == _EXT_TUPLE:
            if not isinstance(inner, list):
                raise WireError("malformed", "a tuple is not an array")
            return tuple(inner)
        if not isinstance(inner, list):
            raise WireError("malformed", f"extension {raw.code} is not an array")
        try:
            if raw.code == _EXT_REF:
                node, actor, name = inner
                return RemoteRef(node, actor, name)
            if raw.code == _EXT_EXIT:
                kind, reason, trace = inner
                if not isinstance(reason, str) or not isinstance(trace, str):
                    raise WireError("schema", "an exit's reason and traceback are text")
                return Exit(kind, reason, trace)
        except WireError:
            raise
        except Exception as exc:  # wrong arity, or the class's own validation refused it
            raise WireError("schema", f"extension {raw.code}: {exc}") from None
        if raw.code != _EXT_MSG:
            raise WireError("malformed", f"unknown extension {raw.code}")
        if len(inner) != 2 or not isinstance(inner[0], str) or not isinstance(inner[1], list):
            raise WireError("malformed", "a message is [name, [fields]]")
        name, values = inner
        cls = _BY_NAME.get(name)
        if cls is None:
            raise WireError("unregistered_type", name[:200])
        fields = _BY_TYPE[cls][1]
        if len(values) != len(fields):
            raise WireError("schema", f"{name} has {len(fields)} fields, got {len(values)}")
        for field, v, ok in zip(fields, values, _CHECKS[cls], strict=True):
            if ok is not None and (
                not isinstance(v, ok)
                or (bool not in ok and v is True)
                or (bool not in ok and v is False)
            ):
                raise WireError("schema", f"{name}.{field}: {type(v).__name__}")
        try:
            return cls(**dict(zip(fields, values, strict=True)))
        except Exception as exc:  # the class's own validation refused the values
            raise WireError("schema", f"{name}: {type(exc).__name__}: {exc}") from None


def decode(data: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The value encoded in ``data`` (WireError for anything not allowed)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WireError("malformed", f"expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise WireError("oversized", f"{len(data)} bytes > {max_bytes}")
    return _Decoder(max_depth).unpack(bytes(data), 0)
