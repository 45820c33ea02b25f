"""``megabrain demo``: islands on 127.0.0.1 evolving one problem and sharing champions.

Starts ``--nodes`` (default 3) ``megabrain evolve MORPHOLOGY --mesh`` processes on loopback
(the first is the others' bootstrap seed), shows a live table (node, generation, best
fitness, evaluations, genotypes sent / received / accepted / rejected), stops every node as
soon as one solves the task (or at ``--timeout``), prints a summary, and writes a PNG of
each node's best fitness over time with the adoptions marked. Every file goes to ``--out``
(status, event logs, node logs, the plot). Exit status 0 when a node solved, 1 otherwise.
A node that dies mid-run (killed, or exiting on its own) is reported when it happens and in
the summary, its figures stay those of its last status, and the demo removes the control
file a killed node leaves behind.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.cli import UsageError

__all__ = ["register"]

ROOT = Path(__file__).resolve().parents[2]
#: Seconds a node may take to start its mesh node and write its first status.
START_TIMEOUT = 60.0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="three islands on 127.0.0.1 evolving one problem, sharing champions",
        description="Start N island processes on 127.0.0.1 evolving the same problem and "
        "sharing their improving champions over the QUIC mesh; stop when one solves it.",
    )
    p.add_argument("--morphology", default="dpnv", help="problem to evolve (default dpnv)")
    p.add_argument("--nodes", type=int, default=3, help="island processes (default 3)")
    p.add_argument("--population", type=int, default=20, help="agents per node (default 20)")
    p.add_argument("--seed", type=int, default=1, help="node k gets seed SEED+k (default 1)")
    p.add_argument("--realm", default="demo", help="mesh realm (default demo)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    p.add_argument("--out", default="megabrain-demo", help="output directory")
    p.add_argument("--plot", help="PNG path (default OUT/demo.png)")
    p.add_argument("--isolated", action="store_true", help="no sharing (for comparison)")
    p.add_argument("--config", metavar="FILE.toml", help="evolution/[mesh] config for nodes")
    p.add_argument("--no-live", action="store_true", help="plain progress lines, no table")
    p.set_defaults(func=run_demo)


@dataclass
class Node:
    """One island process and the files it writes."""

    name: str
    proc: subprocess.Popen[bytes]
    status_path: Path
    events_path: Path
    log: Any
    control_path: Path
    status: dict[str, Any] = field(default_factory=dict)
    #: ``(seconds into the demo, exit status)`` of a node that ended before the demo stopped it
    died: tuple[float, int] | None = None
    stopped: bool = False  # the demo ended it (SIGTERM at the end of the run)

    def refresh(self) -> dict[str, Any]:
        if self.died is None:  # a dead node's last status is kept as it was
            with contextlib.suppress(OSError, ValueError):
                self.status = json.loads(self.status_path.read_text())
        return self.status

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def check_death(self, elapsed: float) -> bool:
        """Record (once) that the node ended on its own or was killed. A killed node cannot
        remove its control file: the demo removes it. True the first time it is seen."""
        rc = self.proc.poll()
        if rc is None or self.stopped or self.died is not None:
            return False
        self.refresh()
        self.died = (elapsed, rc)
        if rc < 0:
            self.control_path.unlink(missing_ok=True)
        return True

    @property
    def state(self) -> str:
        if self.status.get("solved"):
            return "solved"
        if self.died is not None:
            return _ending(self.died[1])
        return "running" if self.running else "stopped"

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM (the island lets its last publications leave), then SIGKILL, by PID."""
        if self.proc.poll() is None:
            self.stopped = True
            os.kill(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.control_path.unlink(missing_ok=True)  # a killed node leaves its own behind
        self.log.close()


def _spawn(args: argparse.Namespace, out: Path, k: int, seed_address: str | None) -> Node:
    from actors.runtime.lifeline import tie_to_parent

    name = f"n{k}"
    status = out / f"{name}.status.json"
    events = out / f"{name}.events.jsonl"
    for f in (status, events):
        f.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "actors", "evolve", args.morphology, "--quiet",
        "--seed", str(args.seed + k), "--population", str(args.population),
        "--max-evaluations", "none", "--max-generations", "1000000",
        "--mesh", "--realm", args.realm, "--label", name,
        "--mesh-status", str(status), "--mesh-events", str(events),
        "--control-file", str(out / f"{name}.control.json"), "--linger", "2",
        "--start-file", str(out / "go"),
    ]  # fmt: skip
    if args.config:
        cmd += ["--config", args.config]
    if seed_address and not args.isolated:
        cmd += ["--bootstrap", seed_address]
    if args.isolated:
        cmd += ["--realm", f"{args.realm}-{name}"]  # alone in its own realm
    log = open(out / f"{name}.log", "ab")  # noqa: SIM115 - closed in Node.stop()
    path = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    env = {**os.environ, "PYTHONPATH": path}
    tie = functools.partial(tie_to_parent, os.getpid())  # a SIGKILLed demo takes its nodes
    proc = subprocess.Popen(cmd, cwd=os.getcwd(), env=env, stdout=log, stderr=log, preexec_fn=tie)
    return Node(name, proc, status, events, log, out / f"{name}.control.json")


