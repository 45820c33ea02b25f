import ast
from pathlib import Path

import mesh

ROOT = Path(mesh.__file__).parent


def test_mesh_never_imports_actors_or_morphologies_or_pickle():
    offenders = []
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"actors", "morphologies", "pickle", "marshal"}:
                    offenders.append(f"{path}: {name}")
    assert offenders == []


def test_cores_read_no_clock_and_no_global_rng():
    offenders = []
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        for bad in ("time.time(", "time.monotonic(", "datetime.now(", "random.random(",
                    "random.randint(", "socket.", "threading."):  # fmt: skip
            if bad in text:
                offenders.append(f"{path}: {bad}")
    assert offenders == []
