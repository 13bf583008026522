"""The backbone registry: ``list_backbones()``, ``backbone_info(name)``, ``load_backbone(name)``.

The sources (:mod:`viz.weights.sources`) only *describe* backbones; the registry asks them for
their specs once per process, on the first call that needs the list, under a lock. A spec knows
its metadata without loading anything, so pickers are cheap; ``load_backbone`` builds the model,
loads weights and raises :class:`WeightsUnavailable` with a message naming what to fetch when
weights cannot be had — never silently returning untrained weights. Two specs of one name raise.
"""

from __future__ import annotations

import threading

import torch

from viz.weights.sources import gcnet, official, timm, torchvision, zoo
from viz.weights.spec import Backbone, BackboneSpec, WeightsUnavailable

__all__ = [
    "Backbone",
    "BackboneSpec",
    "DuplicateBackbone",
    "WeightsUnavailable",
    "backbone_info",
    "default_device",
    "list_backbones",
    "load_backbone",
    "register",
    "weights_present",
]

# In registration order (the picker's order): timm, torchvision, official files, the zoo + Lite0.
SOURCES = (timm, torchvision, official, zoo, gcnet)


class DuplicateBackbone(ValueError):
    """Two specs were registered under one name."""


_REGISTRY: dict[str, BackboneSpec] = {}
_REGISTRY_LOCK = threading.Lock()
_POPULATE_LOCK = threading.Lock()
_POPULATED = False


def register(spec: BackboneSpec) -> BackboneSpec:
    """Add a registry entry (registering an equal spec again is a no-op).

    Raises:
        DuplicateBackbone: the name is taken by a different spec.
    """
    with _REGISTRY_LOCK:
        known = _REGISTRY.get(spec.name)
        if known is not None and known != spec:
            raise DuplicateBackbone(f"backbone {spec.name!r} is registered twice, differently")
        _REGISTRY[spec.name] = spec
    return spec


def _populate() -> None:
    """Ask every source for its specs, once per process, thread-safely.

    Double-checked locking: the flag is read without the lock on the hot path and set only after
    every spec is in, so a concurrent first caller either waits on the lock or sees the full
    registry, never a half-filled one (issue 10: concurrent first visitors got an empty picker).
    A failure leaves the flag unset and the registry as it was, so the next call retries.
    """
    global _POPULATED
    if _POPULATED:
        return
    with _POPULATE_LOCK:
        if _POPULATED:
            return
        specs = [spec for source in SOURCES for spec in source.specs()]
        names = [s.name for s in specs]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise DuplicateBackbone(f"backbones described twice: {', '.join(dupes)}")
        with _REGISTRY_LOCK:
            taken = sorted(set(names) & set(_REGISTRY))
            if taken:
                raise DuplicateBackbone(f"backbones registered twice: {', '.join(taken)}")
            _REGISTRY.update({s.name: s for s in specs})
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


def weights_present(name: str) -> bool:
    """Whether ``name``'s weights look loadable here, by its spec's cheap file check (never loads,
    never touches the network); an unknown name or a failing check is False."""
    try:
        return bool(backbone_info(name).weights_present())
    except Exception:  # a check that breaks (odd cache dir, missing package) means "not here"
        return False


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
    backbone.meta = spec.meta.merged(backbone.meta)
    return backbone
