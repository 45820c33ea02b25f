"""Errors of :mod:`actors.phenotype` (one base, subclasses by origin)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "PhenotypeDied",
    "PhenotypeDown",
    "PhenotypeError",
    "PhenotypeProtocolError",
    "PhenotypeTimeout",
    "PhenotypeUsageError",
]


class PhenotypeError(Exception):
    """Base of every error raised by the actor phenotype."""


class PhenotypeUsageError(PhenotypeError, ValueError):
    """Local misuse: a bad spread, a wrong vector length, a phenotype used after it broke."""


class PhenotypeProtocolError(PhenotypeError):
    """An element received a message that breaks the DXNN protocol (e.g. a signal from a
    future epoch). Raised inside an element, it crashes that element (let it crash), which
    the owner then sees as :class:`PhenotypeDown`."""


class PhenotypeDied(PhenotypeError):
    """A part of a running phenotype died or stopped answering: the phenotype is unusable;
    close it and build a new one. The phenotype backends' contract
    (:mod:`actors.evolution.backends`): the exoself then rebuilds the phenotype and repeats the
    evaluation. The actor phenotype raises its subclasses :class:`PhenotypeDown` and
    :class:`PhenotypeTimeout`; another backend may raise this class itself."""


class PhenotypeTimeout(PhenotypeDied):
    """No answer from the phenotype within the deadline (nothing died that we know of)."""


class PhenotypeDown(PhenotypeDied):
    """An element of the phenotype exited while the owner was using it.

    ``element`` is the element id (``"neuron:<id>"``, ``"sensor:<name>"``, ``"cortex"``...),
    ``reason`` the runtime's :class:`~actors.runtime.messages.Exit` (``killed`` for SIGKILL).
    The phenotype is unusable afterwards: terminate it and build a new one.
    """

    def __init__(self, element: str, reason: Any) -> None:
        kind = getattr(reason, "kind", reason)
        why = getattr(reason, "reason", "")
        super().__init__(f"phenotype element {element} exited ({kind}{': ' + why if why else ''})")
        self.element = element
        self.reason = reason
