"""The pure cores: a neuron fed signal by signal, the cortex's accounting, stale signals."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.neural.compiled import CompiledNetwork
from actors.neural.reference import ReferenceNetwork
from actors.neural.spec import NetworkSpec
from actors.phenotype import ActorPhenotype, CortexCore, NeuronCore, PhenotypeProtocolError
from actors.phenotype.elements_core import clock_source
from actors.phenotype.messages import Forward
from actors.runtime import RuntimeSystem
from tests.neural.strategies import network_specs
from tests.phenotype.conftest import inputs_for
from tests.phenotype.test_tuning import plastic_spec


@settings(max_examples=30, deadline=None)
@given(spec=network_specs(), seed=st.integers(0, 2**32 - 1))
def test_neuron_cores_wired_by_hand_equal_reference(spec: NetworkSpec, seed: int) -> None:
    """Deliver every signal in a scrambled order (per link FIFO kept): same outputs."""
    rng = random.Random(seed)
    cores = {n.id: NeuronCore(n) for n in spec.neurons}
    links: dict[str, list[tuple[str, int]]] = {}
    for n in spec.neurons:
        for slot, inp in enumerate(n.inputs):
            links.setdefault(inp.source, []).append((n.id, slot))
        clock = cores[n.id].clock_slot
        if clock is not None:
            links.setdefault(clock_source(spec), []).append((n.id, clock))
    pending: list[tuple[str, int, tuple[float, ...]]] = [
        (n.id, slot, (0.0,)) for n in spec.neurons for slot, i in enumerate(n.inputs) if i.recurrent
    ]
    ref = ReferenceNetwork(spec)
    for x in inputs_for(spec, seed, 20):
        pos = 0
        named = {}
        for s in spec.sensors:
            vec = tuple(x[pos : pos + s.vl])
            named[s.name] = list(vec)
            pos += s.vl
            pending += [(t, slot, vec) for t, slot in links.get(s.name, [])]
        outs: dict[str, float] = {}
        while pending:  # pick any link's head (FIFO per link, any order across links)
            k = rng.randrange(len(pending))
            t, slot, vec = pending[k]
            if any(p[0] == t and p[1] == slot for p in pending[:k]):
                continue
            pending.pop(k)
            out = cores[t].receive(slot, vec)
            if out is not None:
                outs[t] = out
                pending += [(tt, s, (out,)) for tt, s in links.get(t, [])]
            if len(outs) == len(cores):
                break
        want = ref.step(named)
        got = {a.name: [outs[src] for src in a.sources] for a in spec.actuators}
        assert got == want


def test_cortex_sums_in_actuator_order() -> None:
    a, b = CortexCore(2), CortexCore(2)
    a.start(3)
    b.start(3)
    assert a.actuator_sync(0, 1, (0.1,), 1e16, False, False) is None
    end_a = a.actuator_sync(1, 1, (0.2,), 1.0, False, True)
    assert b.actuator_sync(1, 1, (0.2,), 1.0, False, True) is None
    end_b = b.actuator_sync(0, 1, (0.1,), 1e16, False, False)
    assert end_a == end_b and end_a is not None
    assert end_a.outputs == (0.1, 0.2) and not end_a.done and end_a.next_cycle == 2
    assert end_a.fitness == (0.0 + 1e16) + 1.0
    assert a.actuator_sync(0, 2, (0.1,), 0.0, False, False) is None
    with pytest.raises(PhenotypeProtocolError):  # the same actuator twice in one cycle
        a.actuator_sync(0, 2, (0.1,), 0.0, False, False)
    c = CortexCore(1)
    c.start(2)
    assert c.actuator_sync(0, 1, (0.0,), 1.0, False, False) is not None
    end = c.actuator_sync(0, 2, (0.0,), 1.0, False, False)
    assert end is not None and end.done and end.fitness == 2.0  # max_cycles ends the run


def test_stale_signals_after_a_reset_are_dropped(simple_rt: RuntimeSystem) -> None:
    spec = plastic_spec()
    comp = CompiledNetwork(spec)
    xs = inputs_for(spec, 4, 10)
    with ActorPhenotype.build(simple_rt, spec) as net:
        for x in xs:
            net.step_flat(x)
            comp.step_flat(x)
        net.reset()
        comp.reset()
        for el in net.plan.neuron_ids:  # signals from before the reset arrive late
            simple_rt.tell(net.addresses[el], Forward(0, 0, (9.0,) * 2))
        for x in xs:
            assert np.allclose(net.step_flat(x), comp.step_flat(x), rtol=0, atol=1e-9)
