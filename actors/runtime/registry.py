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

:class:`RegistryCore` holds the state and logic, with no I/O; the actor is its shell.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
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

__all__ = ["REGISTRY_NAME", "Registry", "RegistryCore", "addr_key"]

log = logging.getLogger(__name__)
REGISTRY_NAME = "megabrain.registry"


def addr_key(address: Any) -> str:
    """A hashable key for a Thespian address (addresses themselves are unhashable)."""
    return str(address)


@dataclass
class _Entry:
    address: Any
    parent: str | None
    names: set[str] = field(default_factory=set)
    system: str | None = None


class RegistryCore:
    """Registry state: live actors, names, parent links, monitors. Pure: every
    method returns the ``(watcher, Down)`` pairs to send, nothing is sent here."""

    def __init__(self) -> None:
        self.live: dict[str, _Entry] = {}
        self.names: dict[str, str] = {}
        self.monitors: dict[str, tuple[Any, Any, Any]] = {}  # ref -> (target, addr, watcher)

    def up(self, address: Any, parent: Any, name: str | None, system: str | None = None) -> None:
        key = addr_key(address)
        entry = self.live.setdefault(
            key, _Entry(address, addr_key(parent) if parent is not None else None)
        )
        entry.system = system
        if name:
            old = self.names.get(name)
            if old is not None and old != key and old in self.live:
                self.live[old].names.discard(name)
            self.names[name] = key
            entry.names.add(name)

    def down(self, address: Any, reason: Exit) -> list[tuple[Any, Down]]:
        """``address`` exited; its descendants still registered die with it."""
        out: list[tuple[Any, Down]] = []
        todo = [(addr_key(address), reason)]
        while todo:
            key, why = todo.pop()
            entry = self.live.pop(key, None)
            if entry is None:
                continue
            for name in entry.names:
                if self.names.get(name) == key:
                    del self.names[name]
            for ref, (target, addr, watcher) in list(self.monitors.items()):
                if addr_key(addr) == key:
                    del self.monitors[ref]
                    out.append((watcher, Down(ref, target, addr, why)))
            todo.extend(
                (k, Exit(KILLED, "supervisor died"))
                for k, e in self.live.items()
                if e.parent == key
            )
        return out

    def system_lost(self, system: str) -> list[tuple[Any, Down]]:
        """Every actor that ran on actor system ``system`` (and its descendants) is down."""
        out: list[tuple[Any, Down]] = []
        for entry in [e for e in self.live.values() if e.system == system]:
            out.extend(self.down(entry.address, Exit(KILLED, f"actor system {system} lost")))
        return out

    def register(self, name: str, address: Any) -> str:
        """Returns "" on success, else an error code."""
        if not isinstance(name, str) or not name:
            return "bad_name"
        held = self.names.get(name)
        if held is not None and held in self.live and held != addr_key(address):
            return "already_registered"
        if addr_key(address) not in self.live:
            self.up(address, None, None)
        self.names[name] = addr_key(address)
        self.live[addr_key(address)].names.add(name)
        return ""

    def unregister(self, name: str) -> None:
        key = self.names.pop(name, None)
        if key is not None and key in self.live:
            self.live[key].names.discard(name)

    def whereis(self, name: str) -> Any:
        key = self.names.get(name)
        return self.live[key].address if key is not None and key in self.live else None

    def monitor(self, ref: str, target: Any, watcher: Any) -> list[tuple[Any, Down]]:
        address = self.whereis(target) if isinstance(target, str) else target
        if address is None or addr_key(address) not in self.live:
            return [(watcher, Down(ref, target, address, Exit("noproc")))]
        self.monitors[ref] = (target, address, watcher)
        return []

    def demonitor(self, ref: str) -> None:
        self.monitors.pop(ref, None)


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
