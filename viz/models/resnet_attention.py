"""ResNet-50 with our attention modules at the papers' places, for official checkpoints.

The trunk is torchvision's ResNet-50 (same parameter names as the official files after their
prefixes are stripped), and the attention layers are ours from :mod:`viz.attention`, so ``capture``
records them natively:

* SE / CBAM / ECA / GC: inside every bottleneck, after ``bn3`` and before the residual add
  (GC only in c3-c5, i.e. ``layer2``-``layer4``, as GCNet and mmdetection place it);
* BAM: one module between stages, after ``layer1``-``layer3`` (``bam1``-``bam3``);
* Non-local: one block after a whole bottleneck (``nonlocal_after="layer3.4"`` puts it right
  before the last residual block of res4, the COCO placement of Wang et al.).

A model built with ``features_only=True`` has no classifier (detection backbones): its output is
the global average of ``layer4`` (B, 2048), which is what attribution and "top features" can use.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

from viz.attention import BottleneckAttention, create_attention
from viz.capture import emit

__all__ = [
    "BLOCK_KINDS",
    "STAGE_CHANNELS",
    "AttentionBottleneck",
    "AttentionResNet",
    "ProductBAM",
    "attention_points",
    "attention_resnet50",
]

STAGE_CHANNELS = (256, 512, 1024, 2048)
BLOCK_KINDS = ("se", "cbam", "eca", "gc")  # attribute name in the block == kind


class AttentionBottleneck(Bottleneck):
    """torchvision's bottleneck with an optional module before the add and one after the block.

    ``inner`` runs on ``bn3``'s output before the residual add (SE/CBAM/ECA/GC); ``post`` runs on
    the block's output (a Non-local block inserted between two residual blocks).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inner_name: str | None = None
        self.post_name: str | None = None

    def set_inner(self, name: str, module: nn.Module) -> None:
        """Attach ``module`` as ``self.<name>`` between bn3 and the add."""
        self.add_module(name, module)
        self.inner_name = name

    def set_post(self, name: str, module: nn.Module) -> None:
        """Attach ``module`` as ``self.<name>`` after the block's final ReLU."""
        self.add_module(name, module)
        self.post_name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.inner_name is not None:
            out = getattr(self, self.inner_name)(out)
        out = self.relu(out + identity)
        if self.post_name is not None:
            out = getattr(self, self.post_name)(out)
        return out


class AttentionResNet(ResNet):
    """torchvision ResNet whose forward also runs ``bam1``-``bam3`` after ``layer1``-``layer3``."""

    def _forward_impl(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i, layer in enumerate((self.layer1, self.layer2, self.layer3, self.layer4), start=1):
            x = layer(x)
            between = getattr(self, f"bam{i}", None)
            if between is not None:
                x = between(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ProductBAM(BottleneckAttention):
    """BAM as the official code computes it: F' = F + F * sigma(Mc(F) * Ms(F)).

    The paper (and :class:`~viz.attention.BottleneckAttention`) adds the branches; the official
    checkpoint was trained with the product, so only this form reproduces its predictions. The
    record's ``gate`` is then sigma(channel * spatial); ``channel`` and ``spatial`` stay the logits.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mc = self.channel_fc2(torch.relu(self.channel_bn(self.channel_fc1(x.mean((2, 3))))))
        ms = self.spatial(x)
        gate = torch.sigmoid(mc[:, :, None, None] * ms)
        emit(self, channel=mc, spatial=ms[:, 0], gate=gate)
        return x + x * gate


def attention_resnet50(
    kind: str | None = None,
    *,
    num_classes: int = 1000,
    reduction: int = 16,
    stages: tuple[int, ...] | None = None,
    eca_kernels: tuple[int, int, int, int] = (3, 5, 5, 7),
    gc_ratio: float = 1 / 16,
    bam_combine: str = "sum",
    nonlocal_after: str | None = None,
    nonlocal_options: dict | None = None,
    features_only: bool = False,
) -> AttentionResNet:
    """ResNet-50 with attention of ``kind`` at the paper's places.

    Args:
        kind: ``"se"``, ``"cbam"``, ``"eca"``, ``"gc"`` (per bottleneck), ``"bam"`` (between
            stages) or ``None`` (plain trunk, e.g. to carry only a Non-local block).
        num_classes: classifier width (ignored with ``features_only``).
        reduction: r of SE / CBAM / BAM.
        stages: which of layer1..4 get per-block attention (default: all; GC: 2, 3, 4).
        eca_kernels: ECA k per stage (the official checkpoint: 3/5/5/7).
        gc_ratio: GC bottleneck ratio (1/16 or 1/4 in mmdetection).
        bam_combine: ``"sum"`` (paper) or ``"product"`` (official code, :class:`ProductBAM`).
        nonlocal_after: a block path like ``"layer3.4"`` after which a Non-local block runs.
        nonlocal_options: ``create_attention`` options of that block; ``"kind"`` picks the form
            (default ``"nl_embedded_gaussian"``).
        features_only: replace ``fc`` by identity; output = pooled ``layer4`` features (B, 2048).
    """
    if kind not in (None, "bam", *BLOCK_KINDS):
        raise ValueError(f"kind must be one of {(None, 'bam', *BLOCK_KINDS)}, not {kind!r}")
    model = AttentionResNet(AttentionBottleneck, [3, 4, 6, 3], num_classes=num_classes)
    if stages is None:
        stages = (2, 3, 4) if kind == "gc" else (1, 2, 3, 4)
    if kind in BLOCK_KINDS:
        for s in stages:
            channels = STAGE_CHANNELS[s - 1]
            for block in getattr(model, f"layer{s}"):
                if kind == "eca":
                    module = create_attention("eca", channels, kernel_size=eca_kernels[s - 1])
                elif kind == "gc":
                    module = create_attention("gc", channels, ratio=gc_ratio)
                else:
                    module = create_attention(kind, channels, reduction=reduction)
                block.set_inner(kind, module)
    elif kind == "bam":
        if bam_combine not in ("sum", "product"):
            raise ValueError(f"bam_combine must be 'sum' or 'product', not {bam_combine!r}")
        cls = ProductBAM if bam_combine == "product" else BottleneckAttention
        for i in (1, 2, 3):
            model.add_module(f"bam{i}", cls(STAGE_CHANNELS[i - 1], reduction=reduction))
    if nonlocal_after is not None:
        options = dict(nonlocal_options or {})
        nl_kind = options.pop("kind", "nl_embedded_gaussian")
        block = model.get_submodule(nonlocal_after)
        if not isinstance(block, AttentionBottleneck):
            raise ValueError(f"{nonlocal_after!r} is not a bottleneck of the trunk")
        block.set_post(
            "nonlocal_block", create_attention(nl_kind, block.bn3.num_features, **options)
        )
    if features_only:
        model.fc = nn.Identity()
    return model


def attention_points(model: nn.Module) -> list[str]:
    """Module paths of every attention layer of ``model`` (those that declare ``attention_kind``)."""
    return [name for name, m in model.named_modules() if hasattr(m, "attention_kind")]
