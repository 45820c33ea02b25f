"""Wire rules of the local control endpoint (:mod:`mesh.control`): limits, line framing, the
JSON depth check, request validation and answer encoding. Pure: no sockets, no clocks.

A request is one line of at most ``max_line_bytes`` (``first_line_bytes`` on a connection that
has not yet sent a line with the valid token), nested at most ``max_depth`` deep (checked on
the bytes before parsing, so no parser recursion), holding one JSON object whose fields are
those its ``op`` declares in :data:`OPS`, each checked for type and range. Anything else is a
:class:`ControlError` with one clear message, which the server sends as
``{"ok": false, "error": MESSAGE}``. ``NaN`` and ``Infinity`` are not JSON and are refused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mesh.errors import MeshError
from mesh.wire import DEFAULT_LIMITS

__all__ = [
    "OPS", "ControlConfig", "ControlError", "LineBuffer", "LineTooLong", "Request",
    "answer_line", "check_depth", "decode_answer", "error_line", "loads", "parse_request",
]  # fmt: skip

MiB = 1024 * 1024


class ControlError(MeshError):
    """A control request failed: it was malformed, or the node reported an error."""


class LineTooLong(ControlError):
    """A line exceeds its byte limit (its newline did not come within the limit)."""


@dataclass(frozen=True, slots=True)
class ControlConfig:
    """Limits of the control endpoint. Without the token a local user can hold at most
    ``max_unauthenticated`` connections of ``first_line_bytes`` each; the bounds of the module
    docstring of :mod:`mesh.control` follow from these fields."""

    #: Most open connections (with or without a valid token); a newcomer beyond is refused.
    max_connections: int = 32
    #: Most connections that have not yet sent a line with the valid token; a newcomer beyond
    #: evicts the oldest of them that has sent nothing yet, else the oldest (told so, nothing
    #: of it executed).
    max_unauthenticated: int = 16
    #: Connections the kernel queues until the endpoint accepts them (the listen backlog; the
    #: system caps it, ``net.core.somaxconn`` on Linux). Beyond it the kernel drops connection
    #: requests and a client waits for its resend (>= 1 s), or believes itself connected while
    #: the endpoint never sees it: a flood of that many connections at once still queues whole.
    #: The endpoint accepts at most 100 of them per turn of its event loop.
    backlog: int = 1024
    #: Longest line before a valid token (the first line of a connection), without its newline.
    first_line_bytes: int = 64 * 1024
    #: Longest line after a valid token: an advertisement of the largest DHT record value
    #: (1 MiB: 2 MiB as hex) with its names and metadata.
    max_line_bytes: int = 3 * MiB
    #: Longest answer line the server sends and the client reads (a larger answer becomes an
    #: error answer); room for a call value or an event of a whole 4 MiB frame as hex.
    max_answer_bytes: int = 16 * MiB
    #: Deepest nesting of arrays and objects in a request or an answer.
    max_depth: int = 16
    #: Seconds from connecting to the end of the first line.
    first_line_timeout: float = 5.0
    #: Seconds from an answer to the end of the next line.
    idle_timeout: float = 60.0
    #: Seconds an answer may wait for a client that does not read it (then the connection is cut).
    write_timeout: float = 30.0
    #: Seconds a connection closed after an error answer (a line too long, no token, evicted)
    #: keeps reading and discarding, so that a client still sending reads the answer.
    linger: float = 2.0
    #: Longest ``call`` timeout, in seconds.
    max_call_timeout: float = 300.0
    #: Longest ``events`` wait, in seconds.
    max_wait: float = 60.0
    #: Most events a topic's queue holds, and most one ``events`` answer returns.
    max_events: int = 10_000
    #: Most bytes (as JSON) all event queues hold together; beyond, the oldest events of the
    #: largest queue are dropped.
    max_event_bytes: int = 16 * MiB


DEFAULT_CONFIG = ControlConfig()


class LineBuffer:
    """Bytes of one connection, split at ``\\n``. It holds what was fed and not yet taken: the
    caller takes a line (or learns it is too long) after each feed, so that is at most
    ``limit`` bytes plus one feed."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scanned = 0  # no newline in _buf[:_scanned]

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next_line(self, limit: int) -> bytes | None:
        """The next complete line (without its newline), None if there is none yet;
        LineTooLong if more than ``limit`` bytes came without a newline."""
        i = self._buf.find(b"\n", self._scanned, limit + 1)
        if i < 0:
            self._scanned = min(len(self._buf), limit + 1)
            if len(self._buf) > limit:
                raise LineTooLong(f"line longer than {limit} bytes")
            return None
        line = bytes(self._buf[:i])
        del self._buf[: i + 1]
        self._scanned = 0
        return line


