"""Genotype → :class:`NetworkSpec`: the adapter every phenotype backend compiles from.

:func:`spec_from_agent` turns a DXNN-style :class:`~actors.genotype.Agent` into the neural
package's intermediate representation, following the forward pass of ``docs/genotype.md``:

* sensors keep the agent's order and are named by their **morphology names** (so a
  phenotype's ``step`` takes ``{sensor name: vector}`` straight from the scape); neuron inputs
  from a sensor refer to it by that name;
* neurons keep the agent's evaluation order (ascending ``(layer, id)``) and ids; an input from
  a neuron in the same or a later layer is recurrent;
* actuators are named by their morphology names, fed by ``fanin_ids`` in order (the scape
  pads a short vector with zeros, as DXNN's actuators do);
* weights, the bias and their plasticity parameters are copied; a rule without per-weight
  parameters gets none.

The modulation bias (``mod_bias``, DXNN's bias on the modulatory inputs) becomes the spec's
``modulation_bias``. Modulatory *links* (``mod_inputs``, which only ``neuromodulation``
neurons get) are not part of a :class:`NetworkSpec`, so they are left out; a genotype that has
them raises :class:`SpecError` with ``strict=True``.

The flat weight layout of the spec (each neuron's input weights in input order, then its
bias, then its modulation bias) is the layout of :func:`weight_slots`, which maps it back
onto the genotype: :func:`agent_with_weights` writes tuned (or learned) weights and their
last changes into a copy of the agent.

:class:`AgentNetwork` (``agent.network()``) is the agent's compiled network with a documented
call signature, for running a genotype outside evolution.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from actors.genotype.records import Agent, InputLink, Neuron, Weight
from actors.neural.compiled import CompiledNetwork
from actors.neural.errors import SpecError
from actors.neural.plasticity import PLASTICITY
from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec

__all__ = [
    "AgentNetwork",
    "NeuronSlots",
    "agent_with_weights",
    "spec_from_agent",
    "weight_slots",
]


def _sensor_names(agent: Agent) -> dict[str, str]:
    names: dict[str, str] = {}
    for s in agent.sensors:
        if s.name in names.values():
            raise SpecError(f"agent {agent.id}: two sensors named {s.name!r}")
        names[s.id] = s.name
    return names


def spec_from_agent(agent: Agent, *, strict: bool = False) -> NetworkSpec:
    """The :class:`NetworkSpec` of ``agent`` (see the module docstring).

    Raises :class:`SpecError` when the genotype has no spec: two sensors or actuators of one
    name, or (with ``strict``) modulatory links.
    """
    sensor_name = _sensor_names(agent)
    layers = {n.id: n.layer for n in agent.neurons}
    neurons: list[NeuronSpec] = []
    for n in agent.neurons:
        if strict and n.mod_inputs:
            raise SpecError(f"neuron {n.id}: modulatory links are not supported")
        rule = PLASTICITY.get(n.pf)
        inputs = []
        for link in n.inputs:
            is_neuron = link.source in layers
            inputs.append(
                InputSpec(
                    source=link.source if is_neuron else sensor_name[link.source],
                    weights=tuple(w.w for w in link.weights),
                    weight_params=(tuple(w.params for w in link.weights) if rule.n_weight else ()),
                    recurrent=is_neuron and layers[link.source] >= n.layer,
                )
            )
        neurons.append(
            NeuronSpec(
                id=n.id,
                layer=n.layer,
                inputs=tuple(inputs),
                activation=n.af,
                aggregation=n.aggr,
                plasticity=n.pf,
                neural_params=n.pf_params,
                bias=None if n.bias is None else n.bias.w,
                bias_params=() if n.bias is None else n.bias.params,
                modulation_bias=None if n.mod_bias is None else n.mod_bias.w,
            )
        )
    actuators = tuple(ActuatorSpec(a.name, a.vl, a.fanin_ids) for a in agent.actuators)
    sensors = tuple(SensorSpec(s.name, s.vl) for s in agent.sensors)
    return NetworkSpec(sensors, tuple(neurons), actuators)


@dataclasses.dataclass(frozen=True, slots=True)
class NeuronSlots:
    """Where one neuron's weights sit in the flat layout: ``blocks`` are ``(start, stop)``
    per input in input order, then one-element blocks for the bias and the modulation bias,
    if it has them."""

    neuron_id: str
    generation: int
    blocks: tuple[tuple[int, int], ...]

    @property
    def weight_count(self) -> int:
        return sum(b - a for a, b in self.blocks)


def weight_slots(agent: Agent) -> tuple[NeuronSlots, ...]:
    """The flat layout of :func:`spec_from_agent`'s spec, neuron by neuron."""
    out = []
    pos = 0
    for n in agent.neurons:
        blocks = []
        for link in n.inputs:
            blocks.append((pos, pos + len(link.weights)))
            pos += len(link.weights)
        for b in (n.bias, n.mod_bias):
            if b is not None:
                blocks.append((pos, pos + 1))
                pos += 1
        out.append(NeuronSlots(n.id, n.generation, tuple(blocks)))
    return tuple(out)


