"""The floors of the house: which package may import which (README.md, "Tour", has the map).

Every ``import`` in the source, at module level or inside a function, is read from the syntax
tree (nothing is imported), so a lazy import cannot hide a dependency:

* ``morphologies`` imports neither ``actors`` nor ``mesh``; ``mesh`` imports neither ``actors``
  nor ``morphologies``, nor ``thespian`` (the bridge to actors is ``actors.remote``);
* inside ``actors``, each subpackage imports only the floors below it (:data:`FLOORS`): neural
  math and the runtime import no other subpackage; the genotype builds on neural math; the
  phenotype on neural math and the runtime; remote actors on the runtime; evolution on
  those and the genotype (remote exoselves); the distribution models on everything but the
  command line. No circle is possible;
* Thespian stays in the runtime's shells: only ``actors.runtime`` imports ``thespian``
  (and the ``runtime check`` command, which ends an actor the Thespian way to test the
  runtime's restart).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Subpackage of ``actors`` -> the subpackages it may import.
FLOORS: dict[str, frozenset[str]] = {
    "runtime": frozenset(),
    "neural": frozenset(),
    "genotype": frozenset({"neural"}),
    "phenotype": frozenset({"neural", "runtime"}),
    "evolution": frozenset({"genotype", "neural", "phenotype", "remote", "runtime"}),
    "remote": frozenset({"runtime"}),
    "distributed": frozenset({"evolution", "genotype", "neural", "phenotype", "remote", "runtime"}),
    "cli": frozenset({"distributed", "evolution", "genotype", "neural", "phenotype", "remote",
                      "runtime"}),
}  # fmt: skip

#: Modules outside ``actors.runtime`` that may import ``thespian``.
THESPIAN_OUTSIDE_RUNTIME = frozenset({"actors.cli.runtime_cmd"})

#: Top-level package -> the top-level packages it must not import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "morphologies": frozenset({"actors", "mesh"}),
    "mesh": frozenset({"actors", "morphologies", "thespian"}),
}


def imported_modules(source: str, module: str, is_package: bool) -> Iterator[str]:
    """The absolute names of the modules ``source`` (the text of ``module``) imports."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            else:
                yield node.module or ""


def modules(top: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / top).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports_of(top: str) -> Iterator[tuple[str, str]]:
    """``(module, imported module)`` for every import in the package ``top``."""
    for name, path in modules(top):
        for target in imported_modules(path.read_text(encoding="utf-8"), name,
                                       path.name == "__init__.py"):  # fmt: skip
            yield name, target


def test_every_actors_subpackage_has_a_floor() -> None:
    subpackages = {p.name for p in (ROOT / "actors").iterdir() if (p / "__init__.py").exists()}
    assert subpackages <= set(FLOORS), f"add {sorted(subpackages - set(FLOORS))} to FLOORS"


def test_the_floors_have_no_circle() -> None:
    done: set[str] = set()
    order = []
    while len(done) < len(FLOORS):
        ready = sorted(p for p, below in FLOORS.items() if p not in done and below <= done)
        assert ready, f"a circle among {sorted(set(FLOORS) - done)}"
        done.update(ready)
        order.extend(ready)
    assert order[-1] == "cli"


def test_actors_subpackages_import_only_the_floors_below() -> None:
    bad = []
    for module, target in imports_of("actors"):
        parts, wanted = module.split("."), target.split(".")
        if len(parts) < 2 or parts[1] not in FLOORS or wanted[0] != "actors" or len(wanted) < 2:
            continue  # actors/__init__.py and __main__.py sit above every floor
        here, there = parts[1], wanted[1]
        if there != here and there in FLOORS and there not in FLOORS[here]:
            bad.append(f"{module} imports {target}")
    assert not bad, "imports against the floors:\n" + "\n".join(bad)


def test_only_the_runtime_imports_thespian() -> None:
    bad = sorted(
        {
            module
            for module, target in imports_of("actors")
            if target.split(".")[0] == "thespian"
            and not module.startswith("actors.runtime")
            and module not in THESPIAN_OUTSIDE_RUNTIME
        }
    )
    assert not bad, f"Thespian imported outside the runtime: {bad}"


@pytest.mark.parametrize("top", sorted(FORBIDDEN))
def test_the_libraries_import_no_application(top: str) -> None:
    bad = [
        f"{module} imports {target}"
        for module, target in imports_of(top)
        if target.split(".")[0] in FORBIDDEN[top]
    ]
    assert not bad, "\n".join(bad)


def test_the_scan_sees_lazy_and_relative_imports() -> None:
    source = (
        "import os\nfrom . import x\nfrom ..neural.spec import N\n"
        "def f():\n    import mesh.frames\n"
    )
    found = list(imported_modules(source, "actors.genotype.records", False))
    assert found == ["os", "actors.genotype", "actors.neural.spec", "mesh.frames"]
    assert list(imported_modules("from .errors import E", "actors.neural", True)) == [
        "actors.neural.errors"
    ]
