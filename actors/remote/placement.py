"""Capacity adverts and placement queries: which nodes can run an actor, least loaded first.

Each node advertises what it offers (:class:`Capacity`: cores, free memory, load,
morphologies it can run, the classes it lets other nodes spawn, free-form tags) as a DHT
record of its own (the gateway stores it, see :mod:`actors.remote.gateway`), refreshed
periodically; the mesh signs every record with its author's key, so the advert's node is
the record's author and is never read from the advert itself. A placement query
(:class:`Requirements`, e.g. ``{"morphology": "dpnv", "min_cores": 1}``) over the adverts
heard (:class:`CapacityTable`) returns node ids: nodes meeting every requirement, least
loaded first (load per core), then most free memory, then by node id -- so two nodes
answering the same query over the same adverts choose the same node.

The core is pure: the table is fed the time (``now``) and the adverts' bytes with their
authors; it reads no clock, no network and no host. :func:`measure_capacity` is the shell
that reads this host's figures. Adverts are msgpack maps under size and depth limits;
anything else is refused with :class:`CapacityDecodeError` (the table drops it and counts
it), so a forged or malformed advert cannot crash a node.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack

__all__ = [
    "ADVERT_LIMIT",
    "Capacity",
    "CapacityDecodeError",
    "CapacityTable",
    "PlacementError",
    "Requirements",
    "decode_capacity",
    "encode_capacity",
    "measure_capacity",
]

#: Largest advert accepted (bytes of its msgpack encoding).
ADVERT_LIMIT = 4096
#: At most this many morphologies and this many tags in one advert.
MAX_NAMES = 64
#: Longest morphology name or tag (characters).
MAX_NAME = 128
#: Advert schema version (``"v"`` in the map); 2 added ``actors``.
VERSION = 2


class PlacementError(Exception):
    """A placement misuse (a bad requirement) or a bad advert."""


class CapacityDecodeError(PlacementError):
    """An advert from the network that is not a valid capacity record."""


def _names(values: Iterable[Any], what: str) -> tuple[str, ...]:
    if isinstance(values, str | bytes):
        raise PlacementError(f"{what}: a collection of names, not one string")
    items = list(values)
    for v in items:
        if not isinstance(v, str) or not v or len(v) > MAX_NAME:
            raise PlacementError(
                f"{what}: each a non-empty string of at most {MAX_NAME} characters"
            )
    out = tuple(sorted(set(items)))
    if len(out) > MAX_NAMES:
        raise PlacementError(f"{what}: at most {MAX_NAMES}, got {len(out)}")
    return out


@dataclass(frozen=True, slots=True)
class Capacity:
    """What one node offers. ``load`` is the run-queue length (e.g. the 1-minute load
    average), ``free_memory`` bytes; ``actors`` the names of the classes it registered as
    remotable; ``morphologies``, ``actors`` and ``tags`` are sorted, unique."""

    cores: int
    free_memory: int
    load: float
    morphologies: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("cores", "free_memory"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v >= 2**63:
                raise PlacementError(f"{name} must be an int in [0, 2**63), got {v!r}")
        if (
            isinstance(self.load, bool)
            or not isinstance(self.load, int | float)
            or not math.isfinite(self.load)
            or self.load < 0
        ):
            raise PlacementError(f"load must be a finite number >= 0, got {self.load!r}")
        object.__setattr__(self, "load", float(self.load))
        object.__setattr__(self, "morphologies", _names(self.morphologies, "morphologies"))
        object.__setattr__(self, "tags", _names(self.tags, "tags"))
        object.__setattr__(self, "actors", _names(self.actors, "actors"))

    @property
    def load_per_core(self) -> float:
        return self.load / max(1, self.cores)


def encode_capacity(cap: Capacity) -> bytes:
    """The advert's bytes (a msgpack map; what the DHT record carries)."""
    doc = {
        "v": VERSION,
        "cores": cap.cores,
        "free_memory": cap.free_memory,
        "load": cap.load,
        "morphologies": list(cap.morphologies),
        "tags": list(cap.tags),
        "actors": list(cap.actors),
    }
    data: bytes = msgpack.packb(doc, use_bin_type=True)
    return data


_FIELDS = frozenset({"v", "cores", "free_memory", "load", "morphologies", "tags", "actors"})


