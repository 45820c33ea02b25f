"""Pure cores of the phenotype's elements: a neuron's state machine and the cortex's cycle
accounting. No actors, no clock, no global RNG; the Thespian shells in
:mod:`actors.phenotype.elements` only move messages in and out of these.

:class:`NeuronCore` follows DXNN2's ``neuron.erl``: it gathers one signal per input link in
input order (a FIFO per link stands in for Erlang's selective receive; a neuron fed only by
recurrent links also waits for a clock signal from a sensor, so it fires once per cycle, on its
sources' outputs of the previous cycle), then aggregates,
activates, saturates to [-1, 1] and applies its plasticity rule -- all with the functions
registered in :mod:`actors.neural` (the same calls, in the same order, as
:class:`~actors.neural.reference.ReferenceNetwork`). Its weight sets mirror ``neuron.erl``'s
``si_pidps_bl`` (weights at the start of the evaluation), ``si_pidps_current`` (changed by
plasticity while running) and ``si_pidps_backup``, each weight with its momentum delta.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from actors.neural.activations import ACTIVATIONS, saturate_output
from actors.neural.aggregators import AGGREGATORS
from actors.neural.plasticity import HEREDITY_TYPES, PLASTICITY
from actors.neural.spec import NetworkSpec, NeuronSpec
from actors.phenotype.errors import PhenotypeProtocolError, PhenotypeUsageError
from actors.phenotype.perturb import perturb_blocks

__all__ = ["CortexCore", "CycleEnd", "NeuronCore", "clock_source"]


def clock_source(spec: NetworkSpec) -> str:
    """The sensor whose signal clocks the neurons fed only by recurrent links (their
    :attr:`NeuronCore.clock_slot`): the spec's first sensor, which fires once per cycle."""
    return spec.sensors[0].name


class NeuronCore:
    """One neuron's state (see the module docstring). Not thread-safe."""

    def __init__(self, spec: NeuronSpec, heredity: str = "darwinian") -> None:
        if heredity not in HEREDITY_TYPES:
            raise PhenotypeUsageError(f"heredity must be one of {HEREDITY_TYPES}")
        self.spec = spec
        self.heredity = heredity
        agg = AGGREGATORS.get(spec.aggregation)
        self._aggregate = agg.scalar
        self._stateful = agg.stateful
        self._act = ACTIVATIONS.get(spec.activation).scalar
        self._rule = None if spec.plasticity == "none" else PLASTICITY.get(spec.plasticity)
        self._segments: list[tuple[int, int]] = []
        wp: list[Sequence[float]] = []
        pos = 0
        for inp in spec.inputs:
            k = len(inp.weights)
            self._segments.append((pos, pos + k))
            pos += k
            wp.extend(inp.weight_params or [()] * k)
        self._wp = wp
        self._n_w = pos
        self._bias_at = pos if spec.bias is not None else -1
        self._signal_slots = pos + (spec.bias is not None)  # DXNN's input_idps
        self._mbias_at = self._signal_slots if spec.modulation_bias is not None else -1
        flat = [float(w) for i in spec.inputs for w in i.weights]
        if spec.bias is not None:
            flat.append(float(spec.bias))
        if spec.modulation_bias is not None:
            flat.append(float(spec.modulation_bias))
        self._current: list[float] = flat
        self._blocks: list[list[float]] | None = None  # per-input views of _current
        self.baseline: list[float] = list(flat)
        self.backup: list[float] = list(flat)
        self.deltas: list[float] = [0.0] * len(flat)
        self.backup_deltas: list[float] = [0.0] * len(flat)
        # A neuron fed only by recurrent links has its primed signals from the start: left
        # alone it would fire ahead of the cycle. It gets one more input, a clock slot fed by
        # a sensor (see clock_source), whose signal is waited for and then dropped, so that
        # it fires once per cycle like every other neuron.
        self.clock_slot: int | None = (
            len(spec.inputs) if all(i.recurrent for i in spec.inputs) else None
        )
        n_slots = len(spec.inputs) + (self.clock_slot is not None)
        self._queues: list[deque[Sequence[float]]] = [deque() for _ in range(n_slots)]
        self._missing = len(self._queues)
        self._prev: list[Sequence[float]] | None = None
        self.fired = 0

    @property
    def current(self) -> list[float]:
        """The weights in use (flat: inputs in order, then the bias). Read-only: change them
        with the methods below."""
        return self._current

    def _use(self, flat: list[float]) -> None:
        self._current = flat
        self._blocks = None

    @property
    def weight_count(self) -> int:
        return len(self._current)

    # -- signals -------------------------------------------------------------------------

    def receive(self, slot: int, values: Sequence[float]) -> float | None:
        """A signal on input ``slot``; returns the neuron's output if it fired now."""
        q = self._queues[slot]
        if not q:
            self._missing -= 1
        q.append(values)
        if self._missing:
            return None
        signals = []
        for q in self._queues:
            signals.append(q.popleft())
            if not q:
                self._missing += 1
        if self.clock_slot is not None:
            signals.pop()  # the clock's signal only says that a cycle has begun
        return self.fire(signals)

    def fire(self, signals: list[Sequence[float]]) -> float:
        """Compute the output for one signal per input (input order) and learn."""
        w = self._current
        weights = self._blocks
        if weights is None:
            weights = self._blocks = [w[a:b] for a, b in self._segments]
        bias = w[self._bias_at] if self._bias_at >= 0 else None
        if self._stateful:
            total = self._aggregate(signals, weights, bias, self._prev)
            self._prev = signals
        else:
            total = self._aggregate(signals, weights, bias, None)
        out = saturate_output(self._act(total))
        rule = self._rule
        if rule is not None:
            flat_x = [v for s in signals for v in s]
            # neuron.erl: the modulatory signal sat(tanh(modulatory dot + bias), pi); DXNN2's
            # neurons have at most a modulation bias (see actors.neural.plasticity)
            m = math.tanh(w[self._mbias_at]) if self._mbias_at >= 0 else 0.0
            new_w, new_b = rule.scalar(
                m, self.spec.neural_params, flat_x, w[: self._n_w], self._wp, bias,
                self.spec.bias_params, out,
            )  # fmt: skip
            w[: self._n_w] = new_w
            if self._bias_at >= 0 and new_b is not None:
                w[self._bias_at] = new_b
            self._blocks = None
        self.fired += 1
        return out

    def reset(self) -> None:
        """DXNN's ``reset_prep``: forget buffered signals and diff_product memory."""
        for q in self._queues:
            q.clear()
        self._missing = len(self._queues)
        self._prev = None
        self.fired = 0

    # -- weights (neuron.erl's weight_backup / weight_restore / weight_perturb) -------------

    def weight_backup(self) -> None:
        """Darwinian: back up the evaluation's starting weights; lamarckian: the learned ones."""
        self.backup = list(self.baseline if self.heredity == "darwinian" else self._current)
        self.backup_deltas = list(self.deltas)

    def weight_restore(self) -> None:
        self.baseline = list(self.backup)
        self._use(list(self.backup))
        self.deltas = list(self.backup_deltas)

    def weight_perturb(self, spread: float, rng: random.Random) -> None:
        """Perturb the backed-up weights and use them. As ``neuron.erl``: first the signal
        blocks (each input, then the bias), then the modulation block (the modulation bias)
        in a second call with the same generator."""
        bw, bd = self.backup, self.backup_deltas
        blocks = [(bw[a:b], bd[a:b]) for a, b in self._segments]
        if self._bias_at >= 0:
            blocks.append(([bw[self._bias_at]], [bd[self._bias_at]]))
        new = perturb_blocks(blocks, spread, rng)
        if self._mbias_at >= 0:
            k = self._mbias_at
            new += perturb_blocks([([bw[k]], [bd[k]])], spread, rng)
        self._use([v for ws, _ in new for v in ws])
        self.deltas = [v for _, ds in new for v in ds]
        self.baseline = list(self._current)

    def set_weights(self, flat: Sequence[float]) -> None:
        """Replace the current and baseline weights (flat layout); backup and deltas kept."""
        if len(flat) != len(self._current):
            raise PhenotypeUsageError(
                f"neuron {self.spec.id!r} has {len(self._current)} weights, got {len(flat)}"
            )
        self._use([float(v) for v in flat])
        self.baseline = list(self._current)


