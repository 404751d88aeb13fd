"""The hub as a deployer gets it: a wheel of this checkout in a fresh venv.

``installed_hub`` (built once per session however many test modules use it) copies the
checkout's files (tracked and new, not ignored: no ``build/``, ``node_modules``
or ``.venv``) to a temp dir, builds the wheel there so no stale ``build/`` can
leak into it, and installs it with its dependencies, resolved by pip as
``pip install`` would, into a venv outside the checkout. ``serving`` runs that
venv's ``hub serve`` from an empty directory with a clean environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import processes
from processes import PYTHON, ROOT, TEST_SECRET, RunningHub

INSTALL_TIMEOUT_S = 600


def _run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}",
            pytrace=False,
        )
    return done.stdout


def _copy_checkout(target: Path) -> None:
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture(scope="session")
def installed_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``hub`` script of a fresh venv holding this checkout's wheel."""
    return _install(tmp_path_factory.getbasetemp())


def _install(basetemp: Path) -> Path:
    work = basetemp / "installed"
    source, wheels, venv = work / "source", work / "wheels", work / "venv"
    started = time.monotonic()
    _copy_checkout(source)
    _run(PYTHON, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, source)
    built = time.monotonic()
    (wheel,) = wheels.glob("freelance_hub-*.whl")
    _run(PYTHON, "-m", "venv", venv)
    _run(venv / "bin" / "pip", "install", "--quiet", wheel)
    done = time.monotonic()
    # Shown with -s: what the fixture costs the suite.
    print(
        f"\ninstalled_hub: wheel built in {built - started:.1f} s, "
        f"venv with dependencies in {done - built:.1f} s"
    )
    # The hub must import from the venv, not from this checkout.
    where = _run(
        venv / "bin" / "python",
        "-c",
        "import handlers; print(handlers.__file__)",
        cwd=work,
        env=installed_env(),
    )
    assert Path(where.strip()).is_relative_to(venv), where
    return venv / "bin" / "hub"


def installed_env(**settings: str) -> dict[str, str]:
    """This machine's environment minus HUB_* and PYTHONPATH, plus test settings.

    ``settings`` are extra HUB_* values by field name. Storage and data use the
    defaults, relative to the directory the hub starts in.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HUB_") and key != "PYTHONPATH"
    }
    env.update(
        {
            "HUB_JWT_SECRET": TEST_SECRET,
            "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
            "HUB_PASSWORD_HASH_TIME_COST": "1",
        }
    )
    env.update({f"HUB_{name.upper()}": value for name, value in settings.items()})
    return env


@asynccontextmanager
async def serving(hub: Path, workdir: Path, env: dict[str, str]) -> AsyncIterator[RunningHub]:
    """``<venv>/bin/hub serve`` on a free loopback port with ``workdir`` (empty) as
    its current directory; healthy when entered, killed if still running on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir.parent / f"{workdir.name}.log"  # outside workdir: it stays as the hub left it
    async with processes.serving([str(hub)], workdir, env, log) as running:
        yield running
