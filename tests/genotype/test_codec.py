from __future__ import annotations

import copy
import random
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import actors.genotype.codec as codec
from actors.genotype import (
    Agent,
    CodecLimits,
    GenotypeDecodeError,
    InvalidGenotypeError,
    Population,
    Specie,
    Stat,
    Trace,
    decode_agent,
    decode_record,
    encode_agent,
    encode_record,
    fingerprint_digest,
    mutate,
)
from tests.genotype.conftest import seed_agent


def grown(seed: int = 7, gens: int = 6) -> Agent:
    rng = random.Random(seed)
    agent = seed_agent(seed, neural_pfns=("none", "hebbian_w", "neuromodulation"))
    for _ in range(gens):
        agent = mutate(agent, rng)
    return agent


AGENT = grown()
DATA = encode_agent(AGENT)


def doc() -> dict[str, Any]:
    return copy.deepcopy(msgpack.unpackb(DATA, raw=False))


def pack(d: Any) -> bytes:
    return msgpack.packb(d, use_bin_type=True)


def test_round_trip_identity() -> None:
    back = decode_agent(DATA)
    assert back == AGENT
    assert encode_agent(back) == DATA


def test_other_records_round_trip() -> None:
    stat = Stat("m", "e-0000000000000001", 3.0, 0.5, 1.0, 0.1, 2.0, 0.0, None, 0.3, 40, 2, None)
    pop = Population(
        "p-0000000000000001", specie_ids=("e-0000000000000001",), trace=Trace(((stat,),))
    )
    specie = Specie("e-0000000000000001", pop.id, fingerprint_digest(AGENT), AGENT.constraint)
    for record in (pop, specie, AGENT.fingerprint):
        data = encode_record(record)
        assert decode_record(data) == record
        assert encode_record(decode_record(data)) == data


def test_fingerprint_digest_ignores_ids() -> None:
    from actors.genotype import clone_agent

    assert fingerprint_digest(clone_agent(AGENT, random.Random(3))) == fingerprint_digest(AGENT)
    assert fingerprint_digest(grown(8)) != fingerprint_digest(AGENT)


def test_encode_refuses_an_invalid_agent() -> None:
    import dataclasses

    broken = dataclasses.replace(AGENT, neurons=AGENT.neurons[1:])
    with pytest.raises(InvalidGenotypeError):
        encode_agent(broken)


def _first_neuron_with_neuron_input(d: dict[str, Any]) -> dict[str, Any]:
    ids = {n["id"] for n in d["body"]["neurons"]}
    return next(n for n in d["body"]["neurons"] if any(i[0] in ids for i in n["inputs"]))


def _corruptions() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []

    def case(name: str, fn: Any) -> None:
        d = doc()
        fn(d)
        cases.append((name, d))

    case(
        "dangling input",
        lambda d: d["body"]["neurons"][0]["inputs"][0].__setitem__(0, "n-" + "0" * 16),
    )
    case("dangling output", lambda d: d["body"]["neurons"][0]["outputs"].append("a-" + "f" * 16))
    case("one-sided link", lambda d: d["body"]["sensors"][0]["fanout_ids"].pop())
    case("weight count", lambda d: d["body"]["neurons"][0]["inputs"][0][1].pop())
    case(
        "nan weight",
        lambda d: d["body"]["neurons"][0]["inputs"][0][1][0].__setitem__(0, float("nan")),
    )
    case("inf layer", lambda d: d["body"]["neurons"][0].__setitem__("layer", float("inf")))
    case("int weight", lambda d: d["body"]["neurons"][0]["inputs"][0][1][0].__setitem__(0, 1))
    case("layer out of range", lambda d: d["body"]["neurons"][0].__setitem__("layer", 1.5))
    case("unknown af", lambda d: d["body"]["neurons"][0].__setitem__("af", "rm -rf"))
    case("unknown key", lambda d: d["body"].__setitem__("extra", 1))
    case("missing key", lambda d: d["body"].pop("heredity_type"))
    case("bad id", lambda d: d["body"].__setitem__("id", "agent-1"))
    case(
        "ro_ids wrong",
        lambda d: _first_neuron_with_neuron_input(d)["ro_ids"].append(
            d["body"]["neurons"][0]["id"]
        ),
    )
    case("pf params shape", lambda d: d["body"]["neurons"][0]["pf_params"].append(0.5))
    case("version", lambda d: d.__setitem__("version", 99))
    case("schema", lambda d: d.__setitem__("schema", "other"))
    case("kind", lambda d: d.__setitem__("kind", "specie"))
    case(
        "constraint", lambda d: d["body"]["constraint"].__setitem__("connection_architecture", "x")
    )
    case(
        "ff violated",
        lambda d: d["body"]["constraint"].__setitem__("connection_architecture", "feedforward"),
    )
    case("not a map", lambda d: d.__setitem__("body", [1, 2]))
    return cases


