"""Playwright's API for the dashboard tests; where it is not installed they are skipped, except
under CI, which installs it (``pip install -e '.[test]'``): missing there is a broken setup."""

from __future__ import annotations

import os

import pytest

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip(
        "playwright is not installed: pip install -e '.[test]' (bash tests/run.sh does)",
        allow_module_level=True,
    )

# Above Playwright's 5 s: adding a server probes it, and the machine may be busy with other tests.
expect.set_options(timeout=15_000)

__all__ = ["Locator", "Page", "expect"]
