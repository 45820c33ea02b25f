"""A blocking client of the local control endpoint (:mod:`mesh.control`), for the CLI and tests.

It reads answers of up to ``max_answer_bytes`` (16 MiB), the most the server sends, nested at
most ``max_depth`` deep; a longer, truncated, malformed or over-nested answer is a
:class:`~mesh.control_wire.ControlError`, as is a request the endpoint would refuse for its
size. A request longer than the server's first-line limit goes after an ``auth`` line on the
same connection. An answer marked ``retry`` (the server dropped the connection before running
anything of it, when too many were open) is retried, six times at most (3.15 s of pauses in all).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from socket import create_connection, socket
from typing import Any

from mesh.control_wire import DEFAULT_CONFIG, ControlConfig, ControlError, decode_answer
from mesh.errors import MeshUsageError
from mesh.transport import parse_address

__all__ = ["ControlClient"]

_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)  # seconds before each retry of a dropped request
_CONNECT_ATTEMPT = 1.0  # seconds one connection attempt may take (see ControlClient._connect)


class ControlClient:
    """Sends requests to the endpoint named by a control file; one connection per request."""

    def __init__(
        self,
        control_file: str | os.PathLike[str],
        timeout: float = 30.0,
        config: ControlConfig = DEFAULT_CONFIG,
    ) -> None:
        try:
            info = json.loads(Path(control_file).read_text())
            self.host, self.port = parse_address(info["control"])
            self.token = str(info["token"])
        except (OSError, ValueError, KeyError, TypeError, MeshUsageError) as exc:
            raise ControlError(f"cannot read control file {control_file}: {exc}") from exc
        self.info = info
        self.timeout = timeout
        self.config = config

    def request(self, op: str, **fields: Any) -> Any:
        """Send one request; return its result or raise ControlError with the node's message.

        The socket waits ``timeout`` s, or longer for a ``call`` or ``events`` that may take
        its own ``timeout`` / ``wait``."""
        try:
            msg = json.dumps({"op": op, "token": self.token, **fields}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ControlError(f"request cannot be sent as JSON: {exc}") from None
        line = msg.encode() + b"\n"
        cfg = self.config
        if len(line) - 1 > cfg.max_line_bytes:
            raise ControlError(
                f"request of {len(line) - 1} bytes exceeds the {cfg.max_line_bytes}-byte "
                "line limit of the control endpoint"
            )
        lines = [line]
        if len(line) - 1 > cfg.first_line_bytes:
            lines.insert(0, json.dumps({"op": "auth", "token": self.token}).encode() + b"\n")
        wait = self.timeout
        for name, most in (("timeout", cfg.max_call_timeout), ("wait", cfg.max_wait)):
            v = fields.get(name)
            if isinstance(v, int | float) and v > 0:
                wait = max(wait, min(float(v), most) + 5.0)
        for delay in (*_RETRIES, None):
            answer = self._exchange(lines, wait)
            if answer.get("retry") is not True or delay is None:
                break
            time.sleep(delay)
        if not answer["ok"]:
            raise ControlError(answer["error"])
        return answer["result"]

    def _exchange(self, lines: list[bytes], wait: float) -> dict[str, Any]:
        """Send ``lines``, read one answer per line; the last one, or the first error."""
        limit = self.config.max_answer_bytes
        try:
            with self._connect(wait) as s:
                s.settimeout(wait)
                with contextlib.suppress(OSError):  # closed while we sent: the answer says why
                    s.sendall(b"".join(lines))
                f = s.makefile("rb")
                for _ in lines:
                    raw = f.readline(limit + 2)
                    if not raw:
                        raise ControlError("node closed the control connection without answering")
                    if not raw.endswith(b"\n"):
                        if len(raw) > limit + 1:
                            raise ControlError(f"answer exceeds the {limit}-byte answer limit")
                        raise ControlError("node closed the control connection mid-answer")
                    answer = decode_answer(raw[:-1], self.config)
                    if not answer["ok"]:
                        break
        except TimeoutError:
            raise ControlError(f"no answer from the control endpoint within {wait:g} s") from None
        except OSError as exc:
            raise ControlError(f"node not reachable at {self.host}:{self.port}: {exc}") from exc
        return answer

    def _connect(self, wait: float) -> socket:
        """Connect within ``wait`` s. Each attempt waits at most ``_CONNECT_ATTEMPT`` s: a
        connection request dropped while the endpoint's accept queue was full (a flood of
        connections) is sent again at once instead of after the kernel's growing SYN backoff."""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            try:
                attempt = min(left, _CONNECT_ATTEMPT)
                return create_connection((self.host, self.port), timeout=attempt)
            except TimeoutError:
                if deadline - time.monotonic() <= 0:
                    raise
