"""Compiled single-network evaluator: the spec becomes one straight-line Python function.

For one network at a time numpy's per-call overhead dominates, so :class:`CompiledNetwork`
generates Python source with one expression per neuron (weights unpacked into locals at the top
of each step) and compiles it once. Neurons that need more than a dot product and a built-in
activation (plasticity, ``diff_product`` / ``mult_product``, user plugins) are compiled to a call
of a small per-neuron object that uses the registered scalar functions.

Semantics are exactly those of :mod:`actors.neural.spec` (and of
:class:`~actors.neural.reference.ReferenceNetwork`): neurons in spec order; recurrent inputs read
the previous step's output (zero after construction / :meth:`CompiledNetwork.reset`); aggregates
in DXNN's floating-point order; outputs saturated to [-1, 1]; plasticity after the output.

Weights: :meth:`get_weights` / :meth:`set_weights` use the spec's flat layout (weights of each
input in order, then the bias, neuron after neuron). With plasticity the weights change while the
network runs: read them before an evaluation to keep a baseline (DXNN's darwinian backup), after
it for the learned ones (lamarckian).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from actors.neural.activations import ACTIVATIONS, saturate_output
from actors.neural.aggregators import AGGREGATORS
from actors.neural.errors import SpecError
from actors.neural.plasticity import PLASTICITY
from actors.neural.spec import NetworkSpec, NeuronSpec

__all__ = ["CompiledNetwork"]


class _GenericNeuron:
    """Evaluates one non-trivial neuron from the registries, updating the shared weight list."""

    __slots__ = (
        "act",
        "agg",
        "bias_at",
        "mbias_at",
        "npar",
        "prev",
        "rule",
        "segments",
        "spec",
        "w",
        "wp",
    )

    def __init__(self, spec: NeuronSpec, w: list[float], offset: int) -> None:
        self.spec = spec
        self.w = w
        self.agg = AGGREGATORS.get(spec.aggregation)
        self.act = ACTIVATIONS.get(spec.activation).scalar
        self.rule = None if spec.plasticity == "none" else PLASTICITY.get(spec.plasticity)
        self.npar = spec.neural_params
        self.segments: list[tuple[int, int]] = []
        wp: list[Sequence[float]] = []
        for inp in spec.inputs:
            k = len(inp.weights)
            self.segments.append((offset, offset + k))
            offset += k
            wp.extend(inp.weight_params or [()] * k)
        self.wp = wp
        self.bias_at = offset if spec.bias is not None else -1
        self.mbias_at = offset + (spec.bias is not None) if spec.modulation_bias is not None else -1
        self.prev: list[list[float]] | None = None

    def __call__(self, signals: list[list[float]]) -> float:
        w = self.w
        weights = [w[a:b] for a, b in self.segments]
        bias = w[self.bias_at] if self.bias_at >= 0 else None
        if self.agg.stateful:
            total = self.agg.scalar(signals, weights, bias, self.prev)
            self.prev = signals
        else:
            total = self.agg.scalar(signals, weights, bias, None)
        out = saturate_output(self.act(total))
        rule = self.rule
        if rule is not None:
            flat_x = [v for s in signals for v in s]
            a0, b0 = self.segments[0][0], self.segments[-1][1]
            m = math.tanh(w[self.mbias_at]) if self.mbias_at >= 0 else 0.0
            new_w, new_b = rule.scalar(
                m, self.npar, flat_x, w[a0:b0], self.wp, bias, self.spec.bias_params, out
            )
            w[a0:b0] = new_w
            if self.bias_at >= 0 and new_b is not None:
                w[self.bias_at] = new_b
        return out


def _act_expr(name: str, s: str) -> str:
    if name == "tanh":
        return f"_tanh({s})"
    if name == "linear":
        return s
    return f"_act_{name}({s})"


class CompiledNetwork:
    """One network compiled to straight-line Python. See the module docstring."""

    def __init__(self, spec: NetworkSpec) -> None:
        self.spec = spec
        self._w: list[float] = spec.flat_weights()
        self._generic: list[_GenericNeuron] = []
        self._rec_sources = sorted(
            {spec.neuron_index(i.source) for n in spec.neurons for i in n.inputs if i.recurrent}
        )
        self._p: list[float] = [0.0] * len(self._rec_sources)
        self.source = self._generate()
        namespace: dict[str, Any] = {
            "_tanh": math.tanh,
            "_G": self._generic,
            "W": self._w,
            "P": self._p,
        }
        for name in ACTIVATIONS:
            namespace[f"_act_{name}"] = ACTIVATIONS.get(name).scalar
        exec(compile(self.source, f"<compiled network {id(self):x}>", "exec"), namespace)
        #: The fast path: one cycle on the concatenated sensor vector, returning the concatenated
        #: actuator vectors. The generated function itself (weights and state bound to it), so a
        #: call costs no extra indirection; no validation beyond Python's own unpacking.
        self.step_flat: Callable[[Sequence[float]], list[float]] = namespace["step"]

    # ----------------------------------------------------------------- code generation

    def _generate(self) -> str:
        spec = self.spec
        rec_slot = {k: j for j, k in enumerate(self._rec_sources)}
        sensor_vars: dict[str, list[str]] = {}
        xs: list[str] = []
        for s in spec.sensors:
            names = [f"x{len(xs) + j}" for j in range(s.vl)]
            sensor_vars[s.name] = names
            xs.extend(names)
        nw = spec.weight_count
        used = sorted({n.activation for n in spec.neurons})
        binds = ", ".join(
            ["W=W", "P=P", "_G=_G", "_tanh=_tanh", *(f"_act_{a}=_act_{a}" for a in used)]
        )
        lines = [f"def step(x, {binds}):"]
        lines.append(f"    {', '.join(xs)}, = x")
        if nw:
            lines.append(f"    {', '.join(f'w{j}' for j in range(nw))}, = W")
        offset = 0
        for k, n in enumerate(spec.neurons):
            srcs: list[list[str]] = []
            for inp in n.inputs:
                if inp.source in sensor_vars:
                    srcs.append(sensor_vars[inp.source])
                elif inp.recurrent:
                    srcs.append([f"P[{rec_slot[spec.neuron_index(inp.source)]}]"])
                else:
                    srcs.append([f"o{spec.neuron_index(inp.source)}"])
            simple = n.plasticity == "none" and n.aggregation == "dot_product"
            if simple:
                pos = offset
                dots = []
                for vec in srcs:
                    terms = []
                    for v in vec:
                        terms.append(f"{v}*w{pos}")
                        pos += 1
                    dots.append("(" + " + ".join(terms) + ")")
                total = " + ".join(dots)
                if n.bias is not None:
                    total += f" + w{pos}"
                expr = _act_expr(n.activation, total)
                lines.append(f"    o{k} = {expr}")
                if not ACTIVATIONS.get(n.activation).bounded:
                    lines.append(
                        f"    o{k} = -1.0 if o{k} < -1.0 else (1.0 if o{k} > 1.0 else o{k})"
                    )
            else:
                g = len(self._generic)
                self._generic.append(_GenericNeuron(n, self._w, offset))
                sig = ", ".join("[" + ", ".join(vec) + "]" for vec in srcs)
                lines.append(f"    o{k} = _G[{g}]([{sig}])")
            offset += n.weight_slots
        if self._rec_sources:
            lines.append(f"    P[:] = [{', '.join(f'o{k}' for k in self._rec_sources)}]")
        outs = [f"o{spec.neuron_index(src)}" for a in spec.actuators for src in a.sources]
        lines.append(f"    return [{', '.join(outs)}]")
        return "\n".join(lines) + "\n"

    # ----------------------------------------------------------------- running

    def step(self, inputs: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        """One cycle with named sensor vectors in, named actuator vectors out."""
        flat: list[float] = []
        for s in self.spec.sensors:
            vec = inputs[s.name]
            if len(vec) != s.vl:
                raise SpecError(f"sensor {s.name!r} expects {s.vl} values, got {len(vec)}")
            flat.extend(float(v) for v in vec)
        out = self.step_flat(flat)
        res: dict[str, list[float]] = {}
        pos = 0
        for a in self.spec.actuators:
            res[a.name] = out[pos : pos + len(a.sources)]
            pos += len(a.sources)
        return res

    def reset(self) -> None:
        """Zero the recurrent signals and forget diff_product memory (weights are kept)."""
        self._p[:] = [0.0] * len(self._p)
        for g in self._generic:
            g.prev = None

    def get_weights(self) -> list[float]:
        """A copy of the current weights and biases (flat layout)."""
        return list(self._w)

    def set_weights(self, flat: Sequence[float]) -> None:
        """Replace the weights and biases (flat layout); the recurrent state is kept."""
        if len(flat) != len(self._w):
            raise SpecError(f"expected {len(self._w)} weights, got {len(flat)}")
        vals = [float(v) for v in flat]
        if not all(math.isfinite(v) for v in vals):
            raise SpecError("weights must be finite")
        self._w[:] = vals
