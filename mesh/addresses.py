"""Which addresses a node dials: the one check every dial passes (:mod:`mesh.transport`).

Addresses reach a node from the network in many places -- the address a peer announces in its
handshake, SWIM statements, DHT ``Nodes`` contacts, the ``addr`` of service, subscription and
genotype records -- and every one of them ends in :meth:`QuicTransport.dial`, which applies:

* **Family and source.** A dial goes out from a socket bound to the node's own listen address
  (never a wildcard the node does not listen on), so only addresses of the listen address's
  family are dialled (:func:`route_refusal`).
* **Scope.** A node listening on loopback dials loopback addresses only; any other node never
  dials loopback, unspecified (``0.0.0.0``, ``::``), multicast, broadcast, reserved or
  IPv4-mapped addresses, nor link-local ones unless it listens on a link-local address.
* **Literals only from peers.** An address named by a peer (not by the local user, e.g. a
  bootstrap seed) must be an IP literal with a port in 1..65535 (:func:`literal_refusal`): a
  peer cannot make the node resolve host names.

Pure functions: they return why an address is refused (a short text), or None.
"""

from __future__ import annotations

import ipaddress

__all__ = ["literal_refusal", "route_refusal", "split_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def split_address(address: str) -> tuple[str, int] | None:
    """``"host:port"`` / ``"[v6]:port"`` -> (host, port), or None if malformed (an IPv6
    host must be bracketed: ``::1:7000`` is ambiguous)."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or len(port) > 5 or int(port) > 65535:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        return None
    return (host, int(port)) if host else None


def literal_refusal(address: str) -> str | None:
    """Why a peer-named ``address`` may not be dialled at all (None: an IP literal and port)."""
    parts = split_address(address)
    if parts is None:
        return "not HOST:PORT"
    host, port = parts
    if port == 0:
        return "port 0"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "not an IP literal"
    return None


def route_refusal(listen_ip: str, target_ip: str) -> str | None:
    """Why a node listening on ``listen_ip`` may not dial ``target_ip`` (both IP literals)."""
    try:
        listen = ipaddress.ip_address(listen_ip)
        target = ipaddress.ip_address(target_ip.split("%")[0])
    except ValueError:
        return "not an IP address"
    if listen.version != target.version:
        return f"IPv{target.version} target from an IPv{listen.version} listen address"
    if isinstance(target, ipaddress.IPv6Address) and target.ipv4_mapped is not None:
        return "IPv4-mapped address"
    if listen.is_loopback:
        return None if target.is_loopback else "non-loopback target from a loopback node"
    if target.is_loopback:
        return "loopback target from a non-loopback node"
    if target.is_unspecified or target.is_multicast or target.is_reserved:  # 255.255.255.255
        return "unspecified, multicast, broadcast or reserved target"  # is reserved too
    if target.is_link_local and not listen.is_link_local:
        return "link-local target"
    return None
