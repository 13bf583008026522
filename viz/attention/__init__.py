"""The eight attention modules, built by name: ``create_attention(kind, channels, **options)``.

Each module declares what it attends to with ``viz.capture.emit`` (names per DESIGN.md).
"""

from __future__ import annotations

from functools import partial

from torch import nn

from viz.attention.a2 import DoubleAttention
from viz.attention.bam import BottleneckAttention
from viz.attention.cbam import CBAM
from viz.attention.eca import EfficientChannelAttention, eca_kernel_size
from viz.attention.gc import GlobalContextBlock
from viz.attention.gsop import GlobalSecondOrderPooling
from viz.attention.nonlocal_ import NL_FORMS, NonLocalBlock
from viz.attention.se import SqueezeExcite

ATTENTION_KINDS = (
    "se",
    "eca",
    "gsop",
    "cbam",
    "bam",
    "a2",
    "gc",
    "nl_gaussian",
    "nl_embedded_gaussian",
    "nl_dot_product",
    "nl_concatenation",
)

NL_KINDS = tuple(k for k in ATTENTION_KINDS if k.startswith("nl_"))
CHANNEL_KINDS = ("se", "eca", "gsop", "cbam", "bam")
SPATIAL_KINDS = ("gc", "cbam", "bam")

_FACTORY = {
    "se": SqueezeExcite,
    "eca": EfficientChannelAttention,
    "gsop": GlobalSecondOrderPooling,
    "cbam": CBAM,
    "bam": BottleneckAttention,
    "a2": DoubleAttention,
    "gc": GlobalContextBlock,
    **{f"nl_{form}": partial(NonLocalBlock, mode=form) for form in NL_FORMS},
}


def create_attention(kind: str, channels: int, **options) -> nn.Module:
    """Build an attention module whose output has the input's shape.

    Args:
        kind: one of ``ATTENTION_KINDS``.
        channels: C of the feature map it will see.
        **options: the module's own options (e.g. ``reduction=8`` for SE, ``sub_sample=True`` for NL).
    """
    try:
        builder = _FACTORY[kind]
    except KeyError:
        raise ValueError(
            f"unknown attention kind {kind!r}; expected one of {ATTENTION_KINDS}"
        ) from None
    return builder(channels, **options)


__all__ = [
    "ATTENTION_KINDS",
    "CHANNEL_KINDS",
    "NL_KINDS",
    "SPATIAL_KINDS",
    "create_attention",
    "eca_kernel_size",
    "CBAM",
    "BottleneckAttention",
    "DoubleAttention",
    "EfficientChannelAttention",
    "GlobalContextBlock",
    "GlobalSecondOrderPooling",
    "NonLocalBlock",
    "SqueezeExcite",
]
