"""Node identity: Ed25519 keys, node ids and realm ids.

* node id = SHA-256(raw 32-byte Ed25519 public key): a point of the 256-bit XOR space.
* realm id = SHA-256(UTF-8 realm name).

Signatures go through a :class:`CryptoSuite`. :data:`ED25519` is the real one and the default
everywhere. :data:`SIM_FAST` exists for the simulator only: its "signature" is a keyed-by-public-
key hash that anybody can forge; simulations use it where a test is not about signatures, to
skip ~60 us of Ed25519 verification per check. A real node never uses it.
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from mesh.errors import IdentityError

__all__ = [
    "ED25519",
    "SIM_FAST",
    "CryptoSuite",
    "NodeKey",
    "node_id_of",
    "realm_id",
]

ID_BYTES = 32
SIGNATURE_BYTES = 64


def node_id_of(public_key: bytes) -> bytes:
    """The node id of a raw Ed25519 public key: SHA-256 of its 32 bytes."""
    return hashlib.sha256(public_key).digest()


def realm_id(name: str) -> bytes:
    """The realm id of a realm name: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(name.encode("utf-8")).digest()


class NodeKey:
    """An Ed25519 private key with its raw public key and node id."""

    __slots__ = ("_private", "node_id", "public_key")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_key: bytes = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.node_id: bytes = node_id_of(self.public_key)

    @classmethod
    def generate(cls, rng: random.Random | None = None) -> NodeKey:
        """A new key; from ``rng`` if given (deterministic, for simulations), else the OS."""
        if rng is None:
            return cls(Ed25519PrivateKey.generate())
        return cls.from_seed(rng.randbytes(32))

    @classmethod
    def from_seed(cls, seed: bytes) -> NodeKey:
        """The key whose 32-byte private seed is ``seed``."""
        if len(seed) != 32:
            raise IdentityError("an Ed25519 seed has 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message`` (64 bytes)."""
        return self._private.sign(message)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the key as unencrypted PKCS#8 PEM, created with mode 0600; never overwrites."""
        data = self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise IdentityError(f"cannot create key file {path}: {exc}") from exc
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NodeKey:
        """Read a key written by :meth:`save`; refuse files readable by group or others."""
        p = Path(path)
        try:
            mode = p.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise IdentityError(f"key file {p} is accessible by group/others (chmod 600)")
            private = serialization.load_pem_private_key(p.read_bytes(), password=None)
        except IdentityError:
            raise
        except (OSError, ValueError, TypeError) as exc:
            raise IdentityError(f"cannot load key file {p}: {exc}") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise IdentityError(f"key file {p} does not hold an Ed25519 key")
        return cls(private)


class CryptoSuite(Protocol):
    """How frames are signed and checked. ``verify`` returns False, never raises."""

    name: str

    def sign(self, key: NodeKey, message: bytes) -> bytes: ...

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool: ...


class _Ed25519Suite:
    """Real Ed25519 with a bounded cache of parsed public keys."""

    name = "ed25519"
    cache_size = 4096

    def __init__(self) -> None:
        self._keys: dict[bytes, Ed25519PublicKey] = {}

    def sign(self, key: NodeKey, message: bytes) -> bytes:
        return key.sign(message)

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        if len(public_key) != ID_BYTES or len(signature) != SIGNATURE_BYTES:
            return False
        pk = self._keys.get(public_key)
        if pk is None:
            try:
                pk = Ed25519PublicKey.from_public_bytes(public_key)
            except ValueError:
                return False
            if len(self._keys) >= self.cache_size:
                self._keys.clear()
            self._keys[public_key] = pk
        try:
            pk.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class _SimFastSuite:
    """SIMULATION ONLY: forgeable 'signatures' = BLAKE2b-512(public key || message)."""

    name = "sim-fast (forgeable, simulation only)"

    def sign(self, key: NodeKey, message: bytes) -> bytes:
        return hashlib.blake2b(key.public_key + message, digest_size=64).digest()

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool:
        return signature == hashlib.blake2b(public_key + message, digest_size=64).digest()


ED25519: CryptoSuite = _Ed25519Suite()
SIM_FAST: CryptoSuite = _SimFastSuite()
