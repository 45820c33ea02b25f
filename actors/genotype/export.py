"""JSON export/import and DOT export of a genotype, and what a picture of one shows.

The JSON form is the codec's document (see ``docs/genotype.md`` for the schema, precise
enough to re-implement the forward pass): the same envelope as the msgpack encoding, as
JSON text. Importing validates exactly as :func:`~actors.genotype.codec.decode_agent`
does and raises only :class:`~actors.genotype.errors.GenotypeDecodeError`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from actors.genotype.codec import DEFAULT_LIMITS, CodecLimits, envelope, open_envelope
from actors.genotype.errors import GenotypeDecodeError
from actors.genotype.graph import validate_agent
from actors.genotype.records import Agent, Neuron

__all__ = [
    "ACTUATOR_LINK_COLOR",
    "ACTUATOR_LINK_WIDTH",
    "MAX_WIDTH",
    "MIN_WIDTH",
    "MIXED_COLOR",
    "NEGATIVE_COLOR",
    "POSITIVE_COLOR",
    "Connection",
    "LinkStyle",
    "agent_from_json",
    "agent_to_dot",
    "agent_to_json",
    "connections",
    "link_style",
    "neuron_lines",
    "weight_scale",
    "weight_width",
]


def agent_to_json(agent: Agent, *, indent: int | None = None) -> str:
    """The agent as JSON text (validated first; no NaN/Infinity can appear)."""
    validate_agent(agent)
    return json.dumps(envelope(agent), indent=indent, allow_nan=False, ensure_ascii=False)


def _no_constants(name: str) -> NoReturn:
    raise GenotypeDecodeError(f"JSON constant {name} is not allowed")


def agent_from_json(text: str | bytes, limits: CodecLimits = DEFAULT_LIMITS) -> Agent:
    """Parse and fully validate JSON produced by :func:`agent_to_json` (or by hand)."""
    if not isinstance(text, str | bytes):
        raise GenotypeDecodeError("input is not text")
    if len(text) > limits.max_bytes:
        raise GenotypeDecodeError(f"input is larger than {limits.max_bytes} bytes")
    try:
        doc: Any = json.loads(text, parse_constant=_no_constants)
    except GenotypeDecodeError:
        raise
    except (ValueError, RecursionError) as exc:
        raise GenotypeDecodeError(f"not JSON: {exc}") from exc
    record, _ = open_envelope(doc, "agent", limits)
    return cast(Agent, record)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# -- what a picture of a network shows (shared by the DOT export and the matplotlib drawing)

#: Colour of a link whose weights are all >= 0, all < 0, of both signs (a sensor vector),
#: and of a neuron → actuator link (which has no weight).
POSITIVE_COLOR = "#1f5fbf"
NEGATIVE_COLOR = "#c62828"
MIXED_COLOR = "#7b3fa0"
ACTUATOR_LINK_COLOR = "#555555"
#: Line widths in points: a weightless link, and the range weights map onto.
ACTUATOR_LINK_WIDTH = 1.0
MIN_WIDTH = 0.6
MAX_WIDTH = 3.0


@dataclass(frozen=True, slots=True)
class Connection:
    """One link of a genotype as a picture shows it.

    ``kind`` is ``"synaptic"`` or ``"modulatory"`` (an input of neuron ``target``, with one
    weight per element of the source's vector: a sensor of ``vl`` k gives one link carrying
    k weights) or ``"actuator"`` (neuron ``source`` feeds element ``index`` of actuator
    ``target``; no weight). ``recurrent``: the source is a neuron in the same or a later
    layer (it reads the source's output of the previous step); a self-loop is recurrent.
    """

    source: str
    target: str
    kind: str
    recurrent: bool
    weights: tuple[float, ...]
    index: int | None = None


@dataclass(frozen=True, slots=True)
class LinkStyle:
    """How a link is drawn: colour by the signs of its weights, width (points) by the
    largest absolute weight relative to the agent's largest, dashed when recurrent, a
    hollow arrowhead when modulatory."""

    color: str
    width: float
    dashed: bool
    hollow_head: bool


def connections(agent: Agent) -> list[Connection]:
    """Every link of ``agent``: the inputs of each neuron (synaptic, then modulatory, in
    order), then each actuator's fan-in in vector order. ``len(connections(a))`` is
    ``a.size()[1]``."""
    layer = {n.id: n.layer for n in agent.neurons}
    out: list[Connection] = []
    for n in agent.neurons:
        for links, kind in ((n.inputs, "synaptic"), (n.mod_inputs, "modulatory")):
            for link in links:
                src = link.source
                out.append(
                    Connection(
                        src,
                        n.id,
                        kind,
                        src in layer and layer[src] >= n.layer,
                        tuple(w.w for w in link.weights),
                    )
                )
    for a in agent.actuators:
        for i, f in enumerate(a.fanin_ids):
            out.append(Connection(f, a.id, "actuator", False, (), i))
    return out


def weight_scale(links: Sequence[Connection]) -> float:
    """The largest absolute weight of ``links`` (1.0 when there is none or all are 0):
    the weight drawn at :data:`MAX_WIDTH`."""
    biggest = max((abs(w) for c in links for w in c.weights), default=0.0)
    return biggest if biggest > 0.0 else 1.0


def weight_width(magnitude: float, scale: float) -> float:
    """Line width (points) of a link whose largest absolute weight is ``magnitude``."""
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * min(1.0, magnitude / scale)


def link_style(link: Connection, scale: float) -> LinkStyle:
    """The :class:`LinkStyle` of ``link`` for an agent whose :func:`weight_scale` is
    ``scale``."""
    if link.kind == "actuator":
        return LinkStyle(ACTUATOR_LINK_COLOR, ACTUATOR_LINK_WIDTH, False, False)
    ws = link.weights
    if all(w >= 0.0 for w in ws):
        color = POSITIVE_COLOR
    elif all(w < 0.0 for w in ws):
        color = NEGATIVE_COLOR
    else:
        color = MIXED_COLOR
    width = weight_width(max(abs(w) for w in ws), scale)
    return LinkStyle(color, width, link.recurrent, link.kind == "modulatory")


#: The most weights a DOT edge label lists one by one.
DOT_LABEL_WEIGHTS = 8


def _weights_label(weights: tuple[float, ...]) -> str:
    if len(weights) == 1:
        return f"{weights[0]:+.3g}"
    if len(weights) <= DOT_LABEL_WEIGHTS:
        return f"{len(weights)} w: " + " ".join(f"{w:+.3g}" for w in weights)
    return f"{len(weights)} w, max |w| {max(abs(w) for w in weights):.3g}"


def neuron_lines(n: Neuron) -> tuple[str, ...]:
    """What a picture says of neuron ``n``: its activation function, ``b`` and the bias
    weight when it has one, its plasticity rule and aggregation when not the defaults."""
    lines = [n.af]
    if n.bias is not None:
        lines.append(f"b {n.bias.w:+.3g}")
    if n.pf != "none":
        lines.append(n.pf)
    if n.aggr != "dot_product":
        lines.append(n.aggr)
    return tuple(lines)


def _neuron_label(n: Neuron) -> str:
    first, *rest = neuron_lines(n)
    return "\n".join([first, f"L={n.layer:g}", *rest])


def _legend_dot(scale: float) -> list[str]:
    """A legend cluster: one sample edge per colour, width, dash and arrowhead."""
    samples = [
        ("w >= 0", POSITIVE_COLOR, weight_width(scale / 2, scale), "solid", "normal"),
        ("w < 0", NEGATIVE_COLOR, weight_width(scale / 2, scale), "solid", "normal"),
        ("vector, mixed signs", MIXED_COLOR, weight_width(scale / 2, scale), "solid", "normal"),
        (f"|w| = {scale:.3g}", POSITIVE_COLOR, MAX_WIDTH, "solid", "normal"),
        ("|w| = 0", POSITIVE_COLOR, MIN_WIDTH, "solid", "normal"),
        ("recurrent (previous step)", POSITIVE_COLOR, 1.0, "dashed", "normal"),
        ("modulatory", POSITIVE_COLOR, 1.0, "solid", "onormal"),
        ("to actuator [element]", ACTUATOR_LINK_COLOR, ACTUATOR_LINK_WIDTH, "solid", "normal"),
    ]
    lines = [
        "  subgraph cluster_legend {",
        '    label="legend"; fontsize=9; color="#999999";',
        "    node [shape=point, width=0.05, height=0.05];",
    ]
    for i, (label, color, width, style, head) in enumerate(samples):
        lines.append(f"    legend_{i}a -> legend_{i}b [label={_q(label)}, fontsize=8, "
                     f'color="{color}", penwidth={width:.2f}, style={style}, '
                     f"arrowhead={head}];")  # fmt: skip
    lines.append("  }")
    return lines


def agent_to_dot(agent: Agent) -> str:
    """Graphviz DOT of the network, left to right: sensors, neurons by layer, actuators.

    * One node per sensor (``name [vl]``), neuron (activation function, layer, bias weight,
      plasticity rule and aggregation when not the defaults) and actuator; one column per
      layer, kept in layer order by an invisible chain of column anchors.
    * One edge per link (:func:`connections`), self-loops included, always pointing from
      source to target (``dir=forward``). Colour: the weights' signs; ``penwidth``: the
      largest absolute weight (see :func:`link_style`); dashed: recurrent (these edges do
      not constrain the columns); hollow arrowhead: modulatory. The label lists the
      weight(s) (a sensor's vector link carries ``vl`` weights), or the actuator element.
    * A legend cluster and a title with the agent id and its size.
    """
    links = connections(agent)
    scale = weight_scale(links)
    neurons, n_links = agent.size()
    title = f"{agent.id}: {neurons} neurons, {n_links} links"
    lines = [
        f"digraph {_q(agent.id)} {{",
        "  rankdir=LR; newrank=true; nodesep=0.25; ranksep=0.7;",
        f"  label={_q(title)}; labelloc=t; fontsize=11;",
        "  node [fontsize=10];",
        "  edge [fontsize=8, dir=forward, arrowsize=0.7];",
    ]
    columns: list[tuple[str, list[str]]] = [("sensors", [s.id for s in agent.sensors])]
    columns += [(f"layer {layer:g}", list(ids)) for layer, ids in agent.pattern]
    columns.append(("actuators", [a.id for a in agent.actuators]))
    for i, (name, ids) in enumerate(columns):
        lines.append(f"  column_{i} [shape=plaintext, label={_q(name)}, fontsize=9];")
        lines.append("  { rank=same; " + " ".join([f"column_{i}", *map(_q, ids)]) + " }")
    lines.append("  " + " -> ".join(f"column_{i}" for i in range(len(columns))) + " [style=invis];")
    for s in agent.sensors:
        lines.append(f"  {_q(s.id)} [shape=box, label={_q(f'{s.name} [{s.vl}]')}];")
    for n in agent.neurons:
        lines.append(f"  {_q(n.id)} [shape=ellipse, label={_q(_neuron_label(n))}];")
    for a in agent.actuators:
        lines.append(f"  {_q(a.id)} [shape=box, label={_q(f'{a.name} [{a.vl}]')}];")
    for c in links:
        style = link_style(c, scale)
        label = f"[{c.index}]" if c.kind == "actuator" else _weights_label(c.weights)
        attrs = [
            f"label={_q(label)}",
            f'color="{style.color}"',
            f"penwidth={style.width:.2f}",
            f"style={'dashed' if style.dashed else 'solid'}",
            f"arrowhead={'onormal' if style.hollow_head else 'normal'}",
        ]
        if c.recurrent:
            attrs.append("constraint=false")
        lines.append(f"  {_q(c.source)} -> {_q(c.target)} [{', '.join(attrs)}];")
    lines.extend(_legend_dot(scale))
    lines.append("}")
    return "\n".join(lines) + "\n"
