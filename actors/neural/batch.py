"""Batch evaluator: many copies of one network shape stepped together with numpy.

:class:`BatchNetwork` runs ``size`` independent copies of a spec's topology — the same network on
many episodes or cases, or a population of networks that share a shape but not their weights
(pass a ``(size, weight_count)`` weight array; :meth:`BatchNetwork.population` repeats each
network's weights over its episodes). Every copy has its own recurrent state, diff_product memory
and (with plasticity) its own drifting weights, so the copies are fully independent; one row of
the batch computes what :class:`~actors.neural.compiled.CompiledNetwork` computes (same
formulas, same floating-point order of the aggregates).

Two modes. By default the nonlinear parts (activations, plasticity rules) use numpy's ufuncs,
whose transcendental functions (``tanh``, ``power``, ``log``) may differ from :mod:`math`'s in
the last bit; a chaotic network (recurrent, plastic, large weights) can amplify that over many
steps. With ``exact=True`` they apply the registered scalar functions element by element, which
makes every row bit-identical to :class:`~actors.neural.compiled.CompiledNetwork` (slower; the
linear algebra stays vectorised).

Note that a morphology that feeds cases *one after another* to one network (DXNN's XOR scape)
may only be batched over those cases when :attr:`NetworkSpec.is_stateless` holds.
"""

from __future__ import annotations

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


@dataclass
class _Plan:
    """Precomputed per-neuron addressing."""

    sources: list[tuple[str, int, int]]  # ("x", start, stop) | ("o", idx, 0) | ("p", slot, 0)
    w_start: int
    fan_in: int
    has_bias: bool
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
        sensor_at: dict[str, tuple[int, int]] = {}
        pos = 0
        for s in spec.sensors:
            sensor_at[s.name] = (pos, pos + s.vl)
            pos += s.vl
        self._plans: list[_Plan] = []
        offset = 0
        for n in spec.neurons:
            srcs: list[tuple[str, int, int]] = []
            wp_rows: list[tuple[float, ...]] = []
            rule = PLASTICITY.get(n.plasticity)
            act = ACTIVATIONS.get(n.activation)
            for inp in n.inputs:
                if inp.source in sensor_at:
                    srcs.append(("x", *sensor_at[inp.source]))
                elif inp.recurrent:
                    srcs.append(("p", slot[spec.neuron_index(inp.source)], 0))
                else:
                    srcs.append(("o", spec.neuron_index(inp.source), 0))
                wp_rows.extend(inp.weight_params or [()] * len(inp.weights))
            wp = np.array(wp_rows, dtype=np.float64).reshape(1, n.fan_in, rule.n_weight)
            self._plans.append(
                _Plan(
                    sources=srcs,
                    w_start=offset,
                    fan_in=n.fan_in,
                    has_bias=n.bias is not None,
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
            offset += n.fan_in + (n.bias is not None)
        self._out_idx = np.array(
            [spec.neuron_index(src) for a in spec.actuators for src in a.sources], dtype=np.intp
        )
        self.reset()

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

    def step(self, x: npt.ArrayLike) -> Array:
        """One cycle for every copy: ``x`` is ``(size, input_size)``; returns
        ``(size, output_size)`` (actuator vectors concatenated in spec order)."""
        xa = np.asarray(x, dtype=np.float64)
        if xa.shape != (self.size, self.spec.input_size):
            raise SpecError(f"inputs must have shape {(self.size, self.spec.input_size)}")
        size = self.size
        o = np.empty((size, len(self._plans)))
        w_all = self._w
        p = self._p
        for k, plan in enumerate(self._plans):
            signals: list[Array] = []
            for kind, a, b in plan.sources:
                if kind == "x":
                    signals.append(xa[:, a:b])
                elif kind == "o":
                    signals.append(o[:, a : a + 1])
                else:
                    signals.append(p[:, a : a + 1])
            ws: list[Array] = []
            pos = plan.w_start
            for sig in signals:
                ws.append(w_all[:, pos : pos + sig.shape[1]])
                pos += sig.shape[1]
            bias = w_all[:, pos] if plan.has_bias else None
            if plan.agg.stateful:
                total = plan.agg.vector(signals, ws, bias, self._prev[k])
                self._prev[k] = [s.copy() for s in signals]
            else:
                total = plan.agg.vector(signals, ws, bias, None)
            out = plan.act(np.broadcast_to(total, (size,)))
            if not plan.bounded:
                out = np.clip(out, -1.0, 1.0)
            o[:, k] = out
            if plan.rule is not None:
                self._plasticity(plan, signals, bias, o[:, k])
        if len(self._rec_sources):
            self._p = o[:, self._rec_sources]
        return o[:, self._out_idx]

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
        new_w, new_b = plan.rule(
            np.zeros(size),
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
