"""The mesh's error hierarchy: one base, subclasses by origin.

* :class:`FrameError` -- bytes from outside are malformed, oversized, unknown or
  non-canonical. The *only* error any decoder of outside bytes raises.
* :class:`AuthError` -- a well-formed frame fails authentication (bad signature,
  wrong node id, missing or invalid realm certificate, replay).
* :class:`IdentityError` -- a key file is missing, unreadable or too permissive.
* :class:`MeshUsageError` -- local misuse of the API (unknown realm, bad argument).
* :class:`ListenError` -- a listening socket could not be bound (address in use, no local
  interface has it, no permission).
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "FrameError",
    "IdentityError",
    "ListenError",
    "MeshError",
    "MeshUsageError",
]


class MeshError(Exception):
    """Base of every error raised by :mod:`mesh`."""


class FrameError(MeshError):
    """Outside bytes are not a valid frame: malformed, oversized, unknown or non-canonical."""


class AuthError(MeshError):
    """A frame is well formed but not authentic (signature, identity, realm proof, replay)."""


class IdentityError(MeshError):
    """A node key cannot be created, saved or loaded."""


class MeshUsageError(MeshError):
    """The local caller misused the API (unknown realm, invalid argument)."""


class ListenError(MeshError):
    """A socket could not be bound to listen on ``address`` (``HOST:PORT``); ``reason`` is
    the system's reason (``Address already in use``, ``Cannot assign requested address``)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"cannot listen on {address}: {reason}")
        self.address = address
        self.reason = reason
