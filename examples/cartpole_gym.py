"""Gymnasium's CartPole-v1 (needs the `gym` extra), then the champion on 100 unseen episodes.

    python examples/cartpole_gym.py [MAX_EVALUATIONS]

An evaluation is the mean return of 5 episodes on seeds drawn from the run's rng; the run stops
as solved when a network whose mean reaches 475 also averages at least 475 over 100 episodes on
the seeds 0-99 (the success test), or at the budget. The champion then runs 100 more episodes,
on seeds 1000-1099, which neither training nor the success test used.
"""

import sys

import actors
from morphologies.gym_adapter import run_gym_episodes

budget = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
result = actors.evolve("gym:CartPole-v1", seed=1, population=10, max_evaluations=budget,
                       progress=True)  # fmt: skip
print(f"solved: {result.solved} after {result.evaluations} evaluations")
net = result.champion.network()  # named vectors in and out; reset() between episodes
unseen = run_gym_episodes(
    actors.get_morphology("gym:CartPole-v1"), net, range(1000, 1100), reset=net.reset
)
print(f"champion: mean return {unseen.mean:.1f} over 100 unseen episodes "
      f"(min {min(unseen.returns):.0f}, max {max(unseen.returns):.0f})")  # fmt: skip
