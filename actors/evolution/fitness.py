"""Fitness postprocessors: turn a generation's raw fitness into selection scores.

DXNN2's ``fitness_postprocessor`` module re-sorts a specie's agent summaries before
selection: ``none`` sorts by fitness, ``size_proportional`` by ``fitness / tot_n ** 0.05``;
its ``novelty_proportional`` is an empty placeholder (``void``). Here every postprocessor
returns :class:`~actors.evolution.candidate.Scored` records sorted best first, and selection
ranks **and** weighs by that score (with ``none`` the score is the main fitness, so nothing
changes from DXNN).

``novelty_proportional`` is a real implementation of behavioural novelty (Lehman & Stanley,
"Abandoning objectives", 2011): a candidate's novelty is the mean Euclidean distance from its
behaviour vector to its ``k`` nearest neighbours among the archive and the rest of the
current population; behaviours more novel than the archive threshold join the archive.
The score multiplies the main fitness by ``(1 - w) + w * novelty / mean_novelty`` (dividing
instead when the fitness is negative, so that more novel is always better), with ``w`` the
novelty weight. Defaults (see :class:`NoveltyParams`): ``k = 15`` (the paper's value),
threshold 1.0 adapted as in the paper (x1.2 when more than 4 behaviours join in one
generation, x0.95 when none does), archive cap 1,000 behaviours (oldest dropped first),
``w = 0.5``. Behaviour vectors are supplied by the caller (the morphology knows what an
agent "did").

Postprocessors are registered on :data:`POSTPROCESSORS` with the signature
``(candidates, context) -> PostprocessOutcome``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from actors.evolution.candidate import Candidate, Registry, Scored
from actors.evolution.errors import SelectionError

__all__ = [
    "POSTPROCESSORS",
    "SIZE_EFFICIENCY",
    "NoveltyArchive",
    "NoveltyParams",
    "PostprocessContext",
    "PostprocessOutcome",
    "novelty_scores",
    "postprocess",
    "update_archive",
]

#: DXNN2 ``fitness_postprocessor:size_proportional``'s exponent (``?EFF``).
SIZE_EFFICIENCY = 0.05

Behaviour = tuple[float, ...]
#: Novelty distances are computed a block of rows at a time, about this many floats each.
_BLOCK_ELEMENTS = 2_000_000


@dataclass(frozen=True, slots=True)
class NoveltyParams:
    """Knobs of novelty search.

    Attributes:
        k: neighbours averaged for a behaviour's novelty (Lehman & Stanley use 15).
        threshold: initial archive-entry threshold (a distance in behaviour space).
        archive_limit: the archive holds at most this many behaviours; oldest leave first.
        weight: ``w`` in ``score = F * ((1 - w) + w * novelty / mean_novelty)``; 0 turns
            novelty off, 1 makes the score proportional to novelty.
        adaptive: adapt the threshold (x1.2 when > 4 entries join in one update, x0.95 when
            none does), as in Lehman & Stanley's maze experiments.
    """

    k: int = 15
    threshold: float = 1.0
    archive_limit: int = 1000
    weight: float = 0.5
    adaptive: bool = True

    def __post_init__(self) -> None:
        if self.k < 1:
            raise SelectionError("novelty k must be >= 1")
        if not (self.threshold > 0 and math.isfinite(self.threshold)):
            raise SelectionError("novelty threshold must be a finite number > 0")
        if self.archive_limit < 0:
            raise SelectionError("novelty archive_limit must be >= 0")
        if not 0.0 <= self.weight <= 1.0:
            raise SelectionError("novelty weight must be in [0, 1]")


@dataclass(frozen=True, slots=True)
class NoveltyArchive:
    """An immutable archive of past novel behaviours and its current entry threshold."""

    behaviours: tuple[Behaviour, ...] = ()
    threshold: float = 1.0

    def __len__(self) -> int:
        return len(self.behaviours)


@dataclass(frozen=True, slots=True)
class PostprocessContext:
    """What a postprocessor may use besides the candidates.

    ``behaviours`` (agent id -> behaviour vector) and ``archive`` are needed only by
    ``novelty_proportional``; a missing archive means an empty one with the params'
    threshold.
    """

    behaviours: Mapping[str, Sequence[float]] | None = None
    archive: NoveltyArchive | None = None
    novelty: NoveltyParams = field(default_factory=NoveltyParams)


@dataclass(frozen=True, slots=True)
class PostprocessOutcome:
    """Scored candidates, best first, and (for novelty) the updated archive and novelties."""

    scored: tuple[Scored, ...]
    archive: NoveltyArchive | None = None
    novelty: Mapping[str, float] = field(default_factory=dict)


Postprocessor = Callable[[Sequence[Candidate], PostprocessContext], PostprocessOutcome]

#: Registry of fitness postprocessors by name.
POSTPROCESSORS: Registry[Postprocessor] = Registry(
    "fitness postprocessor", ("candidates", "context")
)


def _sorted(pairs: Sequence[tuple[Candidate, float]]) -> tuple[Scored, ...]:
    """Best score first; ties: smaller network first, then input order (stable sort)."""
    order = sorted(range(len(pairs)), key=lambda i: (-pairs[i][1], pairs[i][0].size, i))
    return tuple(Scored(pairs[i][0], pairs[i][1]) for i in order)


def _check(candidates: Sequence[Candidate]) -> None:
    if not candidates:
        raise SelectionError("no candidates to postprocess")
    ids = [c.agent_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise SelectionError("duplicate agent ids among candidates")


def none(candidates: Sequence[Candidate], context: PostprocessContext) -> PostprocessOutcome:
    """DXNN's ``none``: the score is the main fitness."""
    _check(candidates)
    return PostprocessOutcome(_sorted([(c, c.main_fitness) for c in candidates]))


