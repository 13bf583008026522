"""The zoo's teacher: Lite0's own ImageNet classifier, its 1000 classes summed into the zoo's classes.

Why a teacher: the zoo's scene classes have only 6-26 training cut-outs each, so a head trained on
labels alone learns those cut-outs, not the classes. Measured on 11 real photographs of covered
classes (``photo_checks`` in ``viz/data/scene_table.json``): 4 of 11 right for the label-only baseline,
against 10 of 11 for this teacher. The zoo models are trained on the labels *and* on the teacher's
class probabilities of the same scene (Hinton et al. 2015, knowledge distillation), so what they
learn carries over to photographs. The teacher reuses the trunk's stride-32 features (the same
frozen network), so it costs one 1x1 conv and one linear layer per scene.

The mapping lists ImageNet-1k class indices (torchvision/timm order) per zoo class; a zoo class with
no ImageNet counterpart is simply not distilled.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["IMAGENET_MAP", "ImageNetTeacher", "teacher_matrix"]


def _span(first: int, last: int) -> list[int]:
    return list(range(first, last + 1))


# zoo class -> ImageNet-1k indices (ranges follow ImageNet's WordNet ordering of the classes)
IMAGENET_MAP: dict[str, list[int]] = {
    "bird": _span(7, 24) + _span(80, 100) + _span(127, 146),
    "fish or shellfish": _span(0, 6) + [112, 117] + _span(118, 125) + _span(389, 397),
    "insect or small crawler": _span(70, 79) + [113, 114, 126] + _span(300, 326),
    "hoofed mammal": _span(339, 355) + [101, 385, 386],  # + tusker and the elephants
    "cat, dog or bear": [150] + _span(151, 299) + _span(356, 362) + [387, 388],  # carnivorans
    "rodent or rabbit": _span(330, 338),
    "fruit": _span(948, 957),
    "vegetable or nut": _span(936, 947) + [987, 988, 990],
    "flower": [984, 985, 986],  # rapeseed, daisy, yellow lady's slipper
    "musical instrument": [401, 402, 420, 432, 486, 494, 513, 541, 546, 558, 566, 577, 579]
    + [593, 594, 641, 642, 683, 684, 687, 699, 776, 822, 875, 881, 889],
    "hand tool": [477, 491, 587, 596, 696, 726, 740, 769, 784, 792],
    "road vehicle": [407, 436, 444, 468, 511, 555, 569, 573, 575, 586, 609, 627, 654, 656, 661]
    + [665, 670, 671, 675, 717, 734, 751, 757, 779, 817, 847, 864, 866, 867, 870, 874, 880],
}


def teacher_matrix(classes: list[str]) -> torch.Tensor:
    """(1000, C) 0/1 matrix: ImageNet class i counts towards zoo class c (unknown classes: zeros)."""
    m = torch.zeros(1000, len(classes))
    for c, name in enumerate(classes):
        for i in IMAGENET_MAP.get(name, []):
            m[i, c] = 1.0
    if (m.sum(dim=1) > 1).any():
        raise ValueError("an ImageNet class is mapped to two zoo classes")
    return m


class ImageNetTeacher(nn.Module):
    """Stride-32 Lite0 features -> the zoo classes' probabilities under the ImageNet classifier.

    Args:
        lite0: the loaded ``tf_efficientnet_lite0`` (its conv_head, bn2 and classifier are used).
        classes: the zoo's class names.

    Returns from forward: ``(probabilities (B, C), mapped (C,) bool)``; unmapped columns are zero.
    """

    def __init__(self, lite0: nn.Module, classes: list[str]):
        super().__init__()
        self.conv_head, self.bn2, self.classifier = lite0.conv_head, lite0.bn2, lite0.classifier
        self.register_buffer("matrix", teacher_matrix(classes))
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    @property
    def mapped(self) -> torch.Tensor:
        return self.matrix.sum(dim=0) > 0

    @torch.no_grad()
    def forward(self, stride32: torch.Tensor) -> torch.Tensor:
        pooled = self.bn2(self.conv_head(stride32)).mean(dim=(2, 3))
        return (self.classifier(pooled).softmax(dim=1) @ self.matrix).clamp(0.0, 1.0)
