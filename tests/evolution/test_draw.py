"""The network picture, tested from its geometry: the layout model over random genotypes
(every link drawn once, self-loops included; no segment through a box it does not
connect; arrowheads outside the boxes at the target's edge; no two links sharing a
segment; style by sign, size, recurrence and modulation), the matplotlib artists drawn
from it, and the picture files (format by suffix, Graphviz when ``dot`` works)."""

from __future__ import annotations

import os
import random
import shutil
import stat
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from actors.evolution.draw import RENDERERS, render_layout, write_picture
from actors.evolution.draw_layout import Layout, layout_agent
from actors.evolution.errors import ReporterError
from actors.genotype import Agent, agent_to_dot, mutate
from actors.genotype.export import (
    ACTUATOR_LINK_COLOR,
    MIXED_COLOR,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    connections,
    weight_scale,
    weight_width,
)
from tests.genotype.conftest import XOR, seed_agent
from tests.genotype.picture_strategies import (
    back_link,
    grown_agents,
    overlap_length,
    segment_hits_rect,
    segments,
    self_loop,
    shrink,
    skip_link,
    triangle_inside_rect,
)

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}
EPS = 1e-9


def is_format(data: bytes, fmt: str) -> bool:
    if fmt == "svg":
        return data.lstrip().startswith(b"<?xml") and b"<svg" in data[:2000]
    return data.startswith(MAGIC[fmt])


def rect(b: object) -> tuple[float, float, float, float]:
    return (b.x0, b.y0, b.x1, b.y1)  # type: ignore[attr-defined]


def check_layout(agent: Agent, lay: Layout) -> None:
    # every node once, boxes apart
    ids = [*(s.id for s in agent.sensors), *(n.id for n in agent.neurons),
           *(a.id for a in agent.actuators)]  # fmt: skip
    assert sorted(b.id for b in lay.boxes) == sorted(ids)
    for i, a in enumerate(lay.boxes):
        assert 0 < a.x0 < a.x1 < lay.width and 0 < a.y0 < a.y1 < lay.height
        for b in lay.boxes[i + 1 :]:
            assert a.x1 < b.x0 or b.x1 < a.x0 or a.y1 < b.y0 or b.y1 < a.y0, (a.id, b.id)
    # labels: what each element is
    for s in agent.sensors:
        assert lay.box(s.id).lines == (s.name, f"[{s.vl}]") and lay.box(s.id).kind == "sensor"
    for a in agent.actuators:
        assert lay.box(a.id).lines == (a.name, f"[{a.vl}]") and lay.box(a.id).kind == "actuator"
    for n in agent.neurons:
        lines = lay.box(n.id).lines
        assert lines[0] == n.af
        bias = [x for x in lines if x.startswith("b ")]
        assert bias == ([] if n.bias is None else [f"b {n.bias.w:+.3g}"])
        assert (n.pf in lines) == (n.pf != "none")
        assert (n.aggr in lines) == (n.aggr != "dot_product")
    # every link once, nothing else
    expected = Counter(connections(agent))
    assert Counter(link.connection for link in lay.links) == expected
    assert len(lay.links) == agent.size()[1]
    layer = {n.id: n.layer for n in agent.neurons}
    scale = weight_scale(connections(agent))
    boxes = {b.id: b for b in lay.boxes}
    for link in lay.links:
        c = link.connection
        src, dst = boxes[c.source], boxes[c.target]
        route = link.route
        # leaves through the source's right edge, ends on the target's left edge
        (sx, sy), (tx, ty) = route[0], route[-1]
        assert sx == src.x1 and src.y0 < sy < src.y1
        assert tx == dst.x0 and dst.y0 < ty < dst.y1
        # touches a box only at its own two ports
        segs = segments(route)
        for k, (p, q) in enumerate(segs):
            assert p != q
            for b in lay.boxes:
                own = (k == 0 and b.id == c.source) or (k == len(segs) - 1 and b.id == c.target)
                if own:
                    assert not segment_hits_rect(p, q, shrink(rect(b), EPS)), (c, b.id)
                else:
                    assert not segment_hits_rect(p, q, shrink(rect(b), -0.02)), (c, b.id)
        # the arrowhead: tip on the target's edge, the triangle outside every box, pointing
        # at the target along the last segment
        tip, c1, c2 = link.arrow
        assert tip == (tx, ty)
        assert route[-2] == pytest.approx(((c1[0] + c2[0]) / 2, (c1[1] + c2[1]) / 2))
        assert c1[0] == c2[0] < tip[0] and c1[1] > ty > c2[1]
        for b in lay.boxes:
            assert not triangle_inside_rect(link.arrow, rect(b)), (c, b.id)
        # style: sign, size, recurrence, modulation
        assert c.recurrent == (c.target in layer and c.source in layer
                               and layer[c.source] >= layer[c.target])  # fmt: skip
        assert link.dashed == c.recurrent
        assert link.hollow_head == (c.kind == "modulatory")
        if c.kind == "actuator":
            assert c.weights == () and c.index is not None
            assert link.color == ACTUATOR_LINK_COLOR
            assert agent_actuator(agent, c.target).fanin_ids[c.index] == c.source
        else:
            if all(w >= 0 for w in c.weights):
                assert link.color == POSITIVE_COLOR
            elif all(w < 0 for w in c.weights):
                assert link.color == NEGATIVE_COLOR
            else:
                assert link.color == MIXED_COLOR and len(c.weights) > 1
            assert link.width == weight_width(max(abs(w) for w in c.weights), scale)
            vl = next((s.vl for s in agent.sensors if s.id == c.source), 1)
            assert len(c.weights) == vl
    # a vector link says how many weights it carries, next to its source port
    tags = {(t.x, t.y, t.text) for t in lay.texts if t.role == "tag"}
    for link in lay.links:
        n = len(link.connection.weights)
        if n > 1:
            x, y = link.points[0]
            assert any(abs(tx - x) < 0.1 and abs(ty - y) < 0.05 and text == f"{n} w"
                       for tx, ty, text in tags)  # fmt: skip
    assert len(tags) == sum(1 for link in lay.links if len(link.connection.weights) > 1)
    # no two links share a piece of line
    pieces = [(i, s) for i, link in enumerate(lay.links) for s in segments(link.route)]
    for a in range(len(pieces)):
        for b in range(a + 1, len(pieces)):
            (i, s), (j, t) = pieces[a], pieces[b]
            if i != j:
                assert overlap_length(s, t) < 1e-6, (lay.links[i].connection, lay.links[j])


