"""JSON export/import and DOT export of a genotype.

The JSON form is the codec's document (see ``docs/genotype.md`` for the schema, precise
enough to re-implement the forward pass): the same envelope as the msgpack encoding, as
JSON text. Importing validates exactly as :func:`~actors.genotype.codec.decode_agent`
does and raises only :class:`~actors.genotype.errors.GenotypeDecodeError`.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn, cast

from actors.genotype.codec import DEFAULT_LIMITS, CodecLimits, envelope, open_envelope
from actors.genotype.errors import GenotypeDecodeError
from actors.genotype.graph import validate_agent
from actors.genotype.records import Agent

__all__ = ["agent_from_json", "agent_to_dot", "agent_to_json"]


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


def agent_to_dot(agent: Agent) -> str:
    """Graphviz DOT of the network: sensors (left) → neurons by layer → actuators (right).

    Neurons show their activation function and layer; a dashed edge is a recurrent link
    (to the same or an earlier layer), a dotted one a modulatory input; an edge label
    shows the weight (or the weight count for a sensor vector).
    """
    lines = [
        f"digraph {_q(agent.id)} {{",
        "  rankdir=LR;",
        "  node [fontsize=10];",
        "  { rank=source; " + " ".join(_q(s.id) for s in agent.sensors) + " }",
    ]
    for s in agent.sensors:
        lines.append(f"  {_q(s.id)} [shape=box, label={_q(f'{s.name} [{s.vl}]')}];")
    for _layer, ids in agent.pattern:
        lines.append("  { rank=same; " + " ".join(_q(i) for i in ids) + " }")
    layers = {n.id: n.layer for n in agent.neurons}
    for n in agent.neurons:
        label = f"{n.af}\\nL={n.layer:g}" + ("\\n+bias" if n.bias is not None else "")
        label = label if n.pf == "none" else f"{label}\\n{n.pf}"
        lines.append(f'  {_q(n.id)} [shape=ellipse, label="{label}"];')
    lines.append("  { rank=sink; " + " ".join(_q(a.id) for a in agent.actuators) + " }")
    for a in agent.actuators:
        lines.append(f"  {_q(a.id)} [shape=box, label={_q(f'{a.name} [{a.vl}]')}];")
    for n in agent.neurons:
        for links, modulatory in ((n.inputs, False), (n.mod_inputs, True)):
            for link in links:
                recurrent = link.source in layers and layers[link.source] >= n.layer
                weights = link.weights
                label = f"{weights[0].w:.3g}" if len(weights) == 1 else f"{len(weights)} w"
                style = "dotted" if modulatory else ("dashed" if recurrent else "solid")
                lines.append(
                    f"  {_q(link.source)} -> {_q(n.id)} [style={style}, label={_q(label)}];"
                )
    for a in agent.actuators:
        for i, f in enumerate(a.fanin_ids):
            lines.append(f"  {_q(f)} -> {_q(a.id)} [label={_q(f'[{i}]')}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
