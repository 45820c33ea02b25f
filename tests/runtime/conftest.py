"""Fixtures for the runtime tests: one actor system per module and mode."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.runtime import RuntimeSystem, start_system

_names = itertools.count()


def uniq(prefix: str) -> str:
    """A name no other test in this run uses."""
    return f"{prefix}-{next(_names)}"


def eventually(pred: Callable[[], Any], timeout: float = 15.0, step: float = 0.02) -> Any:
    """Poll ``pred`` (which talks to the actors, driving them in simple mode) until
    it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


@pytest.fixture(
    scope="module",
    params=["simple", pytest.param("local", marks=pytest.mark.multiproc)],
)
def rt(request: pytest.FixtureRequest) -> Iterator[RuntimeSystem]:
    """A running actor system shared by one test module, per mode."""
    with start_system(request.param) as system:
        yield system
    assert system.leftovers == []
