"""Three ``megabrain node`` processes -- a victim and two honest nodes A and B -- with honest
traffic between A and B measured while an attacker process (:mod:`dht_attackers`) attacks the
victim. Shared by ``test_attack_dht.py`` and ``benchmarks/mesh_attacks.py``.

Honest traffic (one probe every ``interval`` s, through the control endpoints): A calls B's
``echo-b`` procedure (a DHT lookup of the service, then the call) and publishes a numbered
event on ``honest.news``, to which B subscribes; B's received events are drained. The
victim is A's and B's bootstrap, so their lookups and subscriber look-ups go through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.mesh_quic.procs import ROOT, NodeProc, status_of, wait_for

TOPIC = "honest.news"


@dataclass
class Probe:
    """One round of honest traffic: when it started, the RPC's latency (None: failed)."""

    at: float
    rpc: float | None
    error: str = ""


@dataclass
class Traffic:
    """What the prober saw (times are ``time.monotonic()``)."""

    probes: list[Probe] = field(default_factory=list)
    published: dict[int, float] = field(default_factory=dict)  # event number -> sent at
    received: dict[int, float] = field(default_factory=dict)  # event number -> seen at
    rss_peak: int = 0

    def rpc_between(self, t0: float, t1: float) -> list[Probe]:
        return [p for p in self.probes if t0 <= p.at < t1]

    def events_between(self, t0: float, t1: float) -> list[int]:
        """Events published in [t0, t1) that B received (at any time)."""
        return [n for n, t in self.published.items() if t0 <= t < t1 and n in self.received]

    def first_ok_after(self, t: float, fast: float) -> float | None:
        """Delay after ``t`` of the first probe starting then whose RPC succeeded in ``fast``
        s or less and whose event reached B."""
        for n, p in enumerate(self.probes):  # probe n published event n
            if p.at >= t and p.rpc is not None and p.rpc <= fast and n in self.received:
                return p.at - t
        return None


class Trio:
    """Victim, A and B (A and B bootstrap through the victim); ``stop()`` kills all three."""

    def __init__(self, tmp: Path, victim_args: list[str] | None = None) -> None:
        self.nodes: list[NodeProc] = []
        try:
            self.victim = self._start(tmp, "victim", [], victim_args or [])
            self.a = self._start(tmp, "a", [self.victim.listen], [])
            self.b = self._start(tmp, "b", [self.victim.listen], [])
            self.b.request("register", procedure="echo-b", kind="echo")
            self.b.request("subscribe", topic=TOPIC)
            for x, y in ((self.victim, self.a), (self.victim, self.b), (self.a, self.b)):
                wait_for(lambda x=x, y=y: status_of(x, y.node_id) == "alive", 20, "alive")
            wait_for(self._rpc_ok, 20, "honest RPC")
        except BaseException:
            self.stop()
            raise
        self.ps = psutil.Process(self.victim.proc.pid)

    def _start(self, tmp: Path, name: str, boot: list[str], extra: list[str]) -> NodeProc:
        n = NodeProc(tmp, name, boot, extra)
        self.nodes.append(n)
        return n

    def _rpc_ok(self) -> bool:
        try:
            return bool(self.a.request("call", procedure="echo-b", args="00", timeout=5))
        except Exception:
            return False

    def stop(self) -> None:
        for n in self.nodes:
            n.kill()

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def victim_alive(self) -> bool:
        if self.victim.proc.poll() is not None:
            return False
        return bool(self.victim.request("status"))

    def victim_stats(self) -> dict[str, int]:
        return dict(self.victim.request("stats"))


class Prober:
    """Runs honest traffic between A and B in a thread until ``stop()``."""

    def __init__(self, trio: Trio, interval: float = 0.2) -> None:
        self.trio = trio
        self.interval = interval
        self.traffic = Traffic(rss_peak=trio.rss())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        tr, t = self.trio, self.traffic
        n = 0
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                tr.a.request("call", procedure="echo-b", args=n.to_bytes(4, "big").hex(),
                             timeout=10)  # fmt: skip
                t.probes.append(Probe(start, time.monotonic() - start))
            except Exception as exc:
                t.probes.append(Probe(start, None, str(exc)[:200]))
            try:
                t.published[n] = time.monotonic()
                tr.a.request("publish", topic=TOPIC, payload=n.to_bytes(4, "big").hex())
                for ev in tr.b.request("events", topic=TOPIC, wait=0):
                    t.received.setdefault(int(ev["payload"], 16), time.monotonic())
            except Exception:  # counted as not received
                pass
            with contextlib.suppress(psutil.Error):
                t.rss_peak = max(t.rss_peak, tr.rss())
            n += 1
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - start)))
        try:  # late deliveries
            for ev in tr.b.request("events", topic=TOPIC, wait=1.0):
                t.received.setdefault(int(ev["payload"], 16), time.monotonic())
        except Exception:
            pass


@dataclass
class AttackRun:
    """One attack against a trio: its window, the attacker's report, victim CPU% and RSS."""

    started: float
    ended: float
    report: dict[str, Any]
    victim_cpu: float
    rss_before: int
    rss_after: int


def attack(trio: Trio, name: str, *args: str, timeout: float = 120.0) -> AttackRun:
    """Run ``python -m tests.mesh_quic.dht_attackers NAME VICTIM ARGS...`` to its end."""
    cmd = [sys.executable, "-m", "tests.mesh_quic.dht_attackers", name, trio.victim.listen, *args]
    rss = trio.rss()
    trio.ps.cpu_percent()
    started = time.monotonic()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    ended = time.monotonic()
    cpu = trio.ps.cpu_percent()
    if out.returncode != 0:
        raise RuntimeError(f"attacker failed: {out.stderr[-2000:]}")
    return AttackRun(started, ended, json.loads(out.stdout.strip().splitlines()[-1]), cpu, rss,
                     trio.rss())  # fmt: skip


def summary(traffic: Traffic, run: AttackRun) -> dict[str, Any]:
    """Figures of one run: honest RPC latency and events during the attack, recovery."""
    during = traffic.rpc_between(run.started, run.ended)
    ok = [p.rpc for p in during if p.rpc is not None]
    published = [n for n, t in traffic.published.items() if run.started <= t < run.ended]
    return {
        "attack_s": round(run.ended - run.started, 2),
        "attacker": run.report,
        "victim_cpu_percent": round(run.victim_cpu, 1),
        "rss_growth_mb": round((run.rss_after - run.rss_before) / 1e6, 1),
        "rss_peak_growth_mb": round((traffic.rss_peak - run.rss_before) / 1e6, 1),
        "rpc_during": len(during),
        "rpc_failed_during": len(during) - len(ok),
        "rpc_p50_ms": round(1000 * statistics.median(ok), 1) if ok else None,
        "rpc_max_ms": round(1000 * max(ok), 1) if ok else None,
        "events_during": f"{len(traffic.events_between(run.started, run.ended))}/{len(published)}",
        "recovered_after_s": traffic.first_ok_after(run.ended, 0.5),
    }
