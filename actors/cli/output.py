"""``--json PATH``: one convention for every command that writes JSON.

``--json PATH`` writes the command's JSON document to ``PATH``; ``--json -`` writes it to
standard output, and then nothing else goes there: while such a command runs,
:func:`json_stdout` (entered by :func:`actors.cli.main` for every command) sends whatever
else it prints to standard error. Commands check the target before they start working
(:func:`check_json_target`), so that a long run does not end on a path it cannot write, and
write with :func:`write_json`. A target that cannot be written is a one-line error, exit
status 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from actors.cli import UsageError

__all__ = ["JSON_HELP", "STDOUT", "check_json_target", "json_stdout", "write_json"]

#: The ``--json`` argument that means standard output.
STDOUT = "-"
#: Help text of every ``--json`` option.
JSON_HELP = "write the result as JSON to PATH ('-': to standard output, and nothing else there)"

_json_out: IO[str] | None = None  # the real standard output while json_stdout() holds it


def check_json_target(path: str | None) -> None:
    """Raise :class:`UsageError` now if ``path`` (``None``: no JSON asked) cannot be
    written later: a directory, or a file in a directory that does not exist or that
    this user may not write."""
    if path is None or path == STDOUT:
        return
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: no directory {parent}")
    if not os.access(target if target.exists() else parent, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


@contextlib.contextmanager
def json_stdout(path: str | None) -> Iterator[None]:
    """With ``path == "-"``, keep standard output for :func:`write_json` alone: anything
    else printed inside the block goes to standard error."""
    global _json_out
    if path != STDOUT:
        yield
        return
    _json_out = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _json_out = None


def write_json(path: str, obj: Any, *, indent: int | None = 2) -> None:
    """Write ``obj`` as one JSON document (and a newline) to ``path``, or to standard
    output for ``-``. :class:`UsageError` if the file cannot be written."""
    text = json.dumps(obj, indent=indent) + "\n"
    if path == STDOUT:
        out = _json_out or sys.stdout
        out.write(text)
        out.flush()
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
