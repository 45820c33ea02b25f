"""Remote supervision: a child spec whose actor runs on another node, under a local supervisor.

:func:`remote_child` makes a :class:`~actors.runtime.ChildSpec` for any local
:class:`~actors.runtime.Supervisor` (any strategy, intensity and restart type). The local
child is a :class:`RemoteChild`, the child's stand-in, whose life is the remote actor's:

* **start**: it spawns the remotable class on the node its :class:`Placement` names, or on
  the best node a placement query finds (capacity adverts, see
  :mod:`actors.remote.placement`), *linked* (the remote node stops the actor when SWIM
  declares this node dead, as Erlang's ``spawn_link`` across nodes); it reports
  ``Started`` to its supervisor only once the remote actor runs, and monitors it. While no
  node fits or the gateway is not up yet it tries again every ``retry_interval`` s for
  ``place_timeout`` s, then exits ``abnormal`` (counted by the supervisor's intensity);
* **exit**: when the remote actor exits, the stand-in exits with the same kind --
  ``normal`` and ``shutdown`` as such, anything else (``abnormal``, ``killed``, ``noproc``,
  ``noconnection`` when its node died or stopped answering) as ``abnormal`` naming the node
  -- so the supervisor applies its strategy and restart type as for a local child; a
  restart places the child again, and a node whose monitors just fired ``noconnection`` is
  left out of placements for a while (:data:`actors.remote.gateway.UNREACHABLE_FOR`), so the
  child goes elsewhere;
* **messages**: requests to the stand-in are forwarded to the remote actor and the reply
  relayed; when the remote actor is gone (it crashed, or its node is unreachable) the
  caller gets ``error="crashed"`` as from a local child that crashed -- a request pending
  when the Down arrives fails at once, ``reason`` naming the exit's kind -- and the
  stand-in exits, so a caller that looks the name up again finds the restarted child;
  other remote failures come as ``error="remote"``; plain messages are
  forwarded as remote tells (in order, at most once); :class:`WhereIsRemote` answers the
  remote actor's :class:`~actors.runtime.remote_ref.RemoteRef`, for callers that want to talk
  to it directly;
* **stop**: when its supervisor stops it, it asks the remote node to stop the actor.

The stand-in holds nothing but the ref, so every restart is a fresh placement: state that
must survive lives in whoever sends the work (as the population monitor holds the agents
its exoselves evaluate).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from actors.remote.placement import PlacementError, Requirements
from actors.runtime import NOREPLY, Caller, ChildSpec, Down, Reply, Request, Worker
from actors.runtime.errors import RuntimeConfigError
from actors.runtime.messages import Init
from actors.runtime.remote_ref import GATEWAY_NAME, RemoteRef, RemoteSpawn, RemoteStop

__all__ = ["Placement", "RemoteChild", "RemoteChildArgs", "WhereIsRemote", "remote_child"]

#: Remote failures that mean the remote actor is gone: relayed as ``error="crashed"``.
_GONE = ("crashed", "noproc", "noconnection")
#: Spawn failures worth trying again (the gateway or a fitting node may appear).
_RETRY = ("no_placement", "noconnection", "timeout", "noproc", "over_quota", "spawn_failed")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a remote child runs: on ``node`` (a node id, hex), or on the best live node
    whose capacity advert meets ``requirements`` (see
    :class:`~actors.remote.placement.Requirements`; the remotable name is always required).
    ``spawn_timeout`` bounds one spawn, ``place_timeout`` the whole start (retries every
    ``retry_interval`` s), ``call_timeout`` a forwarded request."""

    node: str | None = None
    requirements: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    spawn_timeout: float = 10.0
    place_timeout: float = 20.0
    retry_interval: float = 0.5
    call_timeout: float = 3600.0

    def __post_init__(self) -> None:
        if self.node is not None:
            RemoteRef(self.node, name="x")  # validates the id
        if not isinstance(self.requirements, Mapping):
            raise RuntimeConfigError("Placement.requirements must be a mapping")
        try:
            Requirements.from_mapping(self.requirements)
        except (PlacementError, TypeError) as exc:
            raise RuntimeConfigError(f"Placement.requirements: {exc}") from None
        object.__setattr__(self, "requirements", MappingProxyType(dict(self.requirements)))
        for name in ("spawn_timeout", "place_timeout", "retry_interval", "call_timeout"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise RuntimeConfigError(f"Placement.{name} must be seconds > 0, got {v!r}")

    def __reduce__(self) -> Any:  # a mappingproxy does not pickle (local modes pickle specs)
        return (
            Placement,
            (
                self.node,
                dict(self.requirements),
                self.spawn_timeout,
                self.place_timeout,
                self.retry_interval,
                self.call_timeout,
            ),
        )


@dataclass(frozen=True, slots=True)
class RemoteChildArgs:
    """The args of a :class:`RemoteChild`: the remotable ``actor`` name, its ``args`` (wire
    values) and its :class:`Placement`."""

    actor: str
    args: tuple[Any, ...]
    placement: Placement


@dataclass(frozen=True, slots=True)
class WhereIsRemote:
    """Ask a :class:`RemoteChild` for its remote actor's ref (``None`` before it runs)."""


def remote_child(
    id: str,
    actor: str,
    *args: Any,
    placement: Placement | None = None,
    restart: str = "permanent",
    shutdown: Any = 5000,
    name: str | None = None,
) -> ChildSpec:
    """A child spec whose actor -- the class other nodes registered as remotable under
    ``actor`` -- runs on a node chosen by ``placement`` (default: any node offering it),
    supervised here (see the module docstring). ``name`` registers the local stand-in."""
    if not isinstance(actor, str) or not actor:
        raise RuntimeConfigError(f"remote_child: actor is a remotable name, got {actor!r}")
    where = placement if placement is not None else Placement()
    return ChildSpec(
        id,
        RemoteChild,
        (RemoteChildArgs(actor, tuple(args), where),),
        restart=restart,  # type: ignore[arg-type]
        shutdown=shutdown,
        name=name,
    )


def _code(reply: Reply) -> str:
    """A failed reply's code: a remote failure's (``reason`` is ``"CODE: detail"``), else
    its error."""
    return reply.reason.split(":", 1)[0] if reply.error == "remote" else reply.error


class RemoteChild(Worker):
    """The local stand-in of a remote child (see the module docstring)."""

    def _on_init(self, msg: Init) -> bool:
        (args,) = msg.args
        if not isinstance(args, RemoteChildArgs):
            raise RuntimeConfigError(f"RemoteChild takes RemoteChildArgs, got {args!r}")
        self.rargs = args
        self.ref: RemoteRef | None = None
        self.mref: str | None = None
        self.calls: dict[str, Caller] = {}
        self.tried: list[str] = []
        self.gateway: Any = None  # its address, to reach it from on_stop without a lookup
        self.deadline = time.monotonic() + args.placement.place_timeout
        self._spawn()
        return False  # Started once the remote actor runs

    def _spawn(self) -> None:
        p, a = self.rargs.placement, self.rargs
        if p.node is not None:
            op = RemoteSpawn(p.node, a.actor, a.args, p.spawn_timeout, link=True)
        else:
            reqs = dict(p.requirements)
            op = RemoteSpawn("", a.actor, a.args, p.spawn_timeout, reqs, link=True)
        self.request(GATEWAY_NAME, op, p.spawn_timeout + 5.0, self._spawned)

    def _spawned(self, reply: Reply) -> None:
        if reply.ok and isinstance(reply.value, RemoteRef):
            self.ref = reply.value
            self.mref = self.monitor(self.ref)
            self.whereis(GATEWAY_NAME, self._gateway_found)
            self._announce_started()
            return
        why = f"{reply.error}: {reply.reason}"
        self.tried.append(why)
        if _code(reply) in _RETRY and time.monotonic() < self.deadline:
            self.call_later(self.rargs.placement.retry_interval, self._spawn)
            return
        self.stop(f"remote spawn of {self.rargs.actor!r} failed: {why}")

    def _gateway_found(self, reply: Reply) -> None:
        if reply.ok:
            self.gateway = reply.value

    def handle_call(self, payload: Any, sender: Any) -> Any:
        if isinstance(payload, WhereIsRemote):
            return self.ref
        assert self.ref is not None  # Started (and so reachable) only once it runs
        caller = self.deferred()
        ref = self.request(
            self.ref, payload, self.rargs.placement.call_timeout, lambda r: self._relay(ref, r)
        )
        self.calls[ref] = caller
        return NOREPLY

    def _relay(self, ref: str, reply: Reply) -> None:
        caller = self.calls.pop(ref, None)
        if caller is None:
            return
        # the remote actor is gone: this stand-in exits on its Down
        if reply.error == "remote" and _code(reply) in _GONE:
            reply = reply._replace(error="crashed")
        self.send(caller.address, reply._replace(ref=caller.ref))

    def handle(self, msg: Any, sender: Any) -> None:
        if isinstance(msg, Down) and msg.ref == self.mref:
            self._remote_down(msg)
        elif self.ref is not None:
            self.tell(self.ref, msg)

    def _remote_down(self, down: Down) -> None:
        assert self.ref is not None
        kind, node = down.reason.kind, self.ref.node[:12]
        detail = f"{kind}: the remote actor on node {node} exited ({down.reason.reason})"
        for caller in self.calls.values():
            self.send(caller.address, Reply(caller.ref, ok=False, error="crashed", reason=detail))
        self.calls.clear()
        self.mref = None
        if kind in ("normal", "shutdown"):
            self.stop(kind)
        else:
            self.stop(f"remote child {kind} on node {node}: {down.reason.reason}")

    def on_stop(self, reason: str) -> None:
        # sent straight to the gateway's address: this actor is gone before any reply
        if self.ref is not None and self.mref is not None and self.gateway is not None:
            stop = RemoteStop(self.ref, self.rargs.placement.spawn_timeout)
            self.send(self.gateway, Request(self.new_ref(), stop))
