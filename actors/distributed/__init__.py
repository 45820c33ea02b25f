"""Distributed evolution, model 1 (islands): nodes share their improving champions.

Pure cores: :mod:`.config` (the ``[mesh]`` table), :mod:`.envelope` (signed, compressed
champion envelopes), :mod:`.policy` (when to publish; token buckets), :mod:`.intake` (the
validation pipeline and per-node counters). Shell: :mod:`.island` (a mesh node on its own
thread, wired to the population monitor through :class:`actors.evolution.run.StepHook`).
See ``docs/distributed.md``.
"""