def agent_actuator(agent: Agent, aid: str):  # type: ignore[no-untyped-def]
    return next(a for a in agent.actuators if a.id == aid)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grown_agents())
def test_layout_draws_every_link_truly(agent: Agent) -> None:
    check_layout(agent, layout_agent(agent))


def looped(seed: int = 5) -> Agent:
    """A recurrent agent of three or more layers with a self-loop, a link to an earlier
    layer and a sensor link that skips layers."""
    rng = random.Random(seed)
    agent = seed_agent(seed, neural_pfns=("none", "neuromodulation"))
    while len({n.layer for n in agent.neurons}) < 3:
        agent = mutate(agent, rng)
    for edit in (self_loop, back_link, skip_link):
        agent = edit(agent, rng)
    return agent


def test_a_self_loop_and_a_skip_link_go_around_the_boxes() -> None:
    agent = looped()
    lay = layout_agent(agent)
    check_layout(agent, lay)
    loops = [link for link in lay.links if link.connection.source == link.connection.target]
    assert loops
    for link in loops:
        box = lay.box(link.connection.source)
        xs = [x for x, _ in link.route]
        ys = [y for _, y in link.route]
        # out to the right, round above or below, back in from the left
        assert max(xs) > box.x1 and min(xs) < box.x0
        assert min(ys) < box.y0 or max(ys) > box.y1
    columns = {b.id: b.column for b in lay.boxes}
    skips = [link for link in lay.links
             if columns[link.connection.target] - columns[link.connection.source] > 1]  # fmt: skip
    assert skips
    for link in skips:  # crosses every column between at a height free of boxes
        c0, c1 = columns[link.connection.source], columns[link.connection.target]
        for col in range(c0 + 1, c1):
            inside = [b for b in lay.boxes if b.column == col]
            x0 = inside[0].x0
            crossing = [(p, q) for p, q in segments(link.route) if p[0] <= x0 <= q[0]]
            assert len(crossing) == 1
            (p, q) = crossing[0]
            y = p[1] if p[0] == q[0] else p[1] + (q[1] - p[1]) * (x0 - p[0]) / (q[0] - p[0])
            assert all(not b.y0 <= y <= b.y1 for b in inside)


