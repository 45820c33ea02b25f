"""Process helpers for the lifeline and CLI lifecycle tests: start, watch and kill by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie has stopped running)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def survivors(pids: Sequence[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` s for every pid to stop running; return those that still run."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if running(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def kill_all(pids: Sequence[int]) -> None:
    """SIGKILL every pid that still runs (test cleanup)."""
    for pid in pids:
        if running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (psutil children, recursively)."""
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True) if running(c.pid)]
    except psutil.NoSuchProcess:
        return []


def cli(args: Sequence[str], out: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """``python -m actors ARGS`` with stdout to ``OUT.stdout`` and stderr to ``OUT.stderr``."""
    with open(f"{out}.stdout", "wb") as o, open(f"{out}.stderr", "wb") as e:
        return subprocess.Popen(
            [sys.executable, "-m", "actors", *args], cwd=ROOT, env=env(), stdout=o, stderr=e,
            **kwargs,
        )  # fmt: skip


def stop(proc: subprocess.Popen[Any], pids: Sequence[int] = ()) -> None:
    """Cleanup: SIGKILL ``proc`` if it still runs, reap it, SIGKILL ``pids``."""
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    kill_all(pids)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
