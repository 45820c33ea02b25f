"""The OS processes and listening sockets of a multi-process actor system.

The runtime's processes are found from the Admin's listening port: the Admin, and
every process descended from it (actors fork their children). The Admin is the child of
the process that started the system (:mod:`actors.runtime.lifeline` keeps it there; left
alone, Thespian daemonises it and it is re-parented to init).
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass

import psutil

__all__ = ["Listener", "admin_pid", "free_port", "listeners", "tree_pids"]


@dataclass(frozen=True, slots=True)
class Listener:
    """A listening TCP socket: owning pid, bound host and port."""

    pid: int
    host: str
    port: int


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS reports free on ``host`` (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _listens_on(pid: int, port: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
            for c in psutil.Process(pid).net_connections(kind="tcp")
        )
    return False


def admin_pid(port: int) -> int | None:
    """The pid of the Admin listening on TCP ``port``, or None.

    Processes forked by the Admin (its logger) inherit the socket, and the system
    table names one holder only; walk up to the first holder whose parent does
    not hold it.
    """
    pid = next(
        (
            int(c.pid)
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN
            and c.laddr
            and c.laddr.port == port
            and c.pid is not None
            and c.pid != os.getpid()
        ),
        None,
    )
    while pid is not None:
        try:
            parent = psutil.Process(pid).ppid()
        except psutil.NoSuchProcess:
            return None
        if parent in (0, 1, os.getpid()) or not _listens_on(parent, port):
            return pid
        pid = parent
    return None


def tree_pids(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    try:
        proc = psutil.Process(root)
        return [root, *(c.pid for c in proc.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def processes(pids: list[int]) -> list[psutil.Process]:
    """A handle on each of ``pids`` still running; one that exits while we look is left out
    (checking ``pid_exists`` first would race with its exit)."""
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


def listeners(pids: list[int]) -> list[Listener]:
    """Listening TCP sockets (IPv4 and IPv6) held by each of ``pids``."""
    found: set[Listener] = set()
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            for c in psutil.Process(pid).net_connections(kind="tcp"):
                if c.status == psutil.CONN_LISTEN and c.laddr:
                    found.add(Listener(pid, str(c.laddr.ip), int(c.laddr.port)))
    return sorted(found, key=lambda x: (x.pid, x.port, x.host))
