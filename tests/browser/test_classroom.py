"""A classroom opens the app at once (issue 10): a freshly started server, several tabs opened
together (deep links among them) each uploading its own image, and a tab that outlives a server
restart. Each test starts its own ``streamlit run app.py`` so its first requests are the server's
very first ones."""

from __future__ import annotations

import re
import time

import pytest
from _browser_helpers import SERVER_ENV, assert_full_app, upload, wait_connected

from harness.browser import QI_HEADING, SLOW, photo_png, settle
from harness.server import free_port, start_app, stop_app, wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

# (path, heading) of the tabs opened at the same moment: two at the root, two deep links
TABS = [
    ("/", "Visual Attention Explorer"),
    ("/nonlocal", "Non-local queries"),
    ("/", "Visual Attention Explorer"),
    ("/query_independence", QI_HEADING),
]


@pytest.fixture()
def fresh_server(artifacts):
    """A server nobody has visited yet; yields (url, restart) and stops whatever runs."""
    port = free_port()
    log = artifacts / "streamlit_classroom.log"
    servers = [start_app(port, log=log, env=SERVER_ENV)]

    def restart() -> None:
        stop_app(servers[-1])
        servers.append(start_app(port, log=log, env=SERVER_ENV))
        wait_healthy(servers[-1])

    try:
        wait_healthy(servers[0])
        yield servers[0].url, restart
    finally:
        for server in servers:
            stop_app(server)


def test_cold_start_many_tabs_at_once_each_upload(fresh_server, browser, artifacts, tmp_path):
    url, _ = fresh_server
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in TABS]
    pages = [c.new_page() for c in contexts]
    try:
        for page, (path, _) in zip(pages, TABS):  # all first requests together, none awaited
            page.goto(url + path, wait_until="commit")
        for page, (_, heading) in zip(pages, TABS):
            assert_full_app(page, heading)
        photos = []
        for i, page in enumerate(pages):  # uploads also at once: one distinct image per tab
            photo = tmp_path / f"tab{i}.png"
            photo.write_bytes(photo_png(seed=100 + i))
            photos.append(photo)
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(photo))
        for i, (page, photo) in enumerate(zip(pages, photos)):
            try:
                page.get_by_text(re.compile(rf"upload: {photo.name}")).first.wait_for(timeout=SLOW)
                settle(page)
                assert_full_app(page, TABS[i][1])
                # nobody else's upload shows in this tab
                others = [p.name for p in photos if p != photo]
                sidebar = page.get_by_test_id("stSidebar").inner_text()
                assert not any(name in sidebar for name in others), sidebar
            finally:
                page.screenshot(path=str(artifacts / f"classroom_tab{i}.png"), full_page=True)
    finally:
        for c in contexts:
            c.close()


def test_tab_survives_a_server_restart(fresh_server, browser, artifacts, tmp_path):
    url, restart = fresh_server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(url + "/nonlocal")
        assert_full_app(page, "Non-local queries")
        settle(page)
        restart()  # same port; the open tab's websocket drops and reconnects to a new process
        time.sleep(1.0)
        try:
            wait_connected(page)  # not the old page still on screen while the tab reconnects
            assert_full_app(page, "Non-local queries")
            settle(page)
            assert_full_app(page, "Non-local queries")
            photo = tmp_path / "after_restart.png"
            photo.write_bytes(photo_png(seed=7))
            upload(page, photo)  # the reconnected session works, not just renders
            settle(page)
            page.reload()  # and a reload of the deep link after the restart
            assert_full_app(page, "Non-local queries")
        finally:
            page.screenshot(path=str(artifacts / "restart.png"), full_page=True)
    finally:
        context.close()
