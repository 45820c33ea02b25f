"""SIGTERM is Ctrl-C for every command, once: a second SIGTERM cannot cut the cleanup short."""

from __future__ import annotations

import argparse
import os
import signal
import time

import pytest

from actors.cli import main, runtime_cmd


def test_sigterm_interrupts_once_then_is_ignored_until_the_command_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def command(args: argparse.Namespace) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10.0)  # the handler interrupts this at once
            seen.append("not interrupted")
        except KeyboardInterrupt:
            seen.append("interrupted")
            os.kill(os.getpid(), signal.SIGTERM)  # during the cleanup: ignored
            time.sleep(0.05)
            seen.append("cleaned up")
            raise
        return 0

    monkeypatch.setattr(runtime_cmd, "_main", command)
    before = signal.getsignal(signal.SIGTERM)
    t0 = time.monotonic()
    assert main(["runtime", "check"]) == 130  # as for Ctrl-C
    assert seen == ["interrupted", "cleaned up"] and time.monotonic() - t0 < 5.0
    assert signal.getsignal(signal.SIGTERM) is before  # restored when the command ends
