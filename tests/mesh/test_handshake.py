import random

import pytest

from mesh.errors import AuthError, FrameError, MeshUsageError
from mesh.frames import Challenge, Proof, decode, encode
from mesh.handshake import Handshake
from mesh.identity import ED25519, NodeKey, realm_id
from mesh.realms import Realm, issue_certificate

RNG = random.Random(3)
A = NodeKey.generate(RNG)
B = NodeKey.generate(RNG)
AUTH = NodeKey.generate(RNG)


def run(a_realms, b_realms, now=0.0, a_key=A, b_key=B):
    rng = random.Random(1)
    ha = Handshake(a_key, a_realms, ED25519, rng, initiator=True, address="a")
    hb = Handshake(b_key, b_realms, ED25519, rng, initiator=False, address="b")
    m2 = hb.receive(ha.initiate(), now)
    m3 = ha.receive(m2, now)
    assert hb.receive(m3, now) is None
    return ha.peer, hb.peer


def test_mutual_authentication_and_shared_open_realms():
    pa, pb = run([Realm("x"), Realm("y")], [Realm("y"), Realm("z")])
    assert pa.node_id == B.node_id and pb.node_id == A.node_id
    assert pa.realms == pb.realms == frozenset({realm_id("y")})
    assert pa.address == "b" and pb.address == "a"


def test_closed_realm_needs_a_valid_certificate():
    closed = "lab"
    cert_a = issue_certificate(AUTH, closed, A.node_id, expires=100.0)
    cert_b = issue_certificate(AUTH, closed, B.node_id, expires=100.0)
    ra = Realm(closed, AUTH.public_key, cert_a)
    rb = Realm(closed, AUTH.public_key, cert_b)
    pa, pb = run([ra], [rb], now=10.0)
    assert pa.realms == pb.realms == frozenset({realm_id(closed)})
    # expired certificates prove nothing
    pa, pb = run([ra], [rb], now=100.0)
    assert pa.realms == pb.realms == frozenset()
    # a certificate issued for someone else, or by another authority, proves nothing
    stolen = Realm(closed, AUTH.public_key, cert_b)
    _, pb = run([stolen], [rb], now=10.0)
    assert pb.realms == frozenset()
    rogue = NodeKey.generate(RNG)
    fake = Realm(closed, AUTH.public_key, issue_certificate(rogue, closed, A.node_id, 100.0))
    _, pb = run([fake], [rb], now=10.0)
    assert pb.realms == frozenset()
    with pytest.raises(MeshUsageError):
        Realm(closed, AUTH.public_key).claim()


def test_tampered_or_forged_handshake_frames_fail():
    rng = random.Random(2)
    ha = Handshake(A, [Realm("x")], ED25519, rng, initiator=True)
    hb = Handshake(B, [Realm("x")], ED25519, rng, initiator=False)
    m2 = hb.receive(ha.initiate(), 0.0)
    ch = decode(m2)
    assert isinstance(ch, Challenge)
    # an impostor claims B's key but cannot sign with it
    forged = Challenge(b"", ch.public_key, ch.nonce, ch.address, ch.claims, bytes(64))
    with pytest.raises(AuthError):
        ha.receive(encode(forged), 0.0)
    # a proof over another transcript fails on the responder
    ha2 = Handshake(A, [Realm("x")], ED25519, rng, initiator=True)
    hb2 = Handshake(B, [Realm("x")], ED25519, rng, initiator=False)
    hb2.receive(ha2.initiate(), 0.0)
    with pytest.raises(AuthError):
        hb2.receive(encode(Proof(b"", A.sign(b"other"))), 0.0)
    with pytest.raises(FrameError):
        hb2.receive(b"\xc1garbage", 0.0)


def test_replayed_proof_from_an_old_session_fails():
    rng = random.Random(4)
    ha = Handshake(A, [Realm("x")], ED25519, rng, initiator=True)
    hb = Handshake(B, [Realm("x")], ED25519, rng, initiator=False)
    hello = ha.initiate()
    old_proof = ha.receive(hb.receive(hello, 0.0), 0.0)
    # B starts a new session with a fresh nonce; the attacker replays the hello and old proof
    hb_new = Handshake(B, [Realm("x")], ED25519, rng, initiator=False)
    hb_new.receive(hello, 0.0)
    with pytest.raises(AuthError):
        hb_new.receive(old_proof, 0.0)


def test_wrong_order_is_an_auth_error():
    rng = random.Random(5)
    hb = Handshake(B, [], ED25519, rng, initiator=False)
    with pytest.raises(AuthError):
        hb.receive(encode(Proof(b"", bytes(64))), 0.0)
    ha = Handshake(A, [], ED25519, rng, initiator=True)
    ha.initiate()
    with pytest.raises(AuthError):
        ha.receive(encode(Proof(b"", bytes(64))), 0.0)