def test_a_grown_network_of_many_layers() -> None:
    rng = random.Random(2)
    agent = seed_agent(7)
    for _ in range(30):
        agent = mutate(agent, rng)
    assert len(agent.neurons) >= 20 and len(agent.pattern) >= 6
    assert sum(1 for c in connections(agent) if c.recurrent) >= 5
    check_layout(agent, layout_agent(agent))


def test_a_sensor_vector_is_one_link_with_its_weights() -> None:
    agent = seed_agent(3)  # MULTI: sensors of vl 3 and 2
    lay = layout_agent(agent)
    sensor = next(s for s in agent.sensors if s.vl == 3)
    links = [link for link in lay.links if link.connection.source == sensor.id]
    assert len(links) == len(sensor.fanout_ids)
    for link in links:
        assert len(link.connection.weights) == 3
    assert any(t.role == "tag" and t.text == "3 w" for t in lay.texts)


def flat(points: object) -> list[float]:
    return [v for p in points for v in p]  # type: ignore[attr-defined]


def to_display(ax, pts):  # type: ignore[no-untyped-def]
    return ax.transData.transform(pts)


def check_artists(lay: Layout) -> None:
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch, Polygon

    fig = render_layout(lay)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    by_gid = {a.get_gid(): a for a in ax.get_children() if a.get_gid()}
    # one data unit is one inch in both directions: the model's geometry is what is drawn
    (ox, oy), (ux, uy) = to_display(ax, [(0.0, 0.0), (1.0, 1.0)])
    assert ux - ox == pytest.approx(fig.dpi) and uy - oy == pytest.approx(fig.dpi)
    lines = [a for a in ax.get_children() if isinstance(a, Line2D)]
    assert len(lines) == len(lay.links)
    box_z = set()
    for b in lay.boxes:
        patch = by_gid[f"box:{b.id}"]
        assert isinstance(patch, FancyBboxPatch)
        assert (patch.get_x(), patch.get_y()) == pytest.approx((b.x0, b.y0))
        assert patch.get_width() == pytest.approx(b.x1 - b.x0)
        assert patch.get_height() == pytest.approx(b.y1 - b.y0)
        box_z.add(patch.get_zorder())
    for i, link in enumerate(lay.links):
        line = by_gid[f"link:{i}"]
        assert isinstance(line, Line2D)
        assert line.get_xydata().ravel().tolist() == pytest.approx(flat(link.points))
        assert to_hex(line.get_color()) == to_hex(link.color)
        assert line.get_linewidth() == pytest.approx(link.width)
        assert (line.get_linestyle() == "--") == link.dashed
        head = by_gid[f"arrow:{i}"]
        assert isinstance(head, Polygon)
        assert head.get_xy()[:3].ravel().tolist() == pytest.approx(flat(link.arrow))
        assert to_hex(head.get_edgecolor()) == to_hex(link.color)
        face = to_hex(head.get_facecolor())
        assert face == ("#ffffff" if link.hollow_head else to_hex(link.color))
        assert head.get_zorder() > max(box_z) > line.get_zorder()
    # labels inside their boxes; column names and title above everything drawn
    content_top = max(to_display(ax, [(0.0, b.y1) for b in lay.boxes])[:, 1].max(),
                      max(to_display(ax, list(link.route))[:, 1].max()
                          for link in lay.links))  # fmt: skip
    for text in ax.texts:
        ext = text.get_window_extent(renderer)
        role = text.get_gid()
        if role in ("text:label", "text:index"):
            x, y = text.get_position()
            box = next(b for b in lay.boxes if b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1)
            (bx0, by0), (bx1, by1) = to_display(ax, [(box.x0, box.y0), (box.x1, box.y1)])
            assert bx0 <= ext.x0 and ext.x1 <= bx1 and by0 <= ext.y0 and ext.y1 <= by1, (
                text.get_text()
            )
        elif role in ("text:column", "text:title"):
            assert ext.y0 > content_top
        assert ext.x0 >= 0 and ext.x1 <= fig.bbox.width and ext.y1 <= fig.bbox.height
    # the legend sits below the network, inside the figure, covering nothing
    legend = fig.legends[0]
    lb = legend.get_window_extent(renderer)
    assert lb.x0 >= 0 and lb.x1 <= fig.bbox.width and lb.y0 >= 0
    assert lb.y1 < ax.get_window_extent(renderer).y0
    texts = [e.label for e in lay.legend]
    assert [t.get_text() for t in legend.get_texts()] == texts


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grown_agents(max_ops=12))
def test_the_figure_draws_the_layout(agent: Agent) -> None:
    check_artists(layout_agent(agent))


