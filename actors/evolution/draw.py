"""Pictures and summaries of genotypes (for ``megabrain show``).

* :func:`genotype_summary` -- a few lines: ids, generation, fitness, size, layers,
  activation functions, search parameters.
* :func:`write_png` -- a PNG of the network. With Graphviz's ``dot`` on ``PATH`` the
  genotype's DOT export (:func:`~actors.genotype.agent_to_dot`) is rendered by it; otherwise
  matplotlib (the ``plot`` extra) draws sensors, neurons by layer and actuators left to
  right, feedforward links solid, recurrent ones dashed, weights by colour (red < 0 < blue)
  and width. Returns which renderer was used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from actors.evolution.errors import ReporterError
from actors.genotype import Agent, agent_to_dot

__all__ = ["genotype_summary", "write_png"]


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


def write_png(agent: Agent, path: str | os.PathLike[str]) -> str:
    """Write a PNG picture of ``agent`` to ``path``; returns ``"graphviz"`` or
    ``"matplotlib"``. Raises :class:`ReporterError` when neither is available."""
    dot = shutil.which("dot")
    if dot is not None:
        proc = subprocess.run(
            [dot, "-Tpng", "-o", os.fspath(path)],
            input=agent_to_dot(agent).encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode == 0:
            return "graphviz"
    _draw_matplotlib(agent, Path(path))
    return "matplotlib"


def _draw_matplotlib(agent: Agent, path: Path) -> None:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ReporterError(
            "PNG pictures need Graphviz's dot or matplotlib (pip install 'megabrain[plot]')"
        ) from exc
    columns: dict[float, list[str]] = {-1.0: [s.id for s in agent.sensors]}
    for n in agent.neurons:
        columns.setdefault(n.layer, []).append(n.id)
    columns[1.0] = [a.id for a in agent.actuators]
    pos: dict[str, tuple[float, float]] = {}
    order = sorted(columns)
    for x, layer in enumerate(order):
        ids = columns[layer]
        for y, node in enumerate(ids):
            pos[node] = (float(x), (y + 1) / (len(ids) + 1))
    fig = Figure(figsize=(max(4.0, 1.6 * len(order)), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    layer_of = {n.id: n.layer for n in agent.neurons}
    for n in agent.neurons:
        for link in n.inputs:
            w = sum(x.w for x in link.weights) / len(link.weights)
            recurrent = link.source in layer_of and layer_of[link.source] >= n.layer
            (x0, y0), (x1, y1) = pos[link.source], pos[n.id]
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops={
                    "arrowstyle": "->",
                    "color": "tab:blue" if w >= 0 else "tab:red",
                    "lw": 0.5 + min(3.0, abs(w)),
                    "ls": "--" if recurrent else "-",
                    "connectionstyle": "arc3,rad=0.3" if recurrent else "arc3",
                    "alpha": 0.7,
                },
            )
    for a in agent.actuators:
        for f in a.fanin_ids:
            (x0, y0), (x1, y1) = pos[f], pos[a.id]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->"})
    labels = {s.id: f"{s.name}\n[{s.vl}]" for s in agent.sensors}
    labels.update({a.id: f"{a.name}\n[{a.vl}]" for a in agent.actuators})
    labels.update({n.id: n.af + ("\n+b" if n.bias is not None else "") for n in agent.neurons})
    for node, (px, py) in pos.items():
        kind = node[0]
        color = {"s": "#cde7c8", "a": "#f6d7a7"}.get(kind, "#dde6f6")
        ax.text(
            px, py, labels[node], ha="center", va="center", fontsize=8,
            bbox={"boxstyle": "round", "fc": color, "ec": "gray"},
        )  # fmt: skip
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylim(0, 1)
    neurons, links = agent.size()
    ax.set_title(f"{agent.id}: {neurons} neurons, {links} links", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
