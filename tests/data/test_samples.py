"""viz.samples: every listed sample decodes offline to a sensible RGB image with a caption."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from viz.data import samples
from viz.data.uploads import MAX_SIDE, MIN_SIDE, image_hash, load_image

NAMES = samples.list_samples()


def test_listing_has_the_offline_photos():
    for name in (
        "skimage/chelsea",
        "skimage/coffee",
        "skimage/astronaut",
        "skimage/rocket",
        "sklearn/china",
        "sklearn/flower",
        "matplotlib/grace_hopper",
    ):
        assert name in NAMES
    assert len(NAMES) == len(set(NAMES))


def test_listing_is_cheap_and_imports_nothing_heavy():
    code = (
        "import json, sys, time; t = time.perf_counter(); from viz.data import samples; "
        "n = samples.list_samples(); dt = time.perf_counter() - t; "
        "heavy = [m for m in ('sklearn', 'matplotlib', 'skimage', 'torch') if m in sys.modules]; "
        "print(json.dumps([n, heavy, dt]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, heavy, seconds = json.loads(out.stdout)
    assert names == NAMES
    assert heavy == []  # listing decodes nothing and imports none of the source packages
    assert seconds < 2.0


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_loads_as_rgb(name):
    img = samples.load_sample(name)
    assert img.mode == "RGB"
    assert MIN_SIDE <= min(img.size) and max(img.size) <= MAX_SIDE
    assert max(img.size) >= 150  # a real picture, not a thumbnail
    a = np.asarray(img)
    assert a.std() > 10  # has content, not a blank canvas
    caption = samples.sample_caption(name)
    assert isinstance(caption, str) and len(caption) > 10


@pytest.mark.parametrize("name", NAMES)
def test_sample_bytes_are_what_load_sample_decodes(name):
    data = samples.sample_bytes(name)
    assert np.array_equal(np.asarray(load_image(data)), np.asarray(samples.load_sample(name)))
    assert len(image_hash(data)) == 64


def test_known_sample_content():
    chelsea = samples.load_sample("skimage/chelsea")
    assert chelsea.size == (451, 300)
    china = samples.load_sample("sklearn/china")
    assert china.size == (640, 427)
    camera = np.asarray(samples.load_sample("skimage/camera")).astype(int)
    assert np.array_equal(camera[..., 0], camera[..., 1])  # greyscale expanded to RGB


def test_load_sample_returns_independent_copies():
    a = samples.load_sample("skimage/coffee")
    a.paste((0, 0, 0), (0, 0, 50, 50))
    assert np.asarray(a)[:50, :50].max() == 0
    b = samples.load_sample("skimage/coffee")
    fresh = load_image(samples.sample_bytes("skimage/coffee"))
    assert np.array_equal(np.asarray(b), np.asarray(fresh))  # the cached image was not modified
    assert np.asarray(b)[:50, :50].max() > 0


def test_hashes_differ_between_samples():
    hashes = {image_hash(samples.sample_bytes(n)) for n in NAMES}
    assert len(hashes) == len(NAMES)


def test_unknown_names_are_refused_clearly():
    for bad in ("skimage/nonexistent", "scene/99", "scene/x", "chelsea", ""):
        with pytest.raises(ValueError, match="Unknown sample"):
            samples.load_sample(bad)
        with pytest.raises(ValueError, match="Unknown sample"):
            samples.sample_caption(bad)


def test_scenes_listed_with_the_packages_and_captioned_with_their_objects():
    from viz.data import scenes

    scene_names = [n for n in NAMES if n.startswith("scene/")]
    if not scenes.scenes_available():
        assert scene_names == []
        return
    assert scene_names == [f"scene/{i}" for i in range(samples.N_SCENES)]
    titles = [t for t, _ in scenes.sample_scenes(samples.N_SCENES)]
    for i, title in enumerate(titles):
        caption = samples.sample_caption(f"scene/{i}")
        for obj in title.split(":", 1)[1].split(","):
            assert obj.strip() in caption
    img = samples.load_sample("scene/0")
    assert img.size == scenes.sample_scenes(1)[0][1].size


def test_scenes_skipped_when_packages_missing(monkeypatch):
    monkeypatch.setattr(samples, "_scenes_available", lambda: False)
    names = samples.list_samples()
    assert names and not any(n.startswith("scene/") for n in names)
    with pytest.raises(ValueError, match="tuxpaint-stamps-default"):
        samples.sample_bytes("scene/0")
