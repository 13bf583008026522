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


def pipeline(prepare: Prepare, to_tensor: Callable) -> tuple[Prepare, Callable]:
    """``(prepare_rgb, preprocess)`` from a geometric step and a to-tensor step.

    ``prepare_rgb`` is what ``Backbone.prepare`` shows (overlays sit on the pixels the model saw);
    ``preprocess`` adds the batch dimension.
    """

    def prepare_rgb(image: Image.Image) -> Image.Image:
        return prepare(image.convert("RGB"))

    def preprocess(image: Image.Image) -> torch.Tensor:
        out = to_tensor(prepare_rgb(image))
        return out if out.ndim == 4 else out.unsqueeze(0)

    return prepare_rgb, preprocess


def imagenet_pipeline(
    size: int,
    resize: int | None = None,
    interpolation=v2.InterpolationMode.BILINEAR,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
) -> tuple[Prepare, Callable]:
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


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize the short side to ``size`` and take the central ``size`` x ``size`` square (RGB)."""
    image = image.convert("RGB")
    w, h = image.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((nw, nh), Image.BICUBIC)
    left, top = (nw - size) // 2, (nh - size) // 2
    return image.crop((left, top, left + size, top + size))


def normalise(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (1, 3, H, W) float tensor with TF-Lite scaling (x * 255 - 127) / 128."""
    arr = np.asarray(image.convert("RGB"), dtype=np.float32)
    t = torch.from_numpy((arr - 127.0) / 128.0).permute(2, 0, 1).unsqueeze(0)
    return t.contiguous()


def lite0_pipeline(size: int) -> tuple[Prepare, Callable]:
    """The Lite0 trunk's pipeline (the zoo and the Lite0 ImageNet classifier)."""
    return pipeline(lambda image: resize_center_crop(image, size), normalise)


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
