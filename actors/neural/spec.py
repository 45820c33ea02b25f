"""``NetworkSpec``: the small intermediate representation every evaluator compiles from.

A genotype is turned into a :class:`NetworkSpec` by an adapter (in :mod:`actors.genotype`); the
evaluators of this package (:mod:`~actors.neural.reference`, :mod:`~actors.neural.compiled`)
only know this representation.

Semantics (DXNN's, ``neuron.erl`` / ``cortex.erl``):

* Each step the sensors produce their vectors; every neuron fires once, gathering one signal per
  input link **in input order**; actuators collect their source neurons' outputs in order.
* An input from a neuron in the same or a later layer is *recurrent*: it reads that neuron's output
  of the previous step (zero after construction or reset, as DXNN primes recurrent links with a
  zero signal). Inputs from sensors and earlier layers are feedforward (this step's value).
  ``InputSpec.recurrent`` must agree with the layers; :class:`SpecError` otherwise.
* A neuron may have only recurrent inputs (common in recurrent DXNN genotypes): it still fires
  once per step, in its place in ``neurons``, on its sources' outputs of the previous step --
  at the first step (and after a reset) on the primed zeros.
* ``neurons`` are listed in evaluation order: layers non-decreasing.

Flat weight layout (``weight_count``, ``flat_weights``, ``with_weights``): for each neuron in
order, the weights of each input in input order, then the neuron's bias if it has one, then its
modulation bias if it has one (DXNN's tuning perturbs both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from actors.neural.activations import ACTIVATIONS
from actors.neural.aggregators import AGGREGATORS
from actors.neural.errors import SpecError
from actors.neural.plasticity import PLASTICITY

__all__ = ["ActuatorSpec", "InputSpec", "NetworkSpec", "NeuronSpec", "SensorSpec"]


def _finite(values: Sequence[float], what: str) -> None:
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise SpecError(f"{what}: {v!r} is not a finite number")


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """A sensor: its name and the length of the vector it produces each step."""

    name: str
    vl: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"sensor name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.vl, int) or self.vl < 1:
            raise SpecError(f"sensor {self.name!r}: vl must be a positive int, got {self.vl!r}")


@dataclass(frozen=True, slots=True)
class ActuatorSpec:
    """An actuator: name, declared vector length and its source neurons in order."""

    name: str
    vl: int
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"actuator name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.vl, int) or self.vl < 1:
            raise SpecError(f"actuator {self.name!r}: vl must be a positive int")
        if not self.sources:
            raise SpecError(f"actuator {self.name!r} has no source neurons")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One input link: source id, one weight per element of the source's vector, per-weight
    learning parameters (empty when the plasticity rule has none) and the recurrent flag."""

    source: str
    weights: tuple[float, ...]
    weight_params: tuple[tuple[float, ...], ...] = ()
    recurrent: bool = False


@dataclass(frozen=True, slots=True)
class NeuronSpec:
    """One neuron. ``bias`` is ``None`` when the neuron has no bias; ``bias_params`` are the
    bias's learning parameters (as many as each weight has). ``modulation_bias`` is DXNN's bias on
    the modulatory inputs (``input_idps_modulation``, added by ``add_bias`` to neuromodulation
    neurons): the modulatory signal passed to the plasticity rule is ``tanh(modulation_bias)``,
    or 0 without one."""

    id: str
    layer: float
    inputs: tuple[InputSpec, ...]
    activation: str = "tanh"
    aggregation: str = "dot_product"
    plasticity: str = "none"
    neural_params: tuple[float, ...] = ()
    bias: float | None = None
    bias_params: tuple[float, ...] = ()
    modulation_bias: float | None = None

    @property
    def fan_in(self) -> int:
        return sum(len(i.weights) for i in self.inputs)

    @property
    def weight_slots(self) -> int:
        """Weights, bias and modulation bias: this neuron's share of the flat layout."""
        return self.fan_in + (self.bias is not None) + (self.modulation_bias is not None)


