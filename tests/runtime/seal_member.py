"""A ``cluster`` member in a process of its own, for ``tests/runtime/test_seal_cluster.py``
(the transport seal is process-wide: a member sealed with another secret needs its own
process).

``python -m tests.runtime.seal_member LEADER SECRET_FILE ZONE`` starts a cluster system on
127.0.0.1 joined to ``LEADER`` (``host:port``), sealed with the secret in ``SECRET_FILE``,
with capability ``zone=ZONE``; prints ``ready``; shuts down when its stdin closes.
"""

from __future__ import annotations

import sys

from actors.runtime import RuntimeSystem


def main(leader: str, secret_file: str, zone: str) -> None:
    rt = RuntimeSystem(
        "cluster",
        host="127.0.0.1",
        leader=leader,
        capabilities={"zone": zone},
        convention_period=0.5,
        secret_file=secret_file,
    ).start()
    try:
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        rt.shutdown(timeout=4)


if __name__ == "__main__":
    main(*sys.argv[1:4])
