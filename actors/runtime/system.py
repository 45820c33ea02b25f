"""Start and stop an actor system by mode, and talk to it from outside.

Modes:

* ``simple`` -- Thespian's simpleSystemBase: one thread, synchronous, deterministic.
  Actors run while this side waits (``request``, ``wait_down``).
* ``local`` -- multiprocTCPBase on this host, one OS process per actor, every
  listener on 127.0.0.1 (see :mod:`actors.runtime.loopback`), Admin port chosen by
  the OS, every frame sealed with this process's own key (:mod:`actors.runtime.seal`).
* ``cluster`` -- multiprocTCPBase joined to a convention (``leader=`` the leader's
  ``host:port``; none for the leader itself) with capabilities for placement and
  tuned convention timers (:mod:`actors.runtime.cluster`), every frame sealed with
  the secret the members share (``secret_file=`` or ``secret=``, required).

:func:`start_system` is a context manager; :class:`RuntimeSystem` also shuts down
on :meth:`~RuntimeSystem.shutdown`, on an exception leaving the ``with`` block, and
at interpreter exit. Shutdown stops root supervisors in order, shuts the Thespian
system down, then waits for (and if need be SIGKILLs) every process of the system;
:attr:`RuntimeSystem.leftovers` lists any pid that survived all of that.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

import psutil
from thespian.actors import ActorSystem

from actors.runtime import lifeline, loopback, procs, seal, selector, wakeups
from actors.runtime.cluster import tune_convention_timers
from actors.runtime.errors import (
    ModeError,
    NoProc,
    RemoteError,
    RequestFailed,
    RequestTimeout,
    RuntimeFailure,
    SupervisorRefused,
    SystemLost,
)
from actors.runtime.messages import (
    ChildCounts,
    ChildInfo,
    CountChildren,
    DeleteChild,
    Demonitor,
    Down,
    Monitor,
    Register,
    Reply,
    Request,
    RestartChild,
    Shutdown,
    StartChild,
    StartRoot,
    SupervisorArgs,
    TerminateChild,
    Unregister,
    WhereIs,
    WhichChildren,
)
from actors.runtime.registry import REGISTRY_NAME, Registry
from actors.runtime.remote_ref import (
    GATEWAY_NAME,
    GenotypeAdvertise,
    GenotypeFind,
    GenotypeRecord,
    GlobalRegister,
    GlobalUnregister,
    GlobalWhereIs,
    MeshPeer,
    MeshPeers,
    MeshStats,
    RemoteCall,
    RemoteDemonitor,
    RemoteMonitor,
    RemotePlace,
    RemoteRef,
    RemoteSpawn,
    RemoteStop,
    RemoteTell,
    TopicPublish,
    TopicSubscribe,
    TopicSubscriptions,
    TopicUnsubscribe,
)
from actors.runtime.spec import ChildSpec, SupFlags, validate_capabilities
from actors.runtime.supervisor import Supervisor, check_children

__all__ = ["MODES", "RuntimeSystem", "start_system"]

MODES = ("simple", "local", "cluster")
#: Longest wait (s) on the system between two checks that its Admin process still runs.
LIVENESS_PERIOD = 0.5
log = logging.getLogger(__name__)


def _log_defs(level: str) -> dict[str, Any]:
    # logDefs=False crashes multiproc actor startup in Thespian 4.0.1: always a dict.
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "err": {"class": "logging.StreamHandler", "formatter": "plain", "level": level}
        },
        "root": {"handlers": ["err"], "level": level},
    }


def _unwrap(reply: Reply) -> Any:
    if reply.ok:
        return reply.value
    if reply.error == "refused":
        raise SupervisorRefused(reply.reason)
    if reply.error == "bad_request":
        raise RequestFailed(f"bad_request: {reply.reason}")
    if reply.error == "timeout":
        raise RequestTimeout(f"request {reply.ref} timed out")
    if reply.error == "remote":
        raise RemoteError(reply.reason)
    raise RequestFailed(reply.reason or reply.error, reply.traceback)


class RuntimeSystem:
    """One actor system and the outside handle to it (not thread-safe: one caller).

    ``capabilities`` are added to the system's Thespian capabilities (validated);
    ``leader`` (cluster) is the convention leader as ``"host:port"``; ``host``
    (cluster) the address to advertise (``THESPIAN_BASE_IPADDR``);
    ``convention_period``/``convention_misses`` tune member-death detection.
    ``secret_file`` (cluster; or ``secret``, the bytes themselves) is the secret the
    convention's members share to seal their frames (:func:`seal.read_secret_file`:
    a 0600 file of at least 64 hex digits); cluster mode requires one of the two.
    """

    def __init__(
        self,
        mode: str = "simple",
        *,
        capabilities: Mapping[str, Any] | None = None,
        admin_port: int | None = None,
        leader: str | None = None,
        host: str | None = None,
        convention_period: float = 3.0,
        convention_misses: int = 3,
        log_level: str = "WARNING",
        secret: bytes | None = None,
        secret_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ModeError(f"unknown runtime mode {mode!r}; expected one of {MODES}")
        if mode != "cluster" and (leader is not None or host is not None):
            raise ModeError("leader= and host= are only for mode 'cluster'")
        if mode != "cluster" and (secret is not None or secret_file is not None):
            raise ModeError(
                "secret= and secret_file= are only for mode 'cluster' "
                "('local' seals with a key of its own)"
            )
        if mode == "cluster" and (secret is None) == (secret_file is None):
            raise ModeError(
                "mode 'cluster' needs the secret its members share: secret_file=PATH "
                "(a 0600 file of 64 hex digits, e.g. from seal.write_secret_file) or secret=bytes"
            )
        if mode == "simple" and admin_port is not None:
            raise ModeError("admin_port is not used by mode 'simple'")
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ModeError(f"unknown log level {log_level!r}")
        self.mode = mode
        self.capabilities = validate_capabilities(capabilities or {})
        if mode != "simple":
            seal.require_fork(self.capabilities)
        self.admin_port = admin_port
        self.leader = leader
        self.host = host
        self.convention = (convention_period, convention_misses)
        self.log_level = log_level
        if secret_file is not None:
            secret = seal.read_secret_file(secret_file)
        self._secret = None if secret is None else seal.check_secret(secret)
        self._sealed = False  # holds a seal.use() until shutdown
        self.asys: Any = None
        self.registry: Any = None
        self._remote_monitors: set[str] = set()
        self.admin_pid: int | None = None
        self.lost = False  # the Admin process died under us (see SystemLost)
        self.leftovers: list[int] = []
        self._roots: list[Any] = []
        self._inbox: list[Any] = []
        self._refs = itertools.count()
        self._prefix = "ext-" + uuid.uuid4().hex[:12]

    # -- start / stop --------------------------------------------------------

    def start(self) -> RuntimeSystem:
        """Start the actor system and its registry. Returns self."""
        if self.asys is not None:
            return self
        if self.mode == "simple":
            self.asys = ActorSystem(
                "simpleSystemBase", dict(self.capabilities), logDefs=False, transientUnique=True
            )
        else:
            base_ip = "127.0.0.1" if self.mode == "local" else self.host
            if self.mode == "local" or (base_ip and loopback.is_loopback(base_ip)):
                loopback.install()
            if base_ip:
                os.environ["THESPIAN_BASE_IPADDR"] = base_ip
            lifeline.install()  # the Admin and every actor die with this process
            wakeups.install()  # a timer due within 1 µs of a check is not lost
            selector.install()  # poll, not a new epoll instance per message handled
            if self.mode == "cluster":
                tune_convention_timers(*self.convention)
            port = self.admin_port or procs.free_port()
            self.admin_port = port
            caps: dict[str, Any] = {**self.capabilities, "Admin Port": port}
            if self.leader:
                caps["Convention Address.IPv4"] = self.leader
            seal.use(self._secret)  # the Admin and actors are forked: they inherit it
            self._sealed = True
            try:
                self.asys = ActorSystem(
                    "multiprocTCPBase",
                    caps,
                    logDefs=_log_defs(self.log_level),
                    transientUnique=True,
                )
            except BaseException:
                self._release_seal()
                raise
            self.admin_pid = procs.admin_pid(port)
        atexit.register(self.shutdown)
        try:
            self.registry = self.asys.createActor(Registry, globalName=REGISTRY_NAME)
            self.asys.tell(self.registry, self.mode)
        except Exception:
            self.shutdown()
            raise
        return self

    @property
    def running(self) -> bool:
        """Whether the actor system is started and not shut down."""
        return self.asys is not None

    def pids(self) -> list[int]:
        """The Admin and every actor process (empty in ``simple`` mode)."""
        return procs.tree_pids(self.admin_pid) if self.admin_pid else []

    def listeners(self) -> list[procs.Listener]:
        """Listening sockets of this process and of the system's processes."""
        return procs.listeners([os.getpid(), *self.pids()])

    def shutdown(self, timeout: float = 10.0) -> list[int]:
        """Stop roots in order, shut the system down, reap its processes.
        Idempotent. Returns (and stores in :attr:`leftovers`) surviving pids."""
        if self.asys is None:
            return self.leftovers
        atexit.unregister(self.shutdown)
        pids = self.pids()
        deadline = time.monotonic() + timeout / 2
        try:
            for root in [] if self.lost else reversed(self._roots):
                ref = self.monitor(root)
                self.asys.tell(root, Shutdown())
                with contextlib.suppress(RuntimeFailure):
                    self.wait_down(ref, max(0.1, deadline - time.monotonic()))
        except SystemLost:
            pass  # its processes died with the Admin
        except Exception:
            log.exception("orderly stop of root supervisors failed")
        finally:
            asys, self.asys = self.asys, None
            if not self.lost:
                with contextlib.suppress(Exception):
                    asys.shutdown()
        procs_ = procs.processes(pids)
        _, alive = psutil.wait_procs(procs_, timeout=timeout / 2)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        _, alive = psutil.wait_procs(alive, timeout=2.0)
        self.leftovers = [p.pid for p in alive]
        self._release_seal()
        return self.leftovers

    def _release_seal(self) -> None:
        if self._sealed:
            self._sealed = False
            seal.release()

    def __enter__(self) -> RuntimeSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- messaging ---------------------------------------------------------------

    def _system(self) -> Any:
        if self.asys is None:
            raise RuntimeFailure("the actor system is not running")
        return self.asys

    def _listen(self, seconds: float) -> Any:
        """The next message to this handle, waiting at most ``seconds``.

        In ``simple`` mode every message is delivered synchronously inside ``tell``, so a
        reply is usually already held by the time we listen. simpleSystemBase's
        ``listen(t)`` (``_runSends(t, stop_on_available=...)``) looks at those held
        replies only after delivering a pending send: with nothing pending it sleeps
        until the next actor wakeup due within ``t`` (a supervisor or request deadline,
        possibly minutes away) before returning the reply it already had. A
        zero-timeout ``listen`` runs no sends and never sleeps, it only pops a held
        message, so poll that way first.

        In the multi-process modes it waits at most :data:`LIVENESS_PERIOD` at a time
        and raises :class:`SystemLost` once the Admin process has died (every caller
        loops until its own deadline, so a shorter wait changes nothing else).
        """
        asys = self._system()
        if self.mode == "simple":
            msg = asys.listen(timedelta(0))
            if msg is not None:
                return msg
            return asys.listen(timedelta(seconds=seconds))
        msg = asys.listen(timedelta(seconds=min(seconds, LIVENESS_PERIOD)))
        if msg is None:
            self._check_admin()
        return msg

    def listen(self, seconds: float) -> Any:
        """The next message of any kind (replies included) that reaches this outside handle,
        or None after at most ``seconds`` (0: only what has arrived already): for a caller
        that correlates its own messages, such as the actor phenotype's handle. Messages
        :meth:`request` set aside for :meth:`receive` are not returned here. Raises
        :class:`SystemLost` once the Admin process of a multi-process system has died."""
        return self._listen(seconds)

    def _check_admin(self) -> None:
        if self.admin_pid is not None and (self.lost or not lifeline.alive(self.admin_pid)):
            self.lost = True
            raise SystemLost(f"the actor system's Admin process (pid {self.admin_pid}) is gone")

    def new_ref(self) -> str:
        return f"{self._prefix}.{next(self._refs)}"

    def tell(self, target: Any, msg: Any, timeout: float = 5.0) -> None:
        """Send ``msg`` to ``target``: an address, or a registered name (resolved as
        :meth:`request` does, waiting at most ``timeout`` s for it to be registered)."""
        asys = self._system()
        if isinstance(target, RemoteRef):
            msg, target = RemoteTell(target, msg), GATEWAY_NAME
        if isinstance(target, str) or target is None:
            target = self._resolve(target, time.monotonic() + timeout, timeout)
        asys.tell(target, msg)

    def _resolve(self, name: str | None, deadline: float, timeout: float) -> Any:
        """The address registered as ``name``. A name not registered right now (its
        child is being restarted: a child registers once started) is looked up again
        until ``deadline``; then :class:`NoProc`."""
        if name is None:
            raise NoProc(None)
        pause = 0.002
        while True:
            address = self.whereis(name, max(0.05, deadline - time.monotonic()))
            if address is not None:
                return address
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoProc(name, timeout)
            # listen rather than sleep: in simple mode the restart runs while we listen
            msg = self._listen(min(pause, remaining))
            if msg is not None and not isinstance(msg, Reply):
                self._inbox.append(msg)
            pause = min(pause * 2, 0.05)

    def request(
        self, target: Any, payload: Any, timeout: float = 5.0, *, watch: str | None = None
    ) -> Any:
        """Send ``Request(ref, payload)``; return the matching reply's value.

        ``target`` is an address or a registered name. A name is resolved through the
        registry when the request is sent; a name that is not registered then (its
        child is being restarted) is looked up again until it is, within ``timeout``,
        and :class:`NoProc` (naming it) is raised if it does not come back in time.

        Raises :class:`RequestTimeout` after ``timeout`` seconds, :class:`RequestFailed`
        if the callee crashed, :class:`SupervisorRefused` for a refused operation.
        With ``watch`` (the ref of a :meth:`monitor` on ``target``), the Down of that
        monitor ends the wait at once with :class:`RequestFailed`, as OTP's
        ``gen_server:call`` does when the callee exits (the Down is consumed).
        A reply that arrives after its deadline is dropped when seen, never
        returned to a later request; other messages are kept for :meth:`receive`.
        """
        asys = self._system()
        if isinstance(target, RemoteRef):
            # the gateway answers within ``timeout`` (a RemoteError on failure)
            payload, target = RemoteCall(target, payload, timeout), GATEWAY_NAME
            timeout += 2.0
        if watch is not None:
            for i, held in enumerate(self._inbox):
                if isinstance(held, Down) and held.ref == watch:
                    del self._inbox[i]
                    raise RequestFailed(
                        f"the callee exited: {held.reason.kind} {held.reason.reason}"
                    )
        ref = self.new_ref()
        deadline = time.monotonic() + timeout
        if isinstance(target, str) or target is None:
            target = self._resolve(target, deadline, timeout)
        asys.tell(target, Request(ref, payload))
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RequestTimeout(f"no reply to {type(payload).__name__} in {timeout} s")
            msg = self._listen(remaining)
            if isinstance(msg, Reply):
                if msg.ref == ref:
                    if time.monotonic() > deadline:
                        raise RequestTimeout(f"reply to {type(payload).__name__} came too late")
                    return _unwrap(msg)
            elif isinstance(msg, Down) and watch is not None and msg.ref == watch:
                raise RequestFailed(f"the callee exited: {msg.reason.kind} {msg.reason.reason}")
            elif msg is not None:
                self._inbox.append(msg)

    def receive(self, timeout: float) -> Any:
        """The next message sent to this outside handle (other than replies), or None."""
        if self._inbox:
            return self._inbox.pop(0)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self._listen(remaining)
            if msg is not None and not isinstance(msg, Reply):
                return msg
        return None

    # -- registry and monitors -------------------------------------------------------

    def whereis(self, name: str, timeout: float = 5.0) -> Any:
        """The address registered under ``name``, or None."""
        return self.request(self.registry, WhereIs(name), timeout)

    def register(self, name: str, address: Any, timeout: float = 5.0) -> None:
        self.request(self.registry, Register(name, address), timeout)

    def unregister(self, name: str, timeout: float = 5.0) -> None:
        self.request(self.registry, Unregister(name), timeout)

    def monitor(self, target: Any, timeout: float = 5.0) -> str:
        """Monitor ``target`` (name, address or :class:`RemoteRef`); :meth:`wait_down` gets
        its Down."""
        ref = self.new_ref()
        if isinstance(target, RemoteRef):
            self.request(GATEWAY_NAME, RemoteMonitor(target, ref, None), timeout)
            self._remote_monitors.add(ref)
        else:
            self.request(self.registry, Monitor(ref, target, None), timeout)
        return ref

    def demonitor(self, ref: str, timeout: float = 5.0) -> None:
        if ref in self._remote_monitors:
            self._remote_monitors.discard(ref)
            self.request(GATEWAY_NAME, RemoteDemonitor(ref), timeout)
        else:
            self.request(self.registry, Demonitor(ref), timeout)

    def spawn(
        self,
        node: str | Mapping[str, Any],
        actor: str,
        *args: Any,
        timeout: float = 10.0,
        exclude: tuple[str, ...] = (),
        link: bool = False,
    ) -> RemoteRef:
        """Spawn ``actor`` (a class that node ``node`` registered as remotable, by the name it
        registered it under) there with ``args`` (wire values); its :class:`RemoteRef`.
        ``node`` may instead be placement requirements (``{"morphology": "dpnv", ...}``, see
        :class:`actors.remote.placement.Requirements`): the best live node whose capacity
        advert meets them and offers ``actor``, except ``exclude``. ``link``: the actor is
        stopped by its node when SWIM declares this node dead.
        Needs a running gateway (:func:`actors.remote.remote_node_spec`); RemoteError if the
        node refuses (``not_remotable``, ``spawn_denied``, ``over_quota``, ...) or no node
        meets the requirements (``no_placement``)."""
        if isinstance(node, Mapping):
            op = RemoteSpawn("", actor, tuple(args), timeout, dict(node), tuple(exclude), link)
        else:
            op = RemoteSpawn(node, actor, tuple(args), timeout, None, (), link)
        ref = self.request(GATEWAY_NAME, op, timeout + 5.0)
        assert isinstance(ref, RemoteRef)
        return ref

    def place(
        self, requirements: Mapping[str, Any], limit: int | None = None,
        exclude: tuple[str, ...] = (), timeout: float = 10.0,
    ) -> list[str]:  # fmt: skip
        """The node ids (hex) whose live capacity adverts meet ``requirements``, best first
        (see :meth:`spawn`)."""
        nodes = self.request(
            GATEWAY_NAME, RemotePlace(dict(requirements), tuple(exclude), limit), timeout
        )
        assert isinstance(nodes, list)
        return nodes

    def stop_remote(self, ref: RemoteRef, timeout: float = 10.0) -> None:
        """Stop ``ref``, an actor this node spawned on another (its spec's shutdown)."""
        self.request(GATEWAY_NAME, RemoteStop(ref, timeout), timeout + 2.0)

    # -- global names (the realm's, through the gateway: actors.remote.names) ----------

    def register_global(self, name: str, target: Any, timeout: float = 10.0) -> RemoteRef:
        """Register ``target`` under ``name`` across the realm; the :class:`RemoteRef` other
        nodes reach it by (``whereis_global`` answers it). ``target``: a name registered on
        this node, a RemoteRef of this node, or an actor other nodes spawned here. The
        gateway withdraws the name when the actor exits. RemoteError ``name_taken`` if
        another node holds it, ``reserved_name`` for ``megabrain.*``, ``noproc``..."""
        ref = self.request(GATEWAY_NAME, GlobalRegister(name, target, timeout), timeout + 2.0)
        assert isinstance(ref, RemoteRef)
        return ref

    def whereis_global(self, name: str, timeout: float = 10.0) -> RemoteRef | None:
        """The :class:`RemoteRef` registered under ``name`` in the realm, or None."""
        ref = self.request(GATEWAY_NAME, GlobalWhereIs(name, timeout), timeout + 2.0)
        assert ref is None or isinstance(ref, RemoteRef)
        return ref

    def unregister_global(self, name: str, timeout: float = 10.0) -> bool:
        """Withdraw this node's registration of ``name``; False if it held none."""
        return bool(self.request(GATEWAY_NAME, GlobalUnregister(name, timeout), timeout + 2.0))

    # -- topics, genotype records and peers of the mesh (through the gateway) -------------

    def subscribe(self, topic: str, subscriber: Any, timeout: float = 10.0) -> int:
        """Have ``subscriber`` (a local actor's address or registered name) get every event
        of the realm's ``topic`` as a :class:`~actors.runtime.remote_ref.TopicEvent`; the
        number of DHT nodes holding the subscription (see
        :mod:`actors.remote.gateway_topics`: a subscriber that exits is dropped; the
        subscriptions survive a restart of the gateway). RemoteError ``noproc`` for a name
        not registered here, ``schema`` for a topic the mesh refuses."""
        op = TopicSubscribe(topic, subscriber, timeout)
        return int(self.request(GATEWAY_NAME, op, timeout + 2.0))

    def unsubscribe(self, topic: str, subscriber: Any, timeout: float = 10.0) -> bool:
        """Stop sending ``topic``'s events to ``subscriber``; whether it was subscribed."""
        op = TopicUnsubscribe(topic, subscriber, timeout)
        return bool(self.request(GATEWAY_NAME, op, timeout + 2.0))

    def subscriptions(self, timeout: float = 10.0) -> dict[str, list[Any]]:
        """The gateway's subscriptions: topic -> subscribers, in the order they subscribed."""
        subs = self.request(GATEWAY_NAME, TopicSubscriptions(), timeout)
        assert isinstance(subs, dict)
        return subs

    def publish(
        self, topic: str, payload: bytes, *, reliable: bool = True, timeout: float = 10.0
    ) -> int:
        """Publish ``payload`` on the realm's ``topic``, signed by this node; the op id.
        RemoteError ``oversized`` above the gateway's ``max_bytes``."""
        op = TopicPublish(topic, payload, reliable, timeout)
        return int(self.request(GATEWAY_NAME, op, timeout + 2.0))

    def advertise(
        self,
        problem: str,
        payload: bytes,
        meta: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> int:
        """Store this node's signed genotype record for ``problem`` in the realm's DHT
        (``meta``: text -> scalar, e.g. ``{"fitness": 0.9}``); how many nodes accepted it."""
        op = GenotypeAdvertise(problem, payload, dict(meta or {}), timeout)
        return int(self.request(GATEWAY_NAME, op, timeout + 2.0))

    def find(self, problem: str, timeout: float = 10.0) -> list[GenotypeRecord]:
        """The live genotype records of ``problem`` in the realm, one per author."""
        found = self.request(GATEWAY_NAME, GenotypeFind(problem, timeout), timeout + 2.0)
        assert isinstance(found, list)
        return found

    def mesh_peers(self, timeout: float = 10.0) -> list[MeshPeer]:
        """The peers the gateway's mesh node knows in its realm."""
        peers = self.request(GATEWAY_NAME, MeshPeers(), timeout)
        assert isinstance(peers, list)
        return peers

    def mesh_stats(self, timeout: float = 10.0) -> dict[str, int]:
        """The counters of the gateway's mesh node."""
        stats = self.request(GATEWAY_NAME, MeshStats(), timeout)
        assert isinstance(stats, dict)
        return stats

    def wait_down(self, ref: str, timeout: float) -> Down:
        """Wait for the Down of monitor ``ref``; raises RequestTimeout."""
        for i, msg in enumerate(self._inbox):
            if isinstance(msg, Down) and msg.ref == ref:
                del self._inbox[i]
                return msg
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self._listen(remaining)
            if isinstance(msg, Down) and msg.ref == ref:
                return msg
            if msg is not None and not isinstance(msg, Reply):
                self._inbox.append(msg)
        raise RequestTimeout(f"no Down for monitor {ref} in {timeout} s")

    # -- supervisors -------------------------------------------------------------------

    def start_root(self, spec: ChildSpec, timeout: float = 10.0) -> Any:
        """Start ``spec`` as a root (not restarted); return its address once it and
        (for a supervisor) its whole tree have started and every name in the tree
        resolves in the registry."""
        deadline = time.monotonic() + timeout
        address = self.request(self.registry, StartRoot(spec), timeout)
        self._roots.append(address)
        # Registrations come from each subtree's supervisor, in their own processes:
        # wait until they have all reached the registry.
        for name in _names_in(spec):
            while self.whereis(name, max(0.1, deadline - time.monotonic())) is None:
                if time.monotonic() > deadline:
                    raise RequestTimeout(f"{name!r} not registered within {timeout} s")
                time.sleep(0.002)
        return address

    def start_supervisor(
        self,
        flags: SupFlags,
        children: Sequence[ChildSpec] = (),
        *,
        name: str | None = None,
        id: str = "root",
        timeout: float = 10.0,
    ) -> Any:
        """Start a root supervisor with ``children``; return its address."""
        check_children(flags, tuple(children))
        spec = ChildSpec(id, Supervisor, (SupervisorArgs(flags, tuple(children)),), name=name)
        return self.start_root(spec, timeout)

    def start_child(
        self, sup: Any, spec_or_args: ChildSpec | Sequence[Any], timeout: float = 10.0
    ) -> Any:
        """``supervisor:start_child``: a ChildSpec, or extra args for simple_one_for_one."""
        op = (
            StartChild(spec=spec_or_args)
            if isinstance(spec_or_args, ChildSpec)
            else StartChild(extra_args=tuple(spec_or_args))
        )
        return self.request(sup, op, timeout)

    def terminate_child(self, sup: Any, child: Any, timeout: float = 10.0) -> None:
        self.request(sup, TerminateChild(child), timeout)

    def restart_child(self, sup: Any, child_id: str, timeout: float = 10.0) -> Any:
        return self.request(sup, RestartChild(child_id), timeout)

    def delete_child(self, sup: Any, child_id: str, timeout: float = 10.0) -> None:
        self.request(sup, DeleteChild(child_id), timeout)

    def which_children(self, sup: Any, timeout: float = 10.0) -> list[ChildInfo]:
        return list(self.request(sup, WhichChildren(), timeout))

    def count_children(self, sup: Any, timeout: float = 10.0) -> ChildCounts:
        result: ChildCounts = self.request(sup, CountChildren(), timeout)
        return result


def _names_in(spec: ChildSpec) -> list[str]:
    """Registered names of ``spec`` and of every static child below it."""
    names = [spec.name] if spec.name else []
    for arg in spec.args:
        if isinstance(arg, SupervisorArgs) and arg.flags.strategy != "simple_one_for_one":
            for child in arg.children:
                names.extend(_names_in(child))
    return names


@contextlib.contextmanager
def start_system(mode: str = "simple", **options: Any) -> Iterator[RuntimeSystem]:
    """``with start_system("local") as rt: ...`` -- started, and always shut down."""
    rt = RuntimeSystem(mode, **options)
    rt.start()
    try:
        yield rt
    finally:
        rt.shutdown()
