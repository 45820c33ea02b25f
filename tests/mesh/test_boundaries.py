"""Package boundaries of ``mesh``: the sans-I/O core stays pure; the shells are listed.

Pure-core modules (everything not in :data:`SHELLS`) may not import I/O, clock, thread or
event-loop modules, may not call the global RNG (``random.Random(seed)`` instances are fine)
and may not import a shell module. The shells -- the QUIC transport, the asyncio node, the
control endpoint (its rules, ``control_wire``, are pure), TLS certificate
making and the bind-error translation -- are exempt by name, so a new module is checked
strictly unless it is added here on purpose.
"""

import ast
from pathlib import Path

import mesh

ROOT = Path(mesh.__file__).parent

#: Modules allowed to do I/O, read clocks and run an event loop (``mesh.<name>``).
SHELLS = frozenset(
    {"transport", "quic_connection", "node", "node_types", "control",
     "control_conn", "control_events", "control_client", "tls", "listening"}
)  # fmt: skip

#: Modules a pure-core module must not import (top-level package names).
FORBIDDEN_IMPORTS = frozenset(
    {
        "time", "datetime", "socket", "ssl", "select", "selectors", "threading",
        "multiprocessing", "concurrent", "asyncio", "subprocess", "os", "signal",
        "aioquic", "thespian",
    }
)  # fmt: skip

#: Narrow, stated exceptions for pure modules: module -> imports it may use anyway.
ALLOWED = {
    # NodeKey.save / NodeKey.load write and read the key file (0600, O_EXCL): file I/O on
    # request of the caller, no clock, socket or thread.
    "identity": frozenset({"os"}),
}

#: Text that must not appear in a pure-core module (belt and braces for the AST checks).
FORBIDDEN_TEXT = (
    "time.time(", "time.monotonic(", "time.perf_counter(", "time_ns(", "datetime.now(",
    "socket.", "threading.",
)  # fmt: skip


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def _pure() -> dict[str, Path]:
    return {m: p for m, p in _modules().items() if m.split(".")[0] not in SHELLS}


def test_every_listed_shell_exists():
    mods = _modules()
    assert {s for s in SHELLS if s not in mods} == set()
    assert len(_pure()) >= 20  # the core is checked, not exempted


def test_mesh_never_imports_actors_or_morphologies_or_pickle():
    offenders = []
    for mod, path in _modules().items():
        for name in _imports(ast.parse(path.read_text())):
            if name.split(".")[0] in {"actors", "morphologies", "pickle", "marshal"}:
                offenders.append(f"{mod}: {name}")
    assert offenders == []


def test_pure_core_imports_no_io_clock_thread_or_loop_and_no_shell():
    offenders = []
    for mod, path in _pure().items():
        for name in _imports(ast.parse(path.read_text())):
            parts = name.split(".")
            if parts[0] in FORBIDDEN_IMPORTS and parts[0] not in ALLOWED.get(mod, ()):
                offenders.append(f"{mod}: import {name}")
            if parts[0] == "mesh" and len(parts) > 1 and parts[1] in SHELLS:
                offenders.append(f"{mod}: imports shell {name}")
    assert offenders == []


def test_pure_core_reads_no_clock_and_no_global_rng():
    offenders = []
    for mod, path in _pure().items():
        text = path.read_text()
        offenders += [f"{mod}: {bad}" for bad in FORBIDDEN_TEXT if bad in text]
        for node in ast.walk(ast.parse(text)):
            # random.<anything but Random>: the module-level (global) generator
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "random"
                and node.attr not in {"Random"}
            ):
                offenders.append(f"{mod}: random.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                bad = [a.name for a in node.names if a.name != "Random"]
                offenders += [f"{mod}: from random import {b}" for b in bad]
    assert offenders == []


def test_the_checks_catch_what_they_claim_to():
    bad = "import time\nimport random\nfrom mesh.transport import X\nx = random.random()\n"
    tree = ast.parse(bad)
    names = _imports(tree)
    assert "time" in names and "mesh.transport" in names
    assert any(isinstance(n, ast.Attribute) and n.attr == "random" for n in ast.walk(tree))