def _wait_started(node: Node, deadline: float) -> str:
    while time.monotonic() < deadline:
        st = node.refresh()
        if st.get("address"):
            return str(st["address"])
        if not node.running:
            raise UsageError(f"node {node.name} exited at start{_last_error(node)}; "
                             f"see its log {node.log.name}")  # fmt: skip
        time.sleep(0.1)
    raise UsageError(f"node {node.name} did not start within {START_TIMEOUT:.0f} s")


def _last_error(node: Node) -> str:
    """``: REASON`` from the node's own one-line error (``megabrain evolve: error: REASON``,
    e.g. an address it cannot listen on), or nothing."""
    node.log.flush()
    with contextlib.suppress(OSError):
        for line in reversed(Path(node.log.name).read_text(errors="replace").splitlines()):
            head, sep, reason = line.partition(": error: ")
            if sep and head.startswith("megabrain "):
                return f": {reason}"
    return ""


def _ending(rc: int) -> str:
    """How a node's process ended, from its exit status."""
    if rc < 0:
        with contextlib.suppress(ValueError):
            return f"killed ({signal.Signals(-rc).name})"
        return f"killed (signal {-rc})"
    return "finished" if rc == 0 else f"exited {rc}"


def _death_line(n: Node) -> str:
    assert n.died is not None
    at, rc = n.died
    return (f"{n.name} {_ending(rc)} at {at:.1f} s, generation {n.status.get('generation', 0)}: "
            f"its figures are frozen at its last status; see its log {n.log.name}")  # fmt: skip


def _row(n: Node) -> list[str]:
    st = n.status
    best = st.get("best")
    return [
        n.name, n.state, str(st.get("generation", 0)),
        "-" if best is None else f"{best:.4f}", f"{st.get('evaluations', 0):,}",
        str(st.get("published", 0)), str(st.get("received", 0)),
        str(st.get("accepted", 0)), str(st.get("rejected", 0)),
    ]  # fmt: skip


HEADERS = ["node", "state", "gen", "best", "evaluations", "sent", "recv", "accepted", "rejected"]


def _table(nodes: list[Node], elapsed: float, args: argparse.Namespace) -> Any:
    from rich.table import Table

    mode = "isolated" if args.isolated else f"sharing in realm {args.realm!r}"
    t = Table(title=f"megabrain demo: {args.morphology}, {len(nodes)} islands, {mode}, "
              f"{elapsed:.0f} s")  # fmt: skip
    for h in HEADERS:
        t.add_column(h, justify="left" if h in ("node", "state") else "right")
    for n in nodes:
        t.add_row(*_row(n))
    return t


def run_demo(args: argparse.Namespace) -> int:
    from morphologies import MorphologyError, get_morphology

    try:
        get_morphology(args.morphology)
    except MorphologyError as exc:
        raise UsageError(str(exc)) from exc
    if not 1 <= args.nodes <= 16:
        raise UsageError("--nodes must be between 1 and 16")
    if args.population < 1 or args.timeout <= 0:
        raise UsageError("--population and --timeout must be positive")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot = Path(args.plot) if args.plot else out / "demo.png"
    nodes: list[Node] = []
    started = time.monotonic()
    winner: Node | None = None
    go = out / "go"  # the nodes wait for it: created once all are up, they start together
    go.unlink(missing_ok=True)
    try:
        nodes.append(_spawn(args, out, 0, None))
        seed_address = _wait_started(nodes[0], time.monotonic() + START_TIMEOUT)
        for k in range(1, args.nodes):
            nodes.append(_spawn(args, out, k, seed_address))
        for n in nodes[1:]:
            _wait_started(n, time.monotonic() + START_TIMEOUT)
        go.touch()
        winner = _watch(nodes, args, started)
    finally:
        for n in nodes:
            n.check_death(time.monotonic() - started)
            n.stop()
    elapsed = time.monotonic() - started
    for n in nodes:
        n.refresh()
    _summary(nodes, winner, elapsed, args)
    try:
        _plot(nodes, plot, args)
        print(f"plot: {plot}")
    except ImportError:
        print("plot: matplotlib is not installed (pip install 'megabrain[plot]')")
    print(f"files: {out}/ (status, events, logs)")
    return 0 if winner is not None else 1


