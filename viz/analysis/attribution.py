"""Gradient attributions (captum LayerGradCam, IntegratedGradients) to set beside attention maps.

Why a private replica. The model is cached once and shared by every Streamlit session, each in its own
thread. captum puts forward hooks on the model's *modules* for the length of a call, so a session
running a plain forward at that moment would fire them (and corrupt both results); and turning
``requires_grad`` off on shared parameters would race with anyone else using them. So every call runs
on a structural copy of the model whose parameters are new ``Parameter`` objects *sharing storage*
with the originals (no weight copy) with ``requires_grad=False``: captum's hooks land on the copy,
gradients flow only to the input and the layer activations, and the shared model is never touched.
The call also runs in a fresh :class:`contextvars.Context`, so an open ``viz.capture`` in the
caller's context never records the dozens of forwards integrated gradients makes.

Geometry. Every map is aligned with ``backbone.prepare(image)``, the pixels the model saw:
integrated gradients at the input resolution (H, W); Grad-CAM at the resolution of its layer
(h, w) — upsampling is the figure's job
(:func:`viz.analysis.numpy_stats.resize_bilinear` does it).
"""

from __future__ import annotations

import contextvars
import copy
import math
import warnings
from collections.abc import Iterable

import numpy as np
import torch
from PIL import Image
from torch import nn

from viz.analysis.numpy_stats import resize_bilinear

__all__ = [
    "ATTRIBUTION_METHODS",
    "attribute",
    "default_target",
    "gradcam_layer",
    "map_correlation",
    "normalise_map",
]

ATTRIBUTION_METHODS = ("gradcam", "integrated_gradients")


def _replica(model: nn.Module) -> nn.Module:
    """A copy of ``model``'s structure sharing its weights' storage, with gradients off for weights.

    Why: captum's hooks and the autograd graph then live on an object no other thread can see.
    """
    memo: dict[int, object] = {}
    for p in model.parameters():
        memo[id(p)] = nn.Parameter(p.detach(), requires_grad=False)
    for b in model.buffers():
        memo[id(b)] = b
    replica = copy.deepcopy(model, memo)
    return replica.eval()


def gradcam_layer(backbone) -> str:
    """Module path Grad-CAM explains: ``meta.gradcam_layer``, else the last ``Conv2d``.

    Args:
        backbone: a ``viz.weights.Backbone``.

    Raises:
        ValueError: the model has no ``Conv2d`` to fall back on.
    """
    path = backbone.meta.gradcam_layer
    if path:
        try:
            backbone.model.get_submodule(path)
            return path
        except AttributeError:
            warnings.warn(
                f"gradcam_layer {path!r} is not a module of {backbone.name}; using the last Conv2d",
                stacklevel=2,
            )
    last = None
    for name, module in backbone.model.named_modules():
        if isinstance(module, nn.Conv2d):
            last = name
    if last is None:
        raise ValueError(f"{backbone.name} has no Conv2d layer for Grad-CAM")
    return last


def _input(backbone, image: Image.Image) -> torch.Tensor:
    return backbone.preprocess(image.convert("RGB")).to(backbone.device)


def _argmax_target(model: nn.Module, x: torch.Tensor) -> int:
    # softmax and sigmoid are monotone: the top logit is the top class for both heads
    with torch.no_grad():
        logits = model(x)
    return int(logits.reshape(logits.shape[0], -1)[0].argmax())


def default_target(backbone, image: Image.Image) -> int:
    """The class explained when none is given: the predicted class (the highest-probability label of
    a multi-label head, i.e. the top logit in both cases).

    Args:
        backbone: a ``viz.weights.Backbone``.
        image: RGB PIL image.
    """
    x = _input(backbone, image)
    return contextvars.Context().run(_argmax_target, _replica(backbone.model), x)


def normalise_map(m: np.ndarray | torch.Tensor) -> np.ndarray:
    """Clip at 0 and divide by the maximum; an all-zero map stays all zero (float32)."""
    a = np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m, dtype=np.float64)
    a = np.nan_to_num(np.clip(a, 0.0, None), nan=0.0, posinf=0.0)
    peak = a.max() if a.size else 0.0
    return (a / peak if peak > 0 else np.zeros_like(a)).astype(np.float32)


