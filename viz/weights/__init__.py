"""The weights layer: one typed backbone registry, transforms, checkpoint loading (sha256 checked),
and the sources that describe backbones (:mod:`viz.weights.sources`).
"""

from __future__ import annotations

from viz.weights.checkpoints import (
    check_state_dict,
    load_checkpoint,
    load_state_dict_checked,
    sha256_of,
)
from viz.weights.registry import (
    SOURCES,
    DuplicateBackbone,
    backbone_info,
    default_device,
    list_backbones,
    load_backbone,
    register,
)
from viz.weights.spec import (
    GROUPS,
    Backbone,
    BackboneSpec,
)
from viz.weights.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Prepare,
    imagenet_pipeline,
    lite0_pipeline,
    normalise,
    pipeline,
    resize_center_crop,
    split_transform,
)

__all__ = [
    "GROUPS",
    "Backbone",
    "BackboneSpec",
    "SOURCES",
    "DuplicateBackbone",
    "register",
    "default_device",
    "list_backbones",
    "backbone_info",
    "load_backbone",
    "sha256_of",
    "load_checkpoint",
    "check_state_dict",
    "load_state_dict_checked",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Prepare",
    "pipeline",
    "imagenet_pipeline",
    "resize_center_crop",
    "normalise",
    "lite0_pipeline",
    "split_transform",
]
