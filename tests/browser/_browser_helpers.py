"""Shared by the browser tests and by nothing else: the full-app checks, uploads, the Non-local
page's "Queries: ..." caption. Serving, Chromium, settling and the explorer's probe are the
harness's (``harness/``), shared with the benchmarks and the screenshots."""

from __future__ import annotations

import os
import re

from harness.browser import SLOW

# the tests' servers run torch on one thread unless told otherwise: a training job may share the
# two cores, and a page's timing should not depend on it
SERVER_ENV = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
NAV_LABELS = ("Home", "Non-local queries", "Query independence")  # proper titles, not file names


def wait_connected(page, timeout: int = SLOW) -> None:
    """Wait until the tab's websocket is connected (``stApp``'s connection state). After a server
    restart the old page stays on screen while the tab reconnects; an upload sent in that window
    goes to a server that no longer knows the session and is lost."""
    page.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"]')
            ?.getAttribute('data-test-connection-state') === 'CONNECTED'""",
        timeout=timeout,
    )


def assert_full_app(page, heading: str | None = None, timeout: int = SLOW) -> None:
    """The entry script ran for this session: sidebar with the preferred-backbone picker and the
    uploader, navigation with page titles (legacy mode shows raw file names), the page's heading,
    no exception."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stFileUploaderDropzoneInput").wait_for(
        state="attached", timeout=timeout
    )
    sidebar.get_by_text("Preferred backbone", exact=True).wait_for(timeout=timeout)
    nav = page.get_by_test_id("stSidebarNav")
    for label in NAV_LABELS:
        nav.get_by_text(label, exact=True).wait_for(timeout=timeout)
    assert nav.get_by_text(re.compile(r"^(nonlocal|query_independence|app)$")).count() == 0
    if heading:
        page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout)
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def upload(page, path, timeout: int = SLOW) -> None:
    """Upload ``path`` through the sidebar and wait until the sidebar shows it."""
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.wait_for(state="attached", timeout=timeout)
    uploader.set_input_files(str(path))
    page.get_by_text(re.compile(rf"upload: {re.escape(path.name)}")).first.wait_for(timeout=timeout)


def queries_caption(page) -> str:
    return page.get_by_text(re.compile(r"^Queries: ")).first.inner_text()


def parse_queries(caption: str) -> list[tuple[int, int]]:
    return [(int(r), int(c)) for r, c in re.findall(r"\((\d+), (\d+)\)", caption)]


def wait_queries(page, n: int, timeout: int = SLOW) -> list[tuple[int, int]]:
    """Wait until the page's "Queries: ..." caption lists ``n`` queries; returns them."""
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('Queries: ')"
        " && (p.innerText.match(/\\(/g) || []).length === n)",
        arg=n,
        timeout=timeout,
    )
    return parse_queries(queries_caption(page))