def _run(backbone, image, target, methods, steps, internal_batch_size) -> dict[str, np.ndarray]:
    from captum.attr import IntegratedGradients, LayerGradCam

    model = _replica(backbone.model)
    x = _input(backbone, image)
    if target is None:
        target = _argmax_target(model, x)
    out: dict[str, np.ndarray] = {}
    with torch.enable_grad():
        if "gradcam" in methods:
            layer = model.get_submodule(gradcam_layer(backbone))
            cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
            if cam.ndim != 4:
                raise ValueError(
                    f"Grad-CAM layer of {backbone.name} gives shape {tuple(cam.shape)}, "
                    "not a (1, 1, h, w) map"
                )
            out["gradcam"] = normalise_map(cam[0, 0])
        if "integrated_gradients" in methods:
            # black image through the same preprocessing = the baseline at the model's geometry
            baseline = _input(backbone, Image.new("RGB", image.size))
            ig = IntegratedGradients(model).attribute(
                x,
                baselines=baseline,
                target=target,
                n_steps=steps,
                internal_batch_size=internal_batch_size,
            )
            out["integrated_gradients"] = normalise_map(ig[0].abs().sum(dim=0))
    return out


def attribute(
    backbone,
    image: Image.Image,
    target: int | None = None,
    methods: Iterable[str] = ATTRIBUTION_METHODS,
    steps: int = 16,
    internal_batch_size: int = 4,
) -> dict[str, np.ndarray]:
    """Grad-CAM and integrated-gradients maps of ``image`` for class ``target``.

    Thread-safe; leaves no hook and no ``requires_grad`` change on ``backbone.model`` (see module doc).

    Args:
        backbone: a ``viz.weights.Backbone`` (``model``, ``preprocess``, ``prepare``, ``meta``).
        image: RGB PIL image, as uploaded (``preprocess`` does the geometry).
        target: class index; ``None`` = the predicted class (top logit, also for multi-label heads).
        methods: subset of ``ATTRIBUTION_METHODS``.
        steps: integration steps of integrated gradients.
        internal_batch_size: at most this many interpolated images per forward (bounds memory).

    Returns:
        dict method -> float32 map in [0, 1] (max 1 unless the map is all zero), aligned with
        ``backbone.prepare(image)``: ``"gradcam"`` (h, w) at the layer's resolution, ReLU'd;
        ``"integrated_gradients"`` (H, W) at the input resolution, |attribution| summed over channels.

    Raises:
        ValueError: unknown method, bad ``steps``, or a Grad-CAM layer without a spatial map.
    """
    methods = tuple(methods)
    unknown = [m for m in methods if m not in ATTRIBUTION_METHODS]
    if unknown:
        raise ValueError(f"unknown attribution method(s) {unknown}; known: {ATTRIBUTION_METHODS}")
    if steps < 1 or internal_batch_size < 1:
        raise ValueError("steps and internal_batch_size must be >= 1")
    ctx = contextvars.Context()  # no capture open in here, whatever the caller has open
    return ctx.run(_run, backbone, image, target, methods, steps, internal_batch_size)


def map_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps after resizing both to the smaller grid (fewer cells).

    Args:
        a: (h, w) map.
        b: (h', w') map.

    Returns:
        r in [-1, 1]; ``nan`` when either map is constant (correlation undefined) — shown as "n/a".

    Raises:
        ValueError: not 2-D, empty, or containing NaN/inf.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    for name, m in (("a", a), ("b", b)):
        if m.ndim != 2 or m.size == 0:
            raise ValueError(f"map {name} must be a non-empty 2-D array, got shape {m.shape}")
        if not np.isfinite(m).all():
            raise ValueError(f"map {name} contains NaN or infinite values")
    shape = a.shape if a.size <= b.size else b.shape
    ra = resize_bilinear(a, shape).ravel()
    rb = resize_bilinear(b, shape).ravel()
    # constant up to rounding (spread below 1e-9 of the map's magnitude): np.corrcoef would divide
    # by ~0 and warn, so say "undefined" first
    for r, m in ((ra, a), (rb, b)):
        spread = math.sqrt(float(np.square(r - r.mean()).sum()))
        if spread == 0.0 or spread <= 1e-9 * np.abs(m).max() * math.sqrt(r.size):
            return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])
