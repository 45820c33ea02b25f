"""Per-address admission of identities (pure): how many new node ids one remote address may
bring, and over what time.

A node id costs nothing to mint, so an attacker on one host can log in hundreds of fresh
identities (sybils) that fill routing tables and member lists, then vanish. What the attacker
cannot multiply as freely is its address: :class:`IdentityBudget` gives each remote address
(an IPv4 address, or an IPv6 /64 prefix, see :func:`address_key`) a token bucket of *new*
identities -- ``burst`` at once, then one per ``interval`` seconds -- and remembers the last
``known`` node ids it admitted from that address, which reconnect for free: an honest node
that restarts with its key or reconnects after a network hiccup is never refused by the
budget, and nothing here ever closes a connection that was admitted. Memory is bounded:
``tracked`` addresses (least recently used forgotten) of ``known`` ids each.

No clock, no sockets: callers pass ``now``. The transport (:mod:`mesh.transport`) applies it
when a connection finishes authentication, together with its connection cap per address.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict

__all__ = ["IdentityBudget", "address_key"]


def address_key(host: str) -> str:
    """The unit a per-address cap counts: an IPv4 address (IPv4-mapped IPv6 included) as is,
    an IPv6 address by its /64 prefix (one subscriber's allocation), anything else verbatim."""
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class _Address:
    __slots__ = ("known", "stamp", "tokens")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.stamp = now
        self.known: OrderedDict[bytes, None] = OrderedDict()


class IdentityBudget:
    """New identities per remote address (see the module docstring)."""

    def __init__(self, burst: int, interval: float, known: int, tracked: int) -> None:
        if burst < 1 or interval <= 0 or known < 1 or tracked < 1:
            raise ValueError("an identity budget needs burst, known, tracked >= 1, interval > 0")
        self.burst = burst
        self.interval = interval
        self.known = known
        self.tracked = tracked
        self._addresses: OrderedDict[str, _Address] = OrderedDict()
        #: New identities admitted so far (tokens spent), all addresses together.
        self.new_admitted = 0

    def __len__(self) -> int:
        return len(self._addresses)

    def admit(self, address: str, node_id: bytes, now: float) -> bool:
        """May ``node_id`` authenticate from ``address`` now? A node id admitted from there
        before is; a new one spends a token (False: none left, refuse it)."""
        entry = self._addresses.get(address)
        if entry is None:
            entry = self._addresses[address] = _Address(float(self.burst), now)
            while len(self._addresses) > self.tracked:
                self._addresses.popitem(last=False)
        self._addresses.move_to_end(address)
        if node_id in entry.known:
            entry.known.move_to_end(node_id)
            return True
        if now > entry.stamp:
            refill = (now - entry.stamp) / self.interval
            entry.tokens = min(float(self.burst), entry.tokens + refill)
            entry.stamp = now
        if entry.tokens < 1.0:
            return False
        entry.tokens -= 1.0
        self.new_admitted += 1
        entry.known[node_id] = None
        while len(entry.known) > self.known:
            entry.known.popitem(last=False)
        return True

    def known_from(self, address: str) -> int:
        """Node ids remembered for ``address``."""
        entry = self._addresses.get(address)
        return 0 if entry is None else len(entry.known)