def size_proportional(
    candidates: Sequence[Candidate], context: PostprocessContext
) -> PostprocessOutcome:
    """DXNN2's ``size_proportional``: ``F / tot_n ** 0.05``, a slight bias to small networks.

    For a negative fitness the factor multiplies instead of dividing, so that a larger
    network never looks better (DXNN2 assumes positive fitness).
    """
    _check(candidates)
    pairs = []
    for c in candidates:
        factor = c.size**SIZE_EFFICIENCY
        f = c.main_fitness
        pairs.append((c, f / factor if f >= 0 else f * factor))
    return PostprocessOutcome(_sorted(pairs))


def novelty_scores(
    behaviours: Sequence[Sequence[float]], archive: Sequence[Sequence[float]], k: int
) -> list[float]:
    """Novelty of each behaviour: mean distance to its ``k`` nearest neighbours among the
    archive and the *other* population members (a behaviour is not its own neighbour, but a
    duplicate of it is, at distance 0). Fewer than ``k`` neighbours: the mean over those
    there are; none at all: 0.0."""
    if not behaviours:
        return []
    pop = _as_matrix(behaviours)
    dim = pop.shape[1]
    arch = _as_matrix(archive) if len(archive) else np.zeros((0, dim))
    if arch.shape[1] != dim:
        raise SelectionError(
            f"archive behaviours have {arch.shape[1]} dimensions, population {dim}"
        )
    everyone = np.vstack([pop, arch])
    n = pop.shape[0]
    out: list[float] = []
    # exact distances, a block of rows at a time (memory ~ block * len(everyone) * dim)
    block = max(1, _BLOCK_ELEMENTS // max(1, everyone.shape[0] * dim))
    for start in range(0, n, block):
        rows = pop[start : start + block]
        diff = rows[:, None, :] - everyone[None, :, :]
        dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        idx = np.arange(rows.shape[0])
        dist[idx, start + idx] = np.inf  # not its own neighbour
        for row in dist:
            finite = row[np.isfinite(row)]
            if finite.size == 0:
                out.append(0.0)
                continue
            kk = min(k, finite.size)
            out.append(float(np.partition(finite, kk - 1)[:kk].mean()))
    return out


def _as_matrix(rows: Sequence[Sequence[float]]) -> np.ndarray:
    try:
        mat = np.asarray([tuple(float(v) for v in r) for r in rows], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SelectionError(f"behaviour vectors must be numeric: {exc}") from exc
    if mat.ndim != 2 or mat.shape[1] == 0:
        raise SelectionError("behaviour vectors must be non-empty and of one dimension")
    if not np.all(np.isfinite(mat)):
        raise SelectionError("behaviour vectors must be finite")
    return mat


def update_archive(
    archive: NoveltyArchive,
    behaviours: Sequence[Sequence[float]],
    novelties: Sequence[float],
    params: NoveltyParams,
) -> NoveltyArchive:
    """Add every behaviour whose novelty exceeds the archive's threshold (in order), keep
    the newest ``params.archive_limit`` entries, and adapt the threshold if asked."""
    added = [
        tuple(float(v) for v in b)
        for b, nov in zip(behaviours, novelties, strict=True)
        if nov > archive.threshold
    ]
    kept = archive.behaviours + tuple(added)
    if len(kept) > params.archive_limit:
        kept = kept[len(kept) - params.archive_limit :]
    threshold = archive.threshold
    if params.adaptive:
        if len(added) > 4:
            threshold *= 1.2
        elif not added:
            threshold *= 0.95
    return NoveltyArchive(kept, threshold)


def novelty_proportional(
    candidates: Sequence[Candidate], context: PostprocessContext
) -> PostprocessOutcome:
    """Scale each main fitness by the candidate's relative behavioural novelty.

    Raises :class:`SelectionError` when a candidate has no behaviour vector or the vectors
    differ in dimension.
    """
    _check(candidates)
    if context.behaviours is None:
        raise SelectionError("novelty_proportional needs behaviour vectors")
    missing = [c.agent_id for c in candidates if c.agent_id not in context.behaviours]
    if missing:
        raise SelectionError(f"no behaviour vector for: {', '.join(missing[:5])}")
    params = context.novelty
    archive = context.archive or NoveltyArchive((), params.threshold)
    behaviours = [tuple(context.behaviours[c.agent_id]) for c in candidates]
    novelties = novelty_scores(behaviours, archive.behaviours, params.k)
    mean = sum(novelties) / len(novelties)
    pairs = []
    for c, nov in zip(candidates, novelties, strict=True):
        rel = nov / mean if mean > 0 else 1.0
        factor = max((1.0 - params.weight) + params.weight * rel, 1e-6)
        f = c.main_fitness
        pairs.append((c, f * factor if f >= 0 else max(f / factor, -sys.float_info.max)))
    new_archive = update_archive(archive, behaviours, novelties, params)
    return PostprocessOutcome(
        _sorted(pairs),
        archive=new_archive,
        novelty={c.agent_id: n for c, n in zip(candidates, novelties, strict=True)},
    )


POSTPROCESSORS.register("none", none)
POSTPROCESSORS.register("size_proportional", size_proportional)
POSTPROCESSORS.register("novelty_proportional", novelty_proportional)


def postprocess(
    name: str, candidates: Sequence[Candidate], context: PostprocessContext | None = None
) -> PostprocessOutcome:
    """Run the postprocessor registered as ``name``."""
    return POSTPROCESSORS.get(name)(candidates, context or PostprocessContext())