@pytest.mark.parametrize(("name", "bad"), _corruptions(), ids=[c[0] for c in _corruptions()])
def test_corrupt_documents_raise_decode_error(name: str, bad: Any) -> None:
    with pytest.raises(GenotypeDecodeError):
        decode_agent(pack(bad))


def test_fixture_has_recurrent_links_so_the_feedforward_case_bites() -> None:
    assert any(n.ro_ids for n in AGENT.neurons)


def test_non_canonical_encodings_rejected() -> None:
    d = doc()
    body = d["body"]
    d["body"] = dict(reversed(list(body.items())))  # same content, other key order
    with pytest.raises(GenotypeDecodeError, match="keys"):
        decode_agent(pack(d))
    # a float32 where float64 is canonical decodes to the same value but other bytes
    alt = msgpack.packb(msgpack.unpackb(DATA), use_single_float=True)
    with pytest.raises(GenotypeDecodeError):
        decode_agent(alt)
    with pytest.raises(GenotypeDecodeError, match="canonical"):
        decode_agent(DATA[:1] + DATA[1:].replace(b"\xa6schema", b"\xd9\x06schema", 1))


def test_limits() -> None:
    n, links = AGENT.size()
    with pytest.raises(GenotypeDecodeError):
        decode_agent(DATA, CodecLimits(max_bytes=len(DATA) - 1))
    with pytest.raises(GenotypeDecodeError):
        decode_agent(DATA, CodecLimits(max_neurons=n - 1))
    with pytest.raises(GenotypeDecodeError):
        decode_agent(DATA, CodecLimits(max_links=links - 1))
    with pytest.raises(GenotypeDecodeError):
        decode_agent(DATA, CodecLimits(max_history=len(AGENT.evo_hist) - 1))
    assert (
        decode_agent(DATA, CodecLimits(max_bytes=len(DATA), max_neurons=n, max_links=links))
        == AGENT
    )


def test_migration_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(codec, "_MIGRATIONS", {})
    d = doc()
    d["version"] = 1
    d["body"]["old_name"] = d["body"].pop("heredity_type")
    data = pack(d)
    with pytest.raises(GenotypeDecodeError, match="migration"):
        decode_agent(data)

    def upgrade(body: dict[str, Any]) -> dict[str, Any]:
        new = {k: v for k, v in body.items() if k != "old_name"}
        keys = list(doc()["body"])
        new["heredity_type"] = body["old_name"]
        return {k: new[k] for k in keys}

    codec.register_migration("agent", 1, upgrade)
    assert decode_agent(data) == AGENT
    with pytest.raises(ValueError):
        codec.register_migration("agent", 2, upgrade)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    with pytest.raises(GenotypeDecodeError):
        decode_agent(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, len(DATA) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 3),
)
def test_mutated_bytes_only_raise_decode_error(edits: list[tuple[int, int]], mode: int) -> None:
    data = bytearray(DATA)
    for pos, value in edits:
        if mode == 0:
            data[pos] = value
        elif mode == 1:
            data[pos] ^= 1 << (value % 8)
        elif mode == 2:
            data.insert(pos, value)
        else:
            del data[pos:]
            break
    try:
        agent = decode_agent(bytes(data))
    except GenotypeDecodeError:
        return
    assert encode_agent(agent) == bytes(data)  # accepted only if it is canonical and valid


def test_truncations_and_types() -> None:
    for cut in range(0, len(DATA), max(1, len(DATA) // 97)):
        with pytest.raises(GenotypeDecodeError):
            decode_agent(DATA[:cut])
    with pytest.raises(GenotypeDecodeError):
        decode_agent("text")  # type: ignore[arg-type]
    with pytest.raises(GenotypeDecodeError):
        decode_agent(pack([1] * 10))
    with pytest.raises(GenotypeDecodeError):
        decode_agent(msgpack.packb(msgpack.ExtType(1, b"x")))


def _paths(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _paths(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _paths(v, out)
    return out


N_PATHS = len(_paths(doc(), []))
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, N_PATHS - 1), VALUES), min_size=1, max_size=4))
def test_structured_corruption_only_raises_decode_error(edits: list[tuple[int, Any]]) -> None:
    """Replace random nodes of a valid document by arbitrary values: decoding either
    raises GenotypeDecodeError or yields a valid agent that re-encodes to the same bytes."""
    d = doc()
    for index, value in edits:
        paths = _paths(d, [])
        container, key = paths[index % len(paths)]
        container[key] = value
    try:
        data = pack(d)
    except (OverflowError, ValueError, TypeError):
        return  # not representable in msgpack at all
    try:
        agent = decode_agent(data)
    except GenotypeDecodeError:
        return
    assert encode_agent(agent) == data


def test_a_migration_for_no_schema_step_is_the_packages_error() -> None:
    from actors.genotype.errors import GenotypeError, GenotypeUsageError

    with pytest.raises(GenotypeUsageError, match="no schema step") as info:
        codec.register_migration("nothing", 1, lambda body: body)
    assert isinstance(info.value, GenotypeError) and isinstance(info.value, ValueError)
