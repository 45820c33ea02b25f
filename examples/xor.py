"""XOR with tanh neurons (the NEAT-comparable task), then the champion's truth table."""

import sys

import actors

budget = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
result = actors.evolve(
    "xor", seed=1, population=6, fitness_goal=2.5, max_evaluations=budget, progress=True,
    tuning={"duration": "const", "duration_parameter": 6},
    constraint={"connection_architecture": "feedforward", "neural_afs": ["tanh"]},
)  # fmt: skip
net = result.network()
for a, b in [(-1, -1), (-1, 1), (1, -1), (1, 1)]:
    print(f"{a:+d} xor {b:+d} -> {net([a, b])[0]:+.3f}")