def decode_capacity(data: bytes) -> Capacity:
    """An advert's :class:`Capacity`; :class:`CapacityDecodeError` for anything else
    (oversized, not msgpack, not a map of the known fields, bad values, another version)."""
    if not isinstance(data, bytes | bytearray) or len(data) > ADVERT_LIMIT:
        raise CapacityDecodeError(f"an advert is bytes of at most {ADVERT_LIMIT}")
    try:
        doc = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            max_array_len=MAX_NAMES + 1,
            max_map_len=len(_FIELDS),
            max_str_len=MAX_NAME * 4,
            max_bin_len=0,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises several types on bad input: one typed error
        raise CapacityDecodeError(f"not a msgpack advert: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or set(doc) != _FIELDS:
        raise CapacityDecodeError(f"an advert is a map of exactly {sorted(_FIELDS)}")
    if doc["v"] != VERSION:
        raise CapacityDecodeError(f"advert version {doc['v']!r}, expected {VERSION}")
    for name in ("morphologies", "tags", "actors"):
        if not isinstance(doc[name], list):
            raise CapacityDecodeError(f"{name} must be a list")
    try:
        return Capacity(
            doc["cores"],
            doc["free_memory"],
            doc["load"],
            doc["morphologies"],
            doc["tags"],
            doc["actors"],
        )
    except PlacementError as exc:
        raise CapacityDecodeError(f"bad advert: {exc}") from None


_REQUIREMENT_KEYS = (
    "morphology",
    "actor",
    "min_cores",
    "min_free_memory",
    "max_load_per_core",
    "tags",
)


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a placement needs: a node that runs ``morphology`` (``None``: any) and lets
    others spawn ``actor`` (a remotable name; ``None``: any), with at least ``min_cores``
    cores and ``min_free_memory`` free bytes, at most ``max_load_per_core`` load per core
    (``None``: any), and every tag of ``tags``."""

    morphology: str | None = None
    actor: str | None = None
    min_cores: int = 0
    min_free_memory: int = 0
    max_load_per_core: float | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.morphology is not None and not (
            isinstance(self.morphology, str) and self.morphology
        ):
            raise PlacementError(f"morphology must be a non-empty string, got {self.morphology!r}")
        if self.actor is not None and not (isinstance(self.actor, str) and self.actor):
            raise PlacementError(f"actor must be a non-empty string, got {self.actor!r}")
        for name in ("min_cores", "min_free_memory"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise PlacementError(f"{name} must be an int >= 0, got {v!r}")
        m = self.max_load_per_core
        if m is not None and (isinstance(m, bool) or not isinstance(m, int | float) or not m >= 0):
            raise PlacementError(f"max_load_per_core must be a number >= 0, got {m!r}")
        object.__setattr__(self, "tags", frozenset(_names(self.tags, "tags")))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Requirements:
        """From ``{"morphology": "dpnv", "min_cores": 1, ...}``; unknown keys are refused."""
        unknown = sorted(set(values) - set(_REQUIREMENT_KEYS))
        if unknown:
            raise PlacementError(
                f"unknown placement requirement(s) {unknown}; known: {list(_REQUIREMENT_KEYS)}"
            )
        return cls(**dict(values))

    def met_by(self, cap: Capacity) -> bool:
        return (
            (self.morphology is None or self.morphology in cap.morphologies)
            and (self.actor is None or self.actor in cap.actors)
            and cap.cores >= self.min_cores
            and cap.free_memory >= self.min_free_memory
            and (self.max_load_per_core is None or cap.load_per_core <= self.max_load_per_core)
            and self.tags <= set(cap.tags)
        )


@dataclass(frozen=True, slots=True)
class _Heard:
    capacity: Capacity
    expires: float


class CapacityTable:
    """The adverts this node has heard, by author node id, each until it expires.

    :meth:`heard` takes an advert as the mesh delivered it: its author (the node id the
    mesh checked the signature of), its bytes and its time to live; a newer advert of an
    author replaces the older. :meth:`query` answers a placement (see the module
    docstring). Times are the caller's clock (``now``), never the advert's.
    """

    def __init__(self) -> None:
        self._nodes: dict[bytes, _Heard] = {}
        self.rejected = 0

    def heard(self, author: bytes, data: bytes, ttl: float, now: float) -> Capacity | None:
        """Record ``author``'s advert; ``None`` (and :attr:`rejected` counts it) if the
        advert is not a valid one -- the previous advert of that author is then kept."""
        try:
            cap = decode_capacity(data)
        except CapacityDecodeError:
            self.rejected += 1
            return None
        self._nodes[bytes(author)] = _Heard(cap, now + max(0.0, float(ttl)))
        return cap

    def forget(self, author: bytes) -> None:
        """Drop ``author`` (e.g. SWIM declared it dead)."""
        self._nodes.pop(bytes(author), None)

    def expire(self, now: float) -> list[bytes]:
        """Drop the adverts past their time; returns their authors."""
        gone = [a for a, h in self._nodes.items() if h.expires <= now]
        for a in gone:
            del self._nodes[a]
        return sorted(gone)

    def live(self, now: float) -> dict[bytes, Capacity]:
        return {a: h.capacity for a, h in self._nodes.items() if h.expires > now}

    def query(
        self,
        requirements: Requirements | Mapping[str, Any],
        now: float,
        *,
        limit: int | None = None,
        exclude: Iterable[bytes] = (),
    ) -> list[bytes]:
        """Node ids meeting ``requirements`` among the live adverts, best first: least
        load per core, then most free memory, then lowest node id. ``exclude`` (e.g. a
        node a child just died on) is left out; ``limit`` keeps the first ones."""
        req = (
            requirements
            if isinstance(requirements, Requirements)
            else Requirements.from_mapping(requirements)
        )
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise PlacementError(f"limit must be an int >= 0, got {limit!r}")
        skip = {bytes(e) for e in exclude}
        fits = [
            (cap.load_per_core, -cap.free_memory, node)
            for node, cap in self.live(now).items()
            if node not in skip and req.met_by(cap)
        ]
        ranked = [node for *_, node in sorted(fits)]
        return ranked if limit is None else ranked[:limit]


def measure_capacity(
    morphologies: Iterable[str] = (), tags: Iterable[str] = (), actors: Iterable[str] = ()
) -> Capacity:
    """This host's :class:`Capacity` now: CPUs this process may use, available memory,
    the 1-minute load average (the shell of this module: it reads the host)."""
    import psutil

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return Capacity(
        cores=cores,
        free_memory=int(psutil.virtual_memory().available),
        load=float(os.getloadavg()[0]),
        morphologies=tuple(morphologies),
        tags=tuple(tags),
        actors=tuple(actors),
    )
