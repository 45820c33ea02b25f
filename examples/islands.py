"""The island model (distribution model 1) in one process: 3 islands evolve 3-bit parity and
share their champions at zero latency, against the same 3 islands evolving alone.

    python examples/islands.py [MAX_EVALUATIONS_PER_NODE]

``run_lockstep`` advances the islands one evaluation at a time at equal speed; a champion an
island publishes is re-evaluated by each receiver before it is adopted (counted), as over the
mesh. The figure is evaluations per node until the first island solves the task. Over QUIC
the same model runs as separate processes: ``megabrain demo`` or ``megabrain evolve --mesh``.
"""

import sys

import parity  # noqa: F401 - registers the morphology "parity3"

import actors
from actors.distributed.lockstep import LockstepOptions, run_lockstep

budget = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
config = actors.EvolutionConfig()
for sharing in (False, True):
    for seed in (1, 2, 3):
        r = run_lockstep(LockstepOptions("parity3", nodes=3, seed=seed, config=config,
                                         sharing=sharing, publish="evaluation",
                                         max_evaluations=budget))  # fmt: skip
        print(f"{'sharing ' if sharing else 'isolated'} seed {seed}: solved {r.solved}, "
              f"{r.evals_per_node:.0f} evaluations per node, adopted {sum(r.adopted)}")  # fmt: skip