def test_the_figure_of_a_looped_agent() -> None:
    check_artists(layout_agent(looped()))


def test_legend_explains_every_style() -> None:
    lay = layout_agent(looped())
    labels = " | ".join(e.label for e in lay.legend)
    for words in ("weight >= 0", "weight < 0", "both signs", "largest |weight|", "recurrent",
                  "modulatory", "actuator", "k w", "bias"):  # fmt: skip
        assert words in labels
    styles = {(e.color, e.dashed, e.hollow_head) for e in lay.legend if e.color}
    assert {(POSITIVE_COLOR, True, False), (POSITIVE_COLOR, False, True)} <= styles
    assert {NEGATIVE_COLOR, MIXED_COLOR} <= {e.color for e in lay.legend}


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf", ".PNG"])
def test_write_picture_writes_the_format_of_the_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "sub" / f"net{suffix}"
    assert write_picture(looped(), path, renderer="matplotlib") == "matplotlib"
    assert is_format(path.read_bytes(), suffix.lower()[1:])
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


@pytest.mark.parametrize("name", ["net.bmp", "net", "net.png.txt", "net.jpeg"])
def test_write_picture_refuses_an_unknown_suffix(tmp_path: Path, name: str) -> None:
    with pytest.raises(ReporterError) as exc:
        write_picture(looped(), tmp_path / name)
    message = str(exc.value)
    assert "\n" not in message and name in message
    assert ".png, .svg, .pdf" in message
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ReporterError, match="unknown renderer"):
        write_picture(looped(), tmp_path / "x.png", renderer="ascii")
    assert "matplotlib" in RENDERERS


FAKE_DOT = """#!{python}
import sys
args = sys.argv[1:]
data = sys.stdin.buffer.read()
open({log!r}, "wb").write(" ".join(args).encode() + b"\\n" + data)
if {fail}:
    sys.stderr.write("Error: syntax error in line 1\\n")
    sys.exit(3)
fmt = [a[2:] for a in args if a.startswith("-T")][0]
out = args[args.index("-o") + 1]
magic = {{"png": b"\\x89PNG\\r\\n\\x1a\\n", "svg": b"<?xml version='1.0'?><svg/>",
          "pdf": b"%PDF-1.4\\n"}}[fmt]
open(out, "wb").write(magic)
"""


def fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, fail: bool) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "dot.log"
    script = bindir / "dot"
    script.write_text(FAKE_DOT.format(python=sys.executable, log=str(log), fail=fail))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_graphviz_renders_the_dot_export_in_the_suffix_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    log = fake_dot(tmp_path, monkeypatch, fail=False)
    agent = looped()
    out = tmp_path / f"net.{fmt}"
    assert write_picture(agent, out) == "graphviz"
    assert is_format(out.read_bytes(), fmt)
    args, _, dot_text = log.read_bytes().partition(b"\n")
    assert args.split()[0] == f"-T{fmt}".encode()
    assert dot_text.decode() == agent_to_dot(agent)


def test_a_failing_dot_falls_back_to_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dot(tmp_path, monkeypatch, fail=True)
    out = tmp_path / "net.svg"
    assert write_picture(looped(), out) == "matplotlib"
    assert is_format(out.read_bytes(), "svg")
    with pytest.raises(ReporterError, match=r"exit 3.*syntax error"):
        write_picture(looped(), tmp_path / "again.png", renderer="graphviz")
    assert not (tmp_path / "again.png").exists()


def test_without_dot_graphviz_is_refused_and_auto_uses_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    with pytest.raises(ReporterError, match="not on PATH"):
        write_picture(looped(), tmp_path / "n.png", renderer="graphviz")
    assert write_picture(looped(), tmp_path / "n.png") == "matplotlib"
    assert is_format((tmp_path / "n.png").read_bytes(), "png")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_real_graphviz_reads_the_dot_export(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"net.{fmt}"
    assert write_picture(looped(), out, renderer="graphviz") == "graphviz"
    assert is_format(out.read_bytes(), fmt)


def test_xor_seed_picture() -> None:
    """The smallest network: one sensor of vl 2, one neuron, one actuator."""
    agent = seed_agent(1, XOR)
    lay = layout_agent(agent)
    check_layout(agent, lay)
    assert len(lay.links) == 2 and [t.text for t in lay.texts if t.role == "tag"] == ["2 w"]
