"""Picture files: the format a file name's suffix names, matplotlib, atomic writes.

Shared by the fitness plot (:func:`actors.evolution.reporters.plot_stats`) and the network
drawing (:mod:`actors.evolution.draw`). A picture is written in the format its suffix
names -- ``.png``, ``.svg`` or ``.pdf`` (case-insensitive) -- and any other suffix is
refused before anything is drawn. Files are written to a temporary name beside the target
and renamed, so a reader never sees half a picture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from actors.evolution.errors import ReporterError

__all__ = ["PICTURE_FORMATS", "matplotlib_classes", "picture_format", "replacing", "save_figure"]

#: The picture formats, named by the file suffix (matplotlib and Graphviz write all three).
PICTURE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")


def picture_format(path: str | os.PathLike[str]) -> str:
    """The format ``path``'s suffix names; :class:`ReporterError` (one line, naming the
    supported suffixes) for any other suffix."""
    suffix = Path(path).suffix
    fmt = suffix.lower().lstrip(".")
    if fmt not in PICTURE_FORMATS:
        shown = f"suffix {suffix!r}" if suffix else "no suffix"
        supported = ", ".join(f".{f}" for f in PICTURE_FORMATS)
        raise ReporterError(f"{os.fspath(path)}: {shown} names no picture format ({supported})")
    return fmt


def matplotlib_classes() -> tuple[Any, Any]:
    """matplotlib's ``Figure`` and Agg ``FigureCanvasAgg`` (no global backend switch), or
    :class:`ReporterError` with the install hint when the ``plot`` extra is missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ReporterError(
            "pictures need matplotlib: install the 'plot' extra (pip install 'megabrain[plot]')"
        ) from exc
    return Figure, FigureCanvasAgg


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` when the block
    succeeds, removes it either way. An ``OSError`` becomes :class:`ReporterError`."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise ReporterError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def save_figure(fig: Any, path: str | os.PathLike[str]) -> str:
    """Write matplotlib figure ``fig`` to ``path`` in the format of its suffix; returns
    the format."""
    fmt = picture_format(path)
    with replacing(path) as tmp:
        fig.savefig(tmp, format=fmt)
    return fmt
