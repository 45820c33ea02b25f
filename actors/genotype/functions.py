"""Names of the functions a genotype refers to, and the plasticity parameter shapes.

A genotype names its activation, aggregation and plasticity functions by string; the
numeric implementations live in the neural package. The sets here are the names a
genotype may carry (DXNN2 ``functions.erl``, ``signal_aggregator.erl``, ``plasticity.erl``);
a :class:`~actors.genotype.constraint.Constraint` picks the subset an agent may use.

Plasticity parameter shapes follow DXNN2 ``plasticity.erl`` exactly: each rule has
*neural* parameters (one list per neuron, kept in :attr:`Neuron.pf_params`) and *weight*
parameters (one list per synaptic weight, kept in :attr:`Weight.params`):

==================== ======================== ========================== ======================
rule                 neural parameters        weight parameters          mutated by
==================== ======================== ========================== ======================
none                 ``[]``                   ``[]``                     (not applicable)
hebbian_w            ``[]``                   ``[H]``                    weight params
hebbian              ``[H]``                  ``[]``                     neural params
ojas_w               ``[]``                   ``[H]``                    weight params
ojas                 ``[H]``                  ``[]``                     neural params
self_modulationV1    ``[A=0.1, B=0, C=0, D=0]`` ``[H]``                  weight params
self_modulationV2    ``[A~U, B=0, C=0, D=0]`` ``[H]``                    A (p=0.5) + weight
self_modulationV3    ``[A, B, C, D]`` ~U      ``[H]``                    neural + weight
self_modulationV4    ``[B=0, C=0, D=0]``      ``[H, A]``                 weight params
self_modulationV5    ``[B, C, D]`` ~U         ``[H, A]``                 neural + weight
self_modulationV6    ``[]``                   ``[H, A, B, C, D]``        weight params
neuromodulation      ``[H, A, B, C, D]`` ~U   ``[]``                     neural params
==================== ======================== ========================== ======================

``~U`` means uniform in [-0.5, 0.5). Neural parameters are perturbed within ±2π·10 and
weight parameters within ±2π (DXNN2 ``?SAT_LIMIT``), saturating at those bounds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from actors.neural.plasticity import HEREDITY_TYPES

__all__ = [
    "ACTIVATION_FUNCTIONS",
    "AGGREGATION_FUNCTIONS",
    "ANNEALING_LIMITS",
    "HEREDITY_TYPES",
    "PLASTICITY_RULES",
    "SAT_LIMIT",
    "TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS",
    "TUNING_DURATION_FUNCTIONS",
    "TUNING_SELECTION_FUNCTIONS",
    "PlasticityRule",
]

#: DXNN2 ``?SAT_LIMIT``: weights saturate at ±2π; a weight perturbation spans ±π.
SAT_LIMIT = 2.0 * math.pi

#: Activation functions a neuron may name (DXNN2 ``functions.erl`` plus ``relu``).
ACTIVATION_FUNCTIONS: frozenset[str] = frozenset(
    {
        "tanh",
        "cos",
        "sin",
        "gaussian",
        "absolute",
        "sgn",
        "bin",
        "trinary",
        "multiquadric",
        "linear",
        "quadratic",
        "sqrt",
        "log",
        "sigmoid",
        "sigmoid1",
        "relu",
    }
)

#: Aggregation functions (DXNN2 ``signal_aggregator.erl``).
AGGREGATION_FUNCTIONS: frozenset[str] = frozenset({"dot_product", "mult_product", "diff_product"})

#: Tuning selection functions (DXNN2 ``tuning_selection.erl``).
TUNING_SELECTION_FUNCTIONS: frozenset[str] = frozenset(
    {
        "dynamic",
        "dynamic_random",
        "active",
        "active_random",
        "current",
        "current_random",
        "all",
        "all_random",
    }
)

#: Tuning duration functions (DXNN2 ``tuning_duration.erl``), each with one numeric parameter.
TUNING_DURATION_FUNCTIONS: frozenset[str] = frozenset(
    {"const", "nsize_proportional", "wsize_proportional"}
)

#: Functions giving the number of mutation operators per offspring (DXNN2
#: ``tot_topological_mutations.erl``): ``ncount_exponential`` draws uniformly in
#: 1..round(N**p); ``ncount_linear`` gives max(1, round(N*p)), N = number of neurons.
TOT_TOPOLOGICAL_MUTATIONS_FUNCTIONS: frozenset[str] = frozenset(
    {"ncount_exponential", "ncount_linear"}
)

#: Annealing parameters must lie in (0, 1].
ANNEALING_LIMITS = (0.0, 1.0)


def _u(rng: random.Random) -> float:
    return rng.random() - 0.5


@dataclass(frozen=True, slots=True)
class PlasticityRule:
    """Parameter shapes and mutation behaviour of one plasticity function.

    ``neural_init`` / ``weight_init`` are the initial values; an entry ``None`` is drawn
    uniformly in [-0.5, 0.5). ``mutate_neural`` / ``mutate_weights`` say which parameter
    lists :func:`mutate_plasticity_parameters` perturbs; ``neural_probability`` overrides
    the per-parameter probability 1/sqrt(n) (self_modulationV2 perturbs only A, p=0.5).
    """

    name: str
    neural_init: tuple[float | None, ...]
    weight_init: tuple[float | None, ...]
    mutate_neural: bool
    mutate_weights: bool
    neural_mutable_count: int | None = None
    neural_probability: float | None = None

    @property
    def neural_len(self) -> int:
        return len(self.neural_init)

    @property
    def weight_len(self) -> int:
        return len(self.weight_init)

    @property
    def mutable(self) -> bool:
        return self.mutate_neural or self.mutate_weights

    def neural_parameters(self, rng: random.Random) -> tuple[float, ...]:
        """Fresh neuron-level parameters (DXNN2 ``PF(neural_parameters)``)."""
        return tuple(_u(rng) if v is None else v for v in self.neural_init)

    def weight_parameters(self, rng: random.Random) -> tuple[float, ...]:
        """Fresh per-weight parameters (DXNN2 ``PF(weight_parameters)``)."""
        return tuple(_u(rng) if v is None else v for v in self.weight_init)


_U = None
PLASTICITY_RULES: dict[str, PlasticityRule] = {
    r.name: r
    for r in (
        PlasticityRule("none", (), (), False, False),
        PlasticityRule("hebbian_w", (), (_U,), False, True),
        PlasticityRule("hebbian", (_U,), (), True, False),
        PlasticityRule("ojas_w", (), (_U,), False, True),
        PlasticityRule("ojas", (_U,), (), True, False),
        PlasticityRule("self_modulationV1", (0.1, 0.0, 0.0, 0.0), (_U,), False, True),
        PlasticityRule(
            "self_modulationV2",
            (_U, 0.0, 0.0, 0.0),
            (_U,),
            True,
            True,
            neural_mutable_count=1,
            neural_probability=0.5,
        ),
        PlasticityRule("self_modulationV3", (_U, _U, _U, _U), (_U,), True, True),
        PlasticityRule("self_modulationV4", (0.0, 0.0, 0.0), (_U, _U), False, True),
        PlasticityRule("self_modulationV5", (_U, _U, _U), (_U, _U), True, True),
        PlasticityRule("self_modulationV6", (), (_U, _U, _U, _U, _U), False, True),
        PlasticityRule("neuromodulation", (_U, _U, _U, _U, _U), (), True, False),
    )
}
