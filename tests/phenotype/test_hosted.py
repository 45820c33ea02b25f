"""A phenotype in a private simple system inside a local-mode worker process."""

from __future__ import annotations

import random

import numpy as np
import pytest

from actors.neural.compiled import CompiledNetwork
from actors.phenotype.hosted import HostBuild, HostCall, HostError, HostRunSteps, PhenotypeHost
from actors.runtime import ChildSpec, RuntimeSystem, SupFlags
from morphologies import get_morphology, run_episode
from tests.phenotype.conftest import inputs_for
from tests.phenotype.test_episode import morph_spec
from tests.phenotype.test_tuning import plastic_spec


@pytest.mark.multiproc
def test_hosted_phenotype_computes_like_compiled(local_rt: RuntimeSystem) -> None:
    sup = local_rt.start_supervisor(SupFlags(), [ChildSpec("host", PhenotypeHost)], id="hosts")
    (info,) = local_rt.which_children(sup)
    host = info.address
    assert info.pid is not None
    spec = plastic_spec()
    assert local_rt.request(host, HostBuild(spec), 30) == "ok"
    xs = tuple(tuple(x) for x in inputs_for(spec, 3, 60))
    outs, seconds = local_rt.request(host, HostRunSteps(xs), 60)
    comp = CompiledNetwork(spec)
    for got, x in zip(outs, xs, strict=True):
        assert np.allclose(got, comp.step_flat(list(x)), rtol=0, atol=1e-9)
    assert seconds > 0
    weights = local_rt.request(host, HostCall("get_weights"), 30)
    assert np.allclose(weights, comp.get_weights(), rtol=0, atol=1e-9)
    err = local_rt.request(host, HostCall("terminate"), 30)
    assert isinstance(err, HostError) and err.kind == "PhenotypeUsageError"
    # an episode through the hosted scape equals the compiled one
    xor = morph_spec("xor", 9)
    assert local_rt.request(host, HostBuild(xor, morphology="xor"), 30) == "ok"
    want = run_episode(get_morphology("xor"), CompiledNetwork(xor).step, random.Random(5))
    assert local_rt.request(host, HostCall("run_episode", (5,)), 30) == want
