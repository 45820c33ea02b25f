"""Reading and writing back a network's tuned parameters (DXNN2 exoself
``backup_genotype``): after tuning, the exoself stores the best weights found into the
genotype; with ``lamarckian`` heredity these include what plasticity learned.

:class:`NeuronWeights` mirrors :class:`~actors.genotype.graph.ViewNeuron`'s layout: one
tuple of weight values per input link, in the neuron's input order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from actors.genotype.errors import InvalidGenotypeError
from actors.genotype.records import Agent, InputLink, Neuron, Weight

__all__ = ["NeuronWeights", "neuron_weights", "set_neuron_weights"]


@dataclass(frozen=True, slots=True)
class NeuronWeights:
    """The tunable values of one neuron.

    ``inputs[i][k]`` is weight k of synaptic input i; ``mod_inputs`` likewise; ``bias`` /
    ``mod_bias`` are ``None`` exactly when the neuron has none; ``pf_params`` are the
    plasticity rule's neural parameters; ``input_params`` / ``mod_input_params`` (optional
    when writing) are the per-weight plasticity parameters in the same layout.
    """

    inputs: tuple[tuple[float, ...], ...]
    mod_inputs: tuple[tuple[float, ...], ...] = ()
    bias: float | None = None
    mod_bias: float | None = None
    pf_params: tuple[float, ...] = ()
    input_params: tuple[tuple[tuple[float, ...], ...], ...] | None = None
    mod_input_params: tuple[tuple[tuple[float, ...], ...], ...] | None = None


def neuron_weights(agent: Agent) -> dict[str, NeuronWeights]:
    """Every neuron's tunable values, keyed by neuron id (evaluation order)."""
    return {
        n.id: NeuronWeights(
            inputs=tuple(tuple(w.w for w in link.weights) for link in n.inputs),
            mod_inputs=tuple(tuple(w.w for w in link.weights) for link in n.mod_inputs),
            bias=None if n.bias is None else n.bias.w,
            mod_bias=None if n.mod_bias is None else n.mod_bias.w,
            pf_params=n.pf_params,
            input_params=tuple(tuple(w.params for w in link.weights) for link in n.inputs),
            mod_input_params=tuple(tuple(w.params for w in link.weights) for link in n.mod_inputs),
        )
        for n in agent.neurons
    }


def _finite(values: tuple[float, ...], what: str) -> None:
    for v in values:
        if type(v) is not float or not math.isfinite(v):
            raise InvalidGenotypeError(f"{what}: {v!r} is not a finite float")


def _new_weight(old: Weight, value: float, params: tuple[float, ...] | None) -> Weight:
    if params is not None and len(params) != len(old.params):
        raise InvalidGenotypeError("plasticity parameters change shape")
    if params is not None:
        _finite(params, "plasticity parameter")
    new_params = old.params if params is None else params
    if value == old.w and new_params == old.params:
        return old
    dw = value - old.w if value != old.w else old.dw
    return Weight(w=value, dw=dw, lr=old.lr, params=new_params)


def _links(
    links: tuple[InputLink, ...],
    values: tuple[tuple[float, ...], ...],
    params: tuple[tuple[tuple[float, ...], ...], ...] | None,
    where: str,
) -> tuple[InputLink, ...]:
    if len(values) != len(links) or (params is not None and len(params) != len(links)):
        raise InvalidGenotypeError(f"{where}: {len(values)} weight vectors for {len(links)} links")
    out = []
    for i, (link, vec) in enumerate(zip(links, values, strict=True)):
        if len(vec) != len(link.weights):
            raise InvalidGenotypeError(f"{where}: input {link.source} needs {len(link.weights)}")
        _finite(vec, where)
        ps = None if params is None else params[i]
        if ps is not None and len(ps) != len(vec):
            raise InvalidGenotypeError(f"{where}: plasticity parameters per weight mismatch")
        weights = tuple(
            _new_weight(w, v, None if ps is None else ps[k])
            for k, (w, v) in enumerate(zip(link.weights, vec, strict=True))
        )
        out.append(link if weights == link.weights else InputLink(link.source, weights))
    return tuple(out)


def _bias(old: Weight | None, value: float | None, where: str) -> Weight | None:
    if (old is None) != (value is None):
        raise InvalidGenotypeError(f"{where}: bias presence cannot change here")
    if old is None or value is None:
        return None
    _finite((value,), where)
    return _new_weight(old, value, None)


def set_neuron_weights(agent: Agent, updates: Mapping[str, NeuronWeights]) -> Agent:
    """``agent`` with the given neurons' values replaced (topology, functions and the
    fingerprint unchanged). A changed weight records its change in ``dw``. Raises
    :class:`InvalidGenotypeError` on an unknown neuron, a shape mismatch or a non-finite
    value; ``agent`` is unchanged either way."""
    known = {n.id for n in agent.neurons}
    unknown = set(updates) - known
    if unknown:
        raise InvalidGenotypeError(f"no such neurons: {sorted(unknown)[:3]}")
    neurons: list[Neuron] = []
    for n in agent.neurons:
        up = updates.get(n.id)
        if up is None:
            neurons.append(n)
            continue
        where = f"neuron {n.id}"
        if len(up.pf_params) != len(n.pf_params):
            raise InvalidGenotypeError(f"{where}: pf_params must keep length {len(n.pf_params)}")
        _finite(up.pf_params, where)
        neurons.append(
            dataclasses.replace(
                n,
                inputs=_links(n.inputs, up.inputs, up.input_params, where),
                mod_inputs=_links(n.mod_inputs, up.mod_inputs, up.mod_input_params, where),
                bias=_bias(n.bias, up.bias, where),
                mod_bias=_bias(n.mod_bias, up.mod_bias, where),
                pf_params=up.pf_params,
            )
        )
    return dataclasses.replace(agent, neurons=tuple(neurons))
