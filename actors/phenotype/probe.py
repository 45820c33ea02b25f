"""A minimal Thespian relay, the peer of the phenotype benchmark: the raw cost of one message.

:class:`Relay` is a plain Thespian ``Actor`` (no child wrapper, no supervision) that forwards a
:class:`Hop` to its next actor; the last one answers the sender recorded in the hop. A chain of
relays carrying the same small payload as a phenotype's :class:`~actors.phenotype.messages.Forward`
measures what a message costs in a given system base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thespian.actors import Actor

__all__ = ["Hop", "Relay", "SetNext"]


@dataclass(frozen=True, slots=True)
class SetNext:
    address: Any


@dataclass(frozen=True, slots=True)
class Hop:
    """``left`` hops to go; ``origin`` gets the hop when none is left (``None``: the sender of
    the first hop)."""

    left: int
    origin: Any
    values: tuple[float, ...] = (0.0,)


class Relay(Actor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.next: Any = None

    def receiveMessage(self, msg: Any, sender: Any) -> None:
        if type(msg) is Hop:
            origin = sender if msg.origin is None else msg.origin
            if msg.left <= 1:
                self.send(origin, msg)
            else:
                self.send(self.next, Hop(msg.left - 1, origin, msg.values))
        elif isinstance(msg, SetNext):
            self.next = msg.address
            self.send(sender, "ok")
