"""First-round module path of the backbone registry, kept as an alias (DESIGN.md allows it).

The registry lives in :mod:`viz.weights.registry`; import the contract from :mod:`viz` itself.
"""

from __future__ import annotations

from viz.errors import WeightsUnavailable
from viz.weights.registry import (
    backbone_info,
    default_device,
    list_backbones,
    load_backbone,
    register,
)
from viz.weights.spec import Backbone, BackboneSpec

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
