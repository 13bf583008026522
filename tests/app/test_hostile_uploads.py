"""Uploads a prankster sends, through AppTest: a refused file is decoded once per session (its
refusal remembered by the bytes' digest, the message shown again on every later run), and a file
name carrying Markdown and HTML is shown as written, inside a code span, never as markup."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from tiny_backbone import register_tiny

import viz.ui.sidebar as sidebar
from viz.data.uploads import describe_image, image_hash, load_image
from viz.ui.text import literal

APP = str(Path(__file__).resolve().parents[2] / "app.py")
HOSTILE = "![t](http://127.0.0.1:9/x.png) <img src=x onerror=alert(1)> **b**.png"


@pytest.fixture(scope="module")
def tiny():
    return register_tiny()


@pytest.fixture
def decodes(monkeypatch):
    """Every ``load_image`` call the sidebar makes, counted (the real decoder still runs)."""
    calls = []

    def counted(data, **kwargs):
        calls.append(image_hash(data))
        return load_image(data, **kwargs)

    monkeypatch.setattr(sidebar, "load_image", counted)
    return calls


def _png(seed: int, size=(96, 80)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _start(backbone: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["backbone"] = backbone
    return at.run()


def _ran(at: AppTest) -> None:
    """The whole entry script ran (its sidebar uploader is there) and nothing raised."""
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.file_uploader, "sidebar uploader missing: app.py did not run"


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.sidebar.file_uploader[0].set_value((name, data, "image/png")).run()


def test_a_refused_upload_is_decoded_once_per_session(tiny, decodes):
    truncated = _png(1)[:600]  # a real PNG cut short: refused as truncated
    at = _upload(_start(tiny), "cut.png", truncated)
    _ran(at)
    assert decodes == [image_hash(truncated)]
    (first,) = [e.value for e in at.error]
    assert "truncated or corrupt" in first
    # reruns and page moves keep the file in the uploader: the refusal is shown, not recomputed
    at.run()
    at.switch_page("app_pages/channel.py").run()
    _ran(at)
    assert [e.value for e in at.error] == [first]
    assert decodes == [image_hash(truncated)]
    # another refused file is decoded (once), and the first is still remembered after it
    other = _png(2)[:700]
    _upload(at, "cut2.png", other)
    _upload(at, "cut.png", truncated)
    assert decodes == [image_hash(truncated), image_hash(other)]
    assert [e.value for e in at.error] == [first]
    # a good file still decodes, and the page runs on it
    good = _png(3)
    _upload(at, "good.png", good)
    _ran(at)
    assert not at.error and decodes[-1] == image_hash(good)


def test_remembered_refusals_are_bounded(tiny, decodes):
    at = _start(tiny)
    for seed in range(sidebar.REFUSALS_KEPT + 2):
        _upload(at, f"cut{seed}.png", _png(seed)[:500])
    refused = at.session_state[sidebar.REFUSED_KEY]
    assert len(refused) == sidebar.REFUSALS_KEPT
    assert image_hash(_png(0)[:500]) not in refused  # the oldest went first
    assert image_hash(_png(sidebar.REFUSALS_KEPT + 1)[:500]) in refused


def _without(text: str, part: str) -> str:
    assert part in text, (part, text)
    return text.replace(part, "")


def test_a_name_with_markdown_and_html_is_shown_as_written(tiny):
    good = _png(4)
    at = _upload(_start(tiny), HOSTILE, good)
    _ran(at)
    captions = [c.value for c in at.sidebar.caption if c.value.startswith("Image — ")]
    expected = f"Image — upload: {literal(HOSTILE)} ({describe_image(load_image(good))})"
    assert captions == [expected]
    # outside its code span no markup of the name is left for Markdown to render
    rest = _without(captions[0], literal(HOSTILE))
    assert not any(mark in rest for mark in ("![", "<img", "**", "http"))

    at = _upload(at, HOSTILE, _png(5)[:600])
    (error,) = [e.value for e in at.error]
    assert error.startswith(f"Cannot use {literal(HOSTILE)}: ")
    assert not any(mark in _without(error, literal(HOSTILE)) for mark in ("![", "<img", "**"))
