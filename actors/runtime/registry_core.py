"""The registry's pure core: live actors, names that survive restarts, parent links and
monitors. No I/O: every method returns the ``(watcher, Down)`` pairs to send; the
:class:`~actors.runtime.registry.Registry` actor is its shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.runtime.messages import KILLED, Down, Exit

__all__ = ["RegistryCore", "addr_key"]


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
