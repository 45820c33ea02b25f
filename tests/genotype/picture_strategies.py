"""Random genotypes for the picture tests, and the geometry checks they use.

:func:`grown_agents` starts from a random seed agent (several sensors and actuators with
``vl`` up to 4, see :func:`tests.genotype.strategies.morphologies`) and applies a random
list of topological operators plus three edits the mutation operators reach only by
chance: a self-loop, a link to an earlier layer and a sensor link that skips layers.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from actors.genotype import Agent, Constraint, MutationNotApplicable, apply_operator
from actors.genotype.construct import all_ids, construct_agent
from actors.genotype.edit import NetEdit
from actors.genotype.graph import validate_agent
from actors.genotype.ids import IdFactory
from tests.genotype.strategies import morphologies

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1

TOPOLOGY_OPS = (
    "add_neuron",
    "outsplice",
    "insplice",
    "add_outlink",
    "add_inlink",
    "add_sensorlink",
    "add_actuatorlink",
    "add_sensor",
    "add_actuator",
    "remove_link",
    "add_bias",
    "mutate_weights",
)


def _edit(agent: Agent, rng: random.Random, change: Callable[[NetEdit], None]) -> Agent:
    edit = NetEdit(agent, rng, IdFactory(rng, all_ids(agent)), agent.generation)
    change(edit)
    out = edit.freeze()
    validate_agent(out)
    return out


def self_loop(agent: Agent, rng: random.Random) -> Agent:
    if agent.constraint.connection_architecture == "feedforward":
        raise MutationNotApplicable("feedforward")
    free = [n.id for n in agent.neurons if n.id not in n.outputs]
    if not free:
        raise MutationNotApplicable("every neuron loops")
    nid = free[rng.randrange(len(free))]
    return _edit(agent, rng, lambda e: e.link(nid, nid))


def back_link(agent: Agent, rng: random.Random) -> Agent:
    if agent.constraint.connection_architecture == "feedforward":
        raise MutationNotApplicable("feedforward")
    pairs = [(a.id, b.id) for a in agent.neurons for b in agent.neurons
             if a.layer > b.layer and b.id not in a.outputs]  # fmt: skip
    if not pairs:
        raise MutationNotApplicable("no earlier layer")
    src, dst = pairs[rng.randrange(len(pairs))]
    return _edit(agent, rng, lambda e: e.link(src, dst))


def skip_link(agent: Agent, rng: random.Random) -> Agent:
    deepest = max(n.layer for n in agent.neurons)
    pairs = [(s.id, n.id) for s in agent.sensors for n in agent.neurons
             if n.layer == deepest and n.id not in s.fanout_ids]  # fmt: skip
    if not pairs or deepest == min(n.layer for n in agent.neurons):
        raise MutationNotApplicable("no layer to skip")
    src, dst = pairs[rng.randrange(len(pairs))]
    return _edit(agent, rng, lambda e: e.link(src, dst))


EDITS: dict[str, Callable[[Agent, random.Random], Agent]] = {
    "self_loop": self_loop,
    "back_link": back_link,
    "skip_link": skip_link,
}


@st.composite
def grown_agents(draw: st.DrawFn, max_ops: int = 24) -> Agent:
    arch = draw(st.sampled_from(["recurrent", "recurrent", "feedforward"]))
    constraint = Constraint(
        connection_architecture=arch,
        neural_afs=("tanh", "gaussian", "cos"),
        neural_pfns=("none", "neuromodulation"),
        neural_aggr_fs=("dot_product", "mult_product"),
    )
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    agent = construct_agent(draw(morphologies()), constraint, rng)
    ops = draw(st.lists(st.sampled_from([*TOPOLOGY_OPS, *EDITS, *EDITS]), max_size=max_ops))
    for op in ops:
        try:
            agent = EDITS[op](agent, rng) if op in EDITS else apply_operator(agent, op, rng)
        except MutationNotApplicable:
            continue
    return agent


# -- geometry -----------------------------------------------------------------------------


def segment_hits_rect(p: Point, q: Point, rect: Rect) -> bool:
    """Whether segment ``pq`` meets the closed rectangle (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = rect
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for d, lo, hi, v in ((dx, x0, x1, p[0]), (dy, y0, y1, p[1])):
        if d == 0.0:
            if v < lo or v > hi:
                return False
            continue
        a, b = (lo - v) / d, (hi - v) / d
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
        if t0 > t1:
            return False
    return True


def shrink(rect: Rect, by: float) -> Rect:
    x0, y0, x1, y1 = rect
    return (x0 + by, y0 + by, x1 - by, y1 - by)


def segments(points: Sequence[Point]) -> list[tuple[Point, Point]]:
    return list(itertools.pairwise(points))


def triangle_inside_rect(tri: Sequence[Point], rect: Rect) -> bool:
    """Whether any point of the (convex) triangle lies strictly inside ``rect``: a vertex
    inside, or an edge crossing it."""
    inner = shrink(rect, 1e-9)
    return any(segment_hits_rect(a, b, inner) for a, b in segments([*tri, tri[0]]))


def overlap_length(a: tuple[Point, Point], b: tuple[Point, Point]) -> float:
    """Length shared by two segments when collinear, else 0."""
    (p, q), (r, s) = a, b
    d = (q[0] - p[0], q[1] - p[1])
    length2 = d[0] ** 2 + d[1] ** 2
    if length2 == 0.0:
        return 0.0

    def cross(u: Point) -> float:
        return d[0] * (u[1] - p[1]) - d[1] * (u[0] - p[0])

    if abs(cross(r)) > 1e-9 * length2 or abs(cross(s)) > 1e-9 * length2:
        return 0.0

    def t(u: Point) -> float:
        return (d[0] * (u[0] - p[0]) + d[1] * (u[1] - p[1])) / length2

    lo, hi = max(0.0, min(t(r), t(s))), min(1.0, max(t(r), t(s)))
    return max(0.0, hi - lo) * length2**0.5
