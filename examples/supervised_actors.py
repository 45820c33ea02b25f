"""A supervised actor experiment: workers under an OTP supervisor, names, monitors, restarts.

    python examples/supervised_actors.py [simple|local]

Three counters run under a ``one_for_one`` supervisor that allows 2 restarts in 10 s.
1. They are reached through their registered names.
2. One is monitored and made to crash: the caller gets ``RequestFailed``, the monitor ``Down``
   (abnormal, with the exception), and the supervisor restarts it with a fresh state; its
   name now leads to the new incarnation.
3. In ``local`` mode (one OS process per actor) another is SIGKILLed: ``Down`` (killed), and
   it is restarted too.
4. A third failure within the period is one restart too many: the supervisor stops its
   children and exits (OTP's escalation), which a monitor on the supervisor sees.
"""

import contextlib
import os
import signal
import sys

from counters import Counter

from actors.runtime import ChildSpec, RequestFailed, SupFlags, start_system

mode = sys.argv[1] if len(sys.argv) > 1 else "local"
with start_system(mode) as rt:
    rt.start_supervisor(
        SupFlags("one_for_one", intensity=2, period=10.0),
        [ChildSpec(f"c{k}", Counter, args=(100 * k,), name=f"counter.{k}") for k in range(3)],
        name="counters",
    )
    print("1. counters:", [rt.request(rt.whereis(f"counter.{k}"), 1) for k in range(3)])

    watch = rt.monitor("counter.0")
    old = rt.whereis("counter.0")
    try:
        rt.request(old, "crash")
    except RequestFailed as exc:
        print("2. caller:", exc)
    down = rt.wait_down(watch, 10.0)
    print("   monitor:", down.reason.kind, "-", down.reason.reason)
    new = rt.whereis("counter.0")
    while new is None or new == old:  # the supervisor registers the new incarnation
        new = rt.whereis("counter.0")
    print("   restarted, fresh state:", rt.request(new, 5))

    top = rt.monitor("counters")
    if mode == "local":
        victim = rt.whereis("counter.1")
        watch = rt.monitor(victim)
        os.kill(rt.request(victim, "pid"), signal.SIGKILL)
        print("3. SIGKILL:", rt.wait_down(watch, 10.0).reason.kind)
    else:
        print("3. (no processes to kill in simple mode) second crash:")
        try:
            rt.request(rt.whereis("counter.1"), "crash")
        except RequestFailed:
            print("   counter.1 crashed and is restarted")
    with contextlib.suppress(RequestFailed):
        rt.request(rt.whereis("counter.2"), "crash")  # the third failure in the period
    print("4. supervisor:", rt.wait_down(top, 10.0).reason.reason)
