"""Pictures and summaries of genotypes (for ``megabrain show``).

* :func:`genotype_summary` -- a few lines: ids, generation, fitness, size, layers,
  activation functions, search parameters.
* :func:`draw_agent` -- a matplotlib ``Figure`` of the network: the
  :func:`~actors.evolution.draw_layout.layout_agent` model drawn as it is (boxes, routed
  links, arrowheads, column names, title) with a legend below it.
* :func:`write_picture` -- the network as a PNG, SVG or PDF file (the format the file
  name's suffix names). With Graphviz's ``dot`` on ``PATH`` the DOT export
  (:func:`~actors.genotype.agent_to_dot`) is rendered by it; otherwise, or when ``dot``
  fails, :func:`draw_agent` draws it. Returns which renderer was used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from typing import Any

from actors.evolution.draw_layout import Layout, layout_agent
from actors.evolution.errors import ReporterError
from actors.evolution.pictures import matplotlib_classes, picture_format, replacing, save_figure
from actors.genotype import Agent, agent_to_dot

__all__ = ["RENDERERS", "draw_agent", "genotype_summary", "render_layout", "write_picture"]

#: ``auto``: Graphviz when ``dot`` is on ``PATH`` and succeeds, else matplotlib.
RENDERERS = ("auto", "graphviz", "matplotlib")
_DOT_TIMEOUT = 60.0
_MAX_PIXELS = 12_000  # the longer side of a PNG; the resolution drops for huge networks
_BOX_COLORS = {"sensor": "#cde7c8", "neuron": "#dde6f6", "actuator": "#f6d7a7"}
_LEGEND_FONT = 7.0


def genotype_summary(agent: Agent) -> str:
    neurons, links = agent.size()
    layers = Counter(n.layer for n in agent.neurons)
    afs = Counter(n.af for n in agent.neurons)
    recurrent = sum(len(n.ro_ids) for n in agent.neurons)
    lines = [
        f"agent        {agent.id} (generation {agent.generation}, "
        f"parents {', '.join(agent.parent_ids) or '-'})",
        f"morphology   {agent.morphology.name}: sensors "
        + ", ".join(f"{s.name}[{s.vl}]" for s in agent.sensors)
        + "; actuators "
        + ", ".join(f"{a.name}[{a.vl}]" for a in agent.actuators),
        f"fitness      {agent.fitness if agent.fitness is not None else '-'}",
        f"size         {neurons} neurons, {links} links ({recurrent} recurrent), "
        f"{len(layers)} layers: "
        + ", ".join(f"{layer:g}:{count}" for layer, count in sorted(layers.items())),
        "activations  " + ", ".join(f"{k} {v}" for k, v in sorted(afs.items())),
        f"search       tuning {agent.tuning_selection_f}, duration "
        f"{agent.tuning_duration_f[0]}({agent.tuning_duration_f[1]:g}), annealing "
        f"{agent.annealing_parameter:g}, range {agent.perturbation_range:g}, "
        f"heredity {agent.heredity_type}",
        f"history      {len(agent.evo_hist)} mutations",
    ]
    return "\n".join(lines)


def render_layout(layout: Layout) -> Any:
    """A matplotlib ``Figure`` drawing ``layout`` in its own units (one data unit is one
    inch), with the legend in a band of its own below the network. Every link is one
    ``Line2D`` (``gid`` ``"link:<i>"``) plus one arrowhead ``Polygon`` (``"arrow:<i>"``),
    every node one patch (``"box:<id>"``), in :attr:`Layout.links` / :attr:`Layout.boxes`
    order; arrowheads are drawn above the boxes."""
    figure_cls, canvas_cls = matplotlib_classes()
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch, Polygon

    width, height = layout.width, layout.height
    fig = figure_cls(figsize=(width, height), dpi=min(100.0, _MAX_PIXELS / max(width, height)))
    canvas = canvas_cls(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    for i, link in enumerate(layout.links):
        xs, ys = zip(*link.points, strict=True)
        ax.add_line(
            Line2D(xs, ys, color=link.color, lw=link.width, ls="--" if link.dashed else "-",
                   solid_capstyle="butt", dash_capstyle="butt", zorder=1, gid=f"link:{i}")
        )  # fmt: skip
        ax.add_patch(
            Polygon(link.arrow, closed=True, fc="white" if link.hollow_head else link.color,
                    ec=link.color, lw=0.6, joinstyle="round", zorder=3, gid=f"arrow:{i}")
        )  # fmt: skip
    for b in layout.boxes:
        ax.add_patch(
            FancyBboxPatch((b.x0, b.y0), b.x1 - b.x0, b.y1 - b.y0,
                           boxstyle="round,pad=0,rounding_size=0.04", fc=_BOX_COLORS[b.kind],
                           ec="#666666", lw=0.8, zorder=2, gid=f"box:{b.id}")
        )  # fmt: skip
    for t in layout.texts:
        ax.text(t.x, t.y, t.text, fontsize=t.size, ha=t.ha, va=t.va, zorder=4,
                family="monospace" if t.role in ("label", "index") else "sans-serif",
                gid=f"text:{t.role}")  # fmt: skip
    handles, labels = [], []
    for e in layout.legend:
        if e.color is None:
            handles.append(Line2D([], [], ls="none"))
        else:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=e.color,
                    lw=e.width,
                    ls="--" if e.dashed else "-",
                    marker=">" if e.hollow_head else "",
                    markerfacecolor="white",
                    markeredgecolor=e.color,
                )
            )
        labels.append(e.label)
    legend = fig.legend(handles, labels, loc="lower center", ncol=2 if width > 6 else 1,
                        fontsize=_LEGEND_FONT, frameon=True)  # fmt: skip
    box = legend.get_window_extent(canvas.get_renderer())
    band = box.height / fig.dpi + 0.2
    total_w = max(width, box.width / fig.dpi + 0.4)
    total_h = height + band
    fig.set_size_inches(total_w, total_h)
    ax.set_position(((total_w - width) / 2 / total_w, band / total_h, width / total_w,
                     height / total_h))  # fmt: skip
    legend.set_bbox_to_anchor((0.5, 0.1 / total_h), transform=fig.transFigure)
    return fig


def draw_agent(agent: Agent) -> Any:
    """A matplotlib ``Figure`` of ``agent``'s network (see :func:`render_layout`)."""
    return render_layout(layout_agent(agent))


