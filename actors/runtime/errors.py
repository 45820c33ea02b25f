"""The runtime's error types: one base, subclasses by origin.

Local misuse (a bad child spec, an unknown mode, a bad capability value) raises a
:class:`RuntimeConfigError` subclass at the point of the mistake, before anything starts.
Failures seen at run time (a deadline passed, a call that crashed the callee, a
supervisor that refused an operation) raise :class:`RuntimeFailure` subclasses.
"""

from __future__ import annotations

__all__ = [
    "ActorError",
    "BadSeal",
    "CapabilityError",
    "ChildSpecError",
    "ModeError",
    "NoProc",
    "RequestFailed",
    "RequestTimeout",
    "RuntimeConfigError",
    "RuntimeFailure",
    "SealError",
    "SupervisorRefused",
    "SystemLost",
]


class ActorError(Exception):
    """Base of every error raised by :mod:`actors.runtime`."""


class RuntimeConfigError(ActorError, ValueError):
    """Local misuse: a bad argument found before anything was started."""


class ChildSpecError(RuntimeConfigError):
    """An invalid child spec or supervisor flag (the message names the field)."""


class ModeError(RuntimeConfigError):
    """An unknown runtime mode, or a mode used with options it does not accept."""


class CapabilityError(RuntimeConfigError):
    """A capability or requirement whose name or value cannot be used."""


class SealError(RuntimeConfigError):
    """The transport seal cannot be set up: a bad secret or secret file, a start method
    other than ``fork``, or a second secret while a system sealed with another runs
    in this process (see :mod:`actors.runtime.seal`)."""


class RuntimeFailure(ActorError):
    """Something went wrong while the runtime was running."""


class RequestTimeout(RuntimeFailure, TimeoutError):
    """No reply arrived before the request's deadline."""


class NoProc(RuntimeFailure):
    """No live actor is registered under ``name``: it did not come back (a child being
    restarted re-registers its name once started) before the deadline. ``name`` is
    None when the target itself was None (e.g. a :meth:`whereis` that found nothing)."""

    def __init__(self, name: str | None, timeout: float | None = None) -> None:
        if name is None:
            text = "no actor: the target is None (a name that did not resolve?)"
        else:
            within = f" within {timeout:g} s" if timeout is not None else ""
            text = f"no actor registered as {name!r}{within}"
        super().__init__(text)
        self.name = name


class SystemLost(RuntimeFailure):
    """The actor system's Admin process is gone (killed): its actors went with it, and
    nothing more can be sent to or received from the system."""


class BadSeal(RuntimeFailure):
    """Remote bad input: a Thespian frame whose seal (HMAC tag) is missing or wrong.
    Raised by :func:`actors.runtime.seal.unseal`; the transport hook catches it, counts
    the frame and drops it unread."""


class RequestFailed(RuntimeFailure):
    """The callee crashed (or refused) while handling the request.

    ``reason`` is the remote reason (for a crash: ``"ExcType: message"``) and
    ``traceback`` the remote traceback text, if any.
    """

    def __init__(self, reason: str, traceback: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.traceback = traceback


class SupervisorRefused(RuntimeFailure):
    """A supervisor operation was refused (``not_found``, ``running``, ...).

    ``code`` is the OTP-style error atom as a string.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class RemoteError(RequestFailed):
    """An operation on a remote actor failed or was refused; ``code`` says why:
    ``noconnection`` (its node is not a live member, or stopped answering), ``timeout``,
    ``noproc`` (no such actor there), ``not_remotable``, ``spawn_denied``, ``over_quota``,
    ``unregistered_type``, ``oversized``, ``too_deep``, ``malformed``, ``schema``,
    ``crashed`` (the callee crashed), ``spawn_failed``, ``remote``; for global names
    ``name_taken``, ``reserved_name``, ``not_local``, ``unreachable``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.code = reason.split(":", 1)[0]
