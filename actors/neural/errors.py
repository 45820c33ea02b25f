"""Errors of :mod:`actors.neural`: one base, subclasses by origin."""

from __future__ import annotations

__all__ = ["NeuralError", "PerturbError", "RegistryError", "SpecError"]


class NeuralError(Exception):
    """Base of every error raised by :mod:`actors.neural`."""


class RegistryError(NeuralError):
    """A plugin was registered with a bad name or signature, or an unknown name was looked up."""


class SpecError(NeuralError):
    """A :class:`~actors.neural.spec.NetworkSpec` (or an input to an evaluator) is malformed."""


class PerturbError(NeuralError, ValueError):
    """The weight perturbation was called with inputs it cannot work on (a negative or
    non-finite spread, weights and deltas of different shapes)."""
