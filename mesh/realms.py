"""Realms: named, isolated sub-meshes. Open realms admit anyone; closed ones need a certificate.

A node delivers a realm's events, records and calls only to peers that proved membership of
that realm during the handshake (:mod:`mesh.handshake`): for an open realm, by claiming it in
the signed transcript; for a closed realm, by also presenting a :class:`~mesh.frames.Cert`
signed by the realm's authority key for the peer's node id and not yet expired.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.errors import MeshUsageError
from mesh.frames import Cert, RealmClaim
from mesh.identity import ED25519, CryptoSuite, NodeKey, realm_id
from mesh.signing import signed_bytes

__all__ = ["Realm", "issue_certificate", "verify_certificate"]


@dataclass(frozen=True, slots=True)
class Realm:
    """A realm this node belongs to.

    ``authority`` is the raw public key of a closed realm's authority (None: open realm);
    ``cert`` is this node's own membership certificate (required for a closed realm).
    """

    name: str
    authority: bytes | None = None
    cert: Cert | None = None

    @property
    def id(self) -> bytes:
        return realm_id(self.name)

    @property
    def closed(self) -> bool:
        return self.authority is not None

    def claim(self) -> RealmClaim:
        """The claim this node presents in its handshake."""
        if self.closed and self.cert is None:
            raise MeshUsageError(f"closed realm {self.name!r} needs this node's certificate")
        return RealmClaim(self.id, self.cert)

    def admits(self, crypto: CryptoSuite, claim: RealmClaim, node_id: bytes, now: float) -> bool:
        """True if ``claim`` (made by ``node_id``) proves membership of this realm at ``now``."""
        if claim.realm != self.id:
            return False
        if self.authority is None:
            return True
        return claim.cert is not None and verify_certificate(
            crypto, claim.cert, self.authority, node_id, now
        )


def issue_certificate(
    authority: NodeKey,
    realm_name: str,
    node_id: bytes,
    expires: float,
    crypto: CryptoSuite = ED25519,
) -> Cert:
    """A membership certificate for ``node_id`` in ``realm_name``, valid until ``expires``."""
    rid = realm_id(realm_name)
    unsigned = Cert(rid, node_id, float(expires), authority.public_key, b"")
    sig = crypto.sign(authority, signed_bytes("realm-cert", rid, unsigned.unsigned_wire()))
    return Cert(rid, node_id, float(expires), authority.public_key, sig)


def verify_certificate(
    crypto: CryptoSuite, cert: Cert, authority: bytes, node_id: bytes, now: float
) -> bool:
    """True if ``cert`` admits ``node_id``, is signed by ``authority`` and has not expired."""
    if cert.authority != authority or cert.node_id != node_id or now >= cert.expires:
        return False
    msg = signed_bytes("realm-cert", cert.realm, cert.unsigned_wire())
    return crypto.verify(authority, cert.signature, msg)
