"""The island shell: a mesh node on its own thread, wired to an evolution run.

:class:`Island` is a :class:`~actors.evolution.run.StepHook`: ``evolve(opts, hook=island)``
calls it after every generation. It

* runs a :class:`~mesh.node.MeshNode` (QUIC) on an asyncio loop in a daemon thread, joins
  the realm through the bootstrap seeds, subscribes to ``tweann.genotypes.<morphology>`` in
  every realm it adopts from, and serves the local control endpoint (``megabrain mesh``);
* after each step -- and, with ``publish_on = "evaluation"`` (the default), each time a
  tuned agent beats every fitness the run has seen, mid-generation -- publishes the run's
  champion when the :class:`~.policy.PublishPolicy` says so (a sealed
  :class:`~.envelope.ChampionEnvelope`), and stores it as a DHT genotype advertisement
  under ``tweann.best.<morphology>`` (what ``megabrain mesh best`` reads);
* on an intake thread, passes every received event, with its author and the peer that
  delivered it (``EventReceived.via``), through the :class:`~.intake.Intake` pipeline as it
  arrives, **re-evaluates** each admitted genotype once on this node (no
  tuning, the compiled backend) and settles the claim; accepted genotypes wait for the
  driver's next call (the end of a step, or mid-step news with ``publish_on =
  "evaluation"``), when they are handed to the population monitor (``Immigrate``: cloned
  under local ids, joining the step under way or the next one);
* keeps a status record (``status_path``, JSON, replaced atomically after every step and
  stored in the DHT under ``tweann.islands`` for ``megabrain mesh nodes``) and an event
  log (``events_path``, JSON lines: steps, publications, adoptions, rejections) that the
  demo and the benchmark read.

The node thread only moves bytes and the intake thread only runs the pure cores and the
re-evaluation (bounded by the adoption rate limit); all decisions are the cores'.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.distributed.config import MeshSettings, topic_for
from actors.distributed.envelope import seal
from actors.distributed.intake import Admission, Intake
from actors.distributed.meter import UdpMeter
from actors.distributed.policy import PublishPolicy
from actors.evolution.exoself import EvaluateAgent, ExoselfError, run_exoself
from actors.evolution.monitor import Immigrated, StepDone, StepProgress
from actors.genotype import decode_agent, encode_agent
from mesh.control import ControlServer
from mesh.errors import MeshError
from mesh.events import (
    EventReceived,
    MemberDied,
    MemberRejoined,
    MemberSuspected,
    MeshEvent,
)
from mesh.identity import NodeKey, node_id_of, realm_id
from mesh.node import MeshNode, NodeConfig
from mesh.transport import parse_address

__all__ = ["BEST_PREFIX", "ISLANDS_KEY", "Island", "IslandOptions", "read_events"]

log = logging.getLogger(__name__)

#: SWIM's membership events as ``member`` entries of the event log.
_MEMBER_STATUS: dict[type[MeshEvent], str] = {
    MemberSuspected: "suspect",
    MemberDied: "dead",
    MemberRejoined: "alive",
}

#: DHT key (problem name) of the champion advertisements of a morphology.
BEST_PREFIX = "tweann.best."
#: Bytes a champion costs beyond its envelope each time it is sent, charged to the publication
#: budget: the signed pub/sub event or DHT record around it (~180 B) and QUIC packet headers.
SEND_OVERHEAD = 256
#: DHT key under which every island stores its status record.
ISLANDS_KEY = "tweann.islands"
#: Events kept between two steps at most (older ones are dropped and counted).
INBOX = 256


def _send_cost(data: bytes, copies: int) -> int:
    """Bytes charged to the publication budget for sending ``data`` to ``copies`` peers."""
    return (len(data) + SEND_OVERHEAD) * copies


def read_events(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The events of an island's log (``events_path``), oldest first, of one ``kind`` or all;
    a missing file gives none, and a line being written (not yet JSON) is skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if kind is None or ev.get("kind") == kind:
            out.append(ev)
    return out


@dataclass(frozen=True)
class IslandOptions:
    """One island. ``label`` names it in tables; ``backend`` re-evaluates immigrants."""

    morphology: str
    settings: MeshSettings
    key: NodeKey
    label: str = ""
    status_path: str | None = None
    events_path: str | None = None
    control_file: str | None = None
    backend: str = "compiled"
    node_config: NodeConfig = field(default_factory=NodeConfig)


class Island:
    """See the module docstring. ``start()`` before (or lazily at) the first step;
    ``close()`` at the end."""

    def __init__(self, opts: IslandOptions) -> None:
        self.opts = opts
        s = opts.settings
        self.settings = s
        self.node_id = opts.key.node_id
        self.label = opts.label or self.node_id.hex()[:8]
        self.topic = topic_for(opts.morphology)
        self.intake = Intake(s, self.node_id, opts.morphology)
        self.policy = PublishPolicy(
            s.publish_threshold, s.publish_relative, s.publish_interval,
            budget=s.publish_budget, burst=s.publish_burst,
        )  # fmt: skip
        self._fanout = 1  # alive peers at the last status: the subscribers a publication reaches
        self.address = ""
        self.meter = UdpMeter.install()
        self.published = 0
        self.validation_evaluations = 0
        self.evaluations = 0
        self.generation = 0
        self.best: float | None = None
        self.solved = False
        self.finished = ""
        self.started_at = time.time()
        self._seq = time.time_ns() // 1000
        self._realms = {realm_id(r): r for r in (s.realm, *s.subscribed)}
        # (payload, author, relay, realm, arrival, fetched from the DHT)
        self._inbox: deque[tuple[bytes, bytes, bytes, str, float, bool]] = deque(maxlen=INBOX)
        self._lock = threading.Lock()  # inbox and event log
        self._arrived = threading.Condition(self._lock)
        self._state = threading.RLock()  # intake, policy, ready list, status file
        self._ready: list[bytes] = []
        self._stopping = False
        self._validator: threading.Thread | None = None
        self._dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._node: MeshNode | None = None
        self._control: ControlServer | None = None
        self._pending: list[Future[Any]] = []
        self._last_status = 0.0
        self._adopting: dict[bytes, Admission] = {}
        self._events = (
            open(opts.events_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
            if opts.events_path
            else None
        )
        self._maintainer: asyncio.Task[None] | None = None
        self._advert: tuple[bytes, dict[str, Any]] | None = None  # DHT record not stored yet
        self._advertised_at: float | None = None
        #: ask the driver for mid-step news (``evolve`` reads it; see ``ProgressHook``)
        self.wants_progress = s.publish_on == "evaluation"

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 30.0) -> str:
        """Start the node thread, listen, join; returns the QUIC listen address."""
        if self._thread is not None:
            return self.address
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start_node())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"island-{self.label}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the mesh node did not start")
        if failure:
            raise failure[0]
        self._validator = threading.Thread(
            target=self._validate_loop, name=f"island-{self.label}-intake", daemon=True
        )
        self._validator.start()
        self._log("node", address=self.address, node_id=self.node_id.hex(), pid=os.getpid())
        self._write_status(force=True)
        return self.address

    async def _start_node(self) -> None:
        s = self.settings
        realms = list(dict.fromkeys((s.realm, *s.subscribed)))
        cfg = self.opts.node_config
        swim = dataclasses.replace(cfg.mesh.swim, period=s.swim_period)
        pubsub = dataclasses.replace(cfg.mesh.pubsub, subscriber_ttl=s.subscriber_ttl)
        cfg = dataclasses.replace(cfg, mesh=dataclasses.replace(cfg.mesh, swim=swim, pubsub=pubsub))
        node = MeshNode(self.opts.key, realms, config=cfg)
        host, port = parse_address(s.listen)
        node.add_listener(self._on_mesh_event)
        self.address = await node.start(host, port, bootstrap=list(s.bootstrap))
        self._node = node
        if self.opts.control_file:
            self._control = ControlServer(node)
            await self._control.start("127.0.0.1", 0)
            self._control.write_file(self.opts.control_file)
        self._maintainer = asyncio.ensure_future(self._maintain())

    async def _maintain(self) -> None:
        """Join, subscribe, and keep the subscriptions and the status record fresh."""
        node = self._node
        assert node is not None
        if self.settings.bootstrap:
            try:
                await node.wait_joined(timeout=20.0)
            except TimeoutError:
                log.warning("island %s: no peer yet; subscribing anyway", self.label)
        caught_up: set[str] = set()
        while True:
            for realm in self.settings.subscribed:
                try:
                    # subscribing again stores a newer record (no tombstone in between, so
                    # publishers never see this node unsubscribed); the handler is kept once
                    await node.subscribe(self.topic, self._on_event, realm=realm)
                    if realm not in caught_up and node.peers(realm):
                        await self._catch_up(node, realm)
                        caught_up.add(realm)
                except MeshError as exc:  # a realm we could not join: keep trying
                    log.warning("island %s: subscribe in %s failed: %s", self.label, realm, exc)
            await asyncio.sleep(self.settings.resubscribe_interval)

    async def _catch_up(self, node: MeshNode, realm: str) -> None:
        """A node that (re)joins reads the champions advertised in the realm and passes them
        through the same intake as published ones (the publisher is the record's author)."""
        records = await node.find(BEST_PREFIX + self.opts.morphology, realm=realm)
        for r in records:
            with self._lock:
                author = node_id_of(r.author)
                self._inbox.append((r.value, author, author, realm, time.monotonic(), True))
                self._arrived.notify()
        self._log("catch_up", realm=realm, records=len(records))

    def _on_mesh_event(self, ev: MeshEvent) -> None:
        """Mesh thread: log SWIM's view of the other nodes (``member`` events)."""
        if isinstance(ev, MemberSuspected | MemberDied | MemberRejoined):
            status = _MEMBER_STATUS[type(ev)]
            realm = self._realms.get(ev.realm)
            self._log("member", node=ev.node_id.hex(), status=status, realm=realm)

    def _on_event(self, ev: EventReceived) -> None:
        """Mesh thread: queue the event for the next step (never blocks, never raises)."""
        realm = self._realms.get(ev.realm)
        if realm is None:
            return
        with self._lock:
            if len(self._inbox) == self._inbox.maxlen:
                self._dropped += 1
            self._inbox.append(
                (ev.payload, ev.author, ev.via or ev.author, realm, time.monotonic(), False)
            )
            self._arrived.notify()

    def _submit(self, coro: Any) -> Future[Any] | None:
        if self._loop is None or self._node is None or self._loop.is_closed():
            coro.close()
            return None
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(fut)
        return fut

    def close(self, linger: float = 0.0) -> None:
        """Wait up to ``linger`` s for publications in flight, then stop the node."""
        with self._state:  # the last champion's DHT record, if still pending
            self._flush_advert(time.monotonic(), force=True)
        with self._lock:
            self._stopping = True
            self._arrived.notify_all()
        if self._validator is not None:
            self._validator.join(timeout=30.0)
        deadline = time.monotonic() + linger
        for fut in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                fut.result(timeout=remaining)
            except Exception:  # a failed publication is already logged by the node
                log.debug("pending publication failed", exc_info=True)
        self._write_status(force=True)
        if self._loop is not None and self._node is not None:
            loop, node, control = self._loop, self._node, self._control

            async def stop() -> None:
                if self._maintainer is not None:
                    self._maintainer.cancel()
                if control is not None:
                    await control.close()
                await node.close()

            try:
                asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10.0)
            except Exception:
                log.debug("closing the mesh node failed", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        if self.opts.control_file:
            Path(self.opts.control_file).unlink(missing_ok=True)
        with self._lock:
            if self._events is not None:
                self._events.close()
                self._events = None

    # ------------------------------------------------------------------ the step hook
    def after_step(self, step: StepDone) -> Sequence[bytes]:
        """Publish the champion if worth it; return the genotypes adopted since last time."""
        if self._thread is None:
            self.start()
        st = step.status
        self.generation = step.report.generation
        self.evaluations = st.evaluations
        self.finished = st.finished
        self.solved = st.solved_by is not None
        if st.champion_fitness:
            self.best = st.champion_fitness[0]
            with self._state:
                self.intake.local_best = self.best
        self._log(
            "step", generation=self.generation, evaluations=self.evaluations,
            best=self.best, solved=self.solved,
        )  # fmt: skip
        with self._state:
            self._maybe_publish(step)
            self._flush_advert(time.monotonic(), force=bool(st.finished))
            out, self._ready = ([] if st.finished else self._ready), []
            self._write_status()
        return out

    def progress(self, news: StepProgress) -> Sequence[bytes]:
        """Mid-step: publish the better agent if worth it; return what is ready to adopt."""
        if self._thread is None:
            self.start()
        self.evaluations = max(self.evaluations, news.evaluations)
        self.best = news.fitness[0] if self.best is None else max(self.best, news.fitness[0])
        with self._state:
            self.intake.local_best = self.best
            self._publish(news.agent, news.fitness, news.evaluations, solved=False)
            out, self._ready = self._ready, []
            self._write_status()
        return out

    def adopted(self, data: bytes, result: Immigrated) -> None:
        with self._state:
            adm = self._adopting.pop(data, None)
        if adm is None:
            return
        env = adm.envelope
        if result.agent_id is None:
            self._log("adopt_failed", origin=env.origin.hex(), error=result.error)
            return
        self._log(
            "adopt", origin=env.origin.hex(), agent=env.agent_id, local=result.agent_id,
            fitness=env.main_fitness, generation=env.generation, seq=env.seq,
            hash=env.genotype_hash.hex(), latency=max(0.0, time.time() - env.sent_at),
        )  # fmt: skip

    # ------------------------------------------------------------------ publishing
    def _maybe_publish(self, step: StepDone) -> None:
        st = step.status
        if st.champion is None or not st.champion_fitness:
            return
        self._publish(
            st.champion, tuple(st.champion_fitness), st.evaluations, st.solved_by is not None
        )

    def _publish(
        self, champion: bytes, fitness: tuple[float, ...], evaluations: int, solved: bool
    ) -> None:
        fit = fitness[0]
        now = time.monotonic()
        if not self.policy.consider(fit, now, solved):
            return
        agent = decode_agent(champion)
        self._seq += 1
        env = seal(
            self.opts.key, agent, realm=self.settings.realm, seq=self._seq,
            fitness=fitness, evaluations=evaluations, solved=solved, sent_at=time.time(),
        )  # fmt: skip
        data = env.to_bytes()
        self.policy.published(fit, now, solved, nbytes=_send_cost(data, self._fanout))
        self.intake.remember(env.genotype_hash)
        self.published += 1
        node = self._node
        if node is None:
            return
        self._submit(node.publish(self.topic, data, realm=self.settings.realm, supersede=True))
        meta = {"fitness": fit, "generation": env.generation, "solved": solved}
        self._advert = (data, meta)
        self._flush_advert(now, force=solved)
        self._log(
            "publish", fitness=fit, generation=env.generation, seq=env.seq, bytes=len(data),
            hash=env.genotype_hash.hex(), solved=solved,
        )  # fmt: skip

    def _flush_advert(self, now: float, force: bool = False) -> None:
        """Store the latest published champion in the DHT (``mesh best``, catch-up) at most
        every ``advertise_interval`` s and when the byte budget allows -- a solution at once;
        later publications in between only replace the pending record."""
        node = self._node
        if self._advert is None or node is None:
            return
        due = self._advertised_at is None or now - self._advertised_at >= (
            self.settings.advertise_interval
        )
        if not force and not (due and self.policy.allows(now)):
            return
        data, meta = self._advert
        self._advert = None
        self._advertised_at = now
        self.policy.charge(_send_cost(data, min(self._fanout, node.config.mesh.k)), now)
        self._submit(node.advertise(BEST_PREFIX + self.opts.morphology, data, meta=meta))

    # ------------------------------------------------------------------ receiving
    def _validate_loop(self) -> None:
        """Intake thread: validate events as they arrive; accepted genotypes wait in the
        ready list for the next step (the monitor adopts them between steps)."""
        while True:
            with self._lock:
                while not self._inbox and not self._stopping:
                    self._arrived.wait(timeout=1.0)
                if self._stopping:
                    return
                item = self._inbox.popleft()
            try:
                self._validate(*item)
            except Exception:  # a bug here must not silence the island: log, go on
                log.exception("island %s: validating an event failed", self.label)

    def _validate(
        self, payload: bytes, author: bytes, via: bytes, realm: str, at: float, dht: bool
    ) -> None:
        with self._state:
            res = self.intake.receive(payload, author, realm, at, fetched=dht, via=via)
        if not isinstance(res, Admission):
            if res.reason != "own" and not (dht and res.detail == "already known"):
                self._log("reject", reason=res.reason, publisher=author.hex(),
                          via=via.hex(), detail=res.detail[:120])  # fmt: skip
                self._write_status()
            return
        measured = self._measure(res)  # outside the lock: the driver may publish meanwhile
        with self._state:
            rejection = self.intake.settle(res, measured)
            if rejection is None:
                self.policy.seen(res.envelope.main_fitness)
                data = encode_agent(res.agent)
                self._adopting[data] = res
                self._ready.append(data)
            self._write_status()
        env = res.envelope
        if rejection is not None:
            self._log("reject", reason=rejection.reason, publisher=author.hex(),
                      via=via.hex(), detail=rejection.detail[:120])  # fmt: skip
        else:
            self._log("accept", origin=env.origin.hex(), fitness=env.main_fitness,
                      measured=measured, hash=env.genotype_hash.hex(),
                      latency=max(0.0, time.time() - env.sent_at))  # fmt: skip

    def _measure(self, adm: Admission) -> float:
        """Evaluate the genotype as it came (no tuning) on this node: its main fitness."""
        task = EvaluateAgent(
            agent=encode_agent(adm.agent), morphology=self.opts.morphology,
            seed=int.from_bytes(adm.envelope.genotype_hash[:8], "big") >> 1,
            backend=self.opts.backend, tune=False, check=False,
        )  # fmt: skip
        try:
            result = run_exoself(task)
        except ExoselfError as exc:
            log.info("island %s: immigrant cannot be evaluated: %s", self.label, exc)
            return float("nan")
        self.validation_evaluations += result.evaluations
        return float(result.fitness[0])

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """This island as plain data (see ``docs/distributed.md``)."""
        with self._state:
            intake = self.intake.snapshot()
            trust = {k.hex(): v for k, v in self.intake.trust.items()}
        peers, frame_bytes = self._mesh_view()
        return {
            "label": self.label,
            "node_id": self.node_id.hex(),
            "address": self.address,
            "pid": os.getpid(),
            "morphology": self.opts.morphology,
            "realm": self.settings.realm,
            "generation": self.generation,
            "evaluations": self.evaluations,
            "validation_evaluations": self.validation_evaluations,
            "best": self.best,
            "solved": self.solved,
            "finished": self.finished,
            "published": self.published,
            **intake,
            "inbox_dropped": self._dropped,
            "trust": trust,
            "udp_bytes_sent": self.meter.sent if self.meter else None,
            "frame_bytes_sent": frame_bytes,
            "peers": peers,
            "time": time.time(),
            "started_at": self.started_at,
        }

    def _mesh_view(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The node's peer list and its sent frame bytes by frame type, read on the node's
        own thread."""
        node, loop = self._node, self._loop
        if node is None or loop is None or loop.is_closed() or not loop.is_running():
            return [], {}

        async def read() -> tuple[list[dict[str, Any]], dict[str, int]]:
            peers = [
                {"node_id": p.node_id.hex(), "status": p.status, "address": p.address}
                for p in node.peers()
            ]
            core = node.core
            return peers, (dict(core.frame_bytes) if core is not None else {})

        try:
            return asyncio.run_coroutine_threadsafe(read(), loop).result(timeout=2.0)
        except Exception:  # a node closing or too busy to answer: nothing this time
            return [], {}

    def _write_status(self, force: bool = False) -> None:
        with self._state:
            self._write_status_locked(force)

    def _write_status_locked(self, force: bool) -> None:
        status = self.status()
        alive = sum(p["status"] == "alive" for p in status["peers"])
        if status["peers"]:  # an empty list may be a node too busy to answer: keep the last
            self._fanout = max(1, alive)
        path = self.opts.status_path
        if path:
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(status, f)
            os.replace(tmp, path)
        now = time.monotonic()
        node = self._node
        if node is not None and (force or now - self._last_status >= self.settings.status_interval):
            self._last_status = now
            keys = ("label", "morphology", "generation", "evaluations", "published",
                    "received", "accepted", "rejected")  # fmt: skip
            meta = {k: status[k] for k in keys}
            if status["best"] is not None:
                meta["best"] = status["best"]
            meta["address"] = self.address
            meta["peers"] = alive
            self._submit(node.advertise(ISLANDS_KEY, b"", meta=meta))

    def _log(self, kind: str, **fields: Any) -> None:
        """Append one event (both threads log: one lock, one line per write)."""
        line = json.dumps({"t": time.time(), "kind": kind, **fields}) + "\n"
        with self._lock:
            if self._events is not None:
                self._events.write(line)
                self._events.flush()
