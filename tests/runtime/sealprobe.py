"""The attack the transport seal stops, as a probe the tests aim at Thespian's listeners.

:func:`attack_frames` builds frames exactly as Thespian frames a message
(``streamBuffer.toSendBuffer``: ``b"<length>>" + body``) whose pickle holds a
``__reduce__`` payload that creates a marker directory when unpickled: one unsealed
(stock Thespian), one sealed with a wrong key, one with a tag cut short.
:func:`launch` sends each to listeners, :func:`collect` gathers how they answered,
:func:`unrefused` picks the answers that are not the expected refusal.
"""

from __future__ import annotations

import os
import pickle
import secrets
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thespian.system.transport.streamBuffer import toSendBuffer

from actors.runtime import seal


class Plant:
    """Unpickling this object runs ``os.mkdir(marker)``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (self.marker,))


def attack_frames(marker: Path) -> dict[str, bytes]:
    """Framed ``(sender, message)`` pickles that plant ``marker`` when unpickled."""
    body = (Plant(marker), "hello")
    wrong_key = secrets.token_bytes(seal.KEY_SIZE)
    return {
        "unsealed": toSendBuffer(body, pickle.dumps),
        "wrong_key": toSendBuffer(body, lambda o: seal.seal(pickle.dumps(o), key=wrong_key)),
        "short_tag": toSendBuffer(body, lambda o: seal.seal(pickle.dumps(o), key=wrong_key)[8:]),
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """How a listener answered one frame: the bytes it sent back, and whether it
    closed the connection before the wait ended."""

    received: bytes
    closed: bool


def launch(
    targets: list[tuple[str, int]], marker: Path
) -> dict[tuple[str, int, str], socket.socket]:
    """Send every attack frame to every ``(host, port)``, each on its own connection,
    without waiting: a driver's own listener is served only while the driver runs
    Thespian (a request), so the caller drives the system, then :func:`collect`."""
    sent = {}
    for host, port in targets:
        for kind, frame in attack_frames(marker).items():
            sock = socket.create_connection((host, port), timeout=5.0)
            sock.sendall(frame)
            sock.setblocking(False)
            sent[(host, port, kind)] = sock
    return sent


def collect(
    sent: dict[tuple[str, int, str], socket.socket],
    timeout: float,
    drive: Callable[[], object] = lambda: None,
) -> dict[tuple[str, int, str], Answer]:
    """Read every connection of :func:`launch` until its listener closes it or
    ``timeout`` s have passed, calling ``drive`` between reads (a request through
    the driver, which serves the driver's listener); close them all."""
    received = {key: b"" for key in sent}
    open_ = dict(sent)
    deadline = time.monotonic() + timeout
    try:
        while open_ and (remaining := deadline - time.monotonic()) > 0:
            drive()
            readable, _, _ = select.select(list(open_.values()), [], [], min(remaining, 0.05))
            for key, sock in list(open_.items()):
                if sock not in readable:
                    continue
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    received[key] += chunk
                else:
                    del open_[key]
    finally:
        for sock in sent.values():
            sock.close()
    return {key: Answer(received[key], key not in open_) for key in sent}


def unrefused(answers: dict[tuple[str, int, str], Answer], reply: bytes) -> dict[Any, Answer]:
    """The answers other than ``reply`` followed by a close (empty: all refused)."""
    return {k: a for k, a in answers.items() if not (a.closed and a.received == reply)}
