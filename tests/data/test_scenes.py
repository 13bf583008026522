"""viz.scenes: real-object scenes from stamps and backgrounds the tests write themselves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scene_fixtures import COLOURS, write_scene_table

from viz.data.scenes import SCENE_CLASSES, SCENE_PACKAGES, SCENE_TABLE, SceneMaker, SceneSources
from viz.errors import SceneDataMissing


@pytest.fixture
def table(tmp_path):
    return write_scene_table(tmp_path)


def maker(table, split="train", size=64):
    return SceneMaker(SceneSources.from_table(split, table), split, size)


def test_shipped_table_is_consistent():
    table = json.loads(SCENE_TABLE.read_text())
    assert tuple(table["classes"]) == SCENE_CLASSES and len(SCENE_CLASSES) >= 10
    for name in SCENE_CLASSES:
        rows = [s for s in table["stamps"] if s["class"] == name]
        assert {s["split"] for s in rows} == {"train", "test"}, name
    # look-alike groups of a class never straddle the split; no stamp is listed twice
    groups = {}
    for s in table["stamps"]:
        groups.setdefault((s["class"], s["group"]), set()).add(s["split"])
    assert all(len(v) == 1 for v in groups.values())
    paths = [s["path"] for s in table["stamps"]] + [d["path"] for d in table["distractors"]]
    assert len(paths) == len(set(paths))
    splits = {b["split"] for b in table["backgrounds"]}
    assert splits == {"train", "test"}
    # a background that shows a class object would be an unlabelled positive: never used, and the
    # real-photo checks (photos of one class each) are never backgrounds or stamps
    used = {b["file"] for b in table["backgrounds"]}
    assert not used & {d["file"] for d in table["dropped_backgrounds"]}
    checks = {p["file"]: p["class"] for p in table["photo_checks"]}
    assert checks and not used & set(checks) and set(checks.values()) <= set(SCENE_CLASSES)
    assert "tree or plant" not in SCENE_CLASSES and "tree_plant" in table["dropped_classes"]


def test_scene_is_deterministic_and_labelled(table):
    m = maker(table)
    a, b = m.render(3, seed=5), m.render(3, seed=5)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert not np.array_equal(np.asarray(a.image), np.asarray(m.render(4, seed=5).image))
    assert a.image.size == (64, 64) and a.image.mode == "RGB"
    for i in range(40):
        s = m.render(i)
        pasted = {c for c, *_ in s.boxes if c >= 0}
        assert set(np.flatnonzero(s.labels)) == pasted
        assert s.names == [list(COLOURS)[c] for c in sorted(pasted)]


def test_sizes_range_from_small_to_most_of_the_canvas_and_some_scenes_are_empty(table):
    m = maker(table, size=96)
    largest, empty = [], 0
    for i in range(200):
        s = m.render(i)
        sides = [max(w, h) for c, _, _, w, h in s.boxes if c >= 0]
        if sides:
            largest.append(max(sides) / 96)
        else:
            empty += 1
            assert s.labels.sum() == 0
    assert empty >= 5
    assert min(largest) < 0.35 and max(largest) > 0.8


def test_target_pixels_are_where_the_box_says(table):
    m = maker(table, size=96)
    for i in range(30):
        s = m.render(i)
        arr = np.asarray(s.image).astype(int)
        for c, left, top, w, h in s.boxes:
            if c < 0:
                continue
            colour = np.array(COLOURS[list(COLOURS)[c]])
            x0, y0 = max(0, left), max(0, top)
            region = arr[y0 : top + h, x0 : left + w].reshape(-1, 3)
            close = np.abs(region - colour).sum(axis=1) < 150
            # colour jitter changes the tint, and later pastes may cover part of it
            assert close.any() or len(region) == 0


def test_alpha_is_eroded_and_feathered(table):
    m = maker(table, size=64)
    stamp = m._stamps[0][1]
    out = m._prepare(stamp, 0.9, np.random.default_rng(0))
    alpha = np.asarray(out.getchannel("A"))
    assert 0 < ((alpha > 0) & (alpha < 255)).sum()  # soft edge
    # erosion: the opaque area shrinks below the source's at the same scale
    src = np.asarray(stamp.resize(out.size).getchannel("A"))
    assert (alpha == 255).sum() < (src == 255).sum()


def test_test_split_uses_only_held_out_files(table):
    train, test = SceneSources.from_table("train", table), SceneSources.from_table("test", table)
    assert not {p for _, p in train.stamps} & {p for _, p in test.stamps}
    assert not set(train.backgrounds) & set(test.backgrounds)
    assert all("/test/" in str(p) for _, p in test.stamps)


def test_missing_packages_give_a_clear_error(table, tmp_path):
    with pytest.raises(SceneDataMissing) as err:
        SceneSources.from_table("train", table, stamps_root=tmp_path / "nowhere")
    assert "apt-get install" in str(err.value) and SCENE_PACKAGES[0] in str(err.value)
    with pytest.raises(ValueError):
        SceneSources.from_table("val", table)


@pytest.mark.skipif(not Path("/usr/share/tuxpaint/stamps").is_dir(), reason="Debian stamps absent")
def test_real_packages_render_a_scene():
    from viz.data.scenes import scene_maker

    s = scene_maker("test", 96).render(0)
    assert s.image.size == (96, 96) and s.labels.shape == (len(SCENE_CLASSES),)
