"""Open a genotype store that must already exist (reading commands and ``--resume``).

:class:`actors.genotype.GenotypeStore` creates its file when it is missing, which is what
``evolve --store`` wants for a new run. A command that reads a store -- ``genotype store``,
``show``/``run --store``, ``evolve --resume`` -- must not: a mistyped path or an empty file would
silently become a fresh, empty store (for ``--resume``, a fresh run at generation 0).
:func:`open_existing_store` refuses a missing path, a directory and a zero-length file with one
clear :class:`UsageError` (exit 2), and reports a file that is not a store the same way.
"""

from __future__ import annotations

from pathlib import Path

from actors.cli import UsageError
from actors.genotype import GenotypeStore, StoreError

__all__ = ["open_existing_store"]


def open_existing_store(path: str) -> GenotypeStore:
    """The store at ``path``; :class:`UsageError` if there is none to open."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"no store at {path}")
    if not p.is_file():
        raise UsageError(f"{path} is not a store file")
    if p.stat().st_size == 0:
        raise UsageError(f"{path} is empty (zero bytes): not a genotype store")
    try:
        return GenotypeStore(p)
    except StoreError as exc:
        raise UsageError(f"{path}: {exc}") from exc
