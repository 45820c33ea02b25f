"""Errors of the genotype package.

One base, :class:`GenotypeError`; subclasses by origin:

* :class:`GenotypeDecodeError` -- outside bytes or documents that are not a valid genotype
  (the only error :func:`actors.genotype.decode_agent` and friends ever raise).
* :class:`InvalidGenotypeError` -- a genotype built in this process breaks an invariant
  (a programming error, not bad outside input).
* :class:`MutationNotApplicable` -- a mutation operator cannot apply to this genotype
  (DXNN's ``exit/1`` inside a mnesia transaction); the mutator picks another operator.
* :class:`ConstraintError` -- a constraint or morphology description is malformed.
* :class:`StoreError` -- the SQLite store was misused or holds unreadable rows.
* :class:`GenotypeUsageError` -- another local misuse of the package's API (a bad argument
  from this process's own code).
"""

from __future__ import annotations

__all__ = [
    "ConstraintError",
    "GenotypeDecodeError",
    "GenotypeError",
    "GenotypeUsageError",
    "InvalidGenotypeError",
    "MutationNotApplicable",
    "StoreError",
]


class GenotypeError(Exception):
    """Base of every error raised by :mod:`actors.genotype`."""


class GenotypeDecodeError(GenotypeError):
    """Bytes or a document from outside are not a valid genotype record."""


class InvalidGenotypeError(GenotypeError):
    """A genotype breaks a structural invariant (see :func:`actors.genotype.validate_agent`)."""


class MutationNotApplicable(GenotypeError):
    """The chosen mutation operator does not apply to this genotype; nothing was changed."""


class ConstraintError(GenotypeError, ValueError):
    """A constraint, morphology or search-parameter value is malformed."""


class StoreError(GenotypeError):
    """The genotype store was misused, or a stored row does not decode."""


class GenotypeUsageError(GenotypeError, ValueError):
    """Local misuse of the package's API, e.g. a schema migration registered for a step
    that does not exist."""