# JSON strings (also an unterminated one, to the end): possessive, so each byte is looked at
# once and a match starting at a quote never fails.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.?+[^"\\]*+)*+(?:"|\Z)', re.DOTALL)
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def check_depth(line: bytes, max_depth: int) -> None:
    """ControlError if arrays and objects in ``line`` nest deeper than ``max_depth``.

    Brackets inside strings are dropped, the rest kept; each round deletes every innermost
    ``[]`` pair, so a pair left after ``max_depth`` rounds lies deeper, and a bracket left
    without a pair is not JSON (an unclosed ``[[[...`` is refused before the parser recurses
    into it). Linear in the length (``max_depth`` + 1 passes of ``bytes.replace``)."""
    brackets = _STRING.sub(b"", line).translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(max_depth):
        if b"[]" not in brackets:
            break
        brackets = brackets.replace(b"[]", b"")
    else:
        if b"[]" in brackets:
            raise ControlError(f"JSON nested deeper than {max_depth}")
    if brackets:
        raise ControlError("invalid JSON: unbalanced brackets")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(line: bytes, max_depth: int) -> Any:
    """Parse one JSON line after the depth check; ControlError on anything else."""
    check_depth(line, max_depth)
    try:
        return json.loads(line, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise ControlError(f"invalid JSON: {exc}") from None


# ---------------------------------------------------------------------- request fields

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_MAX_TEXT = DEFAULT_LIMITS.max_text
_MAX_META = DEFAULT_LIMITS.max_collection - 1  # the node adds its address ("addr")

Check = Callable[[str, Any, ControlConfig], Any]


def _text(name: str, v: Any, cfg: ControlConfig) -> str:
    if type(v) is not str or len(v) > _MAX_TEXT:
        raise ControlError(f"field {name!r}: expected a string of at most {_MAX_TEXT} characters")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ControlError(f"field {name!r}: not valid Unicode text") from None
    return v


def _hex(name: str, v: Any, cfg: ControlConfig) -> bytes:
    if type(v) is not str or _HEX.fullmatch(v) is None:
        raise ControlError(f"field {name!r}: expected hex digits (0-9, a-f), two per byte")
    return bytes.fromhex(v)


def _node_id(name: str, v: Any, cfg: ControlConfig) -> bytes:
    b = _hex(name, v, cfg)
    if len(b) != 32:
        raise ControlError(f"field {name!r}: expected a node id (32 bytes, 64 hex digits)")
    return b


def _number(name: str, v: Any, lo: float, hi: float, lo_open: bool) -> float:
    t = type(v)  # a bool is not a number here; NaN fails every comparison
    ok = (t is int or t is float) and (lo < v if lo_open else lo <= v) and v <= hi
    if not ok:
        bound = "(" if lo_open else "["
        raise ControlError(f"field {name!r}: expected a number in {bound}{lo:g}, {hi:g}]")
    return float(v)


def _timeout(name: str, v: Any, cfg: ControlConfig) -> float:
    return _number(name, v, 0.0, cfg.max_call_timeout, lo_open=True)


def _wait(name: str, v: Any, cfg: ControlConfig) -> float:
    return _number(name, v, 0.0, cfg.max_wait, lo_open=False)


def _count(lo: int, hi: Callable[[ControlConfig], int]) -> Check:
    def check(name: str, v: Any, cfg: ControlConfig) -> int:
        if type(v) is not int or not lo <= v <= hi(cfg):
            raise ControlError(f"field {name!r}: expected an integer in [{lo}, {hi(cfg)}]")
        return v

    return check


def _scalar(name: str, v: Any) -> Any:
    t = type(v)
    if t is bool or (t is float and math.isfinite(v)) or (t is int and -(1 << 63) <= v < 1 << 64):
        return v
    if t is str:
        return _text(name, v, DEFAULT_CONFIG)
    raise ControlError(
        f"field {name!r}: expected a string, a boolean, a finite number or a 64-bit integer"
    )


def _meta(name: str, v: Any, cfg: ControlConfig) -> dict[str, Any]:
    if type(v) is not dict or len(v) > _MAX_META:
        raise ControlError(f"field {name!r}: expected an object of at most {_MAX_META} entries")
    for k, x in v.items():
        _text(f"{name}.{k}"[:64], k, cfg)
        if k == "addr":
            raise ControlError(f"field {name!r}: 'addr' is set by the node")
        _scalar(f"{name}.{k}"[:64], x)
    return dict(v)


def _kind(name: str, v: Any, cfg: ControlConfig) -> str:
    if v not in ("echo", "node_id"):
        raise ControlError(f"field {name!r}: expected 'echo' or 'node_id' (built-in procedures)")
    return str(v)


@dataclass(frozen=True, slots=True)
class Field:
    """One request field: its check, and its default when absent (``required``: none)."""

    check: Check
    required: bool = False
    default: Any = None


_REALM = Field(_text)  # every op takes an optional realm (default: the node's first)
_NEED_TEXT = Field(_text, required=True)
_NEED_HEX = Field(_hex, required=True)

#: Fields of each op (beyond ``op`` and ``token``); see the table in :mod:`mesh.control`.
OPS: dict[str, dict[str, Field]] = {
    "auth": {"realm": _REALM},
    "status": {"realm": _REALM},
    "stats": {"realm": _REALM},
    "peers": {
        "realm": _REALM,
        "offset": Field(_count(0, lambda c: 1 << 31), default=0),
        "limit": Field(_count(1, lambda c: 1 << 31)),
    },
    "find": {"problem": _NEED_TEXT, "realm": _REALM},
    "advertise": {
        "problem": _NEED_TEXT,
        "payload": _NEED_HEX,
        "meta": Field(_meta, default={}),
        "realm": _REALM,
    },
    "call": {
        "procedure": _NEED_TEXT,
        "args": Field(_hex, default=b""),
        "timeout": Field(_timeout, default=10.0),
        "realm": _REALM,
    },
    "register": {"procedure": _NEED_TEXT, "kind": Field(_kind, default="echo"), "realm": _REALM},
    "subscribe": {"topic": _NEED_TEXT, "realm": _REALM},
    "publish": {"topic": _NEED_TEXT, "payload": _NEED_HEX, "realm": _REALM},
    "events": {
        "topic": _NEED_TEXT,
        "max": Field(_count(1, lambda c: c.max_events), default=1000),
        "wait": Field(_wait, default=0.0),
        "realm": _REALM,
    },
    "lookup": {"target": Field(_node_id, required=True), "realm": _REALM},
}


@dataclass(frozen=True, slots=True)
class Request:
    """A checked request: its op and every declared field (defaults filled in)."""

    op: str
    fields: Mapping[str, Any]


def parse_request(obj: Mapping[str, Any], cfg: ControlConfig) -> Request:
    """Check the op and fields of a parsed request object (its token already checked)."""
    op = obj.get("op")
    if type(op) is not str or op not in OPS:
        shown = repr(op)[:64]
        raise ControlError(f"unknown op {shown} (ops: {', '.join(sorted(OPS))})")
    spec = OPS[op]
    unknown = sorted(k for k in obj if k not in spec and k not in ("op", "token"))
    if unknown:
        names = ", ".join(repr(k[:64]) for k in unknown[:8])
        raise ControlError(f"unknown field(s) {names} for op {op!r}")
    fields: dict[str, Any] = {}
    for name, f in spec.items():
        if name in obj:
            fields[name] = f.check(name, obj[name], cfg)
        elif f.required:
            raise ControlError(f"missing field {name!r} for op {op!r}")
        else:
            fields[name] = f.default
    return Request(op, fields)


# ---------------------------------------------------------------------- answers


def error_line(message: str, *, retry: bool = False) -> bytes:
    """An error answer; ``retry``: nothing of the request was executed, it may be sent again."""
    answer: dict[str, Any] = {"ok": False, "error": message}
    if retry:
        answer["retry"] = True
    return json.dumps(answer).encode() + b"\n"


def answer_line(result: Any, cfg: ControlConfig, hint: str = "") -> bytes:
    """The answer line for ``result``, or an error answer if it would exceed the answer limit
    (``hint``: how to ask for less)."""
    line = json.dumps({"ok": True, "result": result}, allow_nan=False).encode() + b"\n"
    if len(line) - 1 > cfg.max_answer_bytes:
        return error_line(
            f"answer of {len(line) - 1} bytes exceeds the {cfg.max_answer_bytes}-byte answer "
            f"limit{hint}"
        )
    return line


def decode_answer(line: bytes, cfg: ControlConfig) -> dict[str, Any]:
    """Check one answer line (client side); ControlError if it is not a well-formed answer."""
    try:
        answer = loads(line, cfg.max_depth)
    except ControlError as exc:
        raise ControlError(f"malformed answer from the control endpoint: {exc}") from None
    ok = answer.get("ok") if type(answer) is dict else None
    if ok is True and "result" in answer:
        return answer
    if ok is False and type(answer.get("error")) is str:
        return answer
    raise ControlError("malformed answer from the control endpoint: not an answer object")
