"""``megabrain worker``: a runtime whose gateway offers this node to the realm's other nodes.

``megabrain worker --bootstrap HOST:PORT --realm NAME --key PATH --remotable NAME=module.Class``
starts a runtime (``--mode local``: one process per actor), the spawn supervisor and the
remote gateway (:func:`actors.remote.gateway.remote_node_spec`), prints one JSON line when
ready (``node_id``, ``listen``, ``realm``, ``pid``, ``remotable``) and serves until SIGINT or
SIGTERM. Other nodes of the realm can then spawn the ``--remotable`` classes here (only those,
and only from ``--spawn-from`` node ids when given), and message, request and monitor any
actor registered on this node. The default classes are the demo actors and the exoself
(``exoself``: evaluates agents for ``megabrain evolve --remote-workers``). The node
advertises its capacity in the realm's DHT every ``--advert-interval`` s (cores, free memory,
load, its remotable names, the ``--morphology`` names it runs -- default: every registered
morphology -- and ``--tag`` labels) for placement queries.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from actors.cli import UsageError

__all__ = ["register"]

#: Classes a worker offers when no ``--remotable`` is given.
DEFAULT_REMOTABLE = {
    "echo": "actors.remote.demo_actors.Echo",
    "recorder": "actors.remote.demo_actors.Recorder",
    "exoself": "actors.evolution.exoself.ExoselfWorker",
}


def _remotable(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or "." not in path:
        raise argparse.ArgumentTypeError(f"expected NAME=module.Class, got {text!r}")
    return name, path


def register(sub: Any) -> None:
    p = sub.add_parser(
        "worker", help="offer this node's actors and capacity to a mesh realm (remote actors)"
    )
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    p.add_argument("--bootstrap", action="append", default=[], metavar="HOST:PORT",
                   help="a node of the realm to join through (repeatable)")  # fmt: skip
    p.add_argument("--realm", default="default", help="the mesh realm (default 'default')")
    p.add_argument("--key", required=True, metavar="PATH",
                   help="node key file (created 0600 if missing): the node id")  # fmt: skip
    p.add_argument("--remotable", action="append", type=_remotable, default=[],
                   metavar="NAME=module.Class",
                   help="a class other nodes may spawn here (repeatable; default: echo, "
                   "recorder from actors.remote.demo_actors, exoself)")  # fmt: skip
    p.add_argument("--morphology", action="append", default=None, metavar="NAME",
                   help="a morphology advertised as runnable here (repeatable; default: all "
                   "registered)")  # fmt: skip
    p.add_argument("--tag", action="append", default=[], metavar="LABEL",
                   help="a label advertised for placement queries (repeatable)")  # fmt: skip
    p.add_argument("--advert-interval", type=float, default=5.0, metavar="S",
                   help="seconds between capacity adverts (default 5; 0: none)")  # fmt: skip
    p.add_argument("--spawn-from", action="append", default=None, metavar="NODE_ID",
                   help="only these node ids (hex) may spawn here (repeatable)")  # fmt: skip
    p.add_argument("--max-actors", type=int, default=256, metavar="N",
                   help="actors one node may have spawned here at once (default 256)")  # fmt: skip
    p.add_argument("--max-rate", type=float, default=50_000.0, metavar="MSGS",
                   help="messages per second one node may send here (default 50000)")  # fmt: skip
    p.add_argument("--mode", choices=("local", "simple"), default="local",
                   help="runtime mode (default local: one process per actor)")  # fmt: skip
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from actors.cli.keyfile import held_node_key
    from actors.remote.gateway import GatewayConfig, Quotas, remote_node_spec
    from actors.runtime import RuntimeSystem
    from actors.runtime.errors import RuntimeConfigError
    from actors.runtime.remote_ref import GATEWAY_NAME, WhoAmI
    from mesh.errors import MeshUsageError
    from mesh.transport import parse_address

    try:
        host, port = parse_address(args.listen)
    except MeshUsageError as exc:
        raise UsageError(f"--listen: {exc}") from exc
    from morphologies import morphology_names

    remotable = dict(args.remotable) or dict(DEFAULT_REMOTABLE)
    morphs = morphology_names() if args.morphology is None else tuple(args.morphology)
    with held_node_key(args.key):
        try:
            cfg = GatewayConfig(
                key_file=os.path.abspath(args.key), realm=args.realm, host=host, port=port,
                bootstrap=tuple(args.bootstrap), remotable=remotable,
                morphologies=tuple(morphs), tags=tuple(args.tag),
                advert_interval=args.advert_interval,
                spawn_from=None if args.spawn_from is None else tuple(args.spawn_from),
                quotas=Quotas(actors=args.max_actors, messages_per_s=args.max_rate,
                              burst=max(1.0, args.max_rate * 2)),
            )  # fmt: skip
        except RuntimeConfigError as exc:
            raise UsageError(str(exc)) from exc
        with RuntimeSystem(mode=args.mode) as rt:
            rt.start_root(remote_node_spec(cfg), timeout=60.0)
            me = rt.request(GATEWAY_NAME, WhoAmI(), 30.0)
            line = {"node_id": me["node"], "listen": me["address"], "realm": me["realm"],
                    "pid": os.getpid(), "remotable": sorted(remotable)}  # fmt: skip
            print(json.dumps(line), flush=True)
            try:
                while True:
                    if args.mode == "simple":
                        rt.listen(0.05)
                    else:
                        time.sleep(0.5)
            except KeyboardInterrupt:
                print(json.dumps({"stopped": True}), file=sys.stderr, flush=True)
                return 130
