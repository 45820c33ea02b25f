"""README.md and docs/*.md point only at files of this repository: every relative link
resolves inside it, every path written in code spans exists, and every ``NAME.md`` they name
is one of the repository's own pages. (Paths of files a command writes, such as
``megabrain-demo/demo.png``, are not references: only code spans that start with a top-level
directory of the repository and end in a file name or a slash are checked.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+/?)`")
PAGE_NAME = re.compile(r"\b([A-Za-z][A-Za-z0-9_-]*\.md)\b")


def inside(path: Path) -> bool:
    return path == ROOT or ROOT in path.parents


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_and_paths_stay_in_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    bad = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an anchor of the page itself
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not (inside(path) and path.exists()):
            bad.append(f"link {target}")
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}
    for target in CODE_PATH.findall(text):
        is_file = "." in target.rsplit("/", 1)[-1] or target.endswith("/")  # not `megabrain/1`
        if is_file and target.split("/", 1)[0] in tops and not (ROOT / target).exists():
            bad.append(f"path {target}")
    pages = {p.name for p in PAGES}
    bad.extend(f"page {name}" for name in PAGE_NAME.findall(text) if name not in pages)
    assert "/work/" not in text and "../shared" not in text
    assert not bad, f"{page.name} points outside the repository: {bad}"


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    # the patterns themselves: a broken link, a missing path and a foreign page are found
    text = "[x](nowhere.md) `actors/no_such.py` see BENCHMARKS.md"
    assert not (ROOT / "actors/no_such.py").exists() and (ROOT / "actors").is_dir()
    assert LINK.findall(text) == ["nowhere.md"]
    assert CODE_PATH.findall(text) == ["actors/no_such.py"]
    assert PAGE_NAME.findall(text) == ["nowhere.md", "BENCHMARKS.md"]
