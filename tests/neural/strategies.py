"""Hypothesis strategies for random :class:`NetworkSpec` s (recurrent and plastic ones included).

Shared by the evaluator equivalence tests (and usable by the actor phenotype's).
"""

from __future__ import annotations

from hypothesis import strategies as st

from actors.neural.activations import ACTIVATIONS
from actors.neural.plasticity import PLASTICITY
from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec

BUILTIN_ACTIVATIONS = (
    "tanh", "cos", "sin", "gaussian", "sigmoid", "sigmoid1", "sgn", "bin", "bip", "trinary",
    "multiquadric", "absolute", "linear", "quadratic", "sqrt", "log",
)  # fmt: skip
CONTINUOUS_ACTIVATIONS = tuple(
    a for a in BUILTIN_ACTIVATIONS if a not in {"sgn", "bin", "bip", "trinary"}
)
BUILTIN_RULES = (
    "none", "hebbian", "hebbian_w", "ojas", "ojas_w", "neuromodulation",
    "self_modulationV1", "self_modulationV2", "self_modulationV3",
    "self_modulationV4", "self_modulationV5", "self_modulationV6",
)  # fmt: skip
AGGREGATIONS = ("dot_product", "diff_product", "mult_product")

weight = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)
param = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False, allow_infinity=False)


@st.composite
def network_specs(
    draw: st.DrawFn,
    max_neurons: int = 7,
    activations: tuple[str, ...] = BUILTIN_ACTIVATIONS,
    recurrent: bool = True,
    plastic: bool = True,
) -> NetworkSpec:
    assert all(a in ACTIVATIONS for a in activations)
    n_sensors = draw(st.integers(1, 3))
    sensors = [SensorSpec(f"s{j}", draw(st.integers(1, 3))) for j in range(n_sensors)]
    vl = {s.name: s.vl for s in sensors}
    n = draw(st.integers(1, max_neurons))
    layers = sorted(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    ids = [f"n{k}" for k in range(n)]
    neurons = []
    for k in range(n):
        ff_pool = [s.name for s in sensors] + [ids[j] for j in range(n) if layers[j] < layers[k]]
        rec_pool = [ids[j] for j in range(n) if layers[j] >= layers[k]] if recurrent else []
        # a neuron fed by recurrent links only is allowed (and common in DXNN genotypes)
        all_rec = bool(rec_pool) and draw(st.integers(0, 4)) == 0
        ff = (
            []
            if all_rec
            else draw(st.lists(st.sampled_from(ff_pool), min_size=1, max_size=3, unique=True))
        )
        rec = (
            draw(
                st.lists(st.sampled_from(rec_pool), min_size=int(all_rec), max_size=2, unique=True)
            )
            if rec_pool
            else []
        )
        order = draw(st.permutations(ff + rec))
        rule_name = draw(st.sampled_from(BUILTIN_RULES if plastic else ("none",)))
        rule = PLASTICITY.get(rule_name)
        inputs = []
        for src in order:
            size = vl.get(src, 1)
            ws = tuple(draw(st.lists(weight, min_size=size, max_size=size)))
            wp = tuple(
                tuple(draw(st.lists(param, min_size=rule.n_weight, max_size=rule.n_weight)))
                for _ in range(size)
            )
            inputs.append(InputSpec(src, ws, wp if rule.n_weight else (), recurrent=src in rec))
        has_bias = draw(st.booleans())
        neurons.append(
            NeuronSpec(
                id=ids[k],
                layer=layers[k],
                inputs=tuple(inputs),
                activation=draw(st.sampled_from(activations)),
                aggregation=draw(st.sampled_from(AGGREGATIONS)),
                plasticity=rule_name,
                neural_params=tuple(
                    draw(st.lists(param, min_size=rule.n_neural, max_size=rule.n_neural))
                ),
                bias=draw(weight) if has_bias else None,
                bias_params=(
                    tuple(draw(st.lists(param, min_size=rule.n_weight, max_size=rule.n_weight)))
                    if has_bias
                    else ()
                ),
                modulation_bias=draw(st.one_of(st.none(), weight)),
            )
        )
    n_act = draw(st.integers(1, 2))
    actuators = []
    for a in range(n_act):
        srcs = tuple(draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True)))
        actuators.append(ActuatorSpec(f"a{a}", len(srcs), srcs))
    return NetworkSpec(tuple(sensors), tuple(neurons), tuple(actuators))
