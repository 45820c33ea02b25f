"""Parameter mutation operators: weights, biases, and the neuron's functions.

Each operator takes a :class:`~actors.genotype.edit.NetEdit`, changes it, and records
itself in the history; if it cannot apply it raises
:class:`~actors.genotype.errors.MutationNotApplicable` (the caller restores its snapshot).
Semantics follow DXNN2 ``genome_mutator.erl`` / ``plasticity.erl``, with two slips fixed:
a perturbation always changes at least one value (DXNN2's per-weight coin flips can all
come up tails and return the neuron unchanged), and plasticity parameters saturate at
±spread (DXNN2 ``perturb/4`` calls ``sat(V, Spread, Spread)``, which pins every perturbed
value to +Spread).
"""

from __future__ import annotations

import dataclasses
import math
import random

from actors.genotype.edit import NetEdit, new_weight
from actors.genotype.errors import MutationNotApplicable
from actors.genotype.functions import PLASTICITY_RULES, SAT_LIMIT
from actors.genotype.records import InputLink, Neuron, Weight

__all__ = [
    "add_bias",
    "mutate_af",
    "mutate_aggrf",
    "mutate_pf",
    "mutate_plasticity_parameters",
    "mutate_weights",
    "perturb",
    "remove_bias",
]


def perturb(rng: random.Random, value: float, half_span: float, limit: float) -> float:
    """``value`` plus a uniform step in (-half_span, half_span), saturated at ±limit; never
    returns ``value`` itself (a step that saturates to no change is taken the other way)."""
    while True:
        delta = (rng.random() - 0.5) * 2.0 * half_span
        if delta != 0.0:
            break
    new = min(limit, max(-limit, value + delta))
    if new == value:
        new = min(limit, max(-limit, value - delta))
    return new


def _pick_neuron(edit: NetEdit) -> Neuron:
    return edit.neurons[edit.pick(list(edit.neurons), "neuron")]


def _weights_of(n: Neuron) -> list[Weight]:
    out = [w for link in n.inputs + n.mod_inputs for w in link.weights]
    out.extend(b for b in (n.bias, n.mod_bias) if b is not None)
    return out


def _rebuild(n: Neuron, new: list[Weight]) -> dict[str, object]:
    """Neuron fields with the weights of :func:`_weights_of` order replaced by ``new``."""
    it = iter(new)

    def links(seq: tuple[InputLink, ...]) -> tuple[InputLink, ...]:
        return tuple(InputLink(link.source, tuple(next(it) for _ in link.weights)) for link in seq)

    inputs, mod_inputs = links(n.inputs), links(n.mod_inputs)
    bias = None if n.bias is None else next(it)
    mod_bias = None if n.mod_bias is None else next(it)
    return {"inputs": inputs, "mod_inputs": mod_inputs, "bias": bias, "mod_bias": mod_bias}


def _chosen(rng: random.Random, count: int, probability: float) -> list[bool]:
    """Each of ``count`` items chosen with ``probability``; at least one is chosen."""
    flags = [rng.random() < probability for _ in range(count)]
    if count and not any(flags):
        flags[rng.randrange(count)] = True
    return flags


def mutate_weights(edit: NetEdit) -> None:
    """Perturb the weights (bias included) of a random neuron: each with probability
    1/sqrt(#weights), by a uniform step in ±π, saturating at ±2π (DXNN2 ``perturb_IdPs``)."""
    rng = edit.rng
    n = _pick_neuron(edit)
    weights = _weights_of(n)
    flags = _chosen(rng, len(weights), 1.0 / math.sqrt(len(weights)))
    new = [
        dataclasses.replace(w, w=perturb(rng, w.w, math.pi, SAT_LIMIT)) if f else w
        for w, f in zip(weights, flags, strict=True)
    ]
    edit.set_neuron(n, **_rebuild(n, new))
    edit.record("mutate_weights", n.id)


def add_bias(edit: NetEdit) -> None:
    """Give a random neuron a bias weight; a ``neuromodulation`` neuron gets a modulatory
    bias instead with probability 1/2 (DXNN2 ``add_bias``)."""
    n = _pick_neuron(edit)
    modulatory = n.pf == "neuromodulation" and edit.rng.randrange(2) == 1
    if modulatory and n.mod_bias is None:
        edit.set_neuron(n, mod_bias=new_weight(edit.rng, n.pf))
    elif n.bias is None:
        edit.set_neuron(n, bias=new_weight(edit.rng, n.pf))
    else:
        raise MutationNotApplicable("neuron already has a bias")
    edit.record("add_bias", n.id)


