"""The runtime's error types: one base, subclasses by origin.

Local misuse (a bad child spec, an unknown mode, a bad capability value) raises a
:class:`ConfigError` subclass at the point of the mistake, before anything starts.
Failures seen at run time (a deadline passed, a call that crashed the callee, a
supervisor that refused an operation) raise :class:`RuntimeFailure` subclasses.
"""

from __future__ import annotations

__all__ = [
    "ActorError",
    "BadSeal",
    "CallFailed",
    "CapabilityError",
    "ConfigError",
    "ModeError",
    "NoProc",
    "RequestTimeout",
    "RuntimeFailure",
    "SealError",
    "SpecError",
    "SupervisorRefused",
    "SystemLost",
]


class ActorError(Exception):
    """Base of every error raised by :mod:`actors.runtime`."""


class ConfigError(ActorError, ValueError):
    """Local misuse: a bad argument found before anything was started."""


class SpecError(ConfigError):
    """An invalid child spec or supervisor flag (the message names the field)."""


class ModeError(ConfigError):
    """An unknown runtime mode, or a mode used with options it does not accept."""


class CapabilityError(ConfigError):
    """A capability or requirement whose name or value cannot be used."""


class SealError(ConfigError):
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


class CallFailed(RuntimeFailure):
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
