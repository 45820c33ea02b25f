"""A dead element surfaces to the owner as PhenotypeDown; bad use is refused, never fatal."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from actors.neural.spec import ActuatorSpec, InputSpec, NetworkSpec, NeuronSpec, SensorSpec
from actors.phenotype import ActorPhenotype, PhenotypeDown, PhenotypeUsageError
from actors.phenotype.messages import Forward
from actors.runtime import RuntimeSystem


def _spec() -> NetworkSpec:
    return NetworkSpec(
        (SensorSpec("s", 2),),
        (
            NeuronSpec("h", 0, (InputSpec("s", (1.0, 1.0)),)),
            NeuronSpec("o", 1, (InputSpec("h", (0.5,)),), bias=0.1),
        ),
        (ActuatorSpec("a", 1, ("o",)),),
    )


def test_crashing_neuron_is_reported_in_simple(simple_rt: RuntimeSystem) -> None:
    with ActorPhenotype.build(simple_rt, _spec()) as net:
        assert len(net.step_flat([1.0, 1.0])) == 1
        # a signal from a future epoch breaks the protocol: the neuron crashes (let it crash)
        simple_rt.tell(net.addresses["neuron:h"], Forward(0, 99, (1.0, 1.0)))
        with pytest.raises(PhenotypeDown) as info:
            net.step_flat([1.0, 1.0])
        assert info.value.element == "neuron:h"
        assert info.value.reason.kind == "abnormal"
        assert "epoch 99" in info.value.reason.reason
        with pytest.raises(PhenotypeUsageError):
            net.step_flat([1.0, 1.0])  # broken: the owner must rebuild


def test_bad_use_is_refused_and_the_phenotype_lives_on(simple_rt: RuntimeSystem) -> None:
    with ActorPhenotype.build(simple_rt, _spec()) as net:
        with pytest.raises(PhenotypeUsageError):
            net.step_flat([1.0])
        with pytest.raises(PhenotypeUsageError):
            net.set_weights([1.0])
        with pytest.raises(PhenotypeUsageError):
            net.perturb([("o", -1.0)], __import__("random").Random(0))
        with pytest.raises(PhenotypeUsageError):
            net.run_episode(0)  # built without a morphology
        assert len(net.step_flat([0.5, 0.5])) == 1


def test_spec_must_fit_the_morphology(simple_rt: RuntimeSystem) -> None:
    with pytest.raises(PhenotypeUsageError):
        ActorPhenotype.build(simple_rt, _spec(), morphology="xor")
    with pytest.raises(PhenotypeUsageError):
        ActorPhenotype.build(simple_rt, _spec(), morphology="no_such_morphology")


def _neuron_pid(rt: RuntimeSystem, net: ActorPhenotype, element: str) -> int:
    (pid,) = [c.pid for c in rt.which_children(net.supervisor) if c.id == element]
    assert pid is not None and pid != os.getpid()
    return pid


@pytest.mark.multiproc
def test_sigkilled_neuron_is_reported_in_local(local_rt: RuntimeSystem) -> None:
    net = ActorPhenotype.build(local_rt, _spec(), timeout=60.0)
    try:
        assert len(net.step_flat([0.1, 0.2])) == 1
        os.kill(_neuron_pid(local_rt, net, "neuron:h"), signal.SIGKILL)
        with pytest.raises(PhenotypeDown) as info:
            for _ in range(10_000):  # bounded: the Down must come long before
                net.step_flat([0.1, 0.2])
        assert info.value.element == "neuron:h"
        assert info.value.reason.kind == "killed"
    finally:
        net.terminate()


@pytest.mark.multiproc
def test_neuron_killed_while_running_is_reported(local_rt: RuntimeSystem) -> None:
    net = ActorPhenotype.build(local_rt, _spec(), timeout=60.0)
    pid = _neuron_pid(local_rt, net, "neuron:o")
    killer = threading.Timer(0.2, os.kill, (pid, signal.SIGKILL))
    try:
        killer.start()
        with pytest.raises(PhenotypeDown) as info:
            for _ in range(100_000):
                net.step_flat([0.3, -0.2])
        assert info.value.element == "neuron:o"
    finally:
        killer.cancel()
        net.terminate()
