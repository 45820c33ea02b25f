"""The gateway's side of global names: register, look up and withdraw realm-wide names in
the DHT, following the rule of :mod:`actors.remote.names`.

:class:`GatewayNames` is a part of :class:`~actors.remote.gateway.RemoteGateway` (a base
class of it) kept apart from the actor operations. It handles the local requests
:class:`~actors.runtime.remote_ref.GlobalRegister`, ``GlobalWhereIs`` and
``GlobalUnregister`` on the actor thread, runs the DHT operations (``MeshNode.put_value`` /
``get_values`` under :func:`~actors.remote.names.dht_name`) on the gateway's loop through
``_submit``, and keeps the names this node holds:

* **register** reads the name and refuses with ``name_taken`` when a claim of another node
  counts; else it stores this node's claim (TTL ``NamesConfig.ttl``), reads the name again
  and keeps it only if the rule says this node holds it (``name_taken`` otherwise, its
  record withdrawn). It monitors the registered actor.
* **refresh**, every ``NamesConfig.refresh`` s: each name held is read again; if another
  claim wins (a race, a healed partition), this node's record is withdrawn and the actor
  gets :class:`~actors.runtime.remote_ref.NameLost`; else the record is stored again, which
  renews its TTL. A node that stops refreshing (killed, cut off) loses its names within the
  TTL even where SWIM has not declared it dead.
* **exit**: when a registered actor exits, its record is withdrawn (a tombstone).
* A gateway that stops in order withdraws its records; one that restarts forgets the names
  it held, whose records lapse within the TTL.

Errors reach the caller as remote failures with a code: ``schema`` (not a name),
``reserved_name``, ``name_taken``, ``not_local`` (a ref of another node), ``unreachable``
(an address that other nodes cannot reach), ``noproc``, and ``timeout`` / ``noconnection``
when the DHT does not answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.remote.names import (
    RESERVED,
    Claim,
    NamesConfig,
    check_name,
    dht_name,
    encode_claim,
    read_claims,
    winner,
)
from actors.runtime.child import NOREPLY, Caller
from actors.runtime.errors import RuntimeConfigError
from actors.runtime.messages import Down, Reply
from actors.runtime.remote_ref import (
    GlobalRegister,
    GlobalUnregister,
    GlobalWhereIs,
    NameLost,
    RemoteRef,
)

__all__ = ["GatewayNames"]

log = logging.getLogger(__name__)

#: The local requests :meth:`GatewayNames._name_call` handles.
NAME_OPS = (GlobalRegister, GlobalWhereIs, GlobalUnregister)


@dataclass(slots=True)
class _Held:
    """A global name this node holds."""

    claim: Claim
    address: Any  # the registered actor, monitored; NameLost goes to it
    mref: str


class _NameRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


class GatewayNames:
    """Global names of a :class:`~actors.remote.gateway.RemoteGateway` (see the module
    docstring). Uses the gateway's ``cfg``, ``node``, ``node_id``, ``_actors``, ``stats``,
    ``_submit``, ``_fail`` and the worker's ``monitor``, ``whereis``, ``reply``, ``send``."""

    cfg: Any
    node: Any
    node_id: str
    stats: Any
    loop: asyncio.AbstractEventLoop
    _actors: dict[str, tuple[Any, str]]

    if TYPE_CHECKING:  # provided by RemoteGateway and Worker

        def _fail(self, caller: Caller, code: str, detail: str) -> None: ...
        def _submit(self, coro: Any, then: Callable[[Any, BaseException | None], None]) -> None: ...
        def reply(self, caller: Caller, value: Any) -> None: ...
        def send(self, target: Any, msg: Any) -> None: ...
        def monitor(self, target: Any) -> str: ...
        def demonitor(self, ref: str) -> None: ...
        def whereis(
            self, name: str, on_reply: Callable[[Reply], None], timeout: float = 5.0
        ) -> str: ...
        def call_later(self, seconds: float, fn: Callable[[], None]) -> str: ...

    # ------------------------------------------------------------------ actor thread
    def _name_start(self) -> None:
        if not isinstance(self.cfg.names, NamesConfig):
            raise RuntimeConfigError(f"GatewayConfig.names is a NamesConfig: {self.cfg.names!r}")
        self._name_cfg: NamesConfig = self.cfg.names
        self._name_held: dict[str, _Held] = {}
        self._name_busy: set[str] = set()  # being registered or withdrawn
        self._name_mons: dict[str, str] = {}  # monitor ref -> name
        self.call_later(self._name_cfg.refresh, self._name_refresh_all)

    def _name_call(self, op: Any, caller: Caller) -> Any:
        """A GlobalRegister / GlobalWhereIs / GlobalUnregister: answered later."""
        bad = check_name(op.name)
        if bad is not None:
            self._fail(caller, *bad)
            return NOREPLY
        deadline = time.monotonic() + min(float(op.timeout), self._name_cfg.op_timeout * 3)
        if isinstance(op, GlobalWhereIs):
            self._name_whereis(op.name, caller, deadline)
        elif isinstance(op, GlobalUnregister):
            self._name_unregister(op.name, caller, deadline)
        else:
            try:
                ref, address = self._name_target(op.target)
            except _NameRefused as exc:
                self._fail(caller, exc.code, exc.detail)
                return NOREPLY
            if address is None:  # a name registered here: find its actor first
                assert ref.name is not None

                def found(reply: Reply) -> None:
                    if reply.ok and reply.value is not None:
                        self._name_register(op.name, ref, reply.value, caller, deadline)
                    else:
                        detail = f"no actor registered as {ref.name!r} here"
                        self._fail(caller, "noproc", detail)

                self.whereis(ref.name, found, 5.0)
            else:
                self._name_register(op.name, ref, address, caller, deadline)
        return NOREPLY

    def _name_target(self, target: Any) -> tuple[RemoteRef, Any]:
        """The ref other nodes reach ``target`` by, and its local address (None for a name:
        resolved next)."""
        if isinstance(target, str):
            target = RemoteRef(self.node_id, name=target) if target else None
        if isinstance(target, RemoteRef):
            if target.node != self.node_id:
                raise _NameRefused("not_local", f"{target} is not an actor of this node")
            if target.name is not None:
                if target.name.startswith(RESERVED):
                    raise _NameRefused("unreachable", f"{target.name!r} is the runtime's own")
                return target, None
            entry = self._actors.get(str(target.actor))
            if entry is None or entry[0] is None:
                raise _NameRefused("noproc", f"no actor {str(target.actor)[:40]!r} here")
            return target, entry[0]
        for actor, (address, _) in self._actors.items():
            if address is not None and address == target:
                return RemoteRef(self.node_id, actor=actor), address
        raise _NameRefused(
            "unreachable",
            "other nodes cannot reach this actor: give its registered name or its RemoteRef",
        )

    def _name_register(
        self, name: str, ref: RemoteRef, address: Any, caller: Caller, deadline: float
    ) -> None:
        held = self._name_held.get(name)
        if held is not None:
            if held.claim.ref == ref:
                self.reply(caller, ref)
            else:
                detail = f"{name!r} is registered here to {held.claim.ref}"
                self._fail(caller, "name_taken", detail)
            return
        if name in self._name_busy:
            self._fail(caller, "name_taken", f"{name!r} is being registered here")
            return
        self._name_busy.add(name)
        claim = Claim(name, ref, int(time.time() * 1000))

        def fail(code: str, detail: str) -> None:
            self._name_busy.discard(name)
            self._fail(caller, code, detail)

        def read_first(got: Any, err: BaseException | None) -> None:
            if err is not None:
                fail(*self._name_error(err))
                return
            other = winner([c for c in got[0] if c.node != self.node_id], got[1])
            if other is not None:
                fail("name_taken", f"{name!r} is held by {other.ref}")
                return
            self._name_io(self._name_put(claim, False), deadline, stored)

        def stored(_: Any, err: BaseException | None) -> None:
            if err is not None:
                fail(*self._name_error(err))
                return
            self._name_read(name, deadline, read_again)

        def read_again(got: Any, err: BaseException | None) -> None:
            self._name_busy.discard(name)
            if err is None:
                other = self._name_rival(claim, got)
                if other is not None:
                    self._name_io(self._name_put(claim, True), time.monotonic() + 10, _logged)
                    self._fail(caller, "name_taken", f"{name!r} is held by {other.ref}")
                    return
            # (a failed re-read keeps the claim: the next refresh settles it)
            mref = self.monitor(address)
            self._name_held[name] = _Held(claim, address, mref)
            self._name_mons[mref] = name
            self.stats.add("names.registered")
            self.reply(caller, ref)

        self._name_read(name, deadline, read_first)

    def _name_rival(self, mine: Claim, got: tuple[list[Claim], set[str]]) -> Claim | None:
        """The claim that beats ``mine`` by the rule, if one does."""
        claims = [c for c in got[0] if c.node != self.node_id]
        best = winner([*claims, mine], got[1] - {self.node_id})
        return None if best is mine else best

    def _name_whereis(self, name: str, caller: Caller, deadline: float) -> None:
        def got(res: Any, err: BaseException | None) -> None:
            if err is not None:
                self._fail(caller, *self._name_error(err))
                return
            best = winner(*res)
            self.reply(caller, None if best is None else best.ref)

        self._name_read(name, deadline, got)

    def _name_unregister(self, name: str, caller: Caller, deadline: float) -> None:
        held = self._name_held.get(name)
        if held is None:
            self.reply(caller, False)
            return
        self._name_drop(name)

        def done(_: Any, err: BaseException | None) -> None:
            if err is not None:
                self._fail(caller, *self._name_error(err))
            else:
                self.reply(caller, True)

        self._name_io(self._name_put(held.claim, True), deadline, done)

    def _name_drop(self, name: str) -> _Held | None:
        """Forget ``name`` here (no longer held), and stop watching its actor."""
        held = self._name_held.pop(name, None)
        if held is not None:
            self._name_mons.pop(held.mref, None)
            self.demonitor(held.mref)
        return held

    def _name_owns(self, down: Down) -> bool:
        """Whether ``down`` is of a registered actor (then handled: its names withdrawn)."""
        name = self._name_mons.pop(down.ref, None)
        if name is None:
            return False
        held = self._name_held.pop(name, None)
        if held is not None:
            log.debug("global name %r: its actor exited (%s)", name, down.reason.kind)
            self.stats.add("names.withdrawn_on_exit")
            self._name_io(self._name_put(held.claim, True), time.monotonic() + 10, _logged)
        return True

    def _name_refresh_all(self) -> None:
        for name, held in list(self._name_held.items()):
            if name not in self._name_busy:
                self._name_read(
                    name,
                    time.monotonic() + self._name_cfg.op_timeout,
                    lambda got, err, h=held: self._name_refreshed(h, got, err),
                )
        self.call_later(self._name_cfg.refresh, self._name_refresh_all)

    def _name_refreshed(self, held: _Held, got: Any, err: BaseException | None) -> None:
        name = held.claim.name
        if self._name_held.get(name) is not held:
            return  # withdrawn meanwhile
        other = None if err is not None else self._name_rival(held.claim, got)
        deadline = time.monotonic() + self._name_cfg.op_timeout
        if other is None:  # ours (or the DHT did not answer): renew the TTL
            self._name_io(self._name_put(held.claim, False), deadline, _logged)
            return
        log.warning("global name %r lost to %s", name, other.ref)
        self.stats.add("names.lost")
        self._name_drop(name)
        self._name_io(self._name_put(held.claim, True), deadline, _logged)
        self.send(held.address, NameLost(name, other.ref))

    def _name_stop(self, timeout: float = 2.0) -> None:
        """(stopping in order) Withdraw every name held, waiting at most ``timeout`` s."""
        held, self._name_held = list(getattr(self, "_name_held", {}).values()), {}
        if not held:
            return

        async def withdraw() -> None:
            await asyncio.gather(
                *(self._name_put(h.claim, True) for h in held), return_exceptions=True
            )

        try:
            fut = asyncio.run_coroutine_threadsafe(withdraw(), self.loop)
            fut.result(timeout)
        except (TimeoutError, RuntimeError):
            log.debug("global names not withdrawn in %s s", timeout)

    def _name_read(self, name: str, deadline: float, then: Any) -> None:
        """Read the claims of ``name``; ``then((claims, dead), error)`` (malformed records
        counted in the stats, then dropped)."""

        def got(res: Any, err: BaseException | None) -> None:
            if err is None and res[2]:
                self.stats.add("names.rejected_records", res[2])
            then(None if err is not None else res[:2], err)

        self._name_io(self._name_fetch(name), deadline, got)

    def _name_io(self, coro: Any, deadline: float, then: Any) -> None:
        """Run DHT operation ``coro`` on the loop until ``deadline``; ``then(value, error)``."""
        wait = max(0.1, deadline - time.monotonic())
        self._submit(asyncio.wait_for(coro, wait), then)

    @staticmethod
    def _name_error(err: BaseException) -> tuple[str, str]:
        if isinstance(err, TimeoutError):
            return ("timeout", "the DHT did not answer in time")
        return ("noconnection", f"the DHT operation failed: {type(err).__name__}: {err}"[:400])

    # ------------------------------------------------------------------ loop thread
    async def _name_fetch(self, name: str) -> tuple[list[Claim], set[str], int]:
        """The claims of ``name``, the nodes SWIM declared dead (hex), and how many records
        were dropped as malformed."""
        realm = self.cfg.realm
        records = await self.node.get_values(dht_name(name), realm=realm)
        claims, rejected = read_claims(name, records)
        dead = {p.node_id.hex() for p in self.node.peers(realm) if p.status == "dead"}
        return claims, dead, rejected

    async def _name_put(self, claim: Claim, deleted: bool) -> Any:
        value = b"" if deleted else encode_claim(claim.name, claim.ref, claim.since)
        return await self.node.put_value(
            dht_name(claim.name), value, ttl=self._name_cfg.ttl, deleted=deleted,
            realm=self.cfg.realm,
        )  # fmt: skip


def _logged(_: Any, err: BaseException | None) -> None:
    if err is not None:
        log.info("global names: a DHT store failed: %s", err)
