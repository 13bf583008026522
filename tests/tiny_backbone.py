"""A tiny random-weight backbone carrying every attention kind, for tests that need a forward
pass (registered as ``test/tiny_all``) — not a test module itself."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from viz.attention import ATTENTION_KINDS, create_attention
from viz.weights.registry import register
from viz.weights.spec import Backbone, BackboneSpec
from viz.weights.transforms import Geometry, ShorterSideCrop

TINY_NAME = "test/tiny_all"
TINY_KINDS = tuple(k for k in ATTENTION_KINDS)
TINY_SIZE = 64
TINY_CLASSES = [f"class{i}" for i in range(10)]


class TinyNet(nn.Module):
    """TEST ONLY: stride-8 conv stem, every attention kind in a row, GAP + linear head."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 8, stride=8), nn.ReLU())
        self.blocks = nn.Sequential(*[create_attention(k, 16) for k in TINY_KINDS])
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


# shorter side + centre crop like the zoo, so tests see a crop box inside a non-square picture
_prepare = Geometry(ShorterSideCrop(TINY_SIZE))


def _preprocess(image: Image.Image) -> torch.Tensor:
    arr = np.asarray(_prepare(image), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1)[None]


TINY_META = {
    "kinds": list(TINY_KINDS),
    "dataset": "none (random weights, tests only)",
    "accuracy": None,
    "metric": "mAP",
    "classes": TINY_CLASSES,
    "task": "multilabel",
    "source": "tests (random weights)",
    "trained": False,
}


def _build(device) -> Backbone:
    return Backbone(
        name=TINY_NAME,
        model=TinyNet().eval(),
        preprocess=_preprocess,
        meta=dict(TINY_META),
        device=torch.device(device),
        prepare=_prepare,
    )


def register_tiny() -> str:
    """Register the test-only backbone (group "test") and return its name."""
    register(BackboneSpec(TINY_NAME, "test", "TEST ONLY tiny random net", _build, dict(TINY_META)))
    return TINY_NAME


def tiny_image(seed: int = 0, size: int = 80) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size + 10, 3), dtype=np.uint8))
