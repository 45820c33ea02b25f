"""The evolution package's error hierarchy: one base, subclasses by origin."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EvolutionError",
    "EvolutionUsageError",
    "ReporterError",
    "SelectionError",
    "TuningError",
]


class EvolutionError(Exception):
    """Base class of every error raised by :mod:`actors.evolution`."""


class ConfigError(EvolutionError, ValueError):
    """A configuration file or mapping is malformed: unknown key, wrong type, bad value.

    The message names the offending key with its dotted path (``monitor.population_size``).
    """


class SelectionError(EvolutionError, ValueError):
    """Selection or fitness postprocessing was called with inputs it cannot work on
    (no candidates, a non-positive target, an unknown algorithm name, bad records)."""


class TuningError(EvolutionError, ValueError):
    """The tuning functions were called with inputs they cannot work on
    (no neurons, mismatched weight and delta shapes, an unknown function name)."""


class EvolutionUsageError(EvolutionError, ValueError):
    """Local misuse of the package's API: a bad argument from this process's own code (a
    success family without a prefix, fewer than one worker)."""


class ReporterError(EvolutionError):
    """A reporter cannot work: a missing optional dependency or an unusable output path."""
