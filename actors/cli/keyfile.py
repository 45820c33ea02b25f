"""Node key files of the long-running commands: one running node per key.

``megabrain node --key PATH`` and ``megabrain evolve --mesh --key PATH`` open their key with
:func:`held_node_key`: it takes an exclusive lock (``flock``) on ``PATH.lock`` for as long
as the node runs, creates the key (0600) if the file does not exist, and loads it. A second
node started with a key that a running node holds is refused (:class:`UsageError`, exit
status 2) before it binds or writes anything, so the first node's control file and its
identity on the mesh stay its own. The kernel releases the lock when the holder exits, also
on SIGKILL, so the key is free again at once. ``PATH.lock`` holds the holder's pid, for the
message; it is left in place (removing it could let two processes lock two different files).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from actors.cli import UsageError

__all__ = ["held_node_key", "lock_path"]


def lock_path(key_path: str | os.PathLike[str]) -> Path:
    """The lock file of a key file."""
    p = Path(key_path)
    return p.with_name(p.name + ".lock")


@contextlib.contextmanager
def held_node_key(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Lock ``path`` for this node, load it (created first if absent), yield the
    :class:`~mesh.identity.NodeKey`; the lock is released on leaving the block."""
    from mesh.errors import MeshError
    from mesh.identity import NodeKey

    lock = lock_path(path)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot lock key {path}: {exc.strerror or exc} ({lock})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise UsageError(
                f"key {path} is in use by a running node{who}: give this node its own --key"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            if not Path(path).exists():
                NodeKey.generate().save(path)
            key = NodeKey.load(path)
        except MeshError as exc:
            raise UsageError(str(exc)) from exc
        yield key
    finally:
        os.close(fd)
