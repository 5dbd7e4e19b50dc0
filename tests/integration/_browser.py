"""A Playwright page in Debian's headless Chromium, for tests that look at a real page.

Playwright's own browser builds cannot be downloaded here (``playwright install`` fails),
so the Python ``playwright`` package drives Debian's ``chromium`` package through
``executable_path``; ``scripts/setup.sh`` installs both. The flags keep Chromium off the
network it cannot reach (background services, QUIC, component updates, sync), and every
page gets a fresh profile, removed afterwards. Works for ``http://`` and ``file://``
pages alike::

    with chromium_page() as page:
        page.goto(report.as_uri())
        page.screenshot(path=tmp_path / "report.png")

When Chromium or Playwright is missing the test is skipped with the reason, or failed
under ``./scripts/test`` and CI (see ``tests/_env.py``).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NoReturn, Tuple

import pytest

from _env import must_not_skip

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "chromium_page", "unavailable"]

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (apt-get install chromium)
CHROMIUM_FLAGS: Tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync")


def unavailable(reason: str) -> NoReturn:
    """Skip the test with ``reason``; fail it under ./scripts/test and CI."""
    if must_not_skip():
        pytest.fail(f"the browser tests need it: {reason}", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def chromium_page(*, width: int = 1280, height: int = 900,
                  timeout_s: float = 30.0) -> Iterator["Page"]:
    """A blank page of a fresh headless Chromium (``width`` x ``height`` viewport,
    ``timeout_s`` as the default for every wait); the browser and its profile are gone
    when the block ends, however it ends."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install playwright; "
                     "./scripts/test installs it)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium; "
                     "./scripts/test installs it)")
    with tempfile.TemporaryDirectory(prefix="nbdocker-chromium-") as profile, \
            sync_playwright() as playwright:
        # A persistent context is the only way to choose the profile directory: Playwright
        # refuses --user-data-dir among the flags.
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS),
            viewport={"width": width, "height": height})
        try:
            context.set_default_timeout(timeout_s * 1000)
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
