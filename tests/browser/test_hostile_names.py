"""An upload whose file name carries Markdown and HTML, in a real browser: the name is shown as
written (in the sidebar's caption, and in the error when the file is refused), no element is made
from it (no image, no link, no bold), and nothing is fetched from the address it names."""

from __future__ import annotations

import re

import pytest

from harness.browser import SLOW, photo_png, settle

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

TRAP = "http://127.0.0.1:9/x.png"  # port 9 (discard): nothing answers, a fetch would only be seen
NAME = f"![t]({TRAP}) <img src=x onerror=alert(1)> **b**.png"


def _send(page, data: bytes) -> None:
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.wait_for(state="attached", timeout=SLOW)
    uploader.set_input_files({"name": NAME, "mimeType": "image/png", "buffer": data})


def _nothing_made_of_the_name(page) -> None:
    assert page.locator(f'img[src="{TRAP}"], img[src="x"], a[href="{TRAP}"]').count() == 0
    assert page.locator("strong", has_text=re.compile(r"^b$")).count() == 0


def test_a_hostile_file_name_is_text(server_url, page):
    fetched, dialogs = [], []
    page.on("request", lambda r: fetched.append(r.url) if "127.0.0.1:9/" in r.url else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server_url)
    page.get_by_text(re.compile(r"^Image — sample: ")).wait_for(timeout=SLOW)
    settle(page)

    _send(page, photo_png(seed=21))
    caption = page.get_by_test_id("stSidebar").get_by_text(re.compile(r"^Image — upload: "))
    caption.wait_for(timeout=SLOW)
    settle(page)
    assert caption.locator("code").inner_text() == NAME  # the whole name, literally
    assert caption.inner_text().startswith(f"Image — upload: {NAME} (PNG ")
    _nothing_made_of_the_name(page)

    _send(page, photo_png(seed=22)[:700])  # the same name on a file cut short: refused
    error = page.get_by_test_id("stAlertContentError")
    error.wait_for(timeout=SLOW)
    settle(page)
    assert error.locator("code").inner_text() == NAME
    text = error.get_by_test_id("stMarkdownContainer").inner_text()
    assert text.startswith(f"Cannot use {NAME}: The PNG file is truncated")
    _nothing_made_of_the_name(page)

    assert fetched == [] and dialogs == []
