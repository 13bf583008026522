"""The attention layer: one file per mechanism, each with its ``nn.Module`` and its display facts.

``create_attention(kind, channels, **options)`` builds any registered kind;
``mechanism(kind)`` returns its :class:`Mechanism` (formula, family, gate and maps as [0, 1]
arrays). Each module declares what it attends to with ``viz.capture.emit``; the tensor names of a
kind are the same whichever module emits them (the adapters of timm and torchvision layers too;
the table per kind: ``docs/ARCHITECTURE.md``). Imports only :mod:`viz.capture`.

Every mechanism, the built-in ones included, enters through :func:`register_mechanism`, so a new
one (README, "How to add a mechanism"; ``tests/test_add_a_mechanism.py``) is added exactly like
these. ``ATTENTION_KINDS`` and the family tuples below are the built-in kinds, fixed at import;
:func:`kinds_on`, :func:`mechanism` and :func:`create_attention` read the live registry.
"""

from __future__ import annotations

from torch import nn

from viz.attention import a2, bam, cbam, eca, gc, gsop, nonlocal_, se
from viz.attention.a2 import DoubleAttention
from viz.attention.bam import BottleneckAttention
from viz.attention.cbam import CBAM
from viz.attention.eca import EfficientChannelAttention, eca_kernel_size
from viz.attention.gc import GlobalContextBlock
from viz.attention.gsop import GlobalSecondOrderPooling
from viz.attention.mechanism import FAMILIES, MapFact, Mechanism
from viz.attention.nonlocal_ import NL_FORMS, NonLocalBlock
from viz.attention.se import SqueezeExcite

MECHANISMS: dict[str, Mechanism] = {}  # kind -> Mechanism, in registration order


def register_mechanism(facts: Mechanism) -> Mechanism:
    """Make ``facts.kind`` known to :func:`create_attention`, :func:`mechanism` and
    :func:`kinds_on` (so to the model picker of every page in ``facts.pages``).

    Raises:
        ValueError: the kind is registered already (a second file must not silently replace the
            first one's facts).
    """
    if facts.kind in MECHANISMS:
        raise ValueError(f"attention kind {facts.kind!r} is registered already")
    MECHANISMS[facts.kind] = facts
    return facts


for _facts in (
    se.MECHANISM,
    eca.MECHANISM,
    gsop.MECHANISM,
    cbam.MECHANISM,
    bam.MECHANISM,
    a2.MECHANISM,
    gc.MECHANISM,
    *nonlocal_.MECHANISMS,
):
    register_mechanism(_facts)
del _facts

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
if set(MECHANISMS) != set(ATTENTION_KINDS):  # pragma: no cover - a mechanism file is missing
    raise ImportError("every attention kind needs exactly one Mechanism")


def kinds_on(page: str) -> tuple[str, ...]:
    """The registered kinds a page draws (``page in Mechanism.pages``), in registration order
    (the built-in ones in ``ATTENTION_KINDS`` order). Read at call time, so a page asking for its
    kinds sees a mechanism registered after import."""
    return tuple(k for k, facts in MECHANISMS.items() if page in facts.pages)


NL_KINDS = tuple(k for k in ATTENTION_KINDS if MECHANISMS[k].family == "nonlocal")
CHANNEL_KINDS = tuple(k for k in ATTENTION_KINDS if MECHANISMS[k].gate is not None)
SPATIAL_KINDS = kinds_on("spatial")


def mechanism(kind: str) -> Mechanism:
    """The display facts of ``kind``.

    Raises:
        ValueError: unknown kind.
    """
    try:
        return MECHANISMS[kind]
    except KeyError:
        raise ValueError(
            f"unknown attention kind {kind!r}; expected one of {tuple(MECHANISMS)}"
        ) from None


def create_attention(kind: str, channels: int, **options) -> nn.Module:
    """Build an attention module whose output has the input's shape.

    Args:
        kind: a registered kind (``ATTENTION_KINDS`` or one added by :func:`register_mechanism`).
        channels: C of the feature map it will see.
        **options: the module's own options (e.g. ``reduction=8`` for SE, ``sub_sample=True`` for NL).
    """
    return mechanism(kind).build(channels, **options)


def nl_form(kind: str) -> str:
    """``"nl_dot_product"`` -> ``"dot_product"``."""
    return kind[3:] if kind.startswith("nl_") else kind


__all__ = [
    "ATTENTION_KINDS",
    "CHANNEL_KINDS",
    "FAMILIES",
    "MECHANISMS",
    "NL_FORMS",
    "NL_KINDS",
    "SPATIAL_KINDS",
    "MapFact",
    "Mechanism",
    "create_attention",
    "eca_kernel_size",
    "kinds_on",
    "mechanism",
    "nl_form",
    "register_mechanism",
    "CBAM",
    "BottleneckAttention",
    "DoubleAttention",
    "EfficientChannelAttention",
    "GlobalContextBlock",
    "GlobalSecondOrderPooling",
    "NonLocalBlock",
    "SqueezeExcite",
]
