"""The distributed package's errors: one base, subclasses by origin."""

from __future__ import annotations

__all__ = ["DistributedError", "EnvelopeError", "MeshConfigError", "ShareUsageError"]


class DistributedError(Exception):
    """Base class of every error raised by :mod:`actors.distributed`."""


class MeshConfigError(DistributedError, ValueError):
    """The ``[mesh]`` table is malformed: unknown key, wrong type, out-of-range value.
    The message names the key by its dotted path (``mesh.publish_threshold``)."""


class EnvelopeError(DistributedError, ValueError):
    """Bytes from outside are not an acceptable champion envelope.

    ``reason`` is one of :data:`actors.distributed.intake.REASONS` (``malformed``,
    ``oversized``, ``schema``, ``signature``, ``forged``, ``genotype``...): the counter the
    rejection is filed under. This is the only error outside bytes raise here.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ShareUsageError(DistributedError, ValueError):
    """Local misuse of the sharing API (a bad argument from this process's own code)."""