@dataclass(frozen=True, slots=True)
class CycleEnd:
    """What the cortex does once every actuator has synced: ``done`` (with the totals) or
    start cycle ``next_cycle``."""

    done: bool
    next_cycle: int
    outputs: tuple[float, ...]
    fitness: float
    goal_reached: bool


class CortexCore:
    """The cortex's cycle accounting (``cortex.erl``'s loop): waits for one sync per
    actuator, sums fitness in actuator order (so the total is the same whatever the
    arrival order), ends on a halt flag or after ``max_cycles``."""

    def __init__(self, n_actuators: int) -> None:
        self.n = n_actuators
        self.cycle = 0
        self.max_cycles = 0
        self.fitness = 0.0
        self.goal_reached = False
        self._got: list[tuple[tuple[float, ...], float, bool, bool] | None] = [None] * self.n
        self._count = 0

    def start(self, max_cycles: int) -> int:
        """Begin a run of at most ``max_cycles`` cycles; returns the first cycle number."""
        self.max_cycles = max_cycles
        self.fitness = 0.0
        self.goal_reached = False
        self.cycle = 1
        self._got = [None] * self.n
        self._count = 0
        return 1

    def actuator_sync(
        self, index: int, cycle: int, outputs: tuple[float, ...], fitness: float, halt: bool,
        goal: bool,
    ) -> CycleEnd | None:  # fmt: skip
        """Record one actuator's sync; a :class:`CycleEnd` once all are in."""
        if not 0 <= index < self.n or self._got[index] is not None:
            raise PhenotypeProtocolError(
                f"unexpected sync from actuator {index} for cycle {cycle} (at {self.cycle})"
            )
        self._got[index] = (outputs, fitness, halt, goal)
        self._count += 1
        if self._count < self.n:
            return None
        got = [g for g in self._got if g is not None]
        self._got = [None] * self.n
        self._count = 0
        halted = False
        for _, f, h, g in got:  # same order and sums as morphologies.run_episode
            self.fitness += f
            halted = halted or h
            self.goal_reached = g  # the scape's flag after the cycle's last action
        outputs_all = tuple(v for o, _, _, _ in got for v in o)
        done = halted or self.cycle >= self.max_cycles
        if not done:
            self.cycle += 1
        return CycleEnd(done, self.cycle, outputs_all, self.fitness, self.goal_reached)
