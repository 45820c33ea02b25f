"""DXNN's weight_backup / weight_restore / weight_perturb / get_backup and reset semantics."""

from __future__ import annotations

import random

import numpy as np
import pytest

from actors.neural.compiled import CompiledNetwork
from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec
from actors.phenotype import (
    ActorPhenotype,
    NeuronCore,
    PhenotypeUsageError,
    perturb_blocks,
    perturb_network,
)
from actors.runtime import RuntimeSystem
from tests.phenotype.conftest import inputs_for


def plastic_spec() -> NetworkSpec:
    """Recurrent, plastic (hebbian, ojas, neuromodulation driven by a modulation bias), with
    diff_product state."""
    return NetworkSpec(
        (SensorSpec("s", 2),),
        (
            NeuronSpec(
                "h", 0, (InputSpec("s", (0.4, -0.6)), InputSpec("o", (0.3,), recurrent=True)),
                plasticity="hebbian", neural_params=(0.2,), bias=0.1,
            ),
            NeuronSpec("d", 0, (InputSpec("s", (0.7, 0.2)),), aggregation="diff_product"),
            NeuronSpec(
                "m", 0, (InputSpec("s", (0.3, 0.1)),), plasticity="neuromodulation",
                neural_params=(0.5, 0.2, 0.1, -0.1, 0.05), bias=0.2, modulation_bias=0.7,
            ),
            NeuronSpec(
                "o", 1, (InputSpec("h", (0.9,)), InputSpec("d", (-0.5,)), InputSpec("m", (0.4,))),
                plasticity="ojas", neural_params=(0.1,), bias=-0.2,
            ),
        ),
        (ActuatorSpec("a", 1, ("o",)),),
    )  # fmt: skip


def test_darwinian_restore_returns_to_the_evaluation_start(simple_rt: RuntimeSystem) -> None:
    spec = plastic_spec()
    xs = inputs_for(spec, 1, 20)
    with ActorPhenotype.build(simple_rt, spec) as net:
        start = net.get_weights()
        first = [net.step_flat(x) for x in xs]
        learned = net.get_weights()
        assert learned != start  # plasticity moved the weights
        net.backup()  # darwinian: backs up the weights the evaluation started from
        assert [v for b in net.get_backup().values() for v in b.weights] == start
        net.restore()
        assert net.get_weights() == start
        net.reset()
        assert [net.step_flat(x) for x in xs] == first  # same start, same run


def test_lamarckian_backup_keeps_the_learned_weights(simple_rt: RuntimeSystem) -> None:
    spec = plastic_spec()
    with ActorPhenotype.build(simple_rt, spec, heredity="lamarckian") as net:
        for x in inputs_for(spec, 2, 10):
            net.step_flat(x)
        learned = net.get_weights()
        net.backup()
        net.set_weights([0.0] * spec.weight_count)
        net.restore()
        assert net.get_weights() == learned


def test_perturb_replays_with_the_pure_rule(simple_rt: RuntimeSystem) -> None:
    spec = plastic_spec()
    with ActorPhenotype.build(simple_rt, spec) as net:
        net.backup()
        choices = {"h": 1.5, "m": 0.9, "o": 0.7}
        seeds = net.perturb(list(choices.items()), random.Random(7))
        got = net.get_weights()
        assert got != spec.flat_weights()
        # each chosen neuron perturbed its backup with the pure rule from its seed (bias last)
        want: list[float] = []
        for n in spec.neurons:
            core = NeuronCore(n)
            if n.id in choices:
                core.weight_perturb(choices[n.id], random.Random(seeds[n.id]))
            want.extend(core.current)
        assert got == want
        m_at = sum(n.weight_slots for n in spec.neurons[:2]) + 3  # m's modulation bias
        assert got[m_at] != spec.flat_weights()[m_at]  # DXNN2 always perturbs that block
        # restore goes back to the backup
        net.restore()
        assert net.get_weights() == spec.flat_weights()


