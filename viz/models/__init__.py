"""Architectures only: the zoo network, attention ResNets, the Lite0 trunk."""

from __future__ import annotations

from viz.models.lite0 import (
    LITE0_MEAN,
    LITE0_STD,
    Lite0LoadError,
    lite0_file,
    load_lite0,
    map_lite0_state_dict,
)
from viz.models.resnet_attention import (
    BLOCK_KINDS,
    STAGE_CHANNELS,
    AttentionBottleneck,
    AttentionResNet,
    ProductBAM,
    attention_points,
    attention_resnet50,
)
from viz.models.zoo import (
    FEATURE_CHANNELS,
    HEAD_WIDTH,
    INPUT_SIZE,
    NUM_CLASSES,
    TRUNK_CHANNELS,
    ZOO_KINDS,
    Lite0Trunk,
    Projection,
    SharedTrunk,
    ZooHead,
    ZooNet,
    build_trunk,
    shared_trunk,
)

__all__ = [
    "FEATURE_CHANNELS",
    "TRUNK_CHANNELS",
    "HEAD_WIDTH",
    "NUM_CLASSES",
    "INPUT_SIZE",
    "ZOO_KINDS",
    "ZooHead",
    "Projection",
    "Lite0Trunk",
    "build_trunk",
    "SharedTrunk",
    "shared_trunk",
    "ZooNet",
    "STAGE_CHANNELS",
    "BLOCK_KINDS",
    "AttentionBottleneck",
    "AttentionResNet",
    "ProductBAM",
    "attention_resnet50",
    "attention_points",
    "LITE0_MEAN",
    "LITE0_STD",
    "Lite0LoadError",
    "lite0_file",
    "map_lite0_state_dict",
    "load_lite0",
]
