"""The "GCNet in five steps" page through AppTest: an uploaded photo, steps 1 → 5 with Next, back
with Previous, a jump, and the fallback to the default Non-local model for a backbone without one.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from tiny_backbone import register_tiny

from viz.ui.text import literal
from viz.views import STEP_TITLES

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "app_pages/gcnet_steps.py"
MANIFEST = ROOT / "weights" / "manifest.json"
TIMEOUT = 240


def _png(seed: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def _step_shown(at: AppTest, index: int) -> None:
    """No exception; the step's header, its computed reading and at least one figure."""
    assert not at.exception, [e.value for e in at.exception]
    assert f"{index + 1}. {STEP_TITLES[index]}" in _texts(at.header)
    assert f"Step {index + 1} of {len(STEP_TITLES)}" in str(at.get("progress")[0].proto)
    charts = at.get("plotly_chart")
    assert charts and all(c.key.startswith(f"steps_fig_{index}_") for c in charts)
    assert all('"title"' in c.proto.spec for c in charts)  # every figure carries a title
    reading = at.markdown[-1].value if at.markdown else ""
    assert any(ch.isdigit() for ch in reading), reading  # written from numbers
    assert at.metric, "the step's numbers"


def _open(backbone: str, upload: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["backbone"] = backbone
    at.run()
    if upload:
        at.sidebar.file_uploader[0].set_value(("photo.png", _png(), "image/png")).run()
    at.switch_page(PAGE).run()
    return at


def test_walk_forward_back_and_jump_on_an_upload():
    tiny = register_tiny()
    at = _open(tiny)
    assert f"upload: {literal('photo.png')}" in _texts(at.sidebar.caption)
    assert f"Live on upload: {literal('photo.png')}" in _texts(at.caption)
    # step 1's query can be moved: the reading follows it
    at.number_input(key="steps_row:test/tiny_all:blocks.7").set_value(1).run()
    at.number_input(key="steps_col:test/tiny_all:blocks.7").set_value(2).run()
    assert "Query (1, 2) owns one attention row" in at.markdown[-1].value
    readings = []
    for i in range(len(STEP_TITLES)):
        _step_shown(at, i)
        readings.append(at.markdown[-1].value)
        for where in ("", "_top"):
            assert at.button(key=f"steps_prev{where}").disabled == (i == 0)
            assert at.button(key=f"steps_next{where}").disabled == (i == len(STEP_TITLES) - 1)
        if i < len(STEP_TITLES) - 1:
            at.button(key="steps_next").click().run()
    assert len(set(readings)) == len(STEP_TITLES)  # one reading per step, none repeated
    for i in reversed(range(len(STEP_TITLES) - 1)):  # back with the buttons above the step
        at.button(key="steps_prev_top").click().run()
        _step_shown(at, i)
    at.radio(key="steps_pick").set_value(3).run()
    _step_shown(at, 3)
    # the tiny net has four Non-local layers: the picker walks another one
    picker = at.selectbox(key="steps_layer")
    assert len(picker.options) == 4
    picker.set_value(picker.options[3]).run()
    _step_shown(at, 3)
    assert "Concatenation" in at.markdown[-1].value


@pytest.mark.skipif(not MANIFEST.exists(), reason="zoo weights absent: weights/manifest.json")
def test_backbone_without_nonlocal_falls_back_to_the_default():
    at = _open("zoo/se", upload=False)
    _step_shown(at, 0)
    assert "zoo/se has no Non-local block" in _texts(at.caption)
    assert "zoo/nl_embedded_gaussian" in _texts(at.caption)
    at.radio(key="steps_pick").set_value(4).run()
    _step_shown(at, 4)
    assert "Held-out mAP: GC" in at.markdown[-1].value