def test_perturbation_momentum_and_saturation() -> None:
    blocks = [([0.0, 3.1], [0.0, 0.0]), ([1.0], [0.0])]
    rng = random.Random(3)
    out = perturb_blocks(blocks, 4.0, rng)
    moved = [
        (i, j) for i, (w, _) in enumerate(out) for j, v in enumerate(w) if v != blocks[i][0][j]
    ]
    assert moved  # always moves something
    for i, j in moved:
        w, d = out[i]
        assert -np.pi <= w[j] <= np.pi
        assert d[j] != 0.0
        assert w[j] == min(np.pi, max(-np.pi, blocks[i][0][j] + d[j]))
    again = perturb_blocks(out, 0.0, random.Random(3))  # spread 0: momentum alone moves
    for i, j in moved:
        assert again[i][1][j] in (out[i][1][j], out[i][1][j] * 0.5)
    assert perturb_blocks(blocks, 4.0, random.Random(3)) == out  # same seed, same result
    with pytest.raises(PhenotypeUsageError):
        perturb_blocks(blocks, float("nan"), rng)
    with pytest.raises(PhenotypeUsageError):
        perturb_blocks([([1.0], [])], 1.0, rng)


def test_perturbation_is_the_tuning_cores_rule() -> None:
    """Draw for draw the exoself's rule (skipped where the evolution package is absent)."""
    tuning = pytest.importorskip("actors.evolution.tuning")
    rng = random.Random(11)
    for trial in range(200):
        blocks = [
            ([rng.uniform(-3, 3) for _ in range(rng.randint(0, 4))],)
            for _ in range(rng.randint(1, 4))
        ]
        bl = [(w, [rng.uniform(-1, 1) for _ in w]) for (w,) in blocks]
        spread = rng.choice([0.0, 0.5, 3.0])
        mine = perturb_blocks(bl, spread, random.Random(trial))
        theirs = tuning.perturb_weights(
            [(np.array(w, dtype=float), np.array(d, dtype=float)) for w, d in bl],
            spread, random.Random(trial),
        )  # fmt: skip
        assert [(list(w), list(d)) for w, d in theirs] == mine


def test_reset_replays_and_matches_compiled(simple_rt: RuntimeSystem) -> None:
    spec = plastic_spec()
    xs = inputs_for(spec, 5, 15)
    comp = CompiledNetwork(spec)
    with ActorPhenotype.build(simple_rt, spec) as net:
        for x in xs:
            assert np.allclose(net.step_flat(x), comp.step_flat(x), rtol=0, atol=1e-9)
        # reset keeps (learned) weights, zeroes recurrent signals and diff_product memory
        net.reset()
        comp.reset()
        for x in xs:
            assert np.allclose(net.step_flat(x), comp.step_flat(x), rtol=0, atol=1e-9)
        net.set_weights(spec.flat_weights())
        comp.set_weights(spec.flat_weights())
        net.reset()
        comp.reset()
        for x in xs:
            assert np.allclose(net.step_flat(x), comp.step_flat(x), rtol=0, atol=1e-9)


def test_flat_replay_equals_actor_perturbation(simple_rt: RuntimeSystem) -> None:
    """What the exoself does on the compiled backend gives the actor neurons' weights."""
    spec = plastic_spec()
    with ActorPhenotype.build(simple_rt, spec) as net:
        net.backup()
        base = spec.flat_weights()
        deltas = [0.0] * len(base)
        rng = random.Random(21)
        for spread in (2.0, 0.5):  # twice: the second perturbation carries momentum
            choices = [("o", spread), ("m", spread), ("h", spread / 2)]
            seeds = net.perturb(choices, rng)
            base, deltas = perturb_network(
                spec, base, deltas, {nid: (sp, seeds[nid]) for nid, sp in choices}
            )
            assert net.get_weights() == base
            net.backup()
            backups = net.get_backup()
            assert [v for n in spec.neurons for v in backups[n.id].deltas] == deltas
        with pytest.raises(PhenotypeUsageError):
            perturb_network(spec, base, deltas, {"nope": (1.0, 0)})
