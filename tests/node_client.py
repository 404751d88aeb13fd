"""Node.js for the tests that run the official JavaScript client (tests/js/*.mjs).

``ensure_node`` (the ``node`` fixture of conftest.py) never skips: without ``node``/``npm`` it fails
(``scripts/test`` installs them), and it runs ``npm ci`` itself when
``node_modules`` is missing or older than ``package-lock.json``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKFILE = ROOT / "package-lock.json"
INSTALLED = ROOT / "node_modules" / ".package-lock.json"
NPM_CI_TIMEOUT_S = 300


def _node_modules_stale() -> bool:
    return (
        not INSTALLED.exists()
        or not (ROOT / "node_modules" / "socket.io-client" / "package.json").exists()
        or INSTALLED.stat().st_mtime < LOCKFILE.stat().st_mtime
    )


def ensure_node() -> str:
    """Path of ``node``, with the locked npm packages installed (``npm ci`` if
    they are missing or stale). Fails the test otherwise."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "`node` is not on PATH: install Node.js (scripts/test does: "
            "apt-get install -y nodejs npm)",
            pytrace=False,
        )
    if _node_modules_stale():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "node_modules is missing or stale and `npm` is not on PATH to run "
                "`npm ci`: install npm (apt-get install -y npm)",
                pytrace=False,
            )
        # Sync on purpose: a session fixture runs before any hub or event loop exists.
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT_S,
        )
        if done.returncode != 0:
            pytest.fail(
                f"`npm ci` failed with exit code {done.returncode}:\n{done.stdout}\n{done.stderr}",
                pytrace=False,
            )
        if _node_modules_stale():
            pytest.fail(
                "`npm ci` succeeded but node_modules/socket.io-client is still missing",
                pytrace=False,
            )
    return node
