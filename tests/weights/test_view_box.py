"""The crop box each pipeline reports is the region its pixels really come from: cropping the
source picture at the box and resizing it reproduces ``prepare``'s pixels, and a box shifted by a
few pixels does not."""

import numpy as np
import pytest
from PIL import Image

from viz.weights.registry import backbone_info, list_backbones
from viz.weights.transforms import (
    ShorterSideCrop,
    crop_box,
    imagenet_pipeline,
    lite0_pipeline,
    split_transform,
)

SIZES = [(720, 477), (477, 720), (300, 300), (101, 333), (1000, 120)]


def _picture(width: int, height: int) -> Image.Image:
    """A smooth random picture with structure at every position (so misplaced crops show)."""
    rng = np.random.default_rng(width * 7 + height)
    small = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.BICUBIC)


def _timm_geometry():
    timm_data = pytest.importorskip("timm.data")
    config = {
        "input_size": (3, 224, 224),
        "interpolation": "bicubic",
        "mean": (0.485, 0.456, 0.406),
        "std": (0.229, 0.224, 0.225),
        "crop_pct": 0.95,
        "crop_mode": "center",
    }
    return split_transform(timm_data.create_transform(**config))[0]


PIPELINES = {
    "lite0 160": lambda: lite0_pipeline(160)[0],
    "imagenet 256→224": lambda: imagenet_pipeline(224, 256)[0],
    "imagenet 448": lambda: imagenet_pipeline(448)[0],
    "timm crop_pct 0.95": _timm_geometry,
}


def _mismatch(picture: Image.Image, box, shown: Image.Image) -> float:
    """Mean absolute pixel difference between ``shown`` and the picture cropped at ``box``."""
    again = picture.resize(shown.size, Image.BICUBIC, box=box)
    return float(np.abs(np.asarray(again, float) - np.asarray(shown, float)).mean())


@pytest.mark.parametrize("name", list(PIPELINES))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_box_reproduces_the_pixels_the_model_sees(name, size):
    geometry = PIPELINES[name]()
    picture = _picture(*size)
    shown = geometry(picture)
    box = crop_box(geometry, *size)
    x0, y0, x1, y1 = box
    assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]
    error = _mismatch(picture, box, shown)
    assert error < 0.5, f"{name} at {size}: {error:.2f} grey levels off"
    shift = 0.04 * (x1 - x0)
    if x0 >= shift:  # the same box a few pixels to the left is clearly worse
        moved = (x0 - shift, y0, x1 - shift, y1)
        assert _mismatch(picture, moved, shown) > 2.0


def test_known_boxes():
    # 720x477 at 160: resized to 242x160, crop from x = 41, i.e. 41 * 720 / 242 in the source
    x0, y0, x1, y1 = crop_box(ShorterSideCrop(160), 720, 477)
    assert (y0, y1) == (0.0, 477.0)
    assert x0 == pytest.approx(41 * 720 / 242) and x1 == pytest.approx(201 * 720 / 242)
    # 256 -> 224 keeps the central 224/256 of the shorter side
    x0, y0, x1, y1 = crop_box(imagenet_pipeline(224, 256)[0], 512, 512)
    assert (x0, y0, x1, y1) == pytest.approx((32, 32, 480, 480))


def test_a_squash_keeps_the_whole_picture_and_unknown_steps_raise():
    from torchvision.transforms import v2

    assert crop_box(v2.Compose([v2.Resize((64, 64))]), 90, 80) == (0.0, 0.0, 90.0, 80.0)
    with pytest.raises(ValueError, match="not known"):
        crop_box(lambda image: image, 90, 80)


def test_every_spec_knows_its_box_before_loading():
    names = [n for n in list_backbones() if not n.startswith("test/")]
    assert names
    for name in names:
        box = backbone_info(name).view_box(720, 477)
        assert box is not None, name
        assert 0 <= box[0] < box[2] <= 720 and 0 <= box[1] < box[3] <= 477, (name, box)


def test_spec_box_is_the_built_backbones_box():
    from viz.weights.registry import load_backbone

    name = "zoo/se"
    built = load_backbone(name)
    for size in SIZES:
        box = built.view_box(*size)
        assert backbone_info(name).view_box(*size) == box
        picture = _picture(*size)  # and the built backbone's own prepare agrees with it
        assert _mismatch(picture, box, built.prepare(picture)) < 0.5


@pytest.mark.parametrize(
    "make", [lambda: lite0_pipeline(224), lambda: imagenet_pipeline(224, 256)], ids=["lite0", "in"]
)
def test_preprocess_from_prepared_equals_preprocess(make):
    """``analyse`` shows the model's pixels and feeds them on (one resize): the tensor must be
    exactly what ``preprocess`` makes from the picture itself."""
    import torch

    geometry, preprocess = make()
    rng = np.random.default_rng(3)
    img = Image.fromarray(rng.integers(0, 256, (301, 517, 3), dtype=np.uint8))
    assert preprocess.geometry is geometry
    assert torch.equal(preprocess.from_prepared(geometry(img)), preprocess(img))
