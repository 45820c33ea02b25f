"""Child specs and supervisor flags, OTP style, validated on construction.

A :class:`ChildSpec` mirrors OTP's child specification map::

    #{id => Id, start => {M, F, A}, restart => permanent | transient | temporary,
      shutdown => brutal_kill | Timeout | infinity, type => worker | supervisor}

``actor`` is the actor class (a :class:`~actors.runtime.child.Worker` or
:class:`~actors.runtime.supervisor.Supervisor` subclass, defined in an importable
module), ``args`` are handed to its ``on_start(*args)``. ``name`` (optional) is
registered in the runtime's registry for every incarnation of the child, so the
child stays reachable under that name across restarts. ``requirements`` are
Thespian capability requirements used for placement in ``cluster`` mode.

Every invalid field raises :class:`~actors.runtime.errors.ChildSpecError` naming it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from actors.runtime.errors import ChildSpecError

__all__ = [
    "INFINITY",
    "ChildSpec",
    "ChildType",
    "Restart",
    "Shutdown",
    "Strategy",
    "SupFlags",
    "check_children",
    "validate_capabilities",
]

Restart = Literal["permanent", "transient", "temporary"]
ChildType = Literal["worker", "supervisor"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"]
#: ``"brutal_kill"``, ``"infinity"`` or a timeout in milliseconds (int > 0).
Shutdown = Literal["brutal_kill", "infinity"] | int
INFINITY: Literal["infinity"] = "infinity"

_RESTARTS = ("permanent", "transient", "temporary")
_TYPES = ("worker", "supervisor")
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one")
_SCALARS = (str, int, float, bool, type(None))


def validate_capabilities(values: Mapping[str, Any], what: str = "capability") -> dict[str, Any]:
    """Check a capability (or requirement) mapping; return a plain copy.

    Names must be non-empty strings; values must be str, int, float, bool, None, or
    a list/tuple of those (Thespian compares them, and they cross process
    boundaries). Raises :class:`CapabilityError` naming the offending entry.
    """
    from actors.runtime.errors import CapabilityError

    if not isinstance(values, Mapping):
        raise CapabilityError(f"{what}s must be a mapping, got {type(values).__name__}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise CapabilityError(f"{what} name must be a non-empty string, got {key!r}")
        ok = isinstance(value, _SCALARS) or (
            isinstance(value, list | tuple) and all(isinstance(v, _SCALARS) for v in value)
        )
        if not ok or (isinstance(value, float) and value != value):
            raise CapabilityError(
                f"{what} {key!r} has unusable value {value!r} "
                "(expected str, int, float, bool, None or a list of those)"
            )
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _check_actor(actor: Any) -> None:
    from actors.runtime.child import SupervisedActor

    if isinstance(actor, str):
        module, _, cls = actor.rpartition(".")
        if not module or not cls:
            raise ChildSpecError(f"actor {actor!r} is not a 'module.Class' path")
        try:
            actor = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as exc:
            raise ChildSpecError(f"actor {actor!r} cannot be imported: {exc}") from None
    if not isinstance(actor, type) or not issubclass(actor, SupervisedActor):
        raise ChildSpecError(
            f"actor {actor!r} must be a Worker or Supervisor subclass "
            "(the child wrapper that reports exit reasons)"
        )
    if actor.__module__ == "__main__":
        raise ChildSpecError(
            f"actor {actor.__qualname__} is defined in __main__; "
            "actor classes must live in an importable module"
        )


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """One child of a supervisor (see module docstring).

    ``shutdown`` defaults as in OTP: 5000 ms for workers, ``"infinity"`` for
    supervisors. ``type`` defaults from the actor class.
    """

    id: str
    actor: Any
    args: tuple[Any, ...] = ()
    restart: Restart = "permanent"
    shutdown: Shutdown | None = None
    type: ChildType | None = None
    name: str | None = None
    requirements: Mapping[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ChildSpecError(f"child id must be a non-empty string, got {self.id!r}")
        _check_actor(self.actor)
        if not isinstance(self.args, tuple):
            raise ChildSpecError(f"child {self.id!r}: args must be a tuple, got {type(self.args)}")
        if self.restart not in _RESTARTS:
            raise ChildSpecError(f"child {self.id!r}: restart must be one of {_RESTARTS}")
        kind = self.type
        if kind is None:
            kind = "supervisor" if self.actor_class().is_supervisor else "worker"
            object.__setattr__(self, "type", kind)
        if kind not in _TYPES:
            raise ChildSpecError(f"child {self.id!r}: type must be one of {_TYPES}")
        if self.shutdown is None:
            object.__setattr__(self, "shutdown", 5000 if kind == "worker" else INFINITY)
        sd = self.shutdown
        if not (
            sd in ("brutal_kill", INFINITY)
            or (isinstance(sd, int) and not isinstance(sd, bool) and sd > 0)
        ):
            raise ChildSpecError(
                f"child {self.id!r}: shutdown must be 'brutal_kill', 'infinity' "
                f"or a timeout in ms > 0, got {sd!r}"
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ChildSpecError(f"child {self.id!r}: name must be a non-empty string")
        if self.requirements is not None:
            object.__setattr__(
                self,
                "requirements",
                validate_capabilities(self.requirements, f"child {self.id!r} requirement"),
            )

    def actor_class(self) -> Any:
        """The actor class (imported if ``actor`` was given as a path)."""
        if isinstance(self.actor, str):
            module, _, cls = self.actor.rpartition(".")
            return getattr(importlib.import_module(module), cls)
        return self.actor

    def shutdown_seconds(self) -> float | None:
        """Shutdown timeout in seconds; 0.0 for brutal_kill, None for infinity."""
        if self.shutdown == "brutal_kill":
            return 0.0
        if self.shutdown == INFINITY:
            return None
        assert isinstance(self.shutdown, int)
        return self.shutdown / 1000.0


@dataclass(frozen=True, slots=True)
class SupFlags:
    """Supervisor flags: strategy and restart intensity (OTP defaults: 1 in 5 s).

    ``start_timeout`` (a megabrain addition; multi-process modes) is how long a
    child may take from creation to ``Started`` before it counts as a failed start
    (``abnormal``, "start timed out"): a placement that never happens must not
    wedge the supervisor.

    More than ``intensity`` restarts within ``period`` seconds make the supervisor
    stop all its children and exit with reason ``shutdown``
    (``reached_max_restart_intensity``), escalating to its own supervisor.
    """

    strategy: Strategy = "one_for_one"
    intensity: int = 1
    period: float = 5.0
    start_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.strategy not in _STRATEGIES:
            raise ChildSpecError(f"strategy must be one of {_STRATEGIES}, got {self.strategy!r}")
        if not isinstance(self.intensity, int) or isinstance(self.intensity, bool):
            raise ChildSpecError(f"intensity must be an int >= 0, got {self.intensity!r}")
        if self.intensity < 0:
            raise ChildSpecError(f"intensity must be an int >= 0, got {self.intensity!r}")
        if not isinstance(self.period, int | float) or not self.period > 0:
            raise ChildSpecError(f"period must be a number of seconds > 0, got {self.period!r}")
        if not isinstance(self.start_timeout, int | float) or not self.start_timeout > 0:
            raise ChildSpecError(f"start_timeout must be seconds > 0, got {self.start_timeout!r}")


def check_children(flags: SupFlags, children: tuple[ChildSpec, ...]) -> None:
    """Validate a supervisor's child list against its flags (raises ChildSpecError)."""
    if not isinstance(flags, SupFlags):
        raise ChildSpecError(f"supervisor flags must be SupFlags, got {type(flags).__name__}")
    ids = [c.id for c in children]
    if any(not isinstance(c, ChildSpec) for c in children):
        raise ChildSpecError("supervisor children must be ChildSpec instances")
    if len(set(ids)) != len(ids):
        raise ChildSpecError(f"duplicate child ids in {ids}")
    names = [c.name for c in children if c.name]
    if len(set(names)) != len(names):
        raise ChildSpecError(f"duplicate child names in {names}")
    if flags.strategy == "simple_one_for_one" and len(children) != 1:
        raise ChildSpecError("simple_one_for_one needs exactly one child spec (the template)")
