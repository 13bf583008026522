"""viz.teacher: the ImageNet teacher is Lite0's own classifier, its classes summed per zoo class."""

from __future__ import annotations

import pytest
import torch

from viz.data.scenes import SCENE_CLASSES
from viz.models.teacher import IMAGENET_MAP, ImageNetTeacher, teacher_matrix


def test_mapping_names_zoo_classes_and_disjoint_imagenet_classes():
    assert set(IMAGENET_MAP) <= set(SCENE_CLASSES)
    seen: set[int] = set()
    for name, indices in IMAGENET_MAP.items():
        assert indices and all(0 <= i < 1000 for i in indices), name
        assert not seen & set(indices), name  # one zoo class per ImageNet class
        seen |= set(indices)
    m = teacher_matrix(list(SCENE_CLASSES) + ["not a zoo class"])
    assert m.shape == (1000, len(SCENE_CLASSES) + 1)
    assert m[:, -1].sum() == 0  # unknown classes are not distilled
    assert m[285, SCENE_CLASSES.index("cat, dog or bear")] == 1  # Egyptian cat
    assert m[301, SCENE_CLASSES.index("insect or small crawler")] == 1  # ladybug
    assert m[665, SCENE_CLASSES.index("road vehicle")] == 1  # moped


def test_overlapping_mapping_is_refused(monkeypatch):
    monkeypatch.setitem(IMAGENET_MAP, "fruit", [*IMAGENET_MAP["fruit"], 7])  # 7 is a bird
    with pytest.raises(ValueError, match="two zoo classes"):
        teacher_matrix(list(SCENE_CLASSES))


def test_teacher_equals_the_lite0_classifier_summed_per_class():
    from viz.models.lite0 import load_lite0
    from viz.models.zoo import build_trunk

    lite0 = load_lite0().eval()
    trunk = build_trunk(lite0)
    teacher = ImageNetTeacher(lite0, list(SCENE_CLASSES))
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        feats, f32 = trunk.features_and_stride32(x)
        probs = teacher(f32)
        reference = lite0(x).softmax(dim=1) @ teacher_matrix(list(SCENE_CLASSES))
    assert feats.shape == (2, 432, 14, 14) and f32.shape == (2, 320, 7, 7)
    torch.testing.assert_close(probs, reference, atol=1e-5, rtol=1e-4)
    assert probs.shape == (2, len(SCENE_CLASSES)) and float(probs.sum(dim=1).max()) <= 1 + 1e-5
    assert not any(p.requires_grad for p in teacher.parameters())
    assert teacher.mapped.sum() == len(IMAGENET_MAP)
