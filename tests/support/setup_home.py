"""Throwaway HOMEs for the ``cligate setup`` tests: a user's own config files, a byte-for-byte
picture of them to compare before and after, and setup and undo run on them."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from router.setup import INTEGRATIONS
from router.setup.engine import set_up
from router.setup.model import Report
from router.setup.undo import undo
from tests.support.standin import FIXTURES

URL = "http://127.0.0.1:8081"


def user_home(tmp_path: Path, cli: str | None) -> Path:
    """``tmp_path/home`` holding the config files of ``fixtures/setup/CLI`` (none for None)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    if cli is not None:
        shutil.copytree(FIXTURES / "setup" / cli, home, dirs_exist_ok=True)
    return home


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative path: what a test compares byte for byte."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def run_setup(
    cli: str, env: Mapping[str, str], state: Path, *, url: str = URL, keep: bool = False
) -> Report:
    """``cligate setup CLI`` for the environment ``env``, its record kept in ``state``."""
    integration = INTEGRATIONS[cli]
    files = integration.files(env, url)
    return set_up(integration.target, files, url=url, state_dir=state, keep_telemetry=keep)


def run_undo(cli: str, state: Path) -> Report | None:
    return undo(INTEGRATIONS[cli].target, state_dir=state)
