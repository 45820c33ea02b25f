"""Plain records that selection, fitness postprocessing and species statistics work on.

The population monitor builds one :class:`Candidate` per evaluated agent from whatever
genotype records it holds; nothing here knows the genotype's record types.

Fitness is a **vector** (a non-empty tuple of finite floats), as in DXNN2, where an agent's
``fitness`` is a list and its ``main_fitness`` is the list's first element. The main fitness
drives ranking, offspring allotments and roulette wheels; the whole vector is used only where
DXNN2 uses it, for Pareto dominance inside the hall of fame. A plain float is accepted by
:func:`as_fitness` and becomes a one-element vector.

Helpers shared by the other modules live here too: Erlang's ``round`` (half away from
zero, not Python's banker's rounding), Pareto dominance as DXNN2's ``vec1_dominates_vec2``,
roulette weights that stay valid for zero or negative scores, and a small registry of
named functions with a checked signature.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from actors.evolution.errors import EvolutionError, SelectionError

__all__ = [
    "Candidate",
    "Fitness",
    "Registry",
    "Scored",
    "as_fitness",
    "dominance",
    "erl_round",
    "roulette_weights",
]

#: A fitness vector; element 0 is the main fitness.
Fitness = tuple[float, ...]


def as_fitness(value: float | Iterable[float]) -> Fitness:
    """Normalise a float or a sequence of floats into a non-empty fitness vector.

    Raises :class:`SelectionError` when the vector is empty or holds a non-finite value.
    """
    if isinstance(value, bool):
        raise SelectionError("fitness must be a number or a sequence of numbers, not a bool")
    if isinstance(value, int | float):
        vec: tuple[float, ...] = (float(value),)
    elif isinstance(value, str | bytes):
        raise SelectionError(f"fitness must be numeric: {value!r}")
    else:
        try:
            vec = tuple(float(v) for v in value)
        except (TypeError, ValueError) as exc:
            raise SelectionError(f"fitness must be numeric: {value!r}") from exc
    if not vec:
        raise SelectionError("fitness vector is empty")
    if not all(math.isfinite(v) for v in vec):
        raise SelectionError(f"fitness must be finite: {vec!r}")
    return vec


@dataclass(frozen=True, slots=True)
class Candidate:
    """One evaluated agent as selection sees it.

    Attributes:
        agent_id: the genotype store's id of the agent.
        fitness: the fitness vector (see the module docstring); element 0 is the main fitness.
        size: number of neurons (DXNN's ``tot_n``); at least 1.
        specie_id: the species the monitor put the agent in.
        fingerprint: any hashable value that identifies the agent's structural class
            (the genotype's fingerprint); agents with equal fingerprints are one "kind".
        generation: the agent's generation (used to age hall-of-fame entries).
    """

    agent_id: str
    fitness: Fitness
    size: int
    specie_id: str = "default"
    fingerprint: Hashable = None
    generation: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.agent_id, str) or not self.agent_id:
            raise SelectionError(f"agent_id must be a non-empty str: {self.agent_id!r}")
        object.__setattr__(self, "fitness", as_fitness(self.fitness))
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise SelectionError(f"{self.agent_id}: size must be an int >= 1, got {self.size!r}")
        if not isinstance(self.specie_id, str):
            raise SelectionError(f"{self.agent_id}: specie_id must be a str")
        try:
            hash(self.fingerprint)
        except TypeError as exc:
            raise SelectionError(f"{self.agent_id}: fingerprint must be hashable") from exc

    @property
    def main_fitness(self) -> float:
        """Element 0 of the fitness vector."""
        return self.fitness[0]


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate with the score a fitness postprocessor gave it.

    Selection ranks and weighs candidates by ``score``; with the ``none`` postprocessor the
    score is the main fitness, so selection behaves exactly as DXNN's.
    """

    candidate: Candidate
    score: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.score):
            raise SelectionError(f"{self.candidate.agent_id}: score must be finite")

    @property
    def agent_id(self) -> str:
        return self.candidate.agent_id


def erl_round(x: float) -> int:
    """Erlang's ``round/1``: nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def dominance(a: Fitness, b: Fitness, mip: float = 0.0) -> int:
    """Compare two fitness vectors the way DXNN2's ``vec1_dominates_vec2`` does.

    Element-wise differences ``a_i - (b_i + b_i * mip)`` are computed; returns ``1`` when
    every difference is positive (``a`` dominates ``b``), ``-1`` when none is (``a`` is
    dominated; equal vectors count as dominated, as in DXNN2), ``0`` otherwise (both lie on
    one Pareto front). Vectors of different lengths raise :class:`SelectionError`.
    """
    if len(a) != len(b):
        raise SelectionError(f"fitness vectors differ in length: {len(a)} vs {len(b)}")
    better = sum(1 for x, y in zip(a, b, strict=True) if x - (y + y * mip) > 0)
    if better == len(a):
        return 1
    if better == 0:
        return -1
    return 0


def roulette_weights(values: Sequence[float]) -> list[float]:
    """Turn scores into strictly positive roulette-wheel weights with the same proportions.

    DXNN's roulette wheels (``choose_Winners``, ``calculate_alotments``) assume positive
    fitness. Scores are first scaled by their largest magnitude (proportions unchanged, no
    overflow or underflow later). Scores that are all positive keep their proportions.
    Otherwise they are shifted so that the lowest gets 5 % of the score range (never zero,
    so every entry keeps a chance) -- an extension for problems whose fitness can be zero or
    negative. Equal scores get equal weights. The largest weight is 1.
    """
    if not values:
        return []
    scale = max(abs(v) for v in values)
    if scale == 0 or not math.isfinite(scale):
        if not math.isfinite(scale):
            raise SelectionError("roulette scores must be finite")
        return [1.0] * len(values)
    scaled = [v / scale for v in values]
    lo, hi = min(scaled), max(scaled)
    if hi == lo:
        return [1.0] * len(values)
    if lo > 0:
        weights = scaled
    else:
        floor = 0.05 * (hi - lo)
        weights = [v - lo + floor for v in scaled]
    top = max(weights)
    return [max(w / top, _TINY) for w in weights]


#: The smallest weight a roulette entry gets (underflow guard).
_TINY = 1e-300


F = TypeVar("F", bound=Callable[..., object])


class Registry(Generic[F]):
    """Named functions sharing one signature, checked when they are registered.

    ``params`` lists the required positional parameter names; a function registered here
    must accept exactly those (extra keyword-only parameters with defaults are allowed).
    """

    def __init__(
        self, kind: str, params: Sequence[str], error: type[EvolutionError] = SelectionError
    ) -> None:
        self._kind = kind
        self._params = tuple(params)
        self._error = error
        self._items: dict[str, F] = {}

    def register(self, name: str, fn: F) -> F:
        """Register ``fn`` under ``name``; raises the registry's error type (by default
        :class:`SelectionError`) on a bad signature or a name already taken."""
        if not name or not isinstance(name, str):
            raise self._error(f"{self._kind} name must be a non-empty str")
        if name in self._items:
            raise self._error(f"{self._kind} {name!r} is already registered")
        sig = inspect.signature(fn)
        positional = [
            p.name
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        others_ok = all(
            p.default is not p.empty for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY
        )
        if len(positional) != len(self._params) or not others_ok:
            raise self._error(
                f"{self._kind} {name!r} must take ({', '.join(self._params)}), got {sig}"
            )
        self._items[name] = fn
        return fn

    def get(self, name: str) -> F:
        """The function registered as ``name``; unknown names raise the registry's error
        type, listing the known names."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise self._error(f"unknown {self._kind} {name!r} (known: {known})") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
