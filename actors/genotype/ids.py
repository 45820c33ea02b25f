"""Deterministic element ids.

An id is ``"<prefix>-<16 lowercase hex digits>"`` where the 64 bits come from the
caller's :class:`random.Random` (DXNN2 used the wall clock, which is neither reproducible
nor unique across nodes). Prefixes: ``g`` agent, ``c`` cortex, ``s`` sensor, ``n`` neuron,
``a`` actuator, ``p`` population, ``e`` species.

An :class:`IdFactory` never returns an id it has already issued or was told is taken, so
ids are unique within an agent by construction. Across a population they are unique with
overwhelming probability (10⁶ ids collide with probability ≈ 3·10⁻⁸); a store or population
that must be certain passes every id it holds to :meth:`IdFactory.reserve`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

__all__ = ["ID_PATTERN", "KIND_PREFIX", "IdFactory", "id_kind"]

KIND_PREFIX: dict[str, str] = {
    "agent": "g",
    "cortex": "c",
    "sensor": "s",
    "neuron": "n",
    "actuator": "a",
    "population": "p",
    "specie": "e",
}
_PREFIX_KIND = {v: k for k, v in KIND_PREFIX.items()}

#: What every generated id looks like.
ID_PATTERN = re.compile(r"^[gcsnape]-[0-9a-f]{16}$")


def id_kind(element_id: str) -> str:
    """The kind an id was issued for (``"neuron"`` for ``"n-…"``)."""
    return _PREFIX_KIND[element_id[0]]


class IdFactory:
    """Issues fresh ids from ``rng``; deterministic given the RNG state and reservations."""

    __slots__ = ("_rng", "_taken")

    def __init__(self, rng: random.Random, taken: Iterable[str] = ()) -> None:
        self._rng = rng
        self._taken: set[str] = set(taken)

    def reserve(self, ids: Iterable[str]) -> None:
        """Mark ``ids`` as taken so they are never issued."""
        self._taken.update(ids)

    def new(self, kind: str) -> str:
        """A fresh id for an element of ``kind`` (a key of :data:`KIND_PREFIX`)."""
        prefix = KIND_PREFIX[kind]
        while True:
            candidate = f"{prefix}-{self._rng.getrandbits(64):016x}"
            if candidate not in self._taken:
                self._taken.add(candidate)
                return candidate
