from __future__ import annotations

import dataclasses
import random

import pytest

from actors.genotype import (
    InvalidGenotypeError,
    NeuronWeights,
    encode_agent,
    mutate,
    neuron_weights,
    set_neuron_weights,
    validate_agent,
)
from tests.genotype.conftest import seed_agent


def agent_with_bias():  # type: ignore[no-untyped-def]
    rng = random.Random(2)
    a = seed_agent(2, neural_pfns=("hebbian_w",))
    for _ in range(4):
        a = mutate(a, rng)
    return a


def test_read_write_round_trip_is_identity() -> None:
    a = agent_with_bias()
    assert set_neuron_weights(a, neuron_weights(a)) == a


def test_write_back_changes_values_and_records_delta() -> None:
    a = agent_with_bias()
    n = a.neurons[0]
    old = neuron_weights(a)[n.id]
    new_inputs = tuple(tuple(w + 0.25 for w in vec) for vec in old.inputs)
    new_params = tuple(tuple((0.5,) for _ in vec) for vec in old.inputs)
    b = set_neuron_weights(
        a, {n.id: dataclasses.replace(old, inputs=new_inputs, input_params=new_params)}
    )
    validate_agent(b)
    m = b.neurons[0]
    assert all(w.dw == pytest.approx(0.25) for link in m.inputs for w in link.weights)
    assert all(w.params == (0.5,) for link in m.inputs for w in link.weights)
    assert b.fingerprint == a.fingerprint and b.neurons[1:] == a.neurons[1:]
    assert encode_agent(b) != encode_agent(a)


def _first(w: NeuronWeights, value: object) -> NeuronWeights:
    first = (value, *w.inputs[0][1:])
    return dataclasses.replace(w, inputs=(first, *w.inputs[1:]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        lambda w: dataclasses.replace(w, inputs=w.inputs[:-1]),
        lambda w: _first(w, float("nan")),
        lambda w: _first(w, 1),
        lambda w: dataclasses.replace(w, bias=None if w.bias is not None else 0.1),
        lambda w: dataclasses.replace(w, pf_params=(*w.pf_params, 1.0)),
        lambda w: dataclasses.replace(
            w, input_params=tuple(tuple(() for _ in v) for v in w.inputs)
        ),
    ],
)
def test_bad_write_backs_rejected(change) -> None:  # type: ignore[no-untyped-def]
    a = agent_with_bias()
    nid = a.neurons[0].id
    with pytest.raises(InvalidGenotypeError):
        set_neuron_weights(a, {nid: change(neuron_weights(a)[nid])})
    with pytest.raises(InvalidGenotypeError):
        set_neuron_weights(a, {"n-0000000000000000": NeuronWeights(inputs=())})
