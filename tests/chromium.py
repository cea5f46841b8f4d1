"""Debian's Chromium for the browser tests: where it is, the flags it runs with here, and
where screenshots go. The ``browser`` fixture (tests/conftest.py) launches it once a module."""

from __future__ import annotations

import shutil
from pathlib import Path

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags a sandbox without a network needs (no sandboxing as root, no calls home).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
