"""The README's "How to add a mechanism", followed to the letter: the mechanism file is the
README's own code block (executed as written), it is registered with ``register_mechanism``, a tiny
backbone carries it (as ``tests/tiny_backbone.py`` builds one), and the Channel page's model
picker offers that backbone and draws its gate. If the README's recipe stops working, this fails.

Everything registered here is removed again after each test, so no other test sees the toy kind.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from tiny_backbone import _build as tiny_build
from tiny_backbone import tiny_image
from torch import nn

from viz import views
from viz.analysis.forward import analyse
from viz.attention import (
    CHANNEL_KINDS,
    MECHANISMS,
    create_attention,
    kinds_on,
    mechanism,
    register_mechanism,
)
from viz.weights import registry
from viz.weights.choice import candidates_for
from viz.weights.spec import Backbone, BackboneSpec

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
KIND = "toy_gate"  # the kind the README's block defines
BACKBONE = "test/toy_gate"
CHANNELS = 8


def readme_mechanism_file() -> str:
    """The first ```python block under the README's "## How to add a mechanism" heading."""
    text = README.read_text()
    start = text.index("## How to add a mechanism")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's 'How to add a mechanism' section lost its code block"
    return blocks[0]


def load_readme_mechanism() -> types.ModuleType:
    """The README's block run as the module ``viz/attention/toy_gate.py`` would be."""
    module = types.ModuleType("toy_gate")
    exec(compile(readme_mechanism_file(), "README.md (toy_gate.py)", "exec"), module.__dict__)
    return module


class ToyNet(nn.Module):
    """TEST ONLY: a stride-8 stem, the toy block, a linear head (tiny_backbone's TinyNet with one
    block)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Sequential(nn.Conv2d(3, CHANNELS, 8, stride=8), nn.ReLU())
        self.block = create_attention(KIND, CHANNELS)
        self.head = nn.Linear(CHANNELS, 3)

    def forward(self, x):
        return self.head(self.block(self.stem(x)).mean(dim=(2, 3)))


META = {"kinds": [KIND], "task": "multilabel", "classes": ["a", "b", "c"], "metric": "mAP"}


def _build(device) -> Backbone:
    base = tiny_build(device)  # the tiny backbone's preprocessing and crop
    return Backbone(BACKBONE, ToyNet().eval(), base.preprocess, META, base.device, base.prepare)


@pytest.fixture
def toy():
    """The README's mechanism registered and a tiny backbone carrying it; both removed after."""
    toy_gate = load_readme_mechanism()
    register_mechanism(toy_gate.MECHANISM)
    try:
        registry.register(BackboneSpec(BACKBONE, "test", "TEST ONLY toy gate", _build, META))
        yield toy_gate
    finally:
        MECHANISMS.pop(KIND, None)
        # the registry has no public removal (nothing in the app needs one); tests may reach in
        registry._REGISTRY.pop(BACKBONE, None)
    assert kinds_on("channel") == CHANNEL_KINDS and BACKBONE not in registry.list_backbones()


def test_the_readme_block_registers_a_mechanism(toy):
    assert mechanism(KIND) is toy.MECHANISM
    assert kinds_on("channel") == (*CHANNEL_KINDS, KIND)  # after the built-in ones
    assert KIND not in kinds_on("nonlocal") and KIND not in kinds_on("spatial")
    assert isinstance(create_attention(KIND, CHANNELS), toy.ToyGate)
    with pytest.raises(ValueError, match="registered already"):
        register_mechanism(toy.MECHANISM)  # a second file of the same kind is an error
    with pytest.raises(ValueError, match="registered already"):
        register_mechanism(mechanism("se"))


def test_a_channel_page_mechanism_needs_a_gate(toy):
    from dataclasses import replace

    with pytest.raises(ValueError, match="needs a gate"):
        replace(toy.MECHANISM, kind="toy_without_gate", gate=None)


def test_its_backbone_is_a_candidate_of_the_channel_page_only(toy):
    (found,) = [c for c in candidates_for(kinds_on("channel")) if c.name == BACKBONE]
    assert found.kinds == (KIND,) and found.group == "test" and found.present
    assert BACKBONE not in [c.name for c in candidates_for(kinds_on("nonlocal"))]


def test_its_gate_is_captured_and_drawn(toy):
    analysis = analyse(registry.load_backbone(BACKBONE, "cpu"), tiny_image())
    (path,) = analysis.records
    record = analysis.records[path]
    assert record.kind == KIND and record.module_type == "ToyGate"
    gate = record.tensors["channel"]
    assert gate.shape == (CHANNELS,) and 0 < gate.min() <= gate.max() < 1
    figures = views.channel_view(analysis)
    assert [b.path for b in figures.bars] == [path] and figures.heatmap is not None
    assert views.channel_explorer(analysis) is not None


def test_the_channel_page_offers_it_and_draws_its_gate(toy):
    """The real page through AppTest, with the toy backbone as the sidebar's preferred one."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.session_state["backbone"] = BACKBONE
    at.run()
    at.switch_page("app_pages/channel.py").run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key="page_backbone:channel")
    listed = [label.split(" · ")[0] for label in picker.options]  # "test/toy_gate · test"
    assert BACKBONE in listed and picker.value == BACKBONE  # the preferred one carries the kind
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any(key.endswith("-chart_bars:block") for key in charts), charts  # its gate bars
