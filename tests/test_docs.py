"""The README and docs/ point only at things that are in the repository.

Checked: every relative markdown link resolves to a file or folder, and every
repository path written in backticks (`hub/cli.py`, `tests/js/`, also inside a
quoted command or a fenced code block) exists. "In the repository" means what a
fresh clone has (git's tracked files, plus new ones not ignored): a generated or
ignored file that happens to be on this disk does not count. Placeholders
(`<id>`, `*`) are not paths and are skipped.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_FOLDERS = (
    "hub",
    "handlers",
    "tests",
    "docs",
    "scripts",
    "bench",
    "storage",
    "signaling",
    "web",
    ".ci",
)

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
REPO_PATH = re.compile(rf"^(?:{'|'.join(map(re.escape, TOP_FOLDERS))})/[\w.\-/]*$")


def _name(document: Path) -> str:
    return str(document.relative_to(ROOT))


@cache
def repository_entries() -> frozenset[str]:
    """Every file of the repository and every folder above one, relative to ROOT."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    entries: set[str] = set()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).exists():  # not deleted in the working tree
            path = Path(name)
            entries.add(str(path))
            entries.update(str(parent) for parent in path.parents if parent != Path("."))
    return frozenset(entries)


def in_repository(path: Path) -> bool:
    """Whether ``path`` (absolute) is a file or folder of the repository."""
    resolved = path.resolve()
    return resolved.is_relative_to(ROOT) and (
        resolved == ROOT or str(resolved.relative_to(ROOT)) in repository_entries()
    )


def relative_links(document: Path) -> list[str]:
    """Link targets that are files of this repository (no URL, no bare #anchor)."""
    text = FENCE.sub("", document.read_text())
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


def backticked_paths(document: Path) -> list[str]:
    """Words in code spans and fenced code blocks that are repository paths,
    quotes and trailing punctuation dropped."""
    text = document.read_text()
    paths = []
    for span in [*CODE_SPAN.findall(FENCE.sub("", text)), *FENCE.findall(text)]:
        for word in span.split():
            word = word.strip("'\"(),;:")
            if REPO_PATH.match(word):
                paths.append(word)
    return paths


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_relative_links_resolve(document: Path) -> None:
    missing = [
        target
        for target in relative_links(document)
        if not in_repository(document.parent / target.split("#", 1)[0])
    ]
    assert missing == [], f"{_name(document)} links to missing files: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_backticked_repo_paths_exist(document: Path) -> None:
    missing = sorted(
        {path for path in backticked_paths(document) if not in_repository(ROOT / path)}
    )
    assert missing == [], f"{_name(document)} names paths that are not in the repo: {missing}"


def test_the_checks_see_links_and_paths() -> None:
    """Guards the regexes: the README's known links and paths are found."""
    readme = ROOT / "README.md"
    assert "docs/protocol.md" in relative_links(readme)
    assert "docs/web-client.md" in relative_links(readme)
    assert {"tests/processes.py"} <= set(backticked_paths(readme))
    assert "hub/config.py" in backticked_paths(ROOT / "docs" / "operations.md")
    assert in_repository(ROOT / "tests/js/") and in_repository(ROOT / "docs")
    assert not in_repository(ROOT / "node_modules") and not in_repository(ROOT / "no/such.py")
