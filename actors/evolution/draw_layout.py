"""The geometry of a network picture, computed without drawing anything.

:func:`layout_agent` turns a genotype into a :class:`Layout`: one box per sensor, neuron and
actuator, and one routed polyline with an arrowhead per link (every link of
:func:`~actors.genotype.export.connections`, self-loops included). The matplotlib renderer
(:mod:`actors.evolution.draw`) draws exactly this model, and the tests check it.

Coordinates are inches, ``y`` upwards. The layout is layered (Sugiyama style):

* one column per layer -- sensors, each neuron layer in ascending order, actuators -- and
  every box of a column has the column's width, so the space between two columns (a
  *strip*) holds no box;
* a link that skips columns, or goes backwards (recurrent: to the same or an earlier
  layer, self-loops included), gets a *waypoint* in every column it passes: a slot of the
  column's stack, between boxes, where it crosses the column horizontally. Boxes and
  waypoints are ordered in each neuron column by the barycentre of their neighbours, to
  reduce crossings;
* a link leaves its source through a port on the right edge and enters its target through
  a port on the left edge, each link its own port. Inside a strip it runs straight from
  one side to the other; where it must turn back (a recurrent link leaving its source, or
  reaching its target) it takes a vertical *track* of its own in the strip.

So no segment crosses a box other than at the two ports of its own link, and no two links
share a segment. The last segment is horizontal and ends at the target's edge, where the
arrowhead (a triangle pointing at the edge) sits outside the box.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from actors.genotype import Agent
from actors.genotype.export import (
    ACTUATOR_LINK_COLOR,
    ACTUATOR_LINK_WIDTH,
    MAX_WIDTH,
    MIN_WIDTH,
    MIXED_COLOR,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    Connection,
    connections,
    link_style,
    neuron_lines,
    weight_scale,
)

__all__ = [
    "FONT_SIZE",
    "Box",
    "Layout",
    "LegendEntry",
    "Link",
    "Point",
    "Text",
    "layout_agent",
]

Point = tuple[float, float]

#: Font size (points) of box labels; boxes are sized for a monospace font of this size.
FONT_SIZE = 8.0
_CHAR_W = 0.61 * FONT_SIZE / 72  # DejaVu Sans Mono advance width (0.602 em), inches
_LINE_H = 1.25 * FONT_SIZE / 72  # matplotlib's line spacing 1.2 of a ~1.04 em line
_PAD = 0.07  # inside a box, around its label
_PORT_PITCH = 0.1  # between two ports on one box edge
_GAP_BOX = 0.28  # between two boxes of a column
_GAP_WAY = 0.1  # between a waypoint and its neighbour in a column
_STUB_OUT = 0.08  # horizontal run out of a port or waypoint before a strip's diagonal
_ARROW_LEN = 0.1  # arrowhead length and half width
_ARROW_HALF = 0.04
_STUB_IN = _ARROW_LEN + 0.06  # horizontal run into a port (holds the arrowhead)
_TRACK = 0.07  # between two vertical tracks in a strip
_MID = 0.75  # the part of a strip where links run diagonally
_MARGIN = 0.3
_HEADER = 0.45  # column names and title above the columns
_ORDER_SWEEPS = 8


@dataclass(frozen=True, slots=True)
class Box:
    """A node's rectangle ``[x0, x1] x [y0, y1]`` and its label lines; ``kind`` is
    ``"sensor"``, ``"neuron"`` or ``"actuator"``."""

    id: str
    kind: str
    column: int
    x0: float
    y0: float
    x1: float
    y1: float
    lines: tuple[str, ...]

    @property
    def center(self) -> Point:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)


@dataclass(frozen=True, slots=True)
class Link:
    """A drawn link: the :class:`~actors.genotype.export.Connection` it shows, its
    polyline ``points`` (the source port first, the middle of the arrowhead's base last),
    its arrowhead ``arrow`` (tip on the target's left edge, then the two base corners) and
    its style (colour, width in points, dashed = recurrent, hollow head = modulatory)."""

    connection: Connection
    points: tuple[Point, ...]
    arrow: tuple[Point, Point, Point]
    color: str
    width: float
    dashed: bool
    hollow_head: bool

    @property
    def route(self) -> tuple[Point, ...]:
        """The whole path, source port to arrow tip."""
        return (*self.points, self.arrow[0])


@dataclass(frozen=True, slots=True)
class Text:
    """A text at ``(x, y)``; ``role`` is ``"title"``, ``"column"``, ``"label"`` (inside a
    box), ``"index"`` (an actuator element, inside the box) or ``"tag"`` (the weight count
    of a vector link, beside its source port)."""

    x: float
    y: float
    text: str
    size: float
    ha: str
    va: str
    role: str


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """A legend line: a sample link of this style, or a note when ``color`` is None."""

    label: str
    color: str | None = None
    width: float = 1.0
    dashed: bool = False
    hollow_head: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """A picture of a network within ``[0, width] x [0, height]`` (inches)."""

    width: float
    height: float
    boxes: tuple[Box, ...]
    links: tuple[Link, ...]
    texts: tuple[Text, ...]
    legend: tuple[LegendEntry, ...]

    def box(self, node_id: str) -> Box:
        return next(b for b in self.boxes if b.id == node_id)


# -- the layout ------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    """A box or a waypoint in a column's stack (mutable while the layout is computed)."""

    key: str  # a node id, or "#<link>:<column>" for a waypoint
    link: int | None  # the link of a waypoint
    height: float = 0.0
    top: float = 0.0  # top edge (the y of a waypoint)


def _labels(agent: Agent) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for s in agent.sensors:
        out[s.id] = (s.name, f"[{s.vl}]")
    for n in agent.neurons:
        out[n.id] = neuron_lines(n)
    for a in agent.actuators:
        out[a.id] = (a.name, f"[{a.vl}]")
    return out


def _chains(links: Sequence[Connection], column: dict[str, int]) -> list[list[int]]:
    """The columns each link has a waypoint in, in travel order."""
    out = []
    for c in links:
        cs, ct = column[c.source], column[c.target]
        if cs < ct:
            out.append(list(range(cs + 1, ct)))
        else:  # backwards: leave to the right, cross every column from cs down to ct
            out.append(list(range(cs, ct - 1, -1)))
    return out


def _order(stacks: list[list[_Item]], neighbours: dict[str, list[str]], fixed: set[int]) -> None:
    """Barycentre ordering of the columns not in ``fixed`` (deterministic)."""

    def positions() -> dict[str, float]:
        return {it.key: (i + 0.5) / len(st) for st in stacks for i, it in enumerate(st)}

    columns = [c for c in range(len(stacks)) if c not in fixed]
    for sweep in range(_ORDER_SWEEPS):
        for c in columns if sweep % 2 == 0 else reversed(columns):
            pos = positions()

            def bary(i: int, it: _Item, pos: dict[str, float] = pos) -> tuple[float, int, int]:
                near = [pos[k] for k in neighbours.get(it.key, ())]
                b = sum(near) / len(near) if near else pos[it.key]
                return (b, it.link is not None, i)

            stacks[c] = [it for _, it in sorted(enumerate(stacks[c]), key=lambda p: bary(*p))]


def _place_vertically(stacks: list[list[_Item]]) -> float:
    """Set every item's ``top``; columns are centred on a common midline. Returns the
    height of the tallest column."""
    heights = []
    for st in stacks:
        y = 0.0
        prev: _Item | None = None
        for it in st:
            if prev is not None:
                both_boxes = prev.link is None and it.link is None
                y -= _GAP_BOX if both_boxes else _GAP_WAY
            it.top = y
            y -= it.height
            prev = it
        heights.append(-y)
    tallest = max(heights)
    for st, h in zip(stacks, heights, strict=True):
        shift = (tallest - h) / 2
        for it in st:
            it.top -= shift
    return tallest


class _Plan:
    """The layout under construction: columns, stacks, ports, tracks, then routes."""

    def __init__(self, agent: Agent) -> None:
        self.links = connections(agent)
        self.labels = _labels(agent)
        layers = sorted({n.layer for n in agent.neurons})
        self.column: dict[str, int] = {s.id: 0 for s in agent.sensors}
        self.column.update({n.id: 1 + layers.index(n.layer) for n in agent.neurons})
        self.column.update({a.id: len(layers) + 1 for a in agent.actuators})
        self.n_cols = len(layers) + 2
        self.kind = {s.id: "sensor" for s in agent.sensors}
        self.kind.update({n.id: "neuron" for n in agent.neurons})
        self.kind.update({a.id: "actuator" for a in agent.actuators})
        self.chains = _chains(self.links, self.column)
        self.stacks = self._stacks(agent)
        self.tallest = _place_vertically(self.stacks)
        self.items = {it.key: it for st in self.stacks for it in st}
        self.out_port, self.in_port = self._ports()
        self.left_tracks, self.right_tracks, self.track_rank = self._tracks()
        self.x0s, self.x1s, self.width = self._columns_x()
        self.shift = _MARGIN + self.tallest  # stack tops are <= 0: lift them above the margin
        self.height = self.shift + _HEADER + _MARGIN

    def _stacks(self, agent: Agent) -> list[list[_Item]]:
        """Boxes (tall enough for their label and ports) and waypoints per column, in
        barycentre order."""
        n_out = dict.fromkeys(self.column, 0)
        n_in = dict.fromkeys(self.column, 0)
        for c in self.links:
            n_out[c.source] += 1
            n_in[c.target] += 1
        stacks: list[list[_Item]] = [[] for _ in range(self.n_cols)]
        for node_id in (*(s.id for s in agent.sensors), *(n.id for n in agent.neurons),
                        *(a.id for a in agent.actuators)):  # fmt: skip
            text_h = len(self.labels[node_id]) * _LINE_H + 2 * _PAD
            ports_h = (max(n_in[node_id], n_out[node_id]) + 1) * _PORT_PITCH
            stacks[self.column[node_id]].append(_Item(node_id, None, max(text_h, ports_h)))
        neighbours: dict[str, list[str]] = {}
        for li, (c, cols) in enumerate(zip(self.links, self.chains, strict=True)):
            for col in cols:
                stacks[col].append(_Item(f"#{li}:{col}", li))
            keys = [c.source, *(f"#{li}:{col}" for col in cols), c.target]
            for a, b in itertools.pairwise(keys):
                neighbours.setdefault(a, []).append(b)
                neighbours.setdefault(b, []).append(a)
        _order(stacks, neighbours, fixed={0, self.n_cols - 1})
        return stacks

    def _mid_y(self, key: str) -> float:
        it = self.items[key]
        return it.top - it.height / 2

    def _ports(self) -> tuple[dict[int, float], dict[int, float]]:
        """The y of each link's port on its source's right edge and its target's left
        edge: spread evenly, ordered by where the link goes next (or comes from), so that
        links do not cross at the box; an actuator's in order of its vector elements."""
        outgoing: dict[str, list[tuple[float, int]]] = {}
        incoming: dict[str, list[tuple[float, int]]] = {}
        for li, (c, cols) in enumerate(zip(self.links, self.chains, strict=True)):
            nxt = f"#{li}:{cols[0]}" if cols else c.target
            prv = f"#{li}:{cols[-1]}" if cols else c.source
            outgoing.setdefault(c.source, []).append((self._mid_y(nxt), li))
            rank = -float(c.index) if c.index is not None else self._mid_y(prv)
            incoming.setdefault(c.target, []).append((rank, li))
        tables: tuple[dict[int, float], dict[int, float]] = ({}, {})
        for ports, table in zip((outgoing, incoming), tables, strict=True):
            for node, entries in ports.items():
                it = self.items[node]
                entries.sort(key=lambda e: (-e[0], e[1]))
                for k, (_, li) in enumerate(entries):
                    table[li] = it.top - (k + 1) * it.height / (len(entries) + 1)
        return tables

    def _tracks(
        self,
    ) -> tuple[dict[int, int], dict[int, int], dict[tuple[str, int], int]]:
        """Vertical tracks for the links that turn back inside a strip: on the left side
        of the strip right of a recurrent link's source, on the right side of the strip
        left of its target; shorter turns nearer the column. Returns the track counts per
        strip (left side, right side) and each link's rank on its side."""
        left: dict[int, list[tuple[float, int]]] = {}
        right: dict[int, list[tuple[float, int]]] = {}
        for li, (c, cols) in enumerate(zip(self.links, self.chains, strict=True)):
            cs, ct = self.column[c.source], self.column[c.target]
            if cs >= ct:
                first, last = self.items[f"#{li}:{cols[0]}"], self.items[f"#{li}:{cols[-1]}"]
                left.setdefault(cs, []).append((abs(self.out_port[li] - first.top), li))
                right.setdefault(ct - 1, []).append((abs(self.in_port[li] - last.top), li))
        rank: dict[tuple[str, int], int] = {}
        for side, tracks in (("L", left), ("R", right)):
            for entries in tracks.values():
                for k, (_, li) in enumerate(sorted(entries)):
                    rank[(side, li)] = k
        counts_l = {strip: len(v) for strip, v in left.items()}
        counts_r = {strip: len(v) for strip, v in right.items()}
        return counts_l, counts_r, rank

    def _columns_x(self) -> tuple[list[float], list[float], float]:
        """Left and right edges of every column, and the total width: a column is as wide
        as its widest label, a strip as wide as its diagonal part plus its tracks."""
        x0s, x1s = [], []
        x = _MARGIN
        for col, st in enumerate(self.stacks):
            boxes = [it.key for it in st if it.link is None]
            widest = max(len(t) for b in boxes for t in self.labels[b])
            extra = 3 if self.kind[boxes[0]] == "actuator" else 0  # the element indices
            x0s.append(x)
            x1s.append(x + (widest + extra) * _CHAR_W + 2 * _PAD)
            tracks = self.left_tracks.get(col, 0) + self.right_tracks.get(col, 0)
            x = x1s[-1] + _STUB_OUT + _MID + _STUB_IN + _TRACK * tracks
        return x0s, x1s, x1s[-1] + _MARGIN

    def y_of(self, key: str) -> float:
        """The y of a waypoint."""
        return self.items[key].top + self.shift

    def box(self, it: _Item) -> Box:
        col = self.column[it.key]
        return Box(it.key, self.kind[it.key], col, self.x0s[col], it.top - it.height + self.shift,
                   self.x1s[col], it.top + self.shift, self.labels[it.key])  # fmt: skip

    def route(self, li: int) -> tuple[list[Point], float]:
        """Link ``li``'s polyline up to the arrow tip (excluded), and the tip's y."""
        c, cols = self.links[li], self.chains[li]
        x0s, x1s = self.x0s, self.x1s
        cs, ct = self.column[c.source], self.column[c.target]
        pts: list[Point] = [(x1s[cs], self.out_port[li] + self.shift)]
        ty = self.in_port[li] + self.shift
        if cs < ct:  # forward: through the waypoints left to right
            for col in cols:
                wy = self.y_of(f"#{li}:{col}")
                pts += [(x1s[col - 1] + _STUB_OUT, pts[-1][1]), (x0s[col] - _STUB_IN, wy),
                        (x0s[col], wy), (x1s[col], wy)]  # fmt: skip
            pts += [(x1s[ct - 1] + _STUB_OUT, pts[-1][1]), (x0s[ct] - _STUB_IN, ty)]
            return pts, ty
        # backward: turn on a track right of the source, cross columns cs..ct leftwards,
        # turn again on a track left of the target
        track = x1s[cs] + _STUB_OUT + _TRACK * (1 + self.track_rank[("L", li)])
        wy = self.y_of(f"#{li}:{cols[0]}")
        pts += [(track, pts[-1][1]), (track, wy), (x1s[cs], wy), (x0s[cs], wy)]
        for col in cols[1:]:
            wy = self.y_of(f"#{li}:{col}")
            pts += [(x0s[col + 1] - _STUB_IN, pts[-1][1]), (x1s[col] + _STUB_OUT, wy),
                    (x1s[col], wy), (x0s[col], wy)]  # fmt: skip
        track = x0s[ct] - _STUB_IN - _TRACK * (1 + self.track_rank[("R", li)])
        pts += [(track, pts[-1][1]), (track, ty)]
        return pts, ty


def layout_agent(agent: Agent) -> Layout:
    """The :class:`Layout` of ``agent`` (see the module docstring)."""
    plan = _Plan(agent)
    scale = weight_scale(plan.links)
    boxes = [plan.box(it) for st in plan.stacks for it in st if it.link is None]
    drawn = []
    for li, c in enumerate(plan.links):
        pts, ty = plan.route(li)
        tip = (plan.x0s[plan.column[c.target]], ty)
        base_x = tip[0] - _ARROW_LEN
        pts.append((base_x, ty))
        arrow = (tip, (base_x, ty + _ARROW_HALF), (base_x, ty - _ARROW_HALF))
        style = link_style(c, scale)
        drawn.append(Link(c, _simplify(pts), arrow, style.color, style.width, style.dashed,
                          style.hollow_head))  # fmt: skip
    texts = _texts(agent, boxes, drawn, plan.x0s, plan.x1s, plan.height)
    title = next(t for t in texts if t.role == "title")
    width = max(plan.width, 2 * _MARGIN + len(title.text) * 0.61 * title.size / 72)
    return Layout(width, plan.height, tuple(boxes), tuple(drawn), texts, _legend(scale))


def _simplify(points: list[Point]) -> tuple[Point, ...]:
    """Drop repeated points and the middle one of three collinear points."""
    out: list[Point] = []
    for p in points:
        if out and p == out[-1]:
            continue
        if len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) == 0.0 and (
                (bx - ax) * (p[0] - bx) + (by - ay) * (p[1] - by) > 0.0
            ):
                out[-1] = p
                continue
        out.append(p)
    return tuple(out)


def _texts(
    agent: Agent,
    boxes: Sequence[Box],
    links: Sequence[Link],
    x0s: Sequence[float],
    x1s: Sequence[float],
    height: float,
) -> tuple[Text, ...]:
    out = []
    for b in boxes:
        cx, cy = b.center
        if b.kind == "actuator":  # leave the left part for the element indices
            cx = (b.x0 + 3 * _CHAR_W + b.x1) / 2
        out.append(Text(cx, cy, "\n".join(b.lines), FONT_SIZE, "center", "center", "label"))
    for link in links:
        c = link.connection
        tip = link.arrow[0]
        if c.kind == "actuator":
            out.append(Text(tip[0] + _PAD / 2, tip[1], f"{c.index}", FONT_SIZE - 2, "left",
                            "center", "index"))  # fmt: skip
        elif len(c.weights) > 1:
            sx, sy = link.points[0]
            out.append(Text(sx + 0.02, sy + 0.01, f"{len(c.weights)} w", FONT_SIZE - 2,
                            "left", "bottom", "tag"))  # fmt: skip
    layers = sorted({n.layer for n in agent.neurons})
    names = ["sensors", *(f"layer {v:g}" for v in layers), "actuators"]
    top = height - _MARGIN - _HEADER
    for name, x0, x1 in zip(names, x0s, x1s, strict=True):
        out.append(Text((x0 + x1) / 2, top + 0.08, name, FONT_SIZE - 1, "center", "bottom",
                        "column"))  # fmt: skip
    neurons, n_links = agent.size()
    recurrent = sum(1 for link in links if link.connection.recurrent)
    title = f"{agent.id}: {neurons} neurons, {n_links} links ({recurrent} recurrent)"
    out.append(Text(_MARGIN, height - _MARGIN, title, FONT_SIZE + 1, "left", "top", "title"))
    return tuple(out)


def _legend(scale: float) -> tuple[LegendEntry, ...]:
    half = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) / 2
    return (
        LegendEntry("weight >= 0", POSITIVE_COLOR, half),
        LegendEntry("weight < 0", NEGATIVE_COLOR, half),
        LegendEntry("vector link, weights of both signs", MIXED_COLOR, half),
        LegendEntry(f"largest |weight| ({scale:.3g})", POSITIVE_COLOR, MAX_WIDTH),
        LegendEntry(f"|weight| {scale / 2:.3g}", POSITIVE_COLOR, half),
        LegendEntry("|weight| 0", POSITIVE_COLOR, MIN_WIDTH),
        LegendEntry("recurrent: reads the previous step", POSITIVE_COLOR, 1.0, dashed=True),
        LegendEntry("modulatory input", POSITIVE_COLOR, 1.0, hollow_head=True),
        LegendEntry(
            "neuron → actuator element (index in the box)", ACTUATOR_LINK_COLOR, ACTUATOR_LINK_WIDTH
        ),
        LegendEntry("k w: one link carrying a sensor's k weights (width: largest |w|)"),
        LegendEntry("b: bias weight"),
    )
