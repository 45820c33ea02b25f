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


# ---------------------------------------------------------------------- relays and fresh keys
def _default_intake(**changes: object) -> Intake:
    """The intake at the shipped defaults (adopt_rate 0.5, adopt_burst 4, peer_rate 1)."""
    return Intake(dataclasses.replace(MeshSettings(realm="lab"), **changes), ME.node_id, "xor")


def _earn_trust(intake: Intake, k, seed: int = 50, now: float = 0.0) -> None:
    res = intake.receive(envelope(k, seed=seed).to_bytes(), k.node_id, "lab", now)
    assert isinstance(res, Admission)
    assert intake.settle(res, measured=0.5) is None
    assert intake.known(k.node_id)


def test_relayed_liars_with_fresh_keys_cannot_starve_a_known_publisher() -> None:
    """The attack: connected peers relay lying champions signed by fresh keys that never
    connected; they used up the one adoption burst, so the next honest champion was refused,
    and no liar ever reached `distrusted` (each key lied once)."""
    intake = _default_intake()
    honest, relays = A, (key(66), key(67))
    _earn_trust(intake, honest, now=-10.0)  # its adoption long ago: the budgets are full
    fresh = iter(key(100 + i) for i in range(20))

    def lie(relay, now: float) -> Admission | Rejection:
        k = next(fresh)
        env = envelope(k, seed=int.from_bytes(k.node_id[:2], "big"), fitness=50.0)
        return intake.receive(env.to_bytes(), k.node_id, "lab", now, via=relay.node_id)

    for relay in relays:  # four lies at once: the adoption burst of unknown publishers
        for _ in range(2):
            res = lie(relay, 1.0)
            assert isinstance(res, Admission) and res.relay == relay.node_id
            rej = intake.settle(res, measured=0.3)
            assert rej is not None and rej.reason == "fitness"
    newcomer = key(120)  # an unknown publisher now waits for that budget ...
    late = intake.receive(envelope(newcomer, seed=30).to_bytes(), newcomer.node_id, "lab", 1.0)
    assert isinstance(late, Rejection) and late.reason == "rate_limited"
    # ... but the known publisher's champion has a budget of its own
    res = intake.receive(envelope(honest, seed=31).to_bytes(), honest.node_id, "lab", 1.0)
    assert isinstance(res, Admission)
    # every lie cost its relay: one more each and they are distrusted, whatever key signs
    for relay in relays:
        res = lie(relay, 20.0)
        assert isinstance(res, Admission)
        intake.settle(res, measured=0.3)
        assert intake.score(relay.node_id) < intake.settings.distrust_below
        res = lie(relay, 40.0)
        assert isinstance(res, Rejection) and res.reason == "distrusted"
        assert res.detail == "relay distrusted"
    # the fresh keys are no better off than before they lied: unknown, not known-good
    assert not any(intake.known(k) for k in intake.trust if k != honest.node_id)


def test_each_relay_is_rate_limited_over_all_the_keys_it_relays() -> None:
    intake = _intake(relay_rate=1.0)  # burst 2
    relay = key(67)
    reasons = []
    for i in range(5):
        k = key(130 + i)
        res = intake.receive(
            envelope(k, seed=40 + i).to_bytes(), k.node_id, "lab", 0.0, via=relay.node_id
        )
        reasons.append(res.reason if isinstance(res, Rejection) else "admitted")
    assert reasons == ["admitted", "admitted", "rate_limited", "rate_limited", "rate_limited"]
    # another relay, and direct publications, have their own limits
    other = key(68)
    k = key(140)
    res = intake.receive(envelope(k, seed=60).to_bytes(), k.node_id, "lab", 0.0, via=other.node_id)
    assert isinstance(res, Admission)
    assert isinstance(_admit(intake, envelope(B, seed=61).to_bytes(), B.node_id), Admission)


def test_a_direct_liar_is_penalised_once_an_honest_relay_gains() -> None:
    intake = _intake(trust_penalty=1.0, relay_penalty=1.0)
    res = intake.receive(envelope(A, seed=1, fitness=9.0).to_bytes(), A.node_id, "lab", 0.0,
                         via=A.node_id)  # fmt: skip
    assert isinstance(res, Admission) and res.relay == b""
    intake.settle(res, measured=0.1)
    assert intake.score(A.node_id) == -1.0  # publisher and relay are one: one penalty
    relay, k = key(69), key(150)
    res = intake.receive(envelope(k, seed=2).to_bytes(), k.node_id, "lab", 0.0, via=relay.node_id)
    assert isinstance(res, Admission)
    assert intake.settle(res, measured=0.5) is None
    assert intake.known(k.node_id) and intake.score(relay.node_id) > 0


def test_a_lie_penalises_the_relay_as_set() -> None:
    intake = _intake(trust_penalty=0.5, relay_penalty=2.0)
    relay, k = key(70), key(151)
    res = intake.receive(envelope(k, seed=3, fitness=9.0).to_bytes(), k.node_id, "lab", 0.0,
                         via=relay.node_id)  # fmt: skip
    assert isinstance(res, Admission)
    intake.settle(res, measured=0.1)
    assert intake.score(k.node_id) == -0.5 and intake.score(relay.node_id) == -2.0


def test_unknown_publishers_budget_is_its_own_setting() -> None:
    intake = _intake(adopt_rate=100.0, adopt_burst=100, adopt_unknown_rate=0.1,
                     adopt_unknown_burst=1)  # fmt: skip
    _earn_trust(intake, A)  # spends the one unknown token
    fresh = key(160)
    rej = intake.receive(envelope(fresh, seed=5).to_bytes(), fresh.node_id, "lab", 0.0)
    assert isinstance(rej, Rejection) and rej.reason == "rate_limited"
    for seed in range(6, 12):  # the known publisher is not held by it
        assert isinstance(_admit(intake, envelope(A, seed=seed).to_bytes()), Admission)


def test_forgetting_scores_keeps_known_and_distrusted_ones(monkeypatch) -> None:
    import actors.distributed.intake as intake_mod

    monkeypatch.setattr(intake_mod, "MAX_PUBLISHERS", 4)
    intake = _intake()
    intake.trust = {b"good": 0.5, b"bad": -3.0}
    for i in range(5):  # fresh keys that lied once each: the churn an attacker can make
        intake._adjust(bytes([i]) * 4, -1.0)
    assert intake.trust[b"good"] == 0.5 and intake.trust[b"bad"] == -3.0
    assert len(intake.trust) == 4
