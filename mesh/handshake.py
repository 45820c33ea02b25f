"""Peer authentication: the hello / challenge / proof exchange, sans-I/O.

The transport (QUIC in the next layer, the simulator here) runs one :class:`Handshake` per new
connection on its first stream and feeds it whole frames::

    initiator                                   responder
    Hello(pk_i, nonce_i, addr_i, claims_i)  -->
                                            <--  Challenge(pk_r, nonce_r, addr_r, claims_r,
                                                           sig_r(domain + hello + challenge*))
    Proof(sig_i(domain + hello + challenge)) -->

``challenge*`` is the challenge's canonical encoding with an all-zero signature field. Each
side thus signs a transcript holding the other side's fresh nonce, so a signature proves
possession of the key whose SHA-256 is the claimed node id, and binds the realm claims.

Optional *binding*: both sides may pass the same ``binding`` bytes (context of the connection
both observe, e.g. the TLS server certificate's fingerprint). Both signatures then also cover
it (under distinct purposes ``handshake-challenge+bound`` / ``handshake-proof+bound``, length
prefixed), so each proof binds both node ids (the public keys in the transcript), both nonces
and the binding: a relay whose two sides see different bindings cannot complete the handshake
-- the initiator already refuses the Challenge. Sides passing different bindings (or one
none) fail with :class:`~mesh.errors.AuthError`. On success
:attr:`Handshake.peer` is a :class:`PeerInfo` whose ``realms`` are the realms the peer *proved*
(claimed, shared with us, and certified if closed); the transport hands it to
:meth:`mesh.core.MeshCore.peer_authenticated`. Any failure raises :class:`~mesh.errors.AuthError`
(or :class:`~mesh.errors.FrameError` for malformed bytes) and the transport drops the peer.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from mesh.errors import AuthError, MeshUsageError
from mesh.frames import Challenge, Hello, Limits, Proof, RealmClaim, decode, encode
from mesh.identity import CryptoSuite, NodeKey, node_id_of
from mesh.realms import Realm
from mesh.signing import domain

__all__ = ["Handshake", "PeerInfo", "verify_proof"]


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """An authenticated peer: its node id, public key, address, proven realms and the boot id
    it announced (signed with the transcript; empty if it sent none)."""

    node_id: bytes
    public_key: bytes
    address: str
    realms: frozenset[bytes]
    boot: bytes = b""


def _challenge_unsigned(ch: Challenge) -> bytes:
    return encode(
        Challenge(ch.realm, ch.public_key, ch.nonce, ch.address, ch.claims, bytes(64), ch.boot)
    )


def verify_proof(
    crypto: CryptoSuite, public_key: bytes, purpose: str, transcript: bytes, signature: bytes
) -> bool:
    """True if ``signature`` by ``public_key`` covers ``domain(purpose) + transcript``."""
    return crypto.verify(public_key, signature, domain(purpose, b"") + transcript)


class Handshake:
    """One side of the three-frame authentication exchange (see module docstring)."""

    def __init__(
        self,
        key: NodeKey,
        realms: Iterable[Realm],
        crypto: CryptoSuite,
        rng: random.Random,
        *,
        initiator: bool,
        address: str = "",
        limits: Limits | None = None,
        binding: bytes = b"",
        boot: bytes = b"",
    ) -> None:
        """``binding``: optional connection context both sides sign (see the module docstring);
        at most 255 bytes. ``boot``: this process's boot id (at most 32 bytes), sent in our
        Hello / Challenge and so signed; the peer's is :attr:`PeerInfo.boot`."""
        if len(boot) > 32:
            raise MeshUsageError("a boot id is at most 32 bytes")
        self._boot = bytes(boot)
        if len(binding) > 255:
            raise MeshUsageError("a handshake binding is at most 255 bytes")
        self._binding = bytes(binding)
        self._key = key
        self._realms = {r.id: r for r in realms}
        self._crypto = crypto
        self._nonce = rng.randbytes(32)
        self._initiator = initiator
        self._address = address
        self._limits = limits or Limits()
        self._hello: bytes | None = None
        self._challenge: bytes | None = None
        self._peer_frame: Hello | Challenge | None = None
        self.peer: PeerInfo | None = None

    def bind_connection(self, binding: bytes, boot: bytes = b"") -> None:
        """Set ``binding`` and ``boot`` (see ``__init__``) once the transport knows them; only
        before the first frame is made or received."""
        if self._hello is not None:
            raise MeshUsageError("bind_connection() before the handshake starts")
        if len(binding) > 255 or len(boot) > 32:
            raise MeshUsageError("binding at most 255 bytes, boot id at most 32")
        self._binding, self._boot = bytes(binding), bytes(boot)

    @property
    def done(self) -> bool:
        return self.peer is not None

    def _message(self, purpose: str, transcript: bytes) -> bytes:
        """The exact bytes a handshake signature of ``purpose`` covers."""
        if not self._binding:
            return domain(purpose, b"") + transcript
        b = self._binding
        return domain(purpose + "+bound", b"") + len(b).to_bytes(1, "big") + b + transcript

    def _claims(self) -> tuple[RealmClaim, ...]:
        return tuple(r.claim() for r in self._realms.values())

    def initiate(self) -> bytes:
        """The initiator's Hello frame."""
        if not self._initiator or self._hello is not None:
            raise MeshUsageError("initiate() is called once, by the initiator")
        self._hello = encode(
            Hello(b"", self._key.public_key, self._nonce, self._address, self._claims(), self._boot)
        )
        return self._hello

    def receive(self, data: bytes, now: float) -> bytes | None:
        """Feed one frame from the peer; returns the frame to send back, if any."""
        if self.done:
            raise AuthError("handshake already complete")
        frame = decode(data, self._limits)
        if self._initiator:
            if self._hello is None or self._challenge is not None:
                raise AuthError("unexpected handshake frame")
            if not isinstance(frame, Challenge):
                raise AuthError("expected a Challenge")
            self._challenge = data
            unsigned = _challenge_unsigned(frame)
            if not self._crypto.verify(
                frame.public_key,
                frame.signature,
                self._message("handshake-challenge", self._hello + unsigned),
            ):
                raise AuthError("challenge signature invalid")
            sig = self._crypto.sign(self._key, self._message("handshake-proof", self._hello + data))
            self._finish(frame, now)
            return encode(Proof(b"", sig))
        # responder
        if self._hello is None:
            if not isinstance(frame, Hello):
                raise AuthError("expected a Hello")
            self._hello = data
            self._peer_frame = frame
            blank = Challenge(
                b"", self._key.public_key, self._nonce, self._address, self._claims(),
                bytes(64), self._boot,
            )  # fmt: skip
            transcript = data + encode(blank)
            sig = self._crypto.sign(self._key, self._message("handshake-challenge", transcript))
            ch = Challenge(
                b"", blank.public_key, blank.nonce, blank.address, blank.claims, sig, self._boot
            )
            self._challenge = encode(ch)
            return self._challenge
        if not isinstance(frame, Proof) or self._challenge is None:
            raise AuthError("expected a Proof")
        hello = self._peer_frame
        assert isinstance(hello, Hello)
        if not self._crypto.verify(
            hello.public_key,
            frame.signature,
            self._message("handshake-proof", self._hello + self._challenge),
        ):
            raise AuthError("proof signature invalid")
        self._finish(hello, now)
        return None

    def _finish(self, peer: Hello | Challenge, now: float) -> None:
        node_id = node_id_of(peer.public_key)
        if node_id == self._key.node_id:
            raise AuthError("peer presented our own key")
        proven = frozenset(
            c.realm
            for c in peer.claims
            if c.realm in self._realms
            and self._realms[c.realm].admits(self._crypto, c, node_id, now)
        )
        self.peer = PeerInfo(node_id, peer.public_key, peer.address, proven, peer.boot)
