"""A custom problem as a plain fitness function: 3-bit parity.

    python examples/parity.py [MAX_EVALUATIONS]
    megabrain evolve parity3 --module examples/parity.py      # the same task from the CLI

Importing this module registers the morphology ``parity3`` (what ``--module`` relies on).
"""

import itertools
import sys

import actors

CASES = [(bits, 1.0 if bits.count(1.0) % 2 else -1.0)
         for bits in itertools.product((-1.0, 1.0), repeat=3)]  # fmt: skip


def parity(net: actors.Network) -> tuple[float, bool]:
    """3-bit parity: 32 minus the squared error over the 8 cases; solved when every output
    has the target's sign."""
    error, right = 0.0, 0
    for bits, target in CASES:
        net.reset()  # the cases are independent: no recurrent state carried over
        out = net(bits)[0]
        error += (out - target) ** 2
        right += (out > 0) == (target > 0)
    return 32.0 - error, right == len(CASES)


actors.fitness_morphology("parity3", inputs=3, outputs=1, evaluate=parity, replace=True)

if __name__ == "__main__":
    budget = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    result = actors.evolve("parity3", seed=1, max_evaluations=budget, progress=True)
    fitness, solved = parity(result.network())  # the champion, scored by the same function
    print(f"champion: fitness {fitness:.3f}, solved {solved}, {result.evaluations} evaluations")
