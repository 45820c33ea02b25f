"""Convention (multi-host) support for ``cluster`` mode.

Thespian's multiprocTCPBase joins actor systems into a *convention* around a leader
(capability ``Convention Address.IPv4``); actors are placed on a member whose
capabilities satisfy the requirements (``actorSystemCapabilityCheck``).

Its timers are module constants read once in ``thespian.system.admin.convention``:
a member re-registers every 7 min 22 s and is declared dead after 3 missed
registrations (~22 min). :func:`tune_convention_timers` sets them in this process
before the Admin is forked (the Admin inherits them), so that an abrupt member death
is noticed within ``period * misses`` seconds (defaults: 3 s x 3).

Every frame between the members is sealed (:mod:`actors.runtime.seal`): an
HMAC-SHA256 under the secret the members share (``RuntimeSystem(secret_file=...)``,
required) is checked before Thespian unpickles anything, so a host or user without the
secret cannot run code through the members' ports, nor join. The seal does not encrypt
and does not stop replays: cluster mode is still for one network trusted not to read or
replay its traffic.

:class:`ConventionWatcher` is an actor that records convention membership changes
(``ActorSystemConventionUpdate``); ask it ``"members"`` for the current list.
:func:`wait_for_capable` waits until a member meets a placement's requirements.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ActorSystemConventionUpdate,
)

from actors.runtime.errors import RuntimeConfigError
from actors.runtime.messages import Reply, Request

__all__ = ["ConventionWatcher", "LeaderWatcher", "tune_convention_timers", "wait_for_capable"]

log = logging.getLogger(__name__)
#: The capability that names a member's convention leader (absent on the leader).
LEADER_CAPABILITY = "Convention Address.IPv4"


def tune_convention_timers(period_s: float = 3.0, misses: int = 3) -> None:
    """Re-register every ``period_s`` seconds; a member is dead after ``misses`` misses."""
    if not period_s > 0 or not isinstance(misses, int) or misses < 1:
        raise RuntimeConfigError("period_s must be > 0 and misses an int >= 1")
    from thespian.system.admin import convention

    convention.CONVENTION_REREGISTRATION_PERIOD = timedelta(seconds=period_s)
    convention.CONVENTION_RESTART_PERIOD = timedelta(seconds=period_s)
    convention.CONVENTION_REGISTRATION_MISS_MAX = misses


class ConventionWatcher(Actor):
    """Tracks convention members; ``Request(ref, "members")`` replies with a dict
    ``{admin address string: capabilities}`` and ``"history"`` with the list of
    ``(address, added)`` changes seen."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members: dict[str, dict[str, Any]] = {}
        self.history: list[tuple[str, bool]] = []
        self._subscribed = False

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if not self._subscribed:
            self.notifyOnSystemRegistrationChanges(True)
            self._subscribed = True
        if isinstance(msg, ActorSystemConventionUpdate):
            key = str(msg.remoteAdminAddress)
            self.history.append((key, bool(msg.remoteAdded)))
            if msg.remoteAdded:
                self.members[key] = dict(msg.remoteCapabilities or {})
            else:
                self.members.pop(key, None)
        elif isinstance(msg, Request):
            if msg.payload == "members":
                self.send(sender, Reply(msg.ref, value=dict(self.members)))
            elif msg.payload == "history":
                self.send(sender, Reply(msg.ref, value=list(self.history)))
            else:
                self.send(sender, Reply(msg.ref, ok=False, error="bad_request"))


class LeaderWatcher(ConventionWatcher):
    """A :class:`ConventionWatcher` that only the convention leader may run: a member
    hears of the leader alone, the leader of every member."""

    @staticmethod
    def actorSystemCapabilityCheck(
        capabilities: dict[str, Any], requirements: dict[str, Any] | None
    ) -> bool:
        return LEADER_CAPABILITY not in capabilities


def _qualifies(capabilities: Mapping[str, Any], requirements: Mapping[str, Any]) -> bool:
    from actors.runtime.child import SupervisedActor

    return SupervisedActor.actorSystemCapabilityCheck(dict(capabilities), dict(requirements))


def wait_for_capable(
    rt: Any, requirements: Mapping[str, Any], timeout: float
) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """Wait at most ``timeout`` s until a system of ``rt``'s convention (a started
    :class:`~actors.runtime.RuntimeSystem`; itself included) meets ``requirements`` as
    placement checks them (a member asks a :class:`LeaderWatcher` on the leader). Returns
    ``(which, members)``: ``which`` is ``"self"``, the qualifying member's admin address, or
    ``None`` after the timeout; ``members`` the last membership seen (``{admin address:
    capabilities}``)."""
    if _qualifies(rt.capabilities, requirements):
        return "self", {}
    # only the leader hears of every member: a member asks a watcher placed there
    watcher = (
        rt.asys.createActor(LeaderWatcher, targetActorRequirements={"leader": True})
        if rt.leader
        else rt.asys.createActor(ConventionWatcher)
    )
    members: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    try:
        while True:
            members = rt.request(watcher, "members", timeout=max(0.5, deadline - time.monotonic()))
            for address, caps in sorted(members.items()):
                if _qualifies(caps, requirements):
                    return address, members
            if time.monotonic() >= deadline:
                return None, members
            time.sleep(0.2)  # members register once per convention period: poll
    finally:
        rt.tell(watcher, ActorExitRequest())
