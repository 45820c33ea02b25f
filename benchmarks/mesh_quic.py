"""Mesh over QUIC on 127.0.0.1: throughput vs raw aioquic, RPC round trip, 50 KB fan-out, detection.

    python benchmarks/mesh_quic.py [--quick]

Definitions (printed with the results):

* ``raw_aioquic_fps``: the peer. 200 B frames, 4-byte length prefix, one aioquic connection,
  one stream, written in batches with the same high-water backpressure, counted by a receiver
  that parses the prefixes. Both ends in this process.
* ``transport_fps``: the same 200 B frames through :class:`mesh.transport.QuicTransport`
  (authenticated connection, own bounded queues, lanes, per-peer rate limit, delivery callback),
  same connection pattern, same process layout. ``transport_vs_raw`` = their ratio.
* ``pubsub_events_per_s``: end to end through two :class:`mesh.node.MeshNode` s: 200 B
  ``publish(reliable=False)`` -> signed event, subscriber lookup in the DHT, frame, signature
  check, dedup, ``EventReceived``; at most 64 publications in flight. Reported with its own
  ratio to the raw peer.
* ``rpc_rtt``: ``MeshNode.call`` of an echo procedure on another node (both in this process);
  ``direct`` passes the provider, ``with_lookup`` lets the core find it in the DHT per call.
* ``fanout_50k``: a publisher in this process, 4 subscriber *processes*; latency from just
  before ``publish`` to the subscriber's ``EventReceived`` (CLOCK_MONOTONIC is shared by the
  processes of one host), worst of the 4 subscribers per event, p50/p99 over events.
* ``detect_kill``: 5 ``megabrain node`` processes with the default SWIM settings (period 1 s);
  one is SIGKILLed; time until every other node reports it ``dead`` (polled every 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aioquic.asyncio.client import connect  # noqa: E402
from aioquic.asyncio.protocol import QuicConnectionProtocol  # noqa: E402
from aioquic.asyncio.server import serve  # noqa: E402
from aioquic.quic import events as qe  # noqa: E402
from aioquic.quic.configuration import QuicConfiguration  # noqa: E402

from mesh.control import ControlClient  # noqa: E402
from mesh.core import MeshConfig  # noqa: E402
from mesh.frames import Contact  # noqa: E402
from mesh.handshake import Handshake, PeerInfo  # noqa: E402
from mesh.identity import ED25519, NodeKey  # noqa: E402
from mesh.node import MeshNode, NodeConfig  # noqa: E402
from mesh.pubsub import PubSubConfig  # noqa: E402
from mesh.realms import Realm  # noqa: E402
from mesh.tls import make_tls_identity  # noqa: E402
from mesh.transport import QuicTransport, TransportConfig  # noqa: E402

FRAME = 200
WINDOW = 64  # pub/sub publications in flight
HIGH_WATER = TransportConfig().stream_high_water


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


# ---------------------------------------------------------------------- raw aioquic peer
class _RawServer(QuicConnectionProtocol):
    count = 0
    done: asyncio.Event | None = None
    target = 0

    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        self.buf = bytearray()

    def quic_event_received(self, event: qe.QuicEvent) -> None:
        if isinstance(event, qe.StreamDataReceived):
            buf = self.buf
            buf += event.data
            pos = 0
            n = len(buf)
            while n - pos >= 4:
                size = int.from_bytes(buf[pos : pos + 4], "big")
                if n - pos - 4 < size:
                    break
                _frame = bytes(buf[pos + 4 : pos + 4 + size])
                pos += 4 + size
                _RawServer.count += 1
            del buf[:pos]
            if _RawServer.count >= _RawServer.target and _RawServer.done is not None:
                _RawServer.done.set()


def _buffers(sock: Any) -> None:
    """The same UDP buffer sizes the mesh transport asks for (fair comparison)."""
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, opt, TransportConfig().socket_buffer)


async def raw_aioquic(n: int) -> float:
    tls = make_tls_identity(time.time())
    scfg = QuicConfiguration(is_client=False, alpn_protocols=["megabrain/1"],
                             max_data=8 << 20, max_stream_data=4 << 20)  # fmt: skip
    scfg.certificate, scfg.private_key = tls.certificate, tls.private_key
    _RawServer.count, _RawServer.target, _RawServer.done = 0, n, asyncio.Event()
    server = await serve("127.0.0.1", 0, configuration=scfg, create_protocol=_RawServer)
    ssock = server._transport.get_extra_info("socket")
    _buffers(ssock)
    port = ssock.getsockname()[1]
    ccfg = QuicConfiguration(is_client=True, alpn_protocols=["megabrain/1"], verify_mode=0,
                             max_data=8 << 20, max_stream_data=4 << 20)  # fmt: skip
    frame = FRAME.to_bytes(4, "big") + b"x" * FRAME
    async with connect("127.0.0.1", port, configuration=ccfg) as client:
        _buffers(client._transport.get_extra_info("socket"))
        quic = client._quic
        sid = quic.get_next_available_stream_id()
        t0 = time.perf_counter()
        sent = 0
        while sent < n:
            s = quic._streams.get(sid)
            buffered = 0 if s is None else s.sender._buffer_stop - s.sender._buffer_start
            if buffered < HIGH_WATER:
                k = min(256, n - sent)
                quic.send_stream_data(sid, frame * k)
                sent += k
                client.transmit()
            await asyncio.sleep(0)
        await asyncio.wait_for(_RawServer.done.wait(), 120)
        dt = time.perf_counter() - t0
    server.close()
    return n / dt


# ---------------------------------------------------------------------- transport
class _Count:
    def __init__(self, target: int) -> None:
        self.n = 0
        self.target = target
        self.done = asyncio.Event()

    def peer_authenticated(self, info: PeerInfo) -> None:
        pass

    def peer_lost(self, node_id: bytes) -> None:
        pass

    def frame_received(self, node_id: bytes, data: bytes) -> None:
        self.n += 1
        if self.n >= self.target:
            self.done.set()


async def _transport(count: _Count) -> QuicTransport:
    key = NodeKey.generate()
    holder: dict[str, QuicTransport] = {}
    rng = random.Random()

    def hs(initiator: bool) -> Handshake:
        return Handshake(key, [Realm("default")], ED25519, rng, initiator=initiator,
                         address=holder["t"].address)  # fmt: skip

    cfg = TransportConfig(rate=1e9, burst=1e9)
    t = QuicTransport(key, hs, count, crypto=ED25519, config=cfg)
    holder["t"] = t
    await t.listen("127.0.0.1", 0)
    return t


async def transport_fps(n: int) -> float:
    recv = _Count(n)
    a = await _transport(_Count(0))
    b = await _transport(recv)
    await a.dial(b.address)
    frame = b"x" * FRAME
    nid = b.key.node_id
    t0 = time.perf_counter()
    sent = 0
    while sent < n:
        k = 0
        while sent < n and k < 256 and a.send(nid, frame):
            sent += 1
            k += 1
        await asyncio.sleep(0)
    await asyncio.wait_for(recv.done.wait(), 120)
    dt = time.perf_counter() - t0
    await a.close()
    await b.close()
    return n / dt


# ---------------------------------------------------------------------- nodes in process
DATAGRAM_SETTING = [TransportConfig().max_datagram_size]  # --datagram


def _fast_config() -> NodeConfig:
    mesh = MeshConfig(
        pubsub=PubSubConfig(rate=1e9, burst=1e9, queue_limit=1_000_000),
        inbound_rate=1e9, inbound_burst=1e9,
    )  # fmt: skip
    tr = TransportConfig(rate=1e9, burst=1e9, max_datagram_size=DATAGRAM_SETTING[0])
    return NodeConfig(mesh=mesh, transport=tr)


async def pubsub_eps(n: int) -> float:
    a = MeshNode(NodeKey.generate(), config=_fast_config())
    b = MeshNode(NodeKey.generate(), config=_fast_config())
    addr = await a.start()
    await b.start(bootstrap=[addr])
    await b.wait_joined()
    got = asyncio.Event()
    count = [0]

    def on_event(ev: Any) -> None:
        count[0] += 1
        if count[0] >= n:
            got.set()

    await b.subscribe("bench", on_event)
    payload = b"p" * FRAME
    t0 = time.perf_counter()
    for i in range(n):
        # a window of WINDOW publications in flight: each one starts a DHT lookup, and an
        # unbounded burst would only measure the publisher's overload
        while i - count[0] >= WINDOW:
            await asyncio.sleep(0.0005)
        await a.publish("bench", payload, reliable=False)
    with contextlib.suppress(TimeoutError):  # report what arrived
        await asyncio.wait_for(got.wait(), 120)
    dt = time.perf_counter() - t0
    await a.close()
    await b.close()
    return count[0] / dt


async def rpc_rtt(n_direct: int, n_lookup: int) -> dict[str, float]:
    a = MeshNode(NodeKey.generate())
    b = MeshNode(NodeKey.generate())
    addr = await a.start()
    await b.start(bootstrap=[addr])
    await b.wait_joined()
    await a.register("echo", lambda caller, args: args)
    provider = Contact(a.node_id, a.address)
    direct, lookup = [], []
    for _ in range(20):  # warm up
        await b.call("echo", b"w", provider=provider)
    for _ in range(n_direct):
        t = time.perf_counter()
        await b.call("echo", b"x" * 64, provider=provider)
        direct.append((time.perf_counter() - t) * 1e3)
    for _ in range(n_lookup):
        t = time.perf_counter()
        await b.call("echo", b"x" * 64)
        lookup.append((time.perf_counter() - t) * 1e3)
    await a.close()
    await b.close()
    return {
        "direct_p50_ms": pct(direct, 0.5), "direct_p99_ms": pct(direct, 0.99),
        "with_lookup_p50_ms": pct(lookup, 0.5), "with_lookup_p99_ms": pct(lookup, 0.99),
    }  # fmt: skip


# ---------------------------------------------------------------------- fan-out (processes)
async def _subscriber(seed: str, n: int) -> None:
    node = MeshNode(NodeKey.generate(), config=_fast_config())
    await node.start(bootstrap=[seed])
    await node.wait_joined(20)
    lat: list[float] = []
    done = asyncio.Event()

    def on_event(ev: Any) -> None:
        sent = float(ev.payload[:24].decode().strip())
        lat.append((time.monotonic() - sent) * 1e3)
        if len(lat) >= n:
            done.set()

    await node.subscribe("fanout", on_event)
    print(json.dumps({"ready": node.address}), flush=True)
    with contextlib.suppress(TimeoutError):  # report what arrived
        await asyncio.wait_for(done.wait(), 300)
    print(json.dumps({"latencies_ms": lat}), flush=True)
    await node.close()


async def fanout(n: int, size: int = 50_000, subscribers: int = 4) -> dict[str, float]:
    pub = MeshNode(NodeKey.generate(), config=_fast_config())
    addr = await pub.start()
    procs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        for _ in range(subscribers):
            procs.append(subprocess.Popen(
                [sys.executable, __file__, "--role", "subscriber", "--seed", addr, "-n", str(n),
                 "--datagram", str(DATAGRAM_SETTING[0])],
                stdout=subprocess.PIPE, env=env, cwd=ROOT,
            ))  # fmt: skip
        loop = asyncio.get_running_loop()
        for p in procs:
            assert p.stdout is not None
            line = await loop.run_in_executor(None, p.stdout.readline)
            assert b"ready" in line, line
        await asyncio.sleep(1.0)  # subscriptions replicated
        for _ in range(n):
            stamp = f"{time.monotonic():<24.6f}".encode()
            await pub.publish("fanout", stamp + b"z" * (size - len(stamp)))
            await asyncio.sleep(0.05)
        per_sub = []
        for p in procs:
            assert p.stdout is not None
            line = await loop.run_in_executor(None, p.stdout.readline)
            per_sub.append(json.loads(line)["latencies_ms"])
            p.wait(timeout=30)
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        await pub.close()
    m = min(len(x) for x in per_sub)
    worst = [max(x[i] for x in per_sub) for i in range(m)]
    every = [v for x in per_sub for v in x]
    return {
        "events": n, "delivered_min": m,
        "worst_of_4_p50_ms": pct(worst, 0.5), "worst_of_4_p99_ms": pct(worst, 0.99),
        "per_delivery_p50_ms": pct(every, 0.5), "per_delivery_p99_ms": pct(every, 0.99),
    }  # fmt: skip


# ---------------------------------------------------------------------- detection (processes)
def detect_kill(repeats: int) -> dict[str, Any]:
    times = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(repeats):
            procs: list[tuple[subprocess.Popen[bytes], dict[str, Any]]] = []
            try:
                seed = None
                for i in range(5):
                    cmd = [sys.executable, "-m", "actors", "node",
                           "--key", f"{tmp}/r{rep}n{i}.key"]  # fmt: skip
                    if seed:
                        cmd += ["--bootstrap", seed]
                    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, cwd=ROOT)
                    assert p.stdout is not None
                    info = json.loads(p.stdout.readline())
                    seed = seed or info["listen"]
                    procs.append((p, info))
                ctls = [ControlClient(info["control_file"]) for _, info in procs]
                victim = procs[-1][1]["node_id"]
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # everyone sees everyone alive
                    if all(sum(q["status"] == "alive" for q in c.request("peers")) >= 4
                           for c in ctls):  # fmt: skip
                        break
                    time.sleep(0.1)
                victim_proc = procs[-1][0]
                t0 = time.monotonic()
                os.kill(victim_proc.pid, signal.SIGKILL)
                pending = set(range(4))
                while pending and time.monotonic() - t0 < 60:
                    for i in list(pending):
                        st = {q["node_id"]: q["status"] for q in ctls[i].request("peers")}
                        if st.get(victim) == "dead":
                            pending.discard(i)
                    time.sleep(0.05)
                times.append(time.monotonic() - t0 if not pending else float("inf"))
            finally:
                for p, _ in procs:
                    if p.poll() is None:
                        os.kill(p.pid, signal.SIGKILL)
                    p.wait()
    return {"runs": len(times), "max_s": max(times), "mean_s": statistics.mean(times)}


# ---------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--role", default="main")
    ap.add_argument("--seed", default="")
    ap.add_argument("-n", type=int, default=0)
    ap.add_argument(
        "--datagram",
        type=int,
        default=DATAGRAM_SETTING[0],
        help="max UDP payload of the mesh nodes (default: the transport's)",
    )
    ap.add_argument("--only", choices=["fanout"], help="run one section")
    args = ap.parse_args()
    DATAGRAM_SETTING[0] = args.datagram
    if args.role == "subscriber":
        asyncio.run(_subscriber(args.seed, args.n))
        return 0
    q = args.quick
    res: dict[str, Any] = {
        "machine_cores": os.cpu_count(),
        "quick": q,
        "datagram": DATAGRAM_SETTING[0],
    }
    if args.only == "fanout":
        print(json.dumps(asyncio.run(fanout(50 if q else 200)), indent=1))
        return 0
    n = 50_000 if q else 200_000
    res["raw_aioquic_fps"] = asyncio.run(raw_aioquic(n))
    res["transport_fps"] = asyncio.run(transport_fps(n))
    res["transport_vs_raw"] = res["transport_fps"] / res["raw_aioquic_fps"]
    res["pubsub_events_per_s"] = asyncio.run(pubsub_eps(1000 if q else 5000))
    res["pubsub_vs_raw"] = res["pubsub_events_per_s"] / res["raw_aioquic_fps"]
    res["rpc_rtt"] = asyncio.run(rpc_rtt(200 if q else 1000, 50 if q else 200))
    res["fanout_50k"] = asyncio.run(fanout(50 if q else 200))
    res["detect_kill"] = detect_kill(1 if q else 3)
    print(json.dumps(res, indent=1))
    r, f, d = res["rpc_rtt"], res["fanout_50k"], res["detect_kill"]
    rows = [
        ("200 B frames/s, raw aioquic (peer)", f"{res['raw_aioquic_fps']:,.0f}", ""),
        ("200 B frames/s, mesh transport", f"{res['transport_fps']:,.0f}",
         f"{res['transport_vs_raw']:.2f}x raw (goal >= 0.50)"),
        ("200 B pub/sub events/s, node to node", f"{res['pubsub_events_per_s']:,.0f}",
         f"{res['pubsub_vs_raw']:.3f}x raw"),
        ("RPC round trip p50 / p99 (direct)",
         f"{r['direct_p50_ms']:.2f} / {r['direct_p99_ms']:.2f} ms", ""),
        ("RPC round trip p50 / p99 (DHT lookup per call)",
         f"{r['with_lookup_p50_ms']:.2f} / {r['with_lookup_p99_ms']:.2f} ms", ""),
        ("50 KB fan-out to 4, worst subscriber p50 / p99",
         f"{f['worst_of_4_p50_ms']:.1f} / {f['worst_of_4_p99_ms']:.1f} ms", "goal p99 <= 20 ms"),
        ("killed node detected by all 4 others (max of runs)", f"{d['max_s']:.2f} s",
         "goal <= 10 s"),
    ]  # fmt: skip
    print("\n| measure | value | note |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
