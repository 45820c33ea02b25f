"""Messages of the runtime: frozen dataclasses, validated on construction.

Public vocabulary: :class:`Exit` (an exit reason), :class:`Down` (a monitor fired),
:class:`Request`/:class:`Reply` (request/reply with correlation ids), the supervisor
operations (:class:`StartChild` ... :class:`CountChildren`) and their results
(:class:`ChildInfo`, :class:`ChildCounts`), the registry operations
(:class:`Register`, :class:`Unregister`, :class:`WhereIs`, :class:`Monitor`,
:class:`Demonitor`).

The ``_``-free classes below the "protocol" line are the child wrapper's protocol
between a supervisor and its children; user code does not send them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

from actors.runtime.errors import RuntimeConfigError
from actors.runtime.spec import ChildSpec, SupFlags

__all__ = [
    "ABNORMAL",
    "KILLED",
    "NORMAL",
    "SHUTDOWN",
    "ChildCounts",
    "ChildDown",
    "ChildInfo",
    "ChildUp",
    "CountChildren",
    "DeleteChild",
    "Demonitor",
    "Down",
    "Exit",
    "ExitReport",
    "Init",
    "Monitor",
    "Register",
    "Reply",
    "Request",
    "RestartChild",
    "Shutdown",
    "StartChild",
    "StartRoot",
    "Started",
    "SupervisorArgs",
    "TerminateChild",
    "Unregister",
    "WhereIs",
    "WhichChildren",
]

NORMAL: Final = "normal"
SHUTDOWN: Final = "shutdown"
ABNORMAL: Final = "abnormal"
KILLED: Final = "killed"
ExitKind = Literal["normal", "shutdown", "abnormal", "killed", "noproc", "noconnection"]
_KINDS = ("normal", "shutdown", "abnormal", "killed", "noproc", "noconnection")


@dataclass(frozen=True, slots=True)
class Exit:
    """Why an actor exited.

    ``kind`` is ``normal``, ``shutdown``, ``abnormal`` (``reason`` and
    ``traceback`` then say what was raised), ``killed`` (an OS-level death such as
    SIGKILL, or a brutal kill by its supervisor), ``noproc`` (a monitor was set
    on a name or address that was not alive) or ``noconnection`` (a remote actor's node
    was declared dead or stopped answering: the actor may still be running).
    """

    kind: ExitKind
    reason: str = ""
    traceback: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise RuntimeConfigError(f"exit kind must be one of {_KINDS}, got {self.kind!r}")

    @property
    def is_normal(self) -> bool:
        """True for ``normal`` and ``shutdown`` (the exits a transient child keeps)."""
        return self.kind in (NORMAL, SHUTDOWN)


class Request(NamedTuple):
    """A request carrying correlation id ``ref``; answered by a :class:`Reply`.

    Request and Reply are the hot path of every call, so they are immutable named
    tuples (several times cheaper to build and to pickle than frozen dataclasses).
    """

    ref: str
    payload: Any

    def __str__(self) -> str:
        # Thespian formats str(message) for a debug line on every send, logged or not: keep
        # it short (the payload may be kilobytes; repr() still shows everything)
        return f"Request({self.ref!r}, {type(self.payload).__name__})"


class Reply(NamedTuple):
    """The answer to :class:`Request` ``ref``: ``value`` if ``ok``, else an error.

    ``error`` is ``"crashed"`` (the callee crashed, ``reason``/``traceback`` say
    why), ``"refused"`` (a supervisor refused: ``reason`` holds the code),
    ``"bad_request"``, ``"timeout"``, ``"exiting"`` (the caller is exiting) or
    ``"noproc"`` (a request by name: no actor was registered under it before the deadline).
    """

    ref: str
    ok: bool = True
    value: Any = None
    error: str = ""
    reason: str = ""
    traceback: str = ""

    def __str__(self) -> str:  # short, as Request's
        if self.ok:
            return f"Reply({self.ref!r}, ok, {type(self.value).__name__})"
        return f"Reply({self.ref!r}, {self.error}: {self.reason[:80]})"


@dataclass(frozen=True, slots=True)
class Down:
    """Monitor ``ref`` fired: ``target`` (a name or an address) exited with ``reason``."""

    ref: str
    target: Any
    address: Any
    reason: Exit


# --- supervisor operations (payloads of a Request to a supervisor) ---------


@dataclass(frozen=True, slots=True)
class StartChild:
    """Add and start a child. ``spec`` for static strategies; for
    ``simple_one_for_one``, ``extra_args`` appended to the template's args."""

    spec: ChildSpec | None = None
    extra_args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class TerminateChild:
    """Stop a child (by id; for ``simple_one_for_one`` by address) keeping its spec
    (a temporary or dynamic child's spec is deleted)."""

    id: Any


