"""The control endpoint's wire rules (mesh/control_wire.py), without sockets.

Invariant (as h11's fuzzer states it): any line is a checked request or a ControlError --
never another exception, never a RecursionError -- fed whole or one byte at a time.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.control_wire import (
    OPS,
    ControlConfig,
    ControlError,
    LineBuffer,
    LineTooLong,
    answer_line,
    check_depth,
    decode_answer,
    loads,
    parse_request,
)

CFG = ControlConfig()


def depth_by_scan(line: bytes) -> int:
    """Reference: the deepest bracket nesting outside strings, one byte at a time."""
    depth = best = 0
    in_str = esc = False
    for c in line:
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c in b"[{":
            depth += 1
            best = max(best, depth)
        elif c in b"]}":
            depth -= 1
    return best


def request(op: str, **fields: object) -> dict:
    return {"op": op, "token": "t", **fields}


# ---------------------------------------------------------------------- lines


def test_lines_whole_and_byte_by_byte() -> None:
    data = b'{"a": 1}\n\n{"b": [2]}\nrest'
    for chunks in ([data], [bytes([c]) for c in data]):
        buf, lines = LineBuffer(), []
        for chunk in chunks:
            buf.feed(chunk)
            while (line := buf.next_line(16)) is not None:
                lines.append(line)
        assert lines == [b'{"a": 1}', b"", b'{"b": [2]}']
        assert len(buf) == 4


def test_a_line_over_the_limit_is_too_long_whole_or_trickled() -> None:
    buf = LineBuffer()
    buf.feed(b"x" * 16 + b"\n")
    assert buf.next_line(16) == b"x" * 16  # exactly the limit is fine
    buf.feed(b"y" * 17 + b"\n")
    with pytest.raises(LineTooLong):
        buf.next_line(16)
    trickle = LineBuffer()
    with pytest.raises(LineTooLong):
        for _ in range(17):
            trickle.feed(b"z")
            assert trickle.next_line(16) is None
    assert len(trickle) == 17  # held at most the limit plus one feed


def test_a_larger_limit_after_the_token_applies_to_the_held_bytes() -> None:
    buf = LineBuffer()
    buf.feed(b"a" * 10)
    assert buf.next_line(16) is None
    buf.feed(b"b" * 10 + b"\n")
    with pytest.raises(LineTooLong):
        buf.next_line(16)
    again = LineBuffer()
    again.feed(b"a" * 10)
    assert again.next_line(16) is None
    again.feed(b"b" * 10 + b"\n")
    assert again.next_line(64) == b"a" * 10 + b"b" * 10


# ---------------------------------------------------------------------- depth


@pytest.mark.parametrize("n", [16, 17, 100_000])
def test_depth_is_checked_without_recursion(n: int) -> None:
    line = b"[" * n + b"]" * n
    if n <= 16:
        assert loads(line, 16) is not None
    else:
        with pytest.raises(ControlError, match="nested deeper than 16"):
            loads(line, 16)
    unclosed = b'{"a":' * n
    with pytest.raises(ControlError):
        loads(unclosed, 16)


def test_brackets_in_strings_do_not_count_and_escapes_are_followed() -> None:
    deep_text = json.dumps({"s": "[" * 1000 + '\\"[{' + "}" * 50}).encode()
    assert loads(deep_text, 2) == json.loads(deep_text)
    tricky = b'{"a": "\\\\", "b": [[["x"]]]}'  # an escaped backslash ends before the quote
    assert depth_by_scan(tricky) == 4
    with pytest.raises(ControlError):
        check_depth(tricky, 3)
    check_depth(tricky, 4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n'),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3)
    ),
    max_leaves=40,
)


@given(json_values, st.integers(min_value=0, max_value=12))
def test_depth_check_agrees_with_a_byte_scan(value: object, limit: int) -> None:
    line = json.dumps(value).encode()
    deep = depth_by_scan(line) > limit
    try:
        check_depth(line, limit)
    except ControlError:
        assert deep
    else:
        assert not deep


@given(st.binary(max_size=300) | st.text(alphabet='[]{}"\\:,0a ').map(str.encode))
@settings(max_examples=400)
def test_any_line_is_a_request_or_a_control_error(line: bytes) -> None:
    for chunks in ([line + b"\n"], [bytes([c]) for c in line + b"\n"]):
        buf = LineBuffer()
        for chunk in chunks:
            buf.feed(chunk)
            got = buf.next_line(CFG.first_line_bytes)
            if got is None:
                continue
            try:
                obj = loads(got, CFG.max_depth)
                if isinstance(obj, dict):
                    parse_request(obj, CFG)
            except ControlError:
                pass


# ---------------------------------------------------------------------- fields

BAD = [
    ("not json", b"{nope", "invalid JSON"),
    ("NaN literal", b'{"op": "call", "timeout": NaN}', "NaN is not JSON"),
    ("Infinity literal", b'{"op": "call", "timeout": Infinity}', "Infinity is not JSON"),
    ("huge int", b'{"op": "events", "max": 1' + b"0" * 5000 + b"}", "invalid JSON"),
    ("bad utf-8", b'{"op": "\xff"}', "invalid JSON"),
]


@pytest.mark.parametrize(("what", "line", "message"), BAD, ids=[b[0] for b in BAD])
def test_unparseable_lines(what: str, line: bytes, message: str) -> None:
    with pytest.raises(ControlError, match=message):
        loads(line, CFG.max_depth)


INVALID = [
    (request("nope"), "unknown op 'nope'"),
    (request(["status"]), "unknown op"),
    (request("status", colour="red"), "unknown field"),
    (request("find"), "missing field 'problem'"),
    (request("find", problem=7), "field 'problem': expected a string"),
    (request("find", problem="x" * 1025), "field 'problem': expected a string"),
    (request("find", problem="\ud800"), "not valid Unicode"),
    (request("find", problem="p", realm=1), "field 'realm'"),
    (request("publish", topic="t", payload="zz"), "field 'payload': expected hex"),
    (request("publish", topic="t", payload="abc"), "field 'payload': expected hex"),
    (request("publish", topic="t", payload="0 0"), "field 'payload': expected hex"),
    (request("publish", topic="t", payload=12), "field 'payload': expected hex"),
    (request("call", procedure="p", args="xyz"), "field 'args': expected hex"),
    (
        request("call", procedure="p", timeout=1e308),
        r"field 'timeout': expected a number in \(0, 300\]",
    ),
    (request("call", procedure="p", timeout=0), "field 'timeout'"),
    (request("call", procedure="p", timeout=-1), "field 'timeout'"),
    (request("call", procedure="p", timeout=math.inf), "field 'timeout'"),
    (request("call", procedure="p", timeout=math.nan), "field 'timeout'"),
    (request("call", procedure="p", timeout="5"), "field 'timeout'"),
    (request("call", procedure="p", timeout=True), "field 'timeout'"),
    (request("events", topic="t", wait=61), r"field 'wait': expected a number in \[0, 60\]"),
    (request("events", topic="t", wait=-0.5), "field 'wait'"),
    (request("events", topic="t", max=0), r"field 'max': expected an integer in \[1, 10000\]"),
    (request("events", topic="t", max=2.5), "field 'max'"),
    (request("register", procedure="p", kind="exec"), "field 'kind'"),
    (request("lookup", target="ab"), "field 'target': expected a node id"),
    (request("advertise", problem="p", payload="", meta=[1]), "field 'meta'"),
    (request("advertise", problem="p", payload="", meta={"addr": "x"}), "'addr' is set by"),
    (request("advertise", problem="p", payload="", meta={"a": [1]}), "field 'meta.a'"),
    (request("advertise", problem="p", payload="", meta={"a": None}), "field 'meta.a'"),
    (request("advertise", problem="p", payload="", meta={"a": 1 << 64}), "field 'meta.a'"),
    (request("peers", offset=-1), "field 'offset'"),
    (request("peers", limit=0), "field 'limit'"),
]


@pytest.mark.parametrize(("req", "message"), INVALID, ids=[m for _, m in INVALID])
def test_each_malformed_field_is_one_clear_error(req: dict, message: str) -> None:
    with pytest.raises(ControlError, match=message):
        parse_request(req, CFG)


def test_valid_requests_get_their_defaults() -> None:
    r = parse_request(request("call", procedure="p", args="00ff"), CFG)
    assert r.fields == {"procedure": "p", "args": b"\x00\xff", "timeout": 10.0, "realm": None}
    r = parse_request(request("advertise", problem="p", payload="AB", meta={"f": 1.5}), CFG)
    assert r.fields["payload"] == b"\xab" and r.fields["meta"] == {"f": 1.5}
    r = parse_request(request("events", topic="t", wait=60, max=10_000), CFG)
    assert (r.fields["wait"], r.fields["max"]) == (60.0, 10_000)
    assert set(OPS) >= {"auth", "status", "peers", "call", "events", "lookup"}


# ---------------------------------------------------------------------- answers


def test_an_answer_over_the_limit_becomes_an_error() -> None:
    small = ControlConfig(max_answer_bytes=100)
    assert json.loads(answer_line("x" * 50, small)) == {"ok": True, "result": "x" * 50}
    over = json.loads(answer_line("x" * 100, small, "; ask for less"))
    assert over["ok"] is False
    assert "exceeds the 100-byte answer limit; ask for less" in over["error"]


@pytest.mark.parametrize(
    "line",
    [b"", b"garbage", b"[1]", b'{"ok": true}', b'{"ok": false}', b'{"ok": "yes", "result": 1}',
     b'{"ok": true, "result": ' + b"[" * 100 + b"]" * 100 + b"}", b'{"ok": true, "result": NaN}'],
)  # fmt: skip
def test_the_client_refuses_garbage_answers(line: bytes) -> None:
    with pytest.raises(ControlError, match="malformed answer"):
        decode_answer(line, CFG)


def test_the_client_accepts_answers() -> None:
    assert decode_answer(b'{"ok": true, "result": null}', CFG)["result"] is None
    assert decode_answer(b'{"ok": false, "error": "e", "retry": true}', CFG)["retry"] is True
