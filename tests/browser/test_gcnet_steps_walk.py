"""The "GCNet in five steps" page in a real browser on an uploaded photo: Next through all five
steps and Previous back, each step drawing its figures and computed reading; screenshots of every
step and the time each click took go to artifacts/browser/."""

from __future__ import annotations

import json
import re
import time

import pytest
from _browser_helpers import assert_full_app, upload

from harness.browser import SLOW, photo_png, settle
from viz.views import STEP_TITLES

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


def _heading(i: int) -> str:
    return f"{i + 1}. {STEP_TITLES[i]}"


def _check_step(page, i: int) -> None:
    page.get_by_role("heading", name=_heading(i)).first.wait_for(timeout=SLOW)
    settle(page)
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()
    main = page.get_by_test_id("stMain")
    assert main.locator(".js-plotly-plot").count() >= 1
    reading = page.locator(".st-key-steps_reading").inner_text()
    assert re.search(r"\d", reading), reading  # written from the photo's numbers
    size = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('.st-key-steps_reading p'))"
        ".fontSize)"
    )
    assert size >= 24, size  # large type: 1.6rem at the default 16 px root


def test_walk_the_five_steps_on_an_upload(server_url, page, artifacts, tmp_path):
    photo = tmp_path / "chelsea.png"
    photo.write_bytes(photo_png())
    page.goto(server_url)
    page.get_by_text(re.compile(r"^Image — sample: ")).wait_for(timeout=SLOW)
    settle(page)
    upload(page, photo)
    settle(page)
    page.get_by_test_id("stSidebarNav").get_by_text("GCNet in five steps", exact=True).click()
    assert_full_app(page, "GCNet in five steps")
    page.get_by_text(re.compile(r"Live on upload: chelsea\.png")).wait_for(timeout=SLOW)
    _check_step(page, 0)
    timings = {}
    for i in range(1, len(STEP_TITLES)):
        start = time.perf_counter()
        page.get_by_role("button", name="Next →").first.click()  # the row above the step
        _check_step(page, i)
        timings[f"next to step {i + 1}"] = round(time.perf_counter() - start, 2)
        page.screenshot(path=str(artifacts / f"gcnet_step_{i + 1}.png"), full_page=True)
    assert all(b.is_disabled() for b in page.get_by_role("button", name="Next →").all())
    for i in reversed(range(len(STEP_TITLES) - 1)):
        page.get_by_role("button", name="← Previous").last.click()  # the row below it
        _check_step(page, i)
    assert all(b.is_disabled() for b in page.get_by_role("button", name="← Previous").all())
    page.screenshot(path=str(artifacts / "gcnet_step_1.png"), full_page=True)
    (artifacts / "gcnet_steps_timings.json").write_text(json.dumps(timings, indent=1))
