"""``megabrain runtime check``: check this host's actor runtime end to end.

Starts the runtime in the chosen mode, starts a supervisor with three named
workers, kills one (``local``: SIGKILL of its process; ``simple``: an exit request,
the closest thing in one thread), verifies that the supervisor restarted it and
that its name resolves to the replacement, lists the runtime's listening sockets,
shuts down, and reports. Exit status 0 only if all is well.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

from actors.cli import UsageError
from actors.cli.output import JSON_HELP, check_json_target, write_json

__all__ = ["register", "run_check"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("runtime", help="actor runtime tools")
    sub = parser.add_subparsers(dest="runtime_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="start the runtime, kill a supervised child, verify restart/registry/sockets",
    )
    check.add_argument("--mode", choices=("simple", "local"), default="local")
    check.add_argument("--json", metavar="PATH", help=JSON_HELP)
    check.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the restart"
    )
    check.set_defaults(func=_main)


def run_check(mode: str, timeout: float = 30.0) -> dict[str, Any]:
    """Run the check; return the report (``ok`` says whether all is well)."""
    from actors.runtime import ChildSpec, SupFlags, start_system
    from actors.runtime.loopback import is_loopback
    from actors.runtime.probe import Probe

    report: dict[str, Any] = {
        "mode": mode,
        "ok": False,
        "restart_ms": None,
        "registry_ok": False,
        "listening": [],
        "non_loopback": [],
        "leftover_processes": [],
        "errors": [],
    }
    rt = None
    try:
        with start_system(mode) as rt:
            names = [f"check.worker.{i}" for i in range(3)]
            sup = rt.start_supervisor(
                SupFlags("one_for_one", intensity=3, period=5),
                [ChildSpec(f"w{i}", Probe, name=n) for i, n in enumerate(names)],
                name="check.supervisor",
            )
            victim = names[1]
            old = rt.whereis(victim)
            pid = rt.request(old, "pid")
            t0 = time.perf_counter()
            if mode == "local":
                os.kill(pid, signal.SIGKILL)
            else:
                from thespian.actors import ActorExitRequest

                rt.tell(old, ActorExitRequest())
            new = None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                candidate = rt.whereis(victim)
                if (
                    candidate is not None
                    and candidate != old
                    and (
                        rt.request(candidate, "ping", timeout=max(0.1, deadline - time.monotonic()))
                        == "ping"
                    )
                ):
                    new = candidate
                    break
                time.sleep(0.001)
            if new is None:
                report["errors"].append(f"{victim} was not restarted within {timeout} s")
            else:
                report["restart_ms"] = round((time.perf_counter() - t0) * 1000, 2)
            rows = {r.id: r for r in rt.which_children(sup)}
            others_ok = all(rt.request(rt.whereis(n), "x") == "x" for n in names)
            report["registry_ok"] = bool(
                new is not None and rows["w1"].incarnation == 2 and others_ok
            )
            if not report["registry_ok"]:
                report["errors"].append("registry or restart state not as expected")
            listening = rt.listeners() if mode != "simple" else []
            report["listening"] = [
                {"pid": x.pid, "host": x.host, "port": x.port} for x in listening
            ]
            report["non_loopback"] = [x for x in report["listening"] if not is_loopback(x["host"])]
            if report["non_loopback"]:
                report["errors"].append("sockets listen beyond loopback")
    except Exception as exc:  # report, never crash
        report["errors"].append(f"{type(exc).__name__}: {exc}")
    if rt is not None:
        report["leftover_processes"] = list(rt.leftovers)
        if rt.leftovers:
            report["errors"].append("processes left after shutdown")
    report["ok"] = not report["errors"]
    return report


def _main(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise UsageError("--timeout must be > 0")
    check_json_target(args.json)
    report = run_check(args.mode, args.timeout)
    if args.json:
        write_json(args.json, report)
    status = "OK" if report["ok"] else "FAILED"
    print(f"runtime check ({report['mode']}): {status}")
    print(
        f"  restart after kill: {report['restart_ms']} ms; registry: "
        f"{'ok' if report['registry_ok'] else 'NOT ok'}"
    )
    hosts = sorted({x["host"] for x in report["listening"]})
    print(f"  listening sockets: {len(report['listening'])} on {', '.join(hosts) or '-'}")
    print(f"  leftover processes: {report['leftover_processes'] or 'none'}")
    for err in report["errors"]:
        print(f"  error: {err}", file=sys.stderr)
    return 0 if report["ok"] else 1
