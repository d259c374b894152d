"""The proxies users would pick instead of cligate, installed and configured by the benchmark.

``python -m bench --setup`` (or the first run) installs, under ``.cache/bench-peers/``:

- claude-code-router (``@musistudio/claude-code-router``, CLI ``ccr``) from npm into ``npm/``;
- LiteLLM's proxy (``litellm[proxy]``) into its own virtualenv ``litellm-venv/``, so its pins
  cannot touch cligate's;
- matplotlib, for the plot, into ``plot-venv/`` (not a cligate dependency).

Versions are pinned. LiteLLM: the newest release whose ``proxy`` extra installs from the package
index this project uses (later ones require a ``litellm-proxy`` package the index does not
have), not marked as yanked. claude-code-router: 3.x requires a package the npm registry here
does not serve; 2.0.0 bundles everything. A peer that cannot be installed is reported, and the
benchmark measures the rest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.progress import say

ROOT = Path(__file__).resolve().parents[1]
PEERS_DIR = ROOT / ".cache" / "bench-peers"
LITELLM_VERSION = "1.106.12"
CCR_PACKAGE = "@musistudio/claude-code-router"
CCR_VERSION = "2.0.0"
MATPLOTLIB_VERSION = "3.10.8"
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True, slots=True)
class Installed:
    name: str
    version: str
    ok: bool
    # why not, when not
    note: str = ""


def litellm_venv(base: Path = PEERS_DIR) -> Path:
    return base / "litellm-venv"


def plot_venv(base: Path = PEERS_DIR) -> Path:
    return base / "plot-venv"


def ccr_cli(base: Path = PEERS_DIR) -> Path:
    return base / "npm" / "node_modules" / CCR_PACKAGE / "dist" / "cli.js"


def _has_dist(venv: Path, package: str, version: str) -> bool:
    found = list(venv.glob(f"lib/python*/site-packages/{package}-{version}.dist-info"))
    return bool(found) and (venv / "bin" / "python").exists()


def _ccr_version(base: Path) -> str | None:
    manifest = base / "npm" / "node_modules" / CCR_PACKAGE / "package.json"
    try:
        version = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version)


def status(base: Path = PEERS_DIR) -> dict[str, Installed]:
    """What is installed now, without installing anything."""
    ccr_ok = _ccr_version(base) == CCR_VERSION and ccr_cli(base).exists()
    return {
        "claude-code-router": Installed(
            "claude-code-router", CCR_VERSION, ccr_ok, "" if ccr_ok else "not installed"
        ),
        "LiteLLM": _venv_status("LiteLLM", litellm_venv(base), "litellm", LITELLM_VERSION),
        "matplotlib": _venv_status("matplotlib", plot_venv(base), "matplotlib", MATPLOTLIB_VERSION),
    }


def _venv_status(name: str, venv: Path, package: str, version: str) -> Installed:
    ok = _has_dist(venv, package, version)
    return Installed(name, version, ok, "" if ok else "not installed")


def setup(base: Path = PEERS_DIR) -> dict[str, Installed]:
    """Install what is missing; each failure is reported, not raised."""
    base.mkdir(parents=True, exist_ok=True)
    now = status(base)
    installers: dict[str, Callable[[], str]] = {
        "claude-code-router": lambda: _install_ccr(base),
        "LiteLLM": lambda: _install_venv(
            litellm_venv(base), f"litellm[proxy]=={LITELLM_VERSION}", base / "litellm.log"
        ),
        "matplotlib": lambda: _install_venv(
            plot_venv(base), f"matplotlib=={MATPLOTLIB_VERSION}", base / "matplotlib.log"
        ),
    }
    for name, install in installers.items():
        if not now[name].ok:
            say(f"setup: installing {name} {now[name].version}…")
            note = install()
            if note:
                say(f"setup: {name}: {note}")
    after = status(base)
    return {name: _noted(after[name], now[name]) for name in after}


def _noted(after: Installed, before: Installed) -> Installed:
    if after.ok or before.ok:
        return after
    return Installed(after.name, after.version, False, f"installation failed: {after.note}")


def _install_ccr(base: Path) -> str:
    npm = shutil.which("npm")
    if npm is None:
        return "npm not found on PATH"
    command = [
        npm, "install", "--prefix", str(base / "npm"), "--no-audit", "--no-fund",
        "--no-save", f"{CCR_PACKAGE}@{CCR_VERSION}",
    ]  # fmt: skip
    return _run(command, base / "ccr.log")


def _install_venv(venv: Path, requirement: str, log: Path) -> str:
    if not (venv / "bin" / "python").exists():
        note = _run([sys.executable, "-m", "venv", "--clear", str(venv)], log)
        if note:
            return note
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    return _run([*pip, requirement], log)


def _run(command: list[str], log: Path) -> str:
    """Run an installer; '' when it worked, else the end of its output (also in ``log``)."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode == 0:
        return ""
    lines = [line for line in (done.stderr or done.stdout).splitlines() if "ERR" in line.upper()]
    return (lines[-1] if lines else f"exit {done.returncode}") + f" (see {log})"