class _DotFailed(Exception):
    pass


def _graphviz(agent: Agent, path: str | os.PathLike[str], fmt: str) -> str | None:
    """Render with ``dot``; None on success, else why it did not (``path`` untouched)."""
    dot = shutil.which("dot")
    if dot is None:
        return "Graphviz's dot is not on PATH"
    try:
        with replacing(path) as tmp:
            try:
                proc = subprocess.run(
                    [dot, f"-T{fmt}", "-o", os.fspath(tmp)],
                    input=agent_to_dot(agent).encode(),
                    capture_output=True,
                    timeout=_DOT_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise _DotFailed(f"dot failed: {exc}") from exc
            if proc.returncode != 0 or not tmp.exists():
                err = proc.stderr.decode(errors="replace").strip().splitlines()
                raise _DotFailed(
                    f"dot failed (exit {proc.returncode}): {err[0] if err else 'no output'}"
                )
    except _DotFailed as exc:
        return str(exc)
    return None


def write_picture(agent: Agent, path: str | os.PathLike[str], *, renderer: str = "auto") -> str:
    """Write a picture of ``agent`` to ``path`` in the format its suffix names (``.png``,
    ``.svg``, ``.pdf``); returns ``"graphviz"`` or ``"matplotlib"``. Raises
    :class:`ReporterError` for an unknown suffix (before drawing anything), an unknown
    ``renderer``, ``renderer="graphviz"`` without a working ``dot``, or when matplotlib is
    needed but missing."""
    fmt = picture_format(path)
    if renderer not in RENDERERS:
        raise ReporterError(f"unknown renderer {renderer!r} (one of {', '.join(RENDERERS)})")
    if renderer != "matplotlib":
        why = _graphviz(agent, path, fmt)
        if why is None:
            return "graphviz"
        if renderer == "graphviz":
            raise ReporterError(why)
    save_figure(draw_agent(agent), path)
    return "matplotlib"
