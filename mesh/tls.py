"""Per-node self-signed TLS certificates for the QUIC transport, made with ``cryptography``.

QUIC requires TLS 1.3, and a QUIC server must present a certificate. The mesh does not rely on
a certificate authority: a node's identity is its Ed25519 node key, proven by the handshake of
:mod:`mesh.handshake` on the first stream of every connection. The TLS certificate is therefore
*ephemeral* (a fresh ECDSA P-256 key per process start, never written to disk) and clients
accept it without chain verification; what makes the connection trustworthy is that both peers
sign a *channel binding* that includes the SHA-256 fingerprint of this certificate (see
:mod:`mesh.transport`), so a relay that terminates TLS with its own certificate is detected.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TlsIdentity", "certificate_fingerprint", "make_tls_identity"]


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """A TLS certificate with its private key and the SHA-256 of its DER encoding."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    fingerprint: bytes


def certificate_fingerprint(certificate: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's DER encoding (32 bytes)."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()


def make_tls_identity(
    now: float, common_name: str = "megabrain-node", days: int = 365
) -> TlsIdentity:
    """A fresh self-signed ECDSA P-256 certificate valid from a day before ``now`` (epoch
    seconds) for ``days`` days."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    start = datetime.datetime.fromtimestamp(now, datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(days=1))
        .not_valid_after(start + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return TlsIdentity(cert, key, certificate_fingerprint(cert))