@dataclass(frozen=True)
class NetworkSpec:
    """A whole network; validated on construction (:class:`SpecError` on any inconsistency)."""

    sensors: tuple[SensorSpec, ...]
    neurons: tuple[NeuronSpec, ...]
    actuators: tuple[ActuatorSpec, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sensors", tuple(self.sensors))
        object.__setattr__(self, "neurons", tuple(self.neurons))
        object.__setattr__(self, "actuators", tuple(self.actuators))
        if not self.sensors or not self.neurons or not self.actuators:
            raise SpecError("a network needs at least one sensor, one neuron and one actuator")
        vls: dict[str, int] = {}
        for s in self.sensors:
            if s.name in vls:
                raise SpecError(f"duplicate id {s.name!r}")
            vls[s.name] = s.vl
        layers: dict[str, float] = {}
        index: dict[str, int] = {}
        for k, n in enumerate(self.neurons):
            if not isinstance(n.id, str) or not n.id:
                raise SpecError(f"neuron id must be a non-empty string, got {n.id!r}")
            if n.id in vls:
                raise SpecError(f"duplicate id {n.id!r}")
            vls[n.id] = 1
            _finite([n.layer], f"neuron {n.id!r} layer")
            layers[n.id] = float(n.layer)
            index[n.id] = k
            if k and n.layer < self.neurons[k - 1].layer:
                raise SpecError("neurons must be listed in non-decreasing layer order")
        for n in self.neurons:
            self._check_neuron(n, vls, layers)
        names: set[str] = set()
        for a in self.actuators:
            if a.name in names:
                raise SpecError(f"duplicate actuator {a.name!r}")
            names.add(a.name)
            for src in a.sources:
                if src not in index:
                    raise SpecError(f"actuator {a.name!r}: source {src!r} is not a neuron")
        object.__setattr__(self, "_index", index)

    @staticmethod
    def _check_neuron(n: NeuronSpec, vls: dict[str, int], layers: dict[str, float]) -> None:
        where = f"neuron {n.id!r}"
        for what, reg, name in (
            ("activation", ACTIVATIONS, n.activation),
            ("aggregation", AGGREGATORS, n.aggregation),
            ("plasticity", PLASTICITY, n.plasticity),
        ):
            if name not in reg:
                raise SpecError(f"{where}: unknown {what} {name!r}")
        rule = PLASTICITY.get(n.plasticity)
        if len(n.neural_params) != rule.n_neural:
            raise SpecError(f"{where}: {n.plasticity} needs {rule.n_neural} neural parameters")
        _finite(n.neural_params, f"{where} neural_params")
        if not n.inputs:
            raise SpecError(f"{where} has no inputs")
        for inp in n.inputs:
            if inp.source not in vls:
                raise SpecError(f"{where}: unknown input source {inp.source!r}")
            if len(inp.weights) != vls[inp.source]:
                raise SpecError(
                    f"{where}: input {inp.source!r} needs {vls[inp.source]} weights, "
                    f"got {len(inp.weights)}"
                )
            _finite(inp.weights, f"{where} weights")
            should = inp.source in layers and layers[inp.source] >= n.layer
            if inp.recurrent != should:
                raise SpecError(
                    f"{where}: input {inp.source!r} must {'' if should else 'not '}be recurrent"
                )
            wp = inp.weight_params
            if rule.n_weight == 0:
                if wp and any(len(p) for p in wp):
                    raise SpecError(f"{where}: {n.plasticity} takes no weight parameters")
            else:
                if len(wp) != len(inp.weights) or any(len(p) != rule.n_weight for p in wp):
                    raise SpecError(
                        f"{where}: {n.plasticity} needs {rule.n_weight} parameters per weight"
                    )
                for p in wp:
                    _finite(p, f"{where} weight_params")
        if len(set(i.source for i in n.inputs)) != len(n.inputs):
            raise SpecError(f"{where}: an input source appears twice")
        if n.bias is None:
            if n.bias_params:
                raise SpecError(f"{where}: bias_params without a bias")
        else:
            _finite([n.bias], f"{where} bias")
            if len(n.bias_params) != rule.n_weight:
                raise SpecError(f"{where}: the bias needs {rule.n_weight} learning parameters")
            _finite(n.bias_params, f"{where} bias_params")
        if n.modulation_bias is not None:
            _finite([n.modulation_bias], f"{where} modulation_bias")

    # ----------------------------------------------------------------- derived facts

    def neuron_index(self, neuron_id: str) -> int:
        return self._index[neuron_id]

    @property
    def input_size(self) -> int:
        """Length of the concatenated sensor vectors (sensors in spec order)."""
        return sum(s.vl for s in self.sensors)

    @property
    def output_size(self) -> int:
        """Length of the concatenated actuator vectors (one element per source neuron)."""
        return sum(len(a.sources) for a in self.actuators)

    @property
    def weight_count(self) -> int:
        return sum(n.weight_slots for n in self.neurons)

    @property
    def is_stateless(self) -> bool:
        """True when a step's outputs depend on that step's inputs only (no recurrent link, no
        plasticity, no stateful aggregator): then independent cases may be batched freely."""
        return all(
            n.plasticity == "none"
            and not AGGREGATORS.get(n.aggregation).stateful
            and not any(i.recurrent for i in n.inputs)
            for n in self.neurons
        )

    def flat_weights(self) -> list[float]:
        out: list[float] = []
        for n in self.neurons:
            for i in n.inputs:
                out.extend(float(w) for w in i.weights)
            if n.bias is not None:
                out.append(float(n.bias))
            if n.modulation_bias is not None:
                out.append(float(n.modulation_bias))
        return out

    def weight_groups(self) -> list[tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]]:
        """Per neuron, the flat indices grouped as DXNN's neuron holds them, for tuning:
        ``(signal_groups, modulation_group)`` where the signal groups are each input's weights
        in order and then ``(bias,)`` if any (DXNN's ``input_idps`` entries, which
        ``neuron.erl`` perturbs entry by entry), and the modulation group is
        ``(modulation_bias,)`` or ``()``."""
        out: list[tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]] = []
        pos = 0
        for n in self.neurons:
            groups: list[tuple[int, ...]] = []
            for i in n.inputs:
                groups.append(tuple(range(pos, pos + len(i.weights))))
                pos += len(i.weights)
            if n.bias is not None:
                groups.append((pos,))
                pos += 1
            mod: tuple[int, ...] = ()
            if n.modulation_bias is not None:
                mod = (pos,)
                pos += 1
            out.append((tuple(groups), mod))
        return out

    def with_weights(self, flat: Sequence[float]) -> NetworkSpec:
        """A copy with the weights and biases replaced by ``flat`` (layout above)."""
        if len(flat) != self.weight_count:
            raise SpecError(f"expected {self.weight_count} weights, got {len(flat)}")
        pos = 0
        neurons = []
        for n in self.neurons:
            inputs = []
            for i in n.inputs:
                k = len(i.weights)
                inputs.append(replace(i, weights=tuple(float(w) for w in flat[pos : pos + k])))
                pos += k
            bias, mbias = n.bias, n.modulation_bias
            if bias is not None:
                bias = float(flat[pos])
                pos += 1
            if mbias is not None:
                mbias = float(flat[pos])
                pos += 1
            neurons.append(replace(n, inputs=tuple(inputs), bias=bias, modulation_bias=mbias))
        return NetworkSpec(self.sensors, tuple(neurons), self.actuators)
