"""The validation pipeline: each rejection reason, counters, trust, dedup (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from actors.distributed.config import MeshSettings
from actors.distributed.envelope import signed_bytes
from actors.distributed.intake import REASONS, Admission, Intake, Rejection
from tests.distributed.helpers import envelope, key

ME, A, B = key(9), key(1), key(2)


def _intake(**changes: object) -> Intake:
    s = MeshSettings(realm="lab", peer_rate=100.0, adopt_rate=100.0, adopt_burst=100)
    return Intake(dataclasses.replace(s, **changes), ME.node_id, "xor")


def _admit(intake: Intake, data: bytes, publisher: bytes = A.node_id, now: float = 0.0):
    return intake.receive(data, publisher, "lab", now)


def test_valid_envelope_is_admitted_then_accepted() -> None:
    intake = _intake()
    res = _admit(intake, envelope(A, fitness=0.5).to_bytes())
    assert isinstance(res, Admission) and res.envelope.origin == A.node_id
    assert intake.settle(res, measured=0.5) is None
    assert intake.snapshot() == {
        "received": 1, "accepted": 1, "rejected": 0, "rejected_by_reason": {}
    }  # fmt: skip
    assert intake.score(A.node_id) > 0


def test_fitness_within_tolerance_is_accepted() -> None:
    intake = _intake(fitness_tolerance=0.0, fitness_relative_tolerance=0.01)
    res = _admit(intake, envelope(A, fitness=100.0).to_bytes())
    assert isinstance(res, Admission)
    assert intake.settle(res, measured=99.5) is None


def test_lying_publisher_is_rejected_and_loses_trust_until_distrusted() -> None:
    intake = _intake(trust_penalty=1.0, distrust_below=-1.5)
    for seed in (1, 2):
        res = _admit(intake, envelope(A, seed=seed, fitness=50.0).to_bytes())
        assert isinstance(res, Admission)
        rej = intake.settle(res, measured=0.3)
        assert isinstance(rej, Rejection) and rej.reason == "fitness"
    assert intake.score(A.node_id) == -2.0
    res = _admit(intake, envelope(A, seed=3).to_bytes())
    assert isinstance(res, Rejection) and res.reason == "distrusted"
    assert intake.snapshot()["rejected_by_reason"] == {"distrusted": 1, "fitness": 2}
    # another publisher is unaffected
    assert isinstance(_admit(intake, envelope(B, seed=4).to_bytes(), B.node_id), Admission)


def test_nan_measurement_is_a_lie() -> None:
    intake = _intake()
    res = _admit(intake, envelope(A).to_bytes())
    assert isinstance(res, Admission)
    assert intake.settle(res, float("nan")) is not None


def _reason(intake: Intake, data: bytes, publisher: bytes = A.node_id, realm: str = "lab"):
    res = intake.receive(data, publisher, realm, 0.0)
    assert isinstance(res, Rejection), res
    return res.reason


def test_each_reason() -> None:
    intake = _intake(max_envelope_bytes=5000)
    good = envelope(A).to_bytes()
    assert _reason(intake, good[:-1] + bytes([good[-1] ^ 1])) == "signature"
    assert _reason(intake, b"\x93\x01\x02\x03") == "schema"
    assert _reason(intake, b"\xc1") == "malformed"
    assert _reason(intake, b"\x00" * 6000) == "oversized"
    assert _reason(intake, good, publisher=B.node_id) == "forged"  # replayed by another node
    assert _reason(intake, envelope(A, realm="elsewhere").to_bytes(), realm="elsewhere") == "realm"
    assert _reason(intake, envelope(A, realm="elsewhere").to_bytes()) == "realm"
    assert _reason(intake, envelope(ME).to_bytes(), ME.node_id) == "own"  # not counted
    assert _reason(intake, envelope(ME).to_bytes(), B.node_id) == "forged"
    assert _reason(intake, envelope(A, morph="dpnv").to_bytes()) == "morphology"
    assert isinstance(intake.receive(good, A.node_id, "lab", 0.0), Admission)
    assert _reason(intake, good) == "duplicate"
    snap = intake.snapshot()
    assert set(snap["rejected_by_reason"]) <= set(REASONS)
    assert snap["rejected"] == 10 and snap["received"] == 11  # 'own' is counted nowhere


def test_forged_envelope_signed_by_another_key() -> None:
    env = envelope(A)
    forged = dataclasses.replace(env, public_key=B.public_key)
    forged = dataclasses.replace(
        forged, signature=B.sign(signed_bytes("lab", forged.unsigned_wire()))
    )
    assert _reason(_intake(), forged.to_bytes()) == "forged"


def test_subscribed_realms() -> None:
    intake = _intake(realms_subscribed=("lab", "guild"))
    res = intake.receive(envelope(A, realm="guild").to_bytes(), A.node_id, "guild", 0.0)
    assert isinstance(res, Admission)


def test_our_own_publications_are_remembered() -> None:
    intake = _intake()
    env = envelope(A)
    intake.remember(env.genotype_hash)
    assert _reason(intake, env.to_bytes()) == "duplicate"


def test_rate_limits_per_publisher_and_for_adoption() -> None:
    intake = _intake(peer_rate=1.0, adopt_rate=100.0)
    reasons = [type(_admit(intake, envelope(A, seed=s).to_bytes())).__name__ for s in range(1, 5)]
    assert reasons == ["Admission", "Admission", "Rejection", "Rejection"]  # burst 2
    assert isinstance(_admit(intake, envelope(A, seed=9).to_bytes(), now=1.0), Admission)
    intake = _intake(adopt_rate=0.1, adopt_burst=1)
    assert isinstance(_admit(intake, envelope(A, seed=1).to_bytes()), Admission)
    rej = _admit(intake, envelope(B, seed=2).to_bytes(), B.node_id)
    assert isinstance(rej, Rejection) and rej.reason == "rate_limited"
    # a rate-limited genotype is not marked as seen: it may come again later
    assert isinstance(_admit(intake, envelope(B, seed=2).to_bytes(), B.node_id, 20.0), Admission)


@pytest.mark.parametrize("junk", [None, 3, "text", b""])
def test_non_bytes_payloads(junk: object) -> None:
    res = _intake().receive(junk, A.node_id, "lab", 0.0)
    assert isinstance(res, Rejection) and res.reason == "malformed"


def test_fetched_envelopes_already_known_are_skipped_uncounted() -> None:
    intake = _intake()
    env = envelope(A)
    assert isinstance(_admit(intake, env.to_bytes()), Admission)
    res = intake.receive(env.to_bytes(), A.node_id, "lab", 1.0, fetched=True)
    assert isinstance(res, Rejection) and res.reason == "duplicate"
    assert intake.snapshot()["received"] == 1 and intake.snapshot()["rejected"] == 0
    # a fetched envelope not seen before goes through the whole pipeline
    fresh = envelope(B, seed=5)
    assert isinstance(
        intake.receive(fresh.to_bytes(), B.node_id, "lab", 1.0, fetched=True), Admission
    )
    assert _reason(intake, fresh.to_bytes(), B.node_id) == "duplicate"  # a publication counts


def test_adopt_only_better_than_the_local_champion() -> None:
    intake = _intake(adopt_only_better=True)
    intake.local_best = 0.5
    assert _reason(intake, envelope(A, seed=1, fitness=0.5).to_bytes()) == "not_better"
    assert isinstance(_admit(intake, envelope(A, seed=2, fitness=0.6).to_bytes()), Admission)
    # not marked as seen: it may be taken later, e.g. by a node whose champion is worse
    intake.local_best = 0.1
    assert isinstance(_admit(intake, envelope(A, seed=1, fitness=0.5).to_bytes()), Admission)
