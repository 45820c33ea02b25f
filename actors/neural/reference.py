"""A plain, obviously-correct evaluator of a :class:`NetworkSpec` by message passing.

It simulates DXNN's actors literally, without using the spec's neuron order: every link is a FIFO
queue; at construction and after :meth:`ReferenceNetwork.reset` each recurrent link is primed with
one zero signal (``neuron.erl``: ``fanout(RO_PIds, {self(), forward, [0]})``); a step pushes the
sensor vectors onto their links and then repeatedly fires *any* neuron whose every input queue
holds a signal and that has not fired yet in this step (the last such neuron in spec order, or a
random one when an rng is given: the order does not matter), taking one signal per input in
input order, until no neuron can fire. Every neuron fires exactly once per step: a neuron fed
only by recurrent links is ready from the start of a step (its queues hold the previous step's
signals, or the primed zeros) and fires once, like the others (``neuron.erl`` under the
cortex's sense-think-act cycle). A fired neuron aggregates,
applies its activation, saturates to [-1, 1], sends its output on all its outgoing links, and then
applies its plasticity rule (the new weights are used from the next step).

It exists to check the compiled evaluators and the actor phenotype; it is slow by design.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Mapping, Sequence

from actors.neural.activations import ACTIVATIONS, saturate_output
from actors.neural.aggregators import AGGREGATORS
from actors.neural.errors import SpecError
from actors.neural.plasticity import PLASTICITY
from actors.neural.spec import NetworkSpec

__all__ = ["ReferenceNetwork"]


class ReferenceNetwork:
    """Message-passing evaluator. Not thread-safe; one instance per network."""

    def __init__(self, spec: NetworkSpec, rng: random.Random | None = None) -> None:
        """``rng`` (optional) picks which ready neuron fires next at random, to show that the
        result does not depend on the order in which messages happen to be processed."""
        self.spec = spec
        self._rng = rng
        # per neuron: list of weight vectors (mutable), bias
        self._weights: list[list[list[float]]] = [
            [list(i.weights) for i in n.inputs] for n in spec.neurons
        ]
        self._bias: list[float | None] = [n.bias for n in spec.neurons]
        self._mbias: list[float | None] = [n.modulation_bias for n in spec.neurons]
        # links: (target neuron index, input position) per source id; actuators separately
        self._out_links: dict[str, list[tuple[int, int]]] = {}
        for t, n in enumerate(spec.neurons):
            for pos, inp in enumerate(n.inputs):
                self._out_links.setdefault(inp.source, []).append((t, pos))
        self._act_links: dict[str, list[tuple[int, int]]] = {}
        for a_i, a in enumerate(spec.actuators):
            for pos, src in enumerate(a.sources):
                self._act_links.setdefault(src, []).append((a_i, pos))
        self.reset()

    def reset(self) -> None:
        """Empty every queue, forget diff_product memory and prime recurrent links with 0."""
        self._queues: list[list[deque[list[float]]]] = [
            [deque() for _ in n.inputs] for n in self.spec.neurons
        ]
        self._act_queues: list[list[deque[float]]] = [
            [deque() for _ in a.sources] for a in self.spec.actuators
        ]
        self._prev: list[list[list[float]] | None] = [None] * len(self.spec.neurons)
        for n_i, n in enumerate(self.spec.neurons):
            for pos, inp in enumerate(n.inputs):
                if inp.recurrent:
                    self._queues[n_i][pos].append([0.0])

    def weights(self) -> list[float]:
        """Current weights and biases in the spec's flat layout."""
        out: list[float] = []
        for ws, b, mb in zip(self._weights, self._bias, self._mbias, strict=True):
            for w in ws:
                out.extend(w)
            if b is not None:
                out.append(b)
            if mb is not None:
                out.append(mb)
        return out

    def step(self, inputs: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
        """One sense-think-act cycle: sensor name → vector in, actuator name → vector out."""
        for s in self.spec.sensors:
            vec = [float(v) for v in inputs[s.name]]
            if len(vec) != s.vl:
                raise SpecError(f"sensor {s.name!r} expects {s.vl} values, got {len(vec)}")
            for t, pos in self._out_links.get(s.name, []):
                self._queues[t][pos].append(vec)
        waiting = set(range(len(self.spec.neurons)))
        while True:
            ready = [
                k
                for k in range(len(self.spec.neurons) - 1, -1, -1)
                if k in waiting and all(self._queues[k])
            ]
            if not ready:
                break
            k = ready[0] if self._rng is None else self._rng.choice(ready)
            waiting.discard(k)
            self._fire(k)
        outs: dict[str, list[float]] = {}
        for a, queues in zip(self.spec.actuators, self._act_queues, strict=True):
            if not all(queues):
                raise SpecError(f"actuator {a.name!r} did not receive all its signals")
            outs[a.name] = [q.popleft() for q in queues]
        return outs

    def _fire(self, k: int) -> None:
        n = self.spec.neurons[k]
        signals = [q.popleft() for q in self._queues[k]]
        agg = AGGREGATORS.get(n.aggregation)
        weights = self._weights[k]
        bias = self._bias[k]
        total = agg.scalar(signals, weights, bias, self._prev[k] if agg.stateful else None)
        if agg.stateful:
            self._prev[k] = signals
        out = saturate_output(ACTIVATIONS.get(n.activation).scalar(total))
        for t, pos in self._out_links.get(n.id, []):
            self._queues[t][pos].append([out])
        for a_i, pos in self._act_links.get(n.id, []):
            self._act_queues[a_i][pos].append(out)
        if n.plasticity != "none":
            rule = PLASTICITY.get(n.plasticity)
            flat_x = [v for sig in signals for v in sig]
            flat_w = [v for w in weights for v in w]
            wp: list[Sequence[float]] = []
            for inp in n.inputs:
                wp.extend(inp.weight_params or [()] * len(inp.weights))
            mb = self._mbias[k]
            m = 0.0 if mb is None else math.tanh(mb)  # neuron.erl: sat(tanh(modulation), pi)
            new_w, new_b = rule.scalar(
                m, n.neural_params, flat_x, flat_w, wp, bias, n.bias_params, out
            )
            pos = 0
            for w in weights:
                w[:] = new_w[pos : pos + len(w)]
                pos += len(w)
            self._bias[k] = new_b
