"""The sidebar under the process-wide decode budget, through AppTest: an upload that has to wait
for other sessions' decodes says so while it waits and then loads; a TIFF named ``.png`` (the
uploader checks names only) is refused by its content."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from tiny_backbone import register_tiny

import viz.ui.sidebar as sidebar
from viz.data import uploads
from viz.data.uploads import DecodeBudget

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def tiny():
    return register_tiny()


def _encoded(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (96, 80), (30, 120, 200)).save(buf, fmt)
    return buf.getvalue()


def _start(backbone: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["backbone"] = backbone
    return at.run()


def test_an_upload_waiting_for_the_budget_shows_a_status(tiny, monkeypatch):
    budget = DecodeBudget(1)  # every decode needs the whole budget
    monkeypatch.setattr(uploads, "DECODE_BUDGET", budget)
    shown: list[str] = []
    show = sidebar._show_waiting

    def recorded(slot) -> None:
        shown.append(f"{time.monotonic():.3f}")
        show(slot)

    monkeypatch.setattr(sidebar, "_show_waiting", recorded)
    at = _start(tiny)
    holding, release = threading.Event(), threading.Event()

    def other_session() -> None:
        with budget.hold(1):
            holding.set()
            release.wait(30)

    other = threading.Thread(target=other_session)
    other.start()
    assert holding.wait(5)
    threading.Timer(1.0, release.set).start()
    start = time.monotonic()
    at = at.sidebar.file_uploader[0].set_value(("wait.png", _encoded("PNG"), "image/png")).run()
    other.join(5)
    assert not at.exception and not at.error
    assert len(shown) == 1  # the status went up once, before the wait
    assert time.monotonic() - start >= 0.9  # and the upload really waited for the other decode
    assert any(c.value.startswith("Image — upload: ") for c in at.sidebar.caption)
    assert not [i.value for i in at.sidebar.info if "Waiting" in i.value]  # gone once decoded
    assert budget.in_use == 0


def test_a_tiff_named_png_is_refused_in_the_sidebar(tiny):
    at = _start(tiny)
    at = at.sidebar.file_uploader[0].set_value(("scan.png", _encoded("TIFF"), "image/png")).run()
    (error,) = [e.value for e in at.error]
    assert "scan.png" in error and "holds a TIFF image" in error
