"""A cheaper select loop for Thespian's TCP transport (``local`` and ``cluster`` modes).

Thespian 4.0.1's ``TCPTransport._runWithExpiry`` builds a new ``selectors.DefaultSelector``
for every pass of its loop (its own comment: "creates selector on each loop, perhaps this
could be optimized"), registers every socket it waits on, selects once and closes it. On
Linux the default is epoll: a new epoll instance, one ``epoll_ctl`` per socket and a
``close`` per message handled. A profile of the remote gateway serving requests put a
quarter of its CPU time there; with poll, remote DPNV evaluation requests cost about 5%
less CPU in all (``benchmarks/remote_actors.py --parts dpnv``: 7.7 -> 7.2-7.4 ms per task
over 400 tasks, both nodes' processes counted).

:func:`install` has that loop use ``selectors.PollSelector`` instead (``poll``: registering
is bookkeeping in Python, one system call per pass), by giving the transport module its own
view of :mod:`selectors`; nothing else in the process changes. Process-wide and
idempotent; install it before the actor system starts (the Admin and every actor process
are forked from this one and inherit it). Skipped where ``poll`` does not exist.
"""

from __future__ import annotations

import selectors
import types

from thespian.system.transport import TCPTransport

__all__ = ["install", "installed"]


def installed() -> bool:
    """Whether the TCP transport's loop uses the poll selector here."""
    return getattr(TCPTransport.selectors, "DefaultSelector", None) is getattr(
        selectors, "PollSelector", object()
    )


def install() -> None:
    """Give ``TCPTransport`` a :mod:`selectors` whose ``DefaultSelector`` is poll's."""
    if installed() or not hasattr(selectors, "PollSelector"):
        return
    view = types.SimpleNamespace(**{k: getattr(selectors, k) for k in dir(selectors)
                                    if not k.startswith("__")})  # fmt: skip
    view.DefaultSelector = selectors.PollSelector
    TCPTransport.selectors = view  # type: ignore[attr-defined]
