"""A driver process for the lifeline tests: ``python -m tests.runtime.lifeline_driver``.

Starts a ``local`` actor system (a supervisor, a sub-supervisor and workers), prints one JSON
line (``driver``, ``admin``, ``pids``: the Admin and every actor process), then waits on the
system until it is killed; if its Admin dies first it prints ``lost: ...`` and exits 3.
"""

from __future__ import annotations

import json
import os
import sys

from actors.runtime import ChildSpec, SupervisorArgs, SupFlags, SystemLost, start_system
from actors.runtime.supervisor import Supervisor
from tests.runtime.lifeline_actors import DeathSig


def main() -> int:
    flags = SupFlags("one_for_one", intensity=3, period=5.0)
    inner = ChildSpec("inner", Supervisor, (SupervisorArgs(flags, (ChildSpec("w2", DeathSig),)),))
    with start_system("local") as rt:
        rt.start_supervisor(flags, [ChildSpec("w1", DeathSig, name="w1"), inner], name="top")
        print(json.dumps({"driver": os.getpid(), "admin": rt.admin_pid, "pids": rt.pids()}),
              flush=True)  # fmt: skip
        try:
            while True:
                rt.receive(1.0)
        except SystemLost as exc:
            print(f"lost: {exc}", flush=True)
            return 3


if __name__ == "__main__":
    sys.exit(main())
