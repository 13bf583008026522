"""A real server and a real browser: `streamlit run app.py` on a free localhost port, driven by
Debian's Chromium through Playwright, both through the project's one harness (``harness/``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _browser_helpers import SERVER_ENV

from harness.browser import CHROMIUM, VIEWPORT, chromium
from harness.server import ROOT, serve_app

ARTIFACTS = Path(os.environ.get("VAE_ARTIFACTS", ROOT / "artifacts" / "browser"))


@pytest.fixture(scope="session")
def server_url():
    with serve_app(log=ARTIFACTS / "streamlit.log", env=SERVER_ENV) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)")
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
