"""actors.runtime.selector: Thespian's TCP transport selects with ``poll`` (no epoll instance
per pass of its loop), in this process and in the actor processes forked from it, and the
rest of the process keeps the standard ``selectors``."""

from __future__ import annotations

import selectors
from typing import Any

import pytest
from thespian.system.transport import TCPTransport

from actors.runtime import ChildSpec, RuntimeSystem, Worker, selector


class Probe(Worker):
    def handle_call(self, payload: Any, sender: Any) -> Any:
        return (selector.installed(), TCPTransport.selectors.DefaultSelector.__name__)


def test_install_is_idempotent_and_leaves_selectors_alone() -> None:
    selector.install()
    view = TCPTransport.selectors
    selector.install()
    assert TCPTransport.selectors is view and selector.installed()
    assert view.DefaultSelector is selectors.PollSelector
    assert view.EVENT_READ == selectors.EVENT_READ and view.EVENT_WRITE == selectors.EVENT_WRITE
    assert selectors.DefaultSelector is not selectors.PollSelector  # epoll for everyone else


@pytest.mark.multiproc
def test_actor_processes_use_poll_and_messages_flow() -> None:
    with RuntimeSystem(mode="local") as rt:
        probe = rt.start_root(ChildSpec("probe", Probe))
        for _ in range(50):  # many passes of every process's loop
            assert rt.request(probe, "?", 10) == (True, "PollSelector")


def test_the_hot_messages_print_short() -> None:
    """Thespian builds str(message) on every send: Request and Reply keep it short, and
    repr() still shows everything."""
    from actors.runtime import Reply, Request

    big = b"x" * 100_000
    for msg in (Request("r1", big), Reply("r1", True, big), Reply("r1", False, None, "crashed",
                                                                   "y" * 10_000)):  # fmt: skip
        assert len(str(msg)) < 120 and "r1" in str(msg)
        assert len(repr(msg)) > 10_000
