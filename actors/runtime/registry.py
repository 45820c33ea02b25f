"""Names that survive restarts, and monitors.

One :class:`Registry` actor per actor system (Thespian global name
:data:`REGISTRY_NAME`). Supervisors tell it when a child is up (``ChildUp``, with
the child's name from its spec) and when it is down (``ChildDown`` with the exit
reason), so a restarted child is reachable under the same name and every monitor
gets a :class:`~actors.runtime.messages.Down`. It is also the parent of root
supervisors (started by ``StartRoot``); roots are not restarted.

When a supervisor dies without stopping its children (SIGKILL), its children die
with it (see :mod:`actors.runtime.child`); the registry then marks every descendant
down with reason ``killed``, as OTP links would.

:class:`~actors.runtime.registry_core.RegistryCore` holds the state and logic, with no I/O;
the actor is its shell.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ActorSystemConventionUpdate,
    ChildActorExited,
    PoisonMessage,
)

from actors.runtime.child import system_key
from actors.runtime.messages import (
    KILLED,
    ChildDown,
    ChildUp,
    Demonitor,
    Down,
    Exit,
    ExitReport,
    Init,
    Monitor,
    Register,
    Reply,
    Request,
    Started,
    StartRoot,
    Unregister,
    WhereIs,
)
from actors.runtime.registry_core import RegistryCore, addr_key

__all__ = ["REGISTRY_NAME", "Registry"]

log = logging.getLogger(__name__)
REGISTRY_NAME = "megabrain.registry"


class Registry(Actor):
    """The registry actor (see module docstring). Requests: ``Register``,
    ``Unregister``, ``WhereIs``, ``Monitor``, ``Demonitor``, ``StartRoot``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.core = RegistryCore()
        self.mode = "simple"
        self._roots: dict[str, tuple[Any, int]] = {}  # child_id -> (address, incarnation)
        self._root_waiters: dict[str, tuple[Any, str]] = {}  # child_id -> (caller, ref)
        self._n = 0

    def _send_downs(self, downs: list[tuple[Any, Down]]) -> None:
        for watcher, down in downs:
            self.send(watcher, down)

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        try:
            self._on_message(msg, sender)
        except Exception:  # the registry must never die of a bad message
            log.exception("registry dropped %r", msg)

    def _on_message(self, msg: Any, sender: Any) -> None:
        core = self.core
        if isinstance(msg, ChildUp):
            core.up(msg.address, msg.parent, msg.name, msg.system)
        elif isinstance(msg, ChildDown):
            self._send_downs(core.down(msg.address, msg.reason))
        elif isinstance(msg, Request):
            self._request(msg, sender)
        elif isinstance(msg, Started):
            if msg.child_id in self._roots:
                self._roots[msg.child_id] = (sender, msg.incarnation)
                core.up(sender, None, self._root_name(msg.child_id), msg.system)
                waiter = self._root_waiters.pop(msg.child_id, None)
                if waiter is not None:
                    self.send(waiter[0], Reply(waiter[1], ok=True, value=sender))
        elif isinstance(msg, ExitReport):
            root = self._roots.get(msg.child_id)
            if root is not None and root[1] == msg.incarnation:
                del self._roots[msg.child_id]
                self._fail_waiter(msg.child_id, msg.reason)
                self.send(sender, ActorExitRequest())
                self._send_downs(core.down(sender, msg.reason))
        elif isinstance(msg, ChildActorExited):
            for cid, (address, _) in list(self._roots.items()):
                if address == msg.childAddress:
                    del self._roots[cid]
                    self._fail_waiter(cid, Exit(KILLED))
                    self._send_downs(core.down(address, Exit(KILLED)))
        elif isinstance(msg, ActorExitRequest | PoisonMessage):
            return
        elif isinstance(msg, ActorSystemConventionUpdate):
            key = system_key(msg.remoteAdminAddress)
            if not msg.remoteAdded and key is not None:
                lost = {addr_key(e.address) for e in core.live.values() if e.system == key}
                for cid, (address, _) in list(self._roots.items()):
                    if addr_key(address) in lost:
                        del self._roots[cid]
                self._send_downs(core.system_lost(key))
        elif isinstance(msg, str) and msg in ("simple", "local", "cluster"):
            self.mode = msg
            if msg == "cluster":
                self.notifyOnSystemRegistrationChanges(True)
        else:
            log.warning("registry dropped unknown message %r", msg)

    def _fail_waiter(self, child_id: str, reason: Exit) -> None:
        waiter = self._root_waiters.pop(child_id, None)
        if waiter is not None:
            self.send(
                waiter[0],
                Reply(
                    waiter[1],
                    ok=False,
                    error="crashed",
                    reason=reason.reason or reason.kind,
                    traceback=reason.traceback,
                ),
            )

    def _root_name(self, child_id: str) -> str | None:
        return child_id.split("|", 1)[1] or None if "|" in child_id else None

    def _request(self, req: Request, sender: Any) -> None:
        op, core = req.payload, self.core
        value: Any = None
        if isinstance(op, WhereIs):
            value = core.whereis(op.name)
        elif isinstance(op, Register):
            code = core.register(op.name, op.address)
            if code:
                self.send(sender, Reply(req.ref, ok=False, error="refused", reason=code))
                return
        elif isinstance(op, Unregister):
            core.unregister(op.name)
        elif isinstance(op, Monitor):
            watcher = sender if op.watcher is None else op.watcher
            self._send_downs(core.monitor(op.ref, op.target, watcher))
            value = op.ref
        elif isinstance(op, Demonitor):
            core.demonitor(op.ref)
        elif isinstance(op, StartRoot):
            self._start_root(op, sender, req.ref)  # replies once the root has started
            return
        else:
            self.send(sender, Reply(req.ref, ok=False, error="bad_request", reason=repr(op)[:200]))
            return
        self.send(sender, Reply(req.ref, ok=True, value=value))

    def _start_root(self, op: StartRoot, caller: Any, ref: str) -> None:
        spec = op.spec
        self._n += 1
        child_id = f"{spec.id}#{self._n}|{spec.name or ''}"
        address = self.createActor(spec.actor, targetActorRequirements=spec.requirements or None)
        self._roots[child_id] = (address, 1)
        self._root_waiters[child_id] = (caller, ref)
        self.send(
            address,
            Init(
                child_id,
                spec.args,
                self.myAddress,
                self.myAddress,
                spec.name,
                self.mode,
                1,
                os.getpid(),
            ),
        )
