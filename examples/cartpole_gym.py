"""Gymnasium's CartPole-v1 (needs the `gym` extra), then the champion on 100 unseen episodes.

    python examples/cartpole_gym.py [MAX_EVALUATIONS]

The fitness is one episode's return (at most 500); the run stops when a network reaches 500
or at the budget. A single episode is a lottery, so the champion is then scored on 100 episodes
with seeds the run never used (CartPole counts as solved at an average of 475).
"""

import random
import statistics
import sys

import actors

budget = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
result = actors.evolve(
    "gym:CartPole-v1", seed=1, population=10, fitness_goal=500, max_evaluations=budget,
    progress=True,
)  # fmt: skip
morphology = actors.get_morphology("gym:CartPole-v1")
net = result.network()
returns = []
for seed in range(100):
    scape = morphology.new_scape(random.Random(10**6 + seed))
    net.reset()
    total, done = 0.0, False
    while not done:
        reward, done = scape.act("action", net(scape.sense("observation")))
        total += reward
    scape.close()
    returns.append(total)
print(f"champion: mean return {statistics.fmean(returns):.1f} over 100 unseen episodes "
      f"(min {min(returns):.0f}, max {max(returns):.0f})")  # fmt: skip