def test_own_key_is_refused():
    with pytest.raises(AuthError):
        run([Realm("x")], [Realm("x")], b_key=A)


def _bound(a_binding, b_binding):
    rng = random.Random(1)
    ha = Handshake(A, [Realm("x")], ED25519, rng, initiator=True, binding=a_binding)
    hb = Handshake(B, [Realm("x")], ED25519, rng, initiator=False, binding=b_binding)
    return ha, hb


def test_same_binding_on_both_sides_authenticates():
    ha, hb = _bound(b"\x11" * 32, b"\x11" * 32)
    m3 = ha.receive(hb.receive(ha.initiate(), 0.0), 0.0)
    assert hb.receive(m3, 0.0) is None
    assert ha.peer.node_id == B.node_id and hb.peer.node_id == A.node_id


@pytest.mark.parametrize(
    ("a_binding", "b_binding"),
    [(b"\x11" * 32, b"\x22" * 32), (b"", b"\x22" * 32), (b"\x11" * 32, b"")],
)
def test_a_relay_seeing_another_binding_fails_at_the_challenge(a_binding, b_binding):
    # the initiator observed a different context (e.g. a relay's certificate): it refuses the
    # responder's Challenge before sending any proof
    ha, hb = _bound(a_binding, b_binding)
    m2 = hb.receive(ha.initiate(), 0.0)
    with pytest.raises(AuthError):
        ha.receive(m2, 0.0)


def test_a_proof_made_under_another_binding_is_refused_by_the_responder():
    # a relay between A and B runs its own handshake half with each; it can forward A's
    # Hello and B's Challenge but A signs its proof over the binding A sees (the relay's)
    binding_a, binding_b = b"\x11" * 32, b"\x22" * 32
    rng = random.Random(1)
    hb = Handshake(B, [Realm("x")], ED25519, rng, initiator=False, binding=binding_b)
    ha = Handshake(A, [Realm("x")], ED25519, rng, initiator=True, binding=binding_a)
    hello = ha.initiate()
    challenge = hb.receive(hello, 0.0)
    # pretend A accepted the challenge (e.g. the relay re-signed nothing: it cannot), and
    # sign A's proof over binding_a directly
    from mesh.signing import domain

    msg = domain("handshake-proof+bound", b"") + bytes([32]) + binding_a + hello + challenge
    forged = encode(Proof(b"", ED25519.sign(A, msg)))
    with pytest.raises(AuthError):
        hb.receive(forged, 0.0)
    assert hb.peer is None
    # control: the same proof over the responder's binding is what it accepts
    msg = domain("handshake-proof+bound", b"") + bytes([32]) + binding_b + hello + challenge
    assert hb.receive(encode(Proof(b"", ED25519.sign(A, msg))), 0.0) is None
    assert hb.peer is not None and hb.peer.node_id == A.node_id


def test_binding_length_is_bounded():
    with pytest.raises(MeshUsageError):
        Handshake(A, [], ED25519, random.Random(1), initiator=True, binding=b"x" * 256)


def test_boot_ids_are_exchanged_and_signed():
    rng = random.Random(1)
    ha = Handshake(A, [Realm("x")], ED25519, rng, initiator=True)
    hb = Handshake(B, [Realm("x")], ED25519, rng, initiator=False)
    ha.bind_connection(b"\x11" * 32, b"a" * 16)
    hb.bind_connection(b"\x11" * 32, b"b" * 16)
    hello = ha.initiate()
    m2 = hb.receive(hello, 0.0)
    # a relay swapping the responder's boot id breaks the Challenge's signature
    ch = decode(m2)
    tampered = encode(
        Challenge(b"", ch.public_key, ch.nonce, ch.address, ch.claims, ch.signature, b"z" * 16)
    )
    ha_copy = Handshake(A, [Realm("x")], ED25519, random.Random(1), initiator=True)
    ha_copy.bind_connection(b"\x11" * 32, b"a" * 16)
    assert ha_copy.initiate() == hello  # same nonce: same transcript
    with pytest.raises(AuthError):
        ha_copy.receive(tampered, 0.0)
    m3 = ha.receive(m2, 0.0)
    assert hb.receive(m3, 0.0) is None
    assert ha.peer.boot == b"b" * 16 and hb.peer.boot == b"a" * 16
    with pytest.raises(MeshUsageError):
        ha.bind_connection(b"", b"")  # too late: the handshake has started