def remove_bias(edit: NetEdit) -> None:
    """Remove a random neuron's bias (its modulatory bias with probability 1/2 when it is
    a ``neuromodulation`` neuron that has one) (DXNN2 ``remove_bias``)."""
    n = _pick_neuron(edit)
    modulatory = n.pf == "neuromodulation" and edit.rng.randrange(2) == 1
    if modulatory and n.mod_bias is not None:
        edit.set_neuron(n, mod_bias=None)
    elif n.bias is not None:
        edit.set_neuron(n, bias=None)
    else:
        raise MutationNotApplicable("neuron has no bias")
    edit.record("remove_bias", n.id)


def _other(edit: NetEdit, allowed: tuple[str, ...], current: str, what: str) -> str:
    others = [x for x in allowed if x != current]
    return edit.pick(others, f"other {what}")


def mutate_af(edit: NetEdit) -> None:
    """Switch a random neuron to another activation function of the constraint."""
    n = _pick_neuron(edit)
    edit.set_neuron(n, af=_other(edit, edit.base.constraint.neural_afs, n.af, "activation"))
    edit.record("mutate_af", n.id)


def mutate_aggrf(edit: NetEdit) -> None:
    """Switch a random neuron to another aggregation function of the constraint."""
    n = _pick_neuron(edit)
    aggr = _other(edit, edit.base.constraint.neural_aggr_fs, n.aggr, "aggregation")
    edit.set_neuron(n, aggr=aggr)
    edit.record("mutate_aggrf", n.id)


def mutate_pf(edit: NetEdit) -> None:
    """Switch a random neuron to another plasticity function of the constraint, with fresh
    neural parameters and fresh per-weight parameters of the new rule's shape on every
    weight -- synaptic, modulatory and bias (DXNN2 reset only the synaptic ones)."""
    rng = edit.rng
    n = _pick_neuron(edit)
    pf = _other(edit, edit.base.constraint.neural_pfns, n.pf, "plasticity")
    rule = PLASTICITY_RULES[pf]
    pf_params = rule.neural_parameters(rng)
    new = [dataclasses.replace(w, params=rule.weight_parameters(rng)) for w in _weights_of(n)]
    edit.set_neuron(n, pf=pf, pf_params=pf_params, **_rebuild(n, new))
    edit.record("mutate_pf", n.id)


def mutate_plasticity_parameters(edit: NetEdit) -> None:
    """Perturb the plasticity parameters of a random neuron whose rule has any (DXNN2
    ``plasticity:PF({N_Id, mutate})``): neural parameters within ±2π·10, weight parameters
    within ±2π, each with probability 1/sqrt(count) (self_modulationV2: only A, p=1/2);
    at least one parameter changes."""
    rng = edit.rng
    n = _pick_neuron(edit)
    rule = PLASTICITY_RULES[n.pf]
    if not rule.mutable:
        raise MutationNotApplicable(f"plasticity rule {n.pf!r} has no parameters")
    neural = list(n.pf_params)
    mutable_neural = rule.neural_mutable_count if rule.neural_mutable_count else len(neural)
    if not rule.mutate_neural:
        mutable_neural = 0
    weights = _weights_of(n)
    wlen = rule.weight_len if rule.mutate_weights else 0
    total_w = wlen * len(weights)
    p_neural = rule.neural_probability or (1.0 / math.sqrt(mutable_neural or 1))
    flags_n = [rng.random() < p_neural for _ in range(mutable_neural)]
    flags_w = [rng.random() < 1.0 / math.sqrt(total_w or 1) for _ in range(total_w)]
    if not any(flags_n) and not any(flags_w):
        k = rng.randrange(mutable_neural + total_w)
        if k < mutable_neural:
            flags_n[k] = True
        else:
            flags_w[k - mutable_neural] = True
    spread_n = SAT_LIMIT * 10.0
    for i, f in enumerate(flags_n):
        if f:
            neural[i] = perturb(rng, neural[i], spread_n, spread_n)
    if total_w:
        new_w = []
        for j, w in enumerate(weights):
            ps = list(w.params)
            for k in range(wlen):
                if flags_w[j * wlen + k]:
                    ps[k] = perturb(rng, ps[k], SAT_LIMIT, SAT_LIMIT)
            new_w.append(dataclasses.replace(w, params=tuple(ps)))
        edit.set_neuron(n, pf_params=tuple(neural), **_rebuild(n, new_w))
    else:
        edit.set_neuron(n, pf_params=tuple(neural))
    edit.record("mutate_plasticity_parameters", n.id)
