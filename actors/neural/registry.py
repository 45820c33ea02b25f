"""A small typed registry for plugins (activation functions, aggregators, plasticity rules).

User code extends the neural math by registering on the module-level registries
(:data:`actors.neural.activations.ACTIVATIONS` and friends). Registration checks the
plugin's call signature (number of positional parameters) so a wrong function fails when it
is registered, not in the middle of an evaluation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from actors.neural.errors import RegistryError

__all__ = ["Registry", "check_arity"]

T = TypeVar("T")


def check_arity(fn: Callable[..., object], n: int, what: str) -> None:
    """Raise :class:`RegistryError` unless ``fn`` can be called with exactly ``n`` positionals."""
    if not callable(fn):
        raise RegistryError(f"{what}: {fn!r} is not callable")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return
    try:
        sig.bind(*([None] * n))
    except TypeError as exc:
        raise RegistryError(f"{what}: {fn!r} must accept {n} positional arguments ({exc})") from exc


class Registry(Generic[T]):
    """Name → plugin map. Names are non-empty identifiers; re-registering needs ``replace=True``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T, *, replace: bool = False) -> T:
        if not isinstance(name, str) or not name.isidentifier():
            raise RegistryError(f"{self.kind} name must be an identifier, got {name!r}")
        if name in self._items and not replace:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise RegistryError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)