def flat_deltas(agent: Agent) -> list[float]:
    """The previous weight changes (``Weight.dw``) in the flat layout."""
    out: list[float] = []
    for n in agent.neurons:
        for link in n.inputs:
            out.extend(w.dw for w in link.weights)
        out.extend(b.dw for b in (n.bias, n.mod_bias) if b is not None)
    return out


def agent_with_weights(
    agent: Agent, weights: Sequence[float], deltas: Sequence[float] | None = None
) -> Agent:
    """A copy of ``agent`` whose synaptic weights and biases are ``weights`` (flat layout),
    and their ``dw`` the ``deltas`` when given. Raises :class:`SpecError` on a length
    mismatch or a non-finite value. The fingerprint does not depend on weights."""
    total = sum(s.weight_count for s in weight_slots(agent))
    if len(weights) != total or (deltas is not None and len(deltas) != total):
        raise SpecError(f"expected {total} weights for agent {agent.id}")
    vals = [float(v) for v in weights]
    dws = [float(v) for v in deltas] if deltas is not None else None
    if not all(math.isfinite(v) for v in vals) or (
        dws is not None and not all(math.isfinite(v) for v in dws)
    ):
        raise SpecError("weights must be finite")
    pos = 0

    def take(w: Weight) -> Weight:
        nonlocal pos
        new = dataclasses.replace(w, w=vals[pos], dw=w.dw if dws is None else dws[pos])
        pos += 1
        return new

    neurons: list[Neuron] = []
    for n in agent.neurons:
        inputs = tuple(
            InputLink(link.source, tuple(take(w) for w in link.weights)) for link in n.inputs
        )
        bias = None if n.bias is None else take(n.bias)
        mod_bias = None if n.mod_bias is None else take(n.mod_bias)
        neurons.append(dataclasses.replace(n, inputs=inputs, bias=bias, mod_bias=mod_bias))
    return dataclasses.replace(agent, neurons=tuple(neurons))


class AgentNetwork:
    """An agent's network, compiled (:class:`CompiledNetwork`) and ready to run.

    Build one with ``agent.network()`` (or ``AgentNetwork(agent)``). Call signature:

    * ``net(inputs)``: ``inputs`` maps every sensor name to its vector (``vl`` floats);
      returns ``{actuator name: vector}``, each vector ``vl`` floats long -- one value per
      neuron feeding the actuator, in ``fanin_ids`` order, then zeros (as DXNN's actuators
      pad a short vector). Values lie in [-1, 1].
    * ``net.flat(x)``: the same cycle on the sensor vectors concatenated in ``net.sensors``
      order; returns the actuator vectors concatenated in ``net.actuators`` order.
    * ``net.reset()``: zero the recurrent state (signals of recurrent links and stateful
      aggregator memory) before a new, independent episode; weights are kept.

    Each call is one sense-think-act cycle: recurrent links read the previous call's
    outputs. ``net.sensors`` / ``net.actuators`` are ``(name, vl)`` pairs. Bad input (a
    missing sensor, a vector of the wrong length) raises :class:`SpecError`.
    """

    def __init__(self, agent: Agent) -> None:
        spec = spec_from_agent(agent)
        self.agent_id = agent.id
        self.compiled = CompiledNetwork(spec)
        self.sensors: tuple[tuple[str, int], ...] = tuple((s.name, s.vl) for s in spec.sensors)
        self.actuators: tuple[tuple[str, int], ...] = tuple((a.name, a.vl) for a in spec.actuators)
        self._fed = tuple((len(a.sources), a.vl - len(a.sources)) for a in spec.actuators)
        self.input_size = spec.input_size

    def __call__(self, inputs: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        flat: list[float] = []
        for name, vl in self.sensors:
            try:
                vec = inputs[name]
            except KeyError:
                raise SpecError(f"no vector for sensor {name!r}") from None
            if len(vec) != vl:
                raise SpecError(f"sensor {name!r} expects {vl} values, got {len(vec)}")
            flat.extend(float(v) for v in vec)
        out = self.compiled.step_flat(flat)
        res: dict[str, list[float]] = {}
        pos = 0
        for (name, _), (fed, pad) in zip(self.actuators, self._fed, strict=True):
            res[name] = out[pos : pos + fed] + [0.0] * pad
            pos += fed
        return res

    def flat(self, x: Sequence[float]) -> list[float]:
        if len(x) != self.input_size:
            raise SpecError(f"expected {self.input_size} input values, got {len(x)}")
        out = self.compiled.step_flat([float(v) for v in x])
        if not any(pad for _, pad in self._fed):
            return out
        res: list[float] = []
        pos = 0
        for fed, pad in self._fed:
            res.extend(out[pos : pos + fed])
            res.extend([0.0] * pad)
            pos += fed
        return res

    def reset(self) -> None:
        self.compiled.reset()
