"""Chaos: a depth-3 x breadth-3 supervision tree in ``local`` mode under random SIGKILLs.

Tree: the root supervisor has 3 supervisors, each with 3 supervisors, each with 3
workers (1 + 3 + 9 + 27 actors, every one named). Each round SIGKILLs a random
non-root actor and waits until every name again resolves to a live actor. At the
end every permanent child is running, every name answers, and the runtime has
exactly as many processes as before (no orphan, nothing missing).
"""

from __future__ import annotations

import os
import random
import signal
from typing import Any

import psutil
import pytest

from actors.runtime import ChildSpec, RuntimeSystem, SupFlags, start_system
from actors.runtime.messages import SupervisorArgs, WhichChildren
from actors.runtime.supervisor import Supervisor
from tests.runtime.conftest import eventually
from tests.runtime.workers import Echo

pytestmark = pytest.mark.multiproc

BREADTH = 3
ROUNDS = 8
FLAGS = SupFlags("one_for_one", intensity=30, period=10)


def tree(prefix: str, depth: int) -> tuple[list[ChildSpec], list[str]]:
    """Child specs below ``prefix`` and every name in that subtree."""
    specs, names = [], []
    for i in range(BREADTH):
        name = f"{prefix}.{i}"
        names.append(name)
        if depth == 1:
            specs.append(ChildSpec(str(i), Echo, name=name))
        else:
            kids, sub = tree(name, depth - 1)
            names.extend(sub)
            specs.append(
                ChildSpec(str(i), Supervisor, (SupervisorArgs(FLAGS, tuple(kids)),), name=name)
            )
    return specs, names


def answers(rt: RuntimeSystem, name: str) -> int | None:
    """The pid behind ``name`` if it resolves and answers, else None."""
    address = rt.whereis(name)
    if address is None:
        return None
    try:
        if name.count(".") == 3:  # a worker
            return int(rt.request(address, "pid", timeout=2))
        rows = rt.request(address, WhichChildren(), timeout=2)
        if any(r.address is None for r in rows):
            return None
        return 0
    except Exception:
        return None


def all_alive(rt: RuntimeSystem, names: list[str]) -> bool:
    return all(answers(rt, n) is not None for n in names)


def test_chaos_tree_recovers_from_random_sigkills() -> None:
    rng = random.Random(20261126)
    with start_system("local") as rt:
        kids, names = tree("chaos", 3)
        root = rt.start_supervisor(FLAGS, kids, name="chaos")
        assert len(names) == 39
        eventually(lambda: all_alive(rt, names), timeout=60)
        steady = len(rt.pids())
        killed: list[int] = []
        for _ in range(ROUNDS):
            victim = rng.choice(names)
            address = rt.whereis(victim)
            pid = rt.request(address, "pid") if victim.count(".") == 3 else None
            if pid is None:  # a supervisor: its pid from its parent's which_children
                parent = rt.whereis(victim.rsplit(".", 1)[0]) if victim.count(".") > 1 else root
                row = next(r for r in rt.which_children(parent) if r.address == address)
                pid = row.pid
            assert pid is not None and pid != os.getpid()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            eventually(
                lambda v=victim, a=address: (b := rt.whereis(v)) is not None and b != a, timeout=30
            )
            eventually(lambda: all_alive(rt, names), timeout=60)
        assert not [p for p in killed if _alive(p)]
        pids = {answers(rt, n) for n in names if n.count(".") == 3}
        assert len(pids) == 27 and all(_alive(p) for p in pids if p)
        assert eventually(lambda: len(rt.pids()) == steady, timeout=30)
        # every permanent child of every supervisor is running
        sups: list[Any] = [root] + [rt.whereis(n) for n in names if n.count(".") < 3]
        for sup in sups:
            assert all(r.address is not None for r in rt.which_children(sup))
    assert rt.leftovers == []


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