def _watch(nodes: list[Node], args: argparse.Namespace, started: float) -> Node | None:
    """Refresh the table until a node solves, every node exits, or the timeout."""
    live: Any = None
    if not args.no_live and sys.stdout.isatty():
        from rich.live import Live

        live = Live(_table(nodes, 0.0, args), refresh_per_second=4, transient=False)
        live.start()
    last_line = 0.0
    try:
        while True:
            elapsed = time.monotonic() - started
            for n in nodes:
                n.refresh()
                if n.check_death(elapsed):
                    (live.console.print if live is not None else print)(
                        f"[{elapsed:5.0f} s] {_death_line(n)}"
                    )
            winner = next((n for n in nodes if n.status.get("solved")), None)
            if live is not None:
                live.update(_table(nodes, elapsed, args))
            elif elapsed - last_line >= 5.0 or winner is not None:
                last_line = elapsed
                cells = ", ".join(
                    f"{r[0]}{'' if r[1] in ('running', 'solved') else ' ' + r[1].upper()} "
                    f"gen {r[2]} best {r[3]} evals {r[4]} s/r/a/x {r[5]}/{r[6]}/{r[7]}/{r[8]}"
                    for r in map(_row, nodes)
                )  # fmt: skip
                print(f"[{elapsed:5.0f} s] {cells}", flush=True)
            if winner is not None:
                return winner
            if not any(n.running for n in nodes) or elapsed >= args.timeout:
                return None
            time.sleep(0.25)
    finally:
        if live is not None:
            live.stop()


def _summary(nodes: list[Node], winner: Node | None, elapsed: float, args: Any) -> None:
    total = sum(int(n.status.get("evaluations", 0)) for n in nodes)
    print()
    if winner is not None:
        st = winner.status
        adopted = _events(winner, "adopt")
        print(f"{winner.name} solved {args.morphology} after {st.get('evaluations', 0):,} of its "
              f"own evaluations ({total:,} across {len(nodes)} nodes) in {elapsed:.1f} s; "
              f"it had adopted {len(adopted)} champions from other nodes.")  # fmt: skip
    else:
        print(f"no node solved {args.morphology} within {elapsed:.0f} s "
              f"({total:,} evaluations across {len(nodes)} nodes).")  # fmt: skip
    for n in nodes:
        if n.died is not None:
            print(_death_line(n))
    print(f"{'node':5} {'state':16} {'best':>8} {'evals':>8} {'sent':>5} {'recv':>5} {'acc':>5} "
          f"{'rej':>5}  rejected by reason        latency p50 (s)")  # fmt: skip
    for n in nodes:
        st = n.status
        lat = sorted(e["latency"] for e in _events(n, "accept") if "latency" in e)
        p50 = f"{lat[len(lat) // 2]:.2f}" if lat else "-"
        best = st.get("best")
        reasons = ",".join(f"{k}={v}" for k, v in st.get("rejected_by_reason", {}).items()) or "-"
        print(f"{n.name:5} {n.state:16} {'-' if best is None else f'{best:.4f}':>8} "
              f"{st.get('evaluations', 0):>8} {st.get('published', 0):>5} "
              f"{st.get('received', 0):>5} {st.get('accepted', 0):>5} "
              f"{st.get('rejected', 0):>5}  {reasons:25} {p50:>8}")  # fmt: skip


def _events(n: Node, kind: str) -> list[dict[str, Any]]:
    from actors.distributed.island import read_events

    return read_events(n.events_path, kind)


def _plot(nodes: list[Node], path: Path, args: Any) -> None:
    """Best fitness of every node over time; adoptions marked on the adopter's curve."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    t0 = min((ev["t"] for n in nodes for ev in _events(n, "node")), default=0.0)
    for n in nodes:
        steps = [e for e in _events(n, "step") if e.get("best") is not None]
        if not steps:
            continue
        xs = [e["t"] - t0 for e in steps]
        ys = [e["best"] for e in steps]
        (line,) = ax.step(xs, ys, where="post", label=n.name)
        adopts = _events(n, "adopt")
        if adopts:
            ax_x, ax_y = [], []
            for a in adopts:
                before = [e["best"] for e in steps if e["t"] <= a["t"]]
                ax_x.append(a["t"] - t0)
                ax_y.append(before[-1] if before else a["fitness"])
            ax.scatter(ax_x, ax_y, marker="v", s=40, color=line.get_color(), zorder=3,
                       label=f"{n.name} adopts")  # fmt: skip
        if n.status.get("solved"):
            ax.scatter([xs[-1]], [ys[-1]], marker="*", s=200, color=line.get_color(), zorder=4)
        elif n.died is not None:
            ax.scatter([xs[-1]], [ys[-1]], marker="X", s=90, color=line.get_color(), zorder=4,
                       label=f"{n.name} {n.state}")  # fmt: skip
    mode = "isolated" if args.isolated else "sharing champions"
    ax.set_title(f"{args.morphology}: best fitness per island ({mode}); ▼ adoption, ★ solved")
    ax.set_xlabel("seconds")
    ax.set_ylabel("best fitness")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
