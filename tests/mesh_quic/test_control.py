"""The local control endpoint answers bad requests with errors and keeps serving."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from mesh.control import ControlServer
from mesh.identity import NodeKey
from mesh.node import MeshNode


def test_bad_requests_get_errors_and_the_endpoint_survives(tmp_path: Path) -> None:
    async def go() -> None:
        node = MeshNode(NodeKey.generate())
        await node.start()
        ctl = ControlServer(node)
        host, port = (await ctl.start()).rsplit(":", 1)
        ctl.write_file(tmp_path / "c.json")
        assert (tmp_path / "c.json").stat().st_mode & 0o777 == 0o600
        token = ctl.token
        reader, writer = await asyncio.open_connection(host, int(port))

        async def send(raw: bytes) -> dict:
            writer.write(raw + b"\n")
            await writer.drain()
            return json.loads(await asyncio.wait_for(reader.readline(), 10))

        bad = [
            b"not json at all",
            b"[1, 2, 3]",
            json.dumps({"op": "status", "token": "wrong"}).encode(),
            json.dumps({"op": "no-such-op", "token": token}).encode(),
            json.dumps({"op": "find", "token": token}).encode(),  # missing field
            json.dumps({"op": "publish", "token": token, "topic": "t", "payload": "zz"}).encode(),
            json.dumps(
                {"op": "register", "token": token, "procedure": "p", "kind": "exec"}
            ).encode(),
            json.dumps({"op": "events", "token": token, "topic": "never-subscribed"}).encode(),
        ]
        for raw in bad:
            answer = await send(raw)
            assert answer["ok"] is False and answer["error"], raw
        ok = await send(json.dumps({"op": "status", "token": token}).encode())
        assert ok["ok"] and ok["result"]["node_id"] == node.node_id.hex()
        writer.close()
        await ctl.close()
        await node.close()

    asyncio.run(asyncio.wait_for(go(), 30))
