"""Local test actors that use the mesh gateway (importable by multiprocTCPBase children)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thespian.actors import Actor

from mesh import gateway_messages as gm


@dataclass(frozen=True)
class Follow:
    """Tell a Listener to subscribe to ``topic`` through ``gateway``."""

    gateway: Any
    topic: str


@dataclass(frozen=True)
class Received:
    """Ask a Listener for the payloads received so far."""


@dataclass(frozen=True)
class Serve:
    """Tell a Doubler to register ``procedure`` through ``gateway``."""

    gateway: Any
    procedure: str


class Listener(Actor):
    """Subscribes through a gateway and remembers every TopicEvent payload."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payloads: list[bytes] = []
        self.asker: Any = None

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, Follow):
            self.asker = sender
            self.send(message.gateway, gm.Subscribe(message.topic, ref="follow"))
        elif isinstance(message, gm.Subscribed):
            self.send(self.asker, message)
        elif isinstance(message, gm.TopicEvent):
            self.payloads.append(message.payload)
        elif isinstance(message, Received):
            self.send(sender, tuple(self.payloads))


class Doubler(Actor):
    """Registers a procedure through a gateway; answers IncomingCall with the args twice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asker: Any = None

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, Serve):
            self.asker = sender
            self.send(message.gateway, gm.Register(message.procedure, ref="serve"))
        elif isinstance(message, gm.Registered):
            self.send(self.asker, message)
        elif isinstance(message, gm.IncomingCall):
            if message.args == b"fail":
                self.send(sender, gm.Reply(message.call_id, error="asked to fail"))
            else:
                self.send(sender, gm.Reply(message.call_id, message.args * 2))