@dataclass(frozen=True, slots=True)
class RestartChild:
    """Restart a terminated child that still has its spec."""

    id: str


@dataclass(frozen=True, slots=True)
class DeleteChild:
    """Delete the spec of a terminated child."""

    id: str


@dataclass(frozen=True, slots=True)
class WhichChildren:
    """List the children as :class:`ChildInfo` in start order."""


@dataclass(frozen=True, slots=True)
class CountChildren:
    """Count the children (:class:`ChildCounts`)."""


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """One row of ``which_children``: ``address`` is None when not running."""

    id: str
    address: Any
    type: str
    restart: str
    name: str | None
    pid: int | None
    incarnation: int


@dataclass(frozen=True, slots=True)
class ChildCounts:
    """OTP's ``count_children``: specs, active, supervisors, workers."""

    specs: int
    active: int
    supervisors: int
    workers: int


# --- registry operations (payloads of a Request to the registry) ------------


@dataclass(frozen=True, slots=True)
class Register:
    """Register ``address`` under ``name``; refused if the name is held by a live actor."""

    name: str
    address: Any


@dataclass(frozen=True, slots=True)
class Unregister:
    """Remove ``name`` from the registry."""

    name: str


@dataclass(frozen=True, slots=True)
class WhereIs:
    """Resolve ``name`` to an address (None when unregistered)."""

    name: str


@dataclass(frozen=True, slots=True)
class Monitor:
    """Monitor ``target`` (a name or an address) for ``watcher`` (None: the sender);
    ``ref`` names the monitor and comes back in the :class:`Down`."""

    ref: str
    target: Any
    watcher: Any


@dataclass(frozen=True, slots=True)
class Demonitor:
    """Cancel monitor ``ref``."""

    ref: str


# --- protocol between a supervisor and its children --------------------------


@dataclass(frozen=True, slots=True)
class SupervisorArgs:
    """The args of a :class:`~actors.runtime.supervisor.Supervisor` child."""

    flags: SupFlags
    children: tuple[ChildSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Init:
    """First message to a new child: who supervises it and what to start with."""

    child_id: str
    args: tuple[Any, ...]
    supervisor: Any
    registry: Any
    name: str | None
    mode: str
    incarnation: int
    parent_pid: int


@dataclass(frozen=True, slots=True)
class Started:
    """Child to supervisor: ``on_start`` returned; ``pid`` is its OS process id and
    ``system`` the ``host:port`` of the actor system (Admin) it runs on, if any."""

    child_id: str
    incarnation: int
    pid: int
    system: str | None = None


@dataclass(frozen=True, slots=True)
class ExitReport:
    """Child to supervisor, just before it exits: why."""

    child_id: str
    incarnation: int
    reason: Exit


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Supervisor to child: stop now (orderly), then report ``shutdown``."""

    reason: str = SHUTDOWN


# --- protocol between supervisors and the registry ---------------------------


@dataclass(frozen=True, slots=True)
class ChildUp:
    """Supervisor to registry: child ``address`` (under ``parent``) is running."""

    address: Any
    parent: Any
    name: str | None
    system: str | None = None


@dataclass(frozen=True, slots=True)
class ChildDown:
    """Supervisor to registry: child ``address`` exited with ``reason``."""

    address: Any
    reason: Exit


@dataclass(frozen=True, slots=True)
class StartRoot:
    """Request to the registry: start a root supervisor (or worker) from ``spec``."""

    spec: ChildSpec
