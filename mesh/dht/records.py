"""DHT record kinds and their keys.

Records live under ``key = SHA-256(kind name || 0 || realm id || 0 || name)``; many authors may
hold a record under one key (every subscriber of a topic, every provider of a service, every
node advertising genotypes for a problem), each naming its own record by ``(key, author)``.

* SERVICE: "``author`` provides procedure ``name``" (value: opaque, e.g. a version).
* SUBSCRIPTION: "``author`` subscribes to topic ``name``" (tombstone = unsubscribed).
* GENOTYPE: an opaque genotype advertisement; ``meta`` carries e.g. ``fitness`` and
  ``problem`` -- the mesh reads neither.
* VALUE: a plain single-author value.
"""

from __future__ import annotations

import hashlib

__all__ = ["GENOTYPE", "KINDS", "SERVICE", "SUBSCRIPTION", "VALUE", "record_key"]

VALUE = 1
SERVICE = 2
SUBSCRIPTION = 3
GENOTYPE = 4
KINDS = {VALUE: "value", SERVICE: "service", SUBSCRIPTION: "subscription", GENOTYPE: "genotype"}


def record_key(kind: int, realm: bytes, name: str) -> bytes:
    """The DHT key under which records of ``kind`` named ``name`` in ``realm`` live."""
    prefix = KINDS[kind].encode("ascii")
    return hashlib.sha256(prefix + b"\x00" + realm + b"\x00" + name.encode("utf-8")).digest()
