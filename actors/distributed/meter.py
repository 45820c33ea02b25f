"""Count the UDP bytes this process sends (what the mesh costs on the wire).

aioquic sends every datagram through asyncio's datagram transport; :class:`UdpMeter`
wraps that transport's ``sendto`` once per process and counts payload bytes (UDP/IP headers
not included). It measures; it changes nothing that is sent. If the transport class is not
where CPython 3.11 keeps it, :meth:`UdpMeter.install` returns ``None`` and figures read
"unknown" rather than wrong.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["UdpMeter"]


class UdpMeter:
    """Process-wide counter of UDP payload bytes and datagrams sent."""

    _instance: UdpMeter | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self.sent = 0
        self.datagrams = 0

    @classmethod
    def install(cls) -> UdpMeter | None:
        with cls._guard:
            if cls._instance is not None:
                return cls._instance
            try:
                from asyncio import selector_events

                transport: Any = getattr(selector_events, "_SelectorDatagramTransport")  # noqa: B009
            except (ImportError, AttributeError):
                return None
            meter = cls()
            original = transport.sendto

            def sendto(self: Any, data: Any, addr: Any = None) -> None:
                meter.sent += len(data)
                meter.datagrams += 1
                original(self, data, addr)

            transport.sendto = sendto
            cls._instance = meter
            return meter
