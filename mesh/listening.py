"""Binding a listening socket: one error, :class:`~mesh.errors.ListenError`, for every way
it fails.

:func:`bind_errors` decorates the coroutines that bind a server socket on ``host:port``
(:meth:`mesh.transport.QuicTransport.listen`, :meth:`mesh.control.ControlServer.start`):
an ``OSError`` raised while binding (the port is taken, no local interface has the address,
the name does not resolve, no permission) becomes a :class:`ListenError` naming the address
and the system's reason, so that every caller reports it the same way. :func:`check_bindable`
gives the same error for a UDP address ahead of time.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from mesh.errors import ListenError

__all__ = ["bind_errors", "check_bindable", "os_reason"]

_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])


def os_reason(exc: OSError) -> str:
    """The system's short reason for ``exc``: the errno's text (asyncio rewrites a bind
    error into a long sentence around it), or the resolver's message for a name."""
    if exc.errno and exc.errno > 0 and not isinstance(exc, socket.gaierror):
        return os.strerror(exc.errno)
    return str(exc.strerror or exc)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_bindable(host: str, port: int) -> None:
    """Raise :class:`ListenError` now if no UDP socket can be bound on ``host:port``. The
    probe socket is closed at once: this checks an address before a server binds it for
    real later (a process that forks first, then listens)."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.bind(addr)
    except OSError as exc:
        raise ListenError(_address(host, port), os_reason(exc)) from exc


def bind_errors(method: _F) -> _F:
    """Decorate ``async def m(self, host="127.0.0.1", port=0)``: an ``OSError`` it raises
    becomes :class:`ListenError` for ``host:port``."""

    @functools.wraps(method)
    async def wrapper(self: Any, host: str = "127.0.0.1", port: int = 0) -> Any:
        try:
            return await method(self, host, port)
        except OSError as exc:
            raise ListenError(_address(host, port), os_reason(exc)) from exc

    return cast(_F, wrapper)
