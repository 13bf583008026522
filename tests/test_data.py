"""viz.data: deterministic cluttered Fashion-MNIST scenes, split separation, labels, missing data."""

from __future__ import annotations

import re

import numpy as np
import pytest

from viz import data
from viz.data import (
    CANVAS,
    CLASSES,
    FashionMNISTMissing,
    fashion_available,
    load_split,
    render_scene,
    sample_scenes,
)

pytestmark = pytest.mark.skipif(not fashion_available(), reason="dataset-fashion-mnist absent")


def test_classes_are_the_ten_fashion_mnist_names():
    assert len(CLASSES) == 10 and CLASSES[0] == "T-shirt/top" and CLASSES[9] == "Ankle boot"


def test_scene_is_deterministic_in_split_index_seed():
    a, b = render_scene("train", 7), render_scene("train", 7)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert np.array_equal(a.labels, b.labels) and a.boxes == b.boxes
    other_seed = render_scene("train", 7, seed=1)
    other_index = render_scene("train", 8)
    other_split = render_scene("test", 7)
    for s in (other_seed, other_index, other_split):
        assert not np.array_equal(np.asarray(a.image), np.asarray(s.image))


def test_image_and_label_types():
    s = render_scene("test", 3, size=128)
    assert s.image.mode == "RGB" and s.image.size == (128, 128)
    assert s.labels.dtype == np.float32 and s.labels.shape == (10,)
    assert render_scene("test", 3).image.size == (CANVAS, CANVAS)


@pytest.mark.parametrize("split", ["train", "test"])
def test_labels_match_pasted_articles(split):
    _, split_labels = load_split(split)
    for i in range(20):
        s = render_scene(split, i)
        pasted = [cls for cls, *_ in s.boxes]
        assert 2 <= len(pasted) <= 4 and len(set(pasted)) == len(pasted)
        assert set(np.flatnonzero(s.labels)) == set(pasted)
        assert s.names == [CLASSES[c] for c in sorted(pasted)]
        # each pasted 28x28 article really is of the labelled class in its own split
        assert [int(split_labels[a]) for a in s.articles] == pasted
        for _, left, top, side in s.boxes:
            assert 0 <= left and 0 <= top and left + side <= CANVAS and top + side <= CANVAS


def test_articles_are_drawn_in_their_boxes():
    """Under an article's opaque strokes the colour is tint * (0.35 + 0.65 g): one tint per box."""
    from PIL import Image

    images, _ = load_split("test")
    for i in range(5):
        s = render_scene("test", i)
        arr = np.asarray(s.image, dtype=np.float32) / 255.0
        _, left, top, side = s.boxes[-1]  # last pasted: nothing covers it
        glyph = images[s.articles[-1]]
        spreads = []
        for g28 in (glyph, glyph[:, ::-1]):  # the article may have been mirrored
            g = Image.fromarray(np.ascontiguousarray(g28)).resize((side, side), Image.BILINEAR)
            g = np.asarray(g, dtype=np.float32) / 255.0
            mask = g > 0.4
            tint = arr[top : top + side, left : left + side][mask] / (0.35 + 0.65 * g[mask, None])
            spreads.append(float(tint.std(axis=0).max()))
        assert mask.sum() > 50
        assert min(spreads) < 0.02, spreads


def test_splits_are_separated(monkeypatch):
    seen = []
    real = data.load_split

    def spy(split, root=None):
        seen.append(split)
        return real(split, root)

    monkeypatch.setattr(data, "load_split", spy)
    data._by_class.cache_clear()
    try:
        render_scene("test", 0)
        assert set(seen) == {"test"}
        seen.clear()
        render_scene("train", 0)
        assert set(seen) == {"train"}
    finally:
        data._by_class.cache_clear()
    # test scenes draw from t10k (10k images), train scenes may index beyond it
    assert max(a for i in range(50) for a in render_scene("test", i).articles) < 10000
    assert max(a for i in range(50) for a in render_scene("train", i).articles) >= 10000


def test_sample_scenes_titles():
    scenes = sample_scenes(3)
    assert len(scenes) == 3
    for i, (title, image) in enumerate(scenes):
        names = render_scene("test", i).names
        assert title == f"scene {i}: " + ", ".join(names)
        assert re.match(r"scene \d+: ", title) and image.size == (CANVAS, CANVAS)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        render_scene("val", 0)
    with pytest.raises(ValueError, match="index"):
        render_scene("train", -1)


def test_missing_dataset_has_clear_error(tmp_path, monkeypatch):
    assert not fashion_available(tmp_path)
    monkeypatch.setattr(data, "FASHION_DIR", tmp_path)
    load_split.cache_clear()
    data._by_class.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="install Debian package dataset-fashion-mnist"):
            render_scene("train", 0)
        with pytest.raises(FashionMNISTMissing):
            sample_scenes(1)
    finally:
        load_split.cache_clear()
        data._by_class.cache_clear()
