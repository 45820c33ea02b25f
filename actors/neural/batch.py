"""Batch evaluator: many copies of one network shape stepped together with numpy.

:class:`BatchNetwork` runs ``size`` independent copies of a spec's topology — the same network on
many episodes or cases, or a population of networks that share a shape but not their weights
(pass a ``(size, weight_count)`` weight array; :meth:`BatchNetwork.population` repeats each
network's weights over its episodes). Every copy has its own recurrent state, diff_product memory
and (with plasticity) its own drifting weights, so the copies are fully independent; one row of
the batch computes what :class:`~actors.neural.compiled.CompiledNetwork` computes.

Two modes. By default the nonlinear parts (activations, plasticity rules) use numpy's ufuncs,
whose transcendental functions (``tanh``, ``power``, ``log``) may differ from :mod:`math`'s in
the last bit, and plain dot-product neurons without plasticity are summed by numpy (``einsum``,
not DXNN's left-to-right order: again a last-bit difference). A chaotic network (recurrent,
plastic, large weights) can amplify that over many steps. With ``exact=True`` the registered
scalar functions are applied element by element and every sum runs in DXNN's order, which makes
each row bit-identical to :class:`~actors.neural.compiled.CompiledNetwork` (slower).

Note that a morphology that feeds cases *one after another* to one network (DXNN's XOR scape)
may only be batched over those cases when :attr:`NetworkSpec.is_stateless` holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from actors.neural.activations import ACTIVATIONS, elementwise
from actors.neural.aggregators import AGGREGATORS, Aggregator
from actors.neural.errors import SpecError
from actors.neural.plasticity import PLASTICITY, VectorRule, loop_vector
from actors.neural.spec import NetworkSpec

__all__ = ["BatchNetwork"]

Array = npt.NDArray[np.float64]


Index = npt.NDArray[np.intp]


@dataclass
class _Layer:
    """The neurons of one layer. They depend only on the inputs, earlier layers and the recurrent
    signals, so the fast ones are computed together as one (batched) matrix product."""

    generic: list[int]  # plan indices computed one by one
    fast: list[int]  # plan indices of the matrix group
    cols: Index  # value-matrix columns the group reads
    w_src: Index  # flat weight index of every (row, column) entry of the group's matrix
    w_row: Index
    w_col: Index
    b_src: Index  # flat index of each bias, and its column
    b_col: Index
    acts: list[tuple[Callable[[Array], Array], bool, Index]]  # activation, bounded, columns
    out_cols: Index  # value-matrix columns the group writes


@dataclass
class _Plan:
    """Precomputed per-neuron addressing."""

    spans: list[tuple[int, int]]  # column range of each input in the value matrix
    fast: bool  # plain dot product without plasticity: computed with its layer (fast mode)
    w_start: int
    fan_in: int
    has_bias: bool
    mbias_at: int  # flat index of the modulation bias, -1 without one
    act: Callable[[Array], Array]
    bounded: bool
    agg: Aggregator
    rule: VectorRule | None
    npar: Array  # (1, n_neural)
    wp: Array  # (1, fan_in, n_weight)
    bp: Array | None  # (1, n_weight)


class BatchNetwork:
    """``size`` independent copies of one network shape. See the module docstring."""

    def __init__(
        self,
        spec: NetworkSpec,
        size: int,
        weights: npt.ArrayLike | None = None,
        *,
        exact: bool = False,
    ) -> None:
        if size < 1:
            raise SpecError("batch size must be at least 1")
        self.spec = spec
        self.size = size
        self._w = np.empty((size, spec.weight_count))
        self.set_weights(spec.flat_weights() if weights is None else weights)
        rec = sorted(
            {spec.neuron_index(i.source) for n in spec.neurons for i in n.inputs if i.recurrent}
        )
        self._rec_sources = np.array(rec, dtype=np.intp)
        slot = {k: j for j, k in enumerate(rec)}
        n_in, n_neurons = spec.input_size, len(spec.neurons)
        self._n_in = n_in
        sensor_at: dict[str, tuple[int, int]] = {}
        pos = 0
        for s in spec.sensors:
            sensor_at[s.name] = (pos, pos + s.vl)
            pos += s.vl
        self._plans: list[_Plan] = []
        offset = 0
        for n in spec.neurons:
            spans: list[tuple[int, int]] = []
            wp_rows: list[tuple[float, ...]] = []
            rule = PLASTICITY.get(n.plasticity)
            act = ACTIVATIONS.get(n.activation)
            for inp in n.inputs:
                if inp.source in sensor_at:
                    spans.append(sensor_at[inp.source])
                elif inp.recurrent:
                    c = n_in + n_neurons + slot[spec.neuron_index(inp.source)]
                    spans.append((c, c + 1))
                else:
                    c = n_in + spec.neuron_index(inp.source)
                    spans.append((c, c + 1))
                wp_rows.extend(inp.weight_params or [()] * len(inp.weights))
            wp = np.array(wp_rows, dtype=np.float64).reshape(1, n.fan_in, rule.n_weight)
            self._plans.append(
                _Plan(
                    spans=spans,
                    fast=not exact and n.aggregation == "dot_product" and n.plasticity == "none",
                    w_start=offset,
                    fan_in=n.fan_in,
                    has_bias=n.bias is not None,
                    mbias_at=(
                        offset + n.fan_in + (n.bias is not None)
                        if n.modulation_bias is not None
                        else -1
                    ),
                    act=elementwise(act.scalar) if exact else act.vector,
                    bounded=act.bounded,
                    agg=AGGREGATORS.get(n.aggregation),
                    rule=(
                        None
                        if n.plasticity == "none"
                        else (loop_vector(rule.scalar) if exact else rule.vector)
                    ),
                    npar=np.array(n.neural_params, dtype=np.float64).reshape(1, rule.n_neural),
                    wp=wp,
                    bp=(
                        np.array(n.bias_params, dtype=np.float64).reshape(1, rule.n_weight)
                        if n.bias is not None
                        else None
                    ),
                )
            )
            offset += n.weight_slots
        self._out_idx = n_in + np.array(
            [spec.neuron_index(src) for a in spec.actuators for src in a.sources], dtype=np.intp
        )
        self._width = n_in + n_neurons + len(rec)
        self._tanh = elementwise(math.tanh) if exact else np.tanh
        self._layers = self._group_layers(spec)
        self.reset()

    def _group_layers(self, spec: NetworkSpec) -> list[_Layer]:
        layers: list[_Layer] = []
        by_layer: dict[float, list[int]] = {}
        for k, n in enumerate(spec.neurons):
            by_layer.setdefault(float(n.layer), []).append(k)
        for members in by_layer.values():
            fast = [k for k in members if self._plans[k].fast]
            generic = [k for k in members if not self._plans[k].fast]
            cols = sorted({c for k in fast for a, b in self._plans[k].spans for c in range(a, b)})
            where = {c: r for r, c in enumerate(cols)}
            w_src, w_row, w_col, b_src, b_col = [], [], [], [], []
            act_cols: dict[int, list[int]] = {}
            for j, k in enumerate(fast):
                plan = self._plans[k]
                q = plan.w_start
                for a, b in plan.spans:
                    for c in range(a, b):
                        w_src.append(q)
                        w_row.append(where[c])
                        w_col.append(j)
                        q += 1
                if plan.has_bias:
                    b_src.append(q)
                    b_col.append(j)
                act_cols.setdefault(id(plan.act), []).append(j)
            acts = [
                (self._plans[fast[js[0]]].act, self._plans[fast[js[0]]].bounded, _idx(js))
                for js in act_cols.values()
            ]
            layers.append(
                _Layer(
                    generic, fast, _idx(cols), _idx(w_src), _idx(w_row), _idx(w_col),
                    _idx(b_src), _idx(b_col), acts, self._n_in + _idx(fast),
                )
            )  # fmt: skip
        return layers

    def _build_matrices(self) -> None:
        """(Re)build each layer group's weight matrix and bias row from the flat weights."""
        rows = 1 if self._shared else self.size
        w = self._w[:rows]
        self._mats: list[tuple[Array, Array]] = []
        for layer in self._layers:
            mat = np.zeros((rows, len(layer.cols), len(layer.fast)))
            mat[:, layer.w_row, layer.w_col] = w[:, layer.w_src]
            bias = np.zeros((rows, len(layer.fast)))
            bias[:, layer.b_col] = w[:, layer.b_src]
            self._mats.append((mat, bias))
        self._dirty = False

    @classmethod
    def population(
        cls, spec: NetworkSpec, weights: npt.ArrayLike, copies: int = 1, *, exact: bool = False
    ) -> BatchNetwork:
        """Networks of one shape with weights ``(P, weight_count)``, each run on ``copies``
        episodes: row ``p * copies + c`` is network ``p``, episode ``c``."""
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2:
            raise SpecError("population weights must be a (P, weight_count) array")
        return cls(spec, w.shape[0] * copies, np.repeat(w, copies, axis=0), exact=exact)

    def reset(self) -> None:
        """Zero every copy's recurrent signals and forget diff_product memory."""
        self._p = np.zeros((self.size, len(self._rec_sources)))
        self._prev: list[list[Array] | None] = [None] * len(self._plans)

    def get_weights(self) -> Array:
        """A copy of the current weights, ``(size, weight_count)``."""
        return self._w.copy()

    def set_weights(self, weights: npt.ArrayLike) -> None:
        """Set all copies' weights: a ``(weight_count,)`` vector (broadcast) or
        ``(size, weight_count)`` array."""
        w = np.asarray(weights, dtype=np.float64)
        try:
            w = np.broadcast_to(w, self._w.shape)
        except ValueError:
            raise SpecError(
                f"weights must have shape ({self.spec.weight_count},) or {self._w.shape}"
            ) from None
        if not np.all(np.isfinite(w)):
            raise SpecError("weights must be finite")
        self._w[...] = w
        self._shared = np.asarray(weights).ndim == 1
        self._dirty = True

    def step(self, x: npt.ArrayLike) -> Array:
        """One cycle for every copy: ``x`` is ``(size, input_size)``; returns
        ``(size, output_size)`` (actuator vectors concatenated in spec order)."""
        xa = np.asarray(x, dtype=np.float64)
        if xa.shape != (self.size, self.spec.input_size):
            raise SpecError(f"inputs must have shape {(self.size, self.spec.input_size)}")
        size, n_in = self.size, self._n_in
        v = np.empty((size, self._width))  # [inputs | this step's outputs | recurrent signals]
        v[:, :n_in] = xa
        v[:, n_in + len(self._plans) :] = self._p
        if self._dirty:
            self._build_matrices()
        for layer, (mat, bias) in zip(self._layers, self._mats, strict=True):
            if layer.fast:
                vin = v[:, layer.cols]
                if self._shared:
                    total = vin @ mat[0] + bias[0]
                else:
                    total = np.einsum("ec,ecn->en", vin, mat) + bias
                for fn, bounded, js in layer.acts:
                    out = fn(total[:, js])
                    v[:, layer.out_cols[js]] = out if bounded else np.clip(out, -1.0, 1.0)
            for k in layer.generic:
                self._neuron(k, v)
        if len(self._rec_sources):
            self._p = v[:, n_in + self._rec_sources]
        return v[:, self._out_idx]

    def _neuron(self, k: int, v: Array) -> None:
        """One neuron computed on its own (DXNN's summation order), plasticity included."""
        plan = self._plans[k]
        size, w_all = self.size, self._w
        a = plan.w_start
        bias = w_all[:, a + plan.fan_in] if plan.has_bias else None
        signals = [v[:, s0:s1] for s0, s1 in plan.spans]
        ws: list[Array] = []
        for sig in signals:
            ws.append(w_all[:, a : a + sig.shape[1]])
            a += sig.shape[1]
        if plan.agg.stateful:
            total = plan.agg.vector(signals, ws, bias, self._prev[k])
            self._prev[k] = [sig.copy() for sig in signals]
        else:
            total = plan.agg.vector(signals, ws, bias, None)
        out = plan.act(np.broadcast_to(total, (size,)))
        col = self._n_in + k
        v[:, col] = out if plan.bounded else np.clip(out, -1.0, 1.0)
        if plan.rule is not None:
            self._plasticity(plan, signals, bias, v[:, col])

    def _plasticity(
        self, plan: _Plan, signals: list[Array], bias: Array | None, out: Array
    ) -> None:
        assert plan.rule is not None
        size = self.size
        a, b = plan.w_start, plan.w_start + plan.fan_in
        x = np.concatenate(signals, axis=1)
        wp = np.broadcast_to(plan.wp, (size, *plan.wp.shape[1:]))
        npar = np.broadcast_to(plan.npar, (size, plan.npar.shape[1]))
        bp = None if plan.bp is None else np.broadcast_to(plan.bp, (size, plan.bp.shape[1]))
        m = (
            self._tanh(self._w[:, plan.mbias_at]) if plan.mbias_at >= 0 else np.zeros(size)
        )  # neuron.erl: sat(tanh(modulatory aggregate), pi)
        new_w, new_b = plan.rule(
            m,
            npar,
            x,
            self._w[:, a:b].copy(),
            wp,
            None if bias is None else bias.copy(),
            bp,
            out.copy(),
        )
        self._w[:, a:b] = new_w
        if plan.has_bias and new_b is not None:
            self._w[:, b] = new_b


def _idx(values: list[int]) -> Index:
    return np.array(values, dtype=np.intp)
