"""How a backbone sees an image: ``prepare`` (PIL geometry: shorter side + centre crop, never a
squash) and ``preprocess`` (``PIL -> (1, 3, H, W)`` tensor), built in one place for every source.

The ImageNet presets are torchvision ``transforms.v2`` pipelines; the Lite0 / zoo pipeline keeps
its TF-Lite scaling ``(x * 255 - 127) / 128`` and its rounding of the resized side, so shipped
statistics and predictions stay exactly as they were measured.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Box",
    "Geometry",
    "ShorterSideCrop",
    "crop_box",
    "imagenet_pipeline",
    "lite0_pipeline",
    "normalise",
    "pipeline",
    "resize_center_crop",
    "split_transform",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Prepare = Callable[[Image.Image], Image.Image]

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1), pixel edges of the source picture


class Geometry:
    """A pipeline's geometric step as ``Backbone.prepare``: RGB in, the model's pixels out, and
    :meth:`box`, the region of the source picture those pixels come from (overlays are drawn on
    the user's own picture at that box)."""

    def __init__(self, steps: Prepare):
        self.steps = steps

    def __call__(self, image: Image.Image) -> Image.Image:
        return self.steps(image.convert("RGB"))

    def box(self, width: int, height: int) -> Box:
        """The crop box of a ``width`` x ``height`` picture (see :func:`crop_box`)."""
        return crop_box(self, width, height)


def pipeline(prepare: Prepare, to_tensor: Callable) -> tuple[Geometry, Callable]:
    """``(geometry, preprocess)`` from a geometric step and a to-tensor step.

    ``geometry`` is what ``Backbone.prepare`` shows (with the crop box it keeps); ``preprocess``
    adds the batch dimension.
    """
    geometry = prepare if isinstance(prepare, Geometry) else Geometry(prepare)

    def from_prepared(prepared: Image.Image) -> torch.Tensor:
        out = to_tensor(prepared)
        return out if out.ndim == 4 else out.unsqueeze(0)

    def preprocess(image: Image.Image) -> torch.Tensor:
        return from_prepared(geometry(image))

    # what ``geometry`` already gave goes straight to the tensor: a caller that shows the model's
    # pixels and runs the model resizes the picture once, not twice
    preprocess.from_prepared = from_prepared
    preprocess.geometry = geometry
    return geometry, preprocess


def _resized_size(size, max_size, width: int, height: int) -> tuple[int, int]:
    """torchvision's ``Resize`` output (w, h): an int resizes the shorter side (the longer one is
    truncated, as torchvision does), a pair is (h, w)."""
    size = [size] if isinstance(size, int) else list(size)
    if len(size) == 2:
        return int(size[1]), int(size[0])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = int(size[0]), int(size[0] * long / short)
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), int(max_size)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def _crop_offset(size: int, target: int) -> int:
    """torchvision's ``CenterCrop`` offset along one side (negative when it pads)."""
    if target > size:
        return -((target - size) // 2)
    return int(round((size - target) / 2.0))


def crop_box(geometry, width: int, height: int) -> Box:
    """The region of a ``width`` x ``height`` picture that ``geometry`` turns into the model's
    pixels, as pixel edges ``(x0, y0, x1, y1)`` (beyond the picture where a crop pads).

    Follows the steps themselves (a ``Compose`` of torchvision v1 / v2 ``Resize`` and
    ``CenterCrop``, a :class:`ShorterSideCrop`, a :class:`Geometry`), so the box is the
    pipeline's own, never assumed. A ``Resize`` to a pair squashes: the box is the whole picture,
    and maps drawn on it are stretched exactly as the picture was.

    Args:
        geometry: the geometric step(s).
        width: source width in pixels.
        height: source height in pixels.

    Raises:
        ValueError: a step whose geometry is not known here.
    """
    return _trace(geometry, int(width), int(height))[0]


def _trace(geometry, width: int, height: int) -> tuple[Box, tuple[int, int]]:
    """(source box, output (w, h)) of ``geometry`` on a ``width`` x ``height`` picture."""
    if isinstance(geometry, Geometry):
        return _trace(geometry.steps, width, height)
    if isinstance(geometry, ShorterSideCrop):
        return geometry.box(width, height), (geometry.size, geometry.size)
    x0, y0, x1, y1 = 0.0, 0.0, float(width), float(height)
    cw, ch = width, height
    for step in getattr(geometry, "transforms", [geometry]):
        name = type(step).__name__
        if name == "Resize":
            cw, ch = _resized_size(step.size, getattr(step, "max_size", None), cw, ch)
            continue
        if name == "CenterCrop":
            th, tw = (step.size, step.size) if isinstance(step.size, int) else step.size[-2:]
            left, top = _crop_offset(cw, int(tw)), _crop_offset(ch, int(th))
            inner, out = (left, top, left + int(tw), top + int(th)), (int(tw), int(th))
        elif isinstance(step, (Geometry, ShorterSideCrop)) or hasattr(step, "transforms"):
            inner, out = _trace(step, cw, ch)
        else:
            raise ValueError(f"crop_box: the geometry of {name} is not known")
        sx, sy = (x1 - x0) / cw, (y1 - y0) / ch  # current pixels -> source pixels
        x0, y0, x1, y1 = (
            x0 + inner[0] * sx,
            y0 + inner[1] * sy,
            x0 + inner[2] * sx,
            y0 + inner[3] * sy,
        )
        cw, ch = out
    return (x0, y0, x1, y1), (cw, ch)


def imagenet_pipeline(
    size: int,
    resize: int | None = None,
    interpolation=v2.InterpolationMode.BILINEAR,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
) -> tuple[Geometry, Callable]:
    """The ImageNet classification preset on ``transforms.v2``: resize the shorter side to
    ``resize`` (default ``size``), centre-crop ``size``, scale to [0, 1], normalise."""
    prepare = v2.Compose(
        [
            v2.Resize(resize or size, interpolation=interpolation, antialias=True),
            v2.CenterCrop(size),
        ]
    )
    to_tensor = v2.Compose(
        [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    )
    return pipeline(prepare, to_tensor)


def _lite0_layout(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """(resized w, resized h, left, top) of :func:`resize_center_crop`: the one place its
    rounding lives, so the crop box cannot drift from the pixels."""
    scale = size / min(width, height)
    nw, nh = max(size, round(width * scale)), max(size, round(height * scale))
    return nw, nh, (nw - size) // 2, (nh - size) // 2


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize the short side to ``size`` and take the central ``size`` x ``size`` square (RGB)."""
    image = image.convert("RGB")
    nw, nh, left, top = _lite0_layout(*image.size, size)
    image = image.resize((nw, nh), Image.BICUBIC)
    return image.crop((left, top, left + size, top + size))


class ShorterSideCrop:
    """:func:`resize_center_crop` as a step that knows its crop box.

    Args:
        size: the square side the model sees.
    """

    def __init__(self, size: int):
        self.size = int(size)

    def __call__(self, image: Image.Image) -> Image.Image:
        return resize_center_crop(image, self.size)

    def box(self, width: int, height: int) -> Box:
        """The source region kept: the resized picture's crop, mapped back by its scale."""
        nw, nh, left, top = _lite0_layout(width, height, self.size)
        sx, sy = width / nw, height / nh
        return (left * sx, top * sy, (left + self.size) * sx, (top + self.size) * sy)


def normalise(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (1, 3, H, W) float tensor with TF-Lite scaling (x * 255 - 127) / 128."""
    arr = np.asarray(image.convert("RGB"), dtype=np.float32)
    t = torch.from_numpy((arr - 127.0) / 128.0).permute(2, 0, 1).unsqueeze(0)
    return t.contiguous()


def lite0_pipeline(size: int) -> tuple[Geometry, Callable]:
    """The Lite0 trunk's pipeline (the zoo and the Lite0 ImageNet classifier)."""
    return pipeline(ShorterSideCrop(size), normalise)


def split_transform(transform) -> tuple[Callable, Callable]:
    """Split a ``Compose`` at its to-tensor step: (PIL geometry, PIL -> normalised tensor).

    Args:
        transform: a torchvision ``Compose`` as timm's ``create_transform`` returns.

    Raises:
        ValueError: the pipeline has no to-tensor step.
    """
    from torchvision import transforms as T

    steps = list(transform.transforms)
    cut = next((i for i, t in enumerate(steps) if "ToTensor" in type(t).__name__), None)
    if cut is None:
        raise ValueError(f"no to-tensor step in {transform}")
    return T.Compose(steps[:cut]), T.Compose(steps[cut:])
