"""Keep Thespian's TCP listeners on the loopback interface (``local`` mode).

Thespian 4.0.1 computes every *external* address with
``bindname = ('', port)`` in ``thespian.system.transport.IPBase.IPActorAddress``,
so each admin and actor listener binds 0.0.0.0 even when the advertised host is
127.0.0.1 (``THESPIAN_BASE_IPADDR``). Those sockets unpickle whatever reaches
them. :func:`install` wraps ``IPActorAddress.__init__`` so that an address whose
advertised host is a loopback address binds that host instead of all interfaces;
nothing else changes (addresses advertised on other hosts keep Thespian's
behaviour, which ``cluster`` mode relies on).

The wrap is process-wide and idempotent. Install it in the process that starts the
actor system, before the system starts: the Admin and every actor process are
forked from it (Thespian's default ``fork`` start method) and inherit the wrap.
:func:`installed` reports whether it is in place.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from thespian.system.transport import IPBase

__all__ = ["LOOPBACK", "install", "installed", "is_loopback"]

LOOPBACK = "127.0.0.1"
_MARK = "_megabrain_loopback_bind"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8 and ::1 (false for '', 0.0.0.0 and names)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def installed() -> bool:
    """Whether :func:`install` has wrapped ``IPActorAddress.__init__`` here."""
    return bool(getattr(IPBase.IPActorAddress.__init__, _MARK, False))


def install() -> None:
    """Make loopback-advertised Thespian addresses bind their loopback host."""
    if installed():
        return
    original = IPBase.IPActorAddress.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        host, port = self.sockname[0], self.sockname[1]
        if self.bindname and self.bindname[0] in ("", "0.0.0.0") and is_loopback(host):
            self.bindname = (host, port)

    setattr(__init__, _MARK, True)
    IPBase.IPActorAddress.__init__ = __init__
