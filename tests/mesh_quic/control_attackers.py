"""A local user without the token attacking a node's control endpoint (its own process).

``python -m tests.mesh_quic.control_attackers ATTACK HOST:PORT [--count N] [--bytes B]
[--seconds S]`` runs one attack and prints one JSON line of what it saw:

* ``partial-lines``: ``count`` connections each send up to ``bytes`` of one line that never
  ends (no newline), as fast as the endpoint takes them, and read what comes back; one still
  open ``seconds`` after it sent all is ``held_open``.
* ``idle``: opens ``count`` connections as fast as it can and holds them for ``seconds``,
  sending nothing; with ``--reopen`` each one the endpoint closes is opened again.

Report fields: ``answered`` (connections that received an error line), ``closed`` (ended by
the endpoint), ``open_at_end``, ``errors`` (the distinct error messages received).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from typing import Any

from mesh.transport import parse_address


async def _read_end(reader: asyncio.StreamReader, seen: Counter[str]) -> bool:
    """Read until the endpoint ends the connection; count its error line. True if it did."""
    try:
        line = await reader.readline()
    except (ConnectionError, ValueError):
        return True
    if line:
        try:
            seen[json.loads(line)["error"]] += 1
        except (ValueError, KeyError, TypeError):
            seen["<not an error line>"] += 1
    with contextlib.suppress(ConnectionError, ValueError):
        while await reader.read(65536):
            pass
    return True


async def partial_lines(host: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    seen: Counter[str] = Counter()
    out = {"sent_bytes": 0, "closed": 0, "held_open": 0}
    chunk = b'{"op": "status", "x": "' + b"a" * (1 << 20)

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        ended = asyncio.ensure_future(_read_end(reader, seen))
        sent = 0
        try:
            while sent < args.bytes and not ended.done():
                piece = chunk[: min(len(chunk), args.bytes - sent)]
                writer.write(piece)
                await writer.drain()
                sent += len(piece)
        except ConnectionError:
            pass
        out["sent_bytes"] += sent
        try:
            await asyncio.wait_for(ended, args.seconds)
            out["closed"] += 1
        except TimeoutError:  # the endpoint holds the line and answers nothing
            out["held_open"] += 1
        writer.close()

    await asyncio.gather(*(one() for _ in range(args.count)))
    return {**out, "answered": sum(seen.values()), "errors": dict(seen)}


async def idle(host: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    seen: Counter[str] = Counter()
    out = {"opened": 0, "closed": 0, "open_at_end": 0}
    deadline = time.monotonic() + args.seconds
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        while True:
            reader, writer = await asyncio.open_connection(host, port)
            writers.append(writer)
            out["opened"] += 1
            left = deadline - time.monotonic()
            try:
                await asyncio.wait_for(_read_end(reader, seen), max(0.0, left))
            except TimeoutError:
                out["open_at_end"] += 1
                return
            out["closed"] += 1
            if not args.reopen or time.monotonic() >= deadline:
                # a closed connection is not reopened: hold the others to the end
                return

    await asyncio.gather(*(one() for _ in range(args.count)))
    for w in writers:
        w.close()
    return {**out, "answered": sum(seen.values()), "errors": dict(seen)}


_ATTACKS = {"partial-lines": partial_lines, "idle": idle}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("attack", choices=sorted(_ATTACKS))
    p.add_argument("address")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--bytes", type=int, default=int(15.9 * (1 << 20)))
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--reopen", action="store_true")
    args = p.parse_args(argv)
    host, port = parse_address(args.address)
    result = asyncio.run(_ATTACKS[args.attack](host, port, args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
