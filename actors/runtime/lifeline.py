"""Tie every process of a multi-process actor system to the process that started it.

Thespian's multiprocTCPBase (``fork`` start method) forks the Admin from the process
that creates the actor system (the *driver*), and each actor from the Admin or from
its parent actor. Left alone, the Admin daemonises itself (``setsid``, then a second
fork whose parent exits at once), so it is re-parented to init and outlives the
driver, and nothing ties the Admin's direct children (the logger, the registry) to
the Admin: a SIGKILLed driver, or a SIGKILLed Admin, leaves processes running.

:func:`install` (idempotent; :meth:`RuntimeSystem.start` calls it before the system
starts) changes that, on Linux:

* Thespian's Admin entry point is wrapped: the Admin still starts its own session
  (Ctrl-C in a terminal reaches the driver alone, which then shuts the system down),
  but skips the second fork, so it stays the driver's child; it asks the kernel for
  SIGKILL when the driver dies (``PR_SET_PDEATHSIG``).
* The Admin marks itself as a system process, and an ``os.register_at_fork`` hook,
  inherited by every process forked below the Admin, gives each process that a
  system process forks the same tie to its parent: the logger and the registry die
  with the Admin, an actor with the actor that created it. Processes the driver
  forks itself (other than the Admin) are left alone.

So a SIGKILL of the driver takes the Admin down, and a SIGKILL of the Admin takes
every actor down (a cascade down the process tree). The kernel ties a child to the
*thread* that forked it: a process forked from a thread other than its parent's main
thread is not tied, as that thread may end long before the process should (a system
started from such a thread keeps its Admin running until it is shut down, or until
the driver exits normally and ``atexit`` shuts it down).

:func:`alive` tells whether a process still runs (and reaps it if it is a zombie
child of this process, which the Admin now is).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import threading
from typing import Any

import psutil
from thespian.system import multiprocCommon

__all__ = ["alive", "install", "installed", "is_system_process", "tie_to_parent"]

_PR_SET_PDEATHSIG = 1
_MARK = "_megabrain_lifeline"

#: True in the Admin and every process forked below it (inherited through fork).
_in_system = False
#: (pid, forked from its main thread) of the process that forked this one, recorded by
#: the before-fork hook in the parent and inherited by the child.
_forker: tuple[int, bool] = (0, False)
_hooks_registered = False


def tie_to_parent(parent_pid: int) -> bool:
    """Ask Linux to SIGKILL this process when ``parent_pid``, its parent, dies.

    Does nothing (returns False) when ``parent_pid`` is not this process's parent (an
    actor placed on another actor system in cluster mode has that system's Admin as
    OS parent) or off Linux. If the parent is already gone by the time the request
    took effect, this process SIGKILLs itself.
    """
    if os.getppid() != parent_pid:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - non-Linux
        return False
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)
    return True


def is_system_process() -> bool:
    """True in the Admin of a system started after :func:`install`, and below it."""
    return _in_system


def _before_fork() -> None:
    global _forker
    _forker = (os.getpid(), threading.current_thread() is threading.main_thread())


def _after_fork_in_child() -> None:
    parent, from_main = _forker
    if _in_system and from_main:
        tie_to_parent(parent)


def _admin_entry(original: Any, *args: Any, **kwargs: Any) -> Any:
    """The Admin process's target: tie to the driver, keep this process as the Admin."""
    global _in_system
    _in_system = True
    # the driver's SIGTERM handler (the CLI turns SIGTERM into KeyboardInterrupt) is not the
    # Admin's: Thespian sets only its child-exit handlers here, so restore the default
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent, from_main = _forker
    if from_main:
        tie_to_parent(parent)
    real_fork = os.fork

    def stay() -> int:
        # Thespian's daemonising fork (``if os.fork(): sys.exit(0)``): answer as the
        # child would, so that this process goes on as the Admin.
        setattr(os, "fork", real_fork)  # noqa: B010 - restore the module function
        return 0

    setattr(os, "fork", stay)  # noqa: B010 - a module function, replaced for one call
    try:
        return original(*args, **kwargs)
    finally:
        setattr(os, "fork", real_fork)  # noqa: B010


def installed() -> bool:
    """Whether :func:`install` has wrapped Thespian's Admin entry in this process."""
    return bool(getattr(multiprocCommon.startAdmin, _MARK, False))


def install() -> None:
    """Install the fork hooks and the Admin wrap (see the module docstring)."""
    global _hooks_registered
    if not _hooks_registered:
        os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
        _hooks_registered = True
    if installed():
        return
    entry = functools.partial(_admin_entry, multiprocCommon.startAdmin)
    wrapped = functools.update_wrapper(entry, multiprocCommon.startAdmin)
    setattr(wrapped, _MARK, True)
    multiprocCommon.startAdmin = wrapped


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs. A child of this process that has exited is
    reaped here (the Admin is the driver's child and nobody else waits for it)."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
