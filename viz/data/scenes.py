"""Real-object scenes: photographic cut-outs composited over photographic backgrounds (the zoo's data).

Sources are Debian packages (``tuxpaint-stamps-default`` for the cut-outs; wallpaper and game packages
for the backgrounds); which stamp is a photograph, its class and its split live in
``viz/data/scene_table.json`` (made by ``tools/make_scene_table.py``). A scene is a pure function of
``(split, index, seed)``: the same pixels on every machine.

What a scene does against shortcuts:

- object sizes from small to overflowing the canvas (``LARGE_SHARE`` of scenes show one large
  subject at 55-125 % of the canvas side, like a user's photo or a close-up);
- every cut-out's alpha is eroded and feathered, so a bright or dark 2-px rim is not a class clue;
- distractor photo stamps (not of any class) and stamp-shaped patches cut from another background
  carry the same kind of edge as the targets, so "there is a cut-out here" predicts nothing;
- ``EMPTY_SHARE`` of scenes hold no target at all (their labels are all zero).

Test scenes use only held-out stamps, distractors and backgrounds (look-alikes share a split).
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from viz.errors import SceneDataMissing

__all__ = [
    "EMPTY_SHARE",
    "GENERATOR_VERSION",
    "LARGE_SHARE",
    "SCENE_CLASSES",
    "SCENE_PACKAGES",
    "SCENE_TABLE",
    "Scene",
    "SceneDataMissing",
    "SceneMaker",
    "SceneSources",
    "sample_scenes",
    "scene_maker",
    "scenes_available",
]

GENERATOR_VERSION = "real-2"
SCENE_TABLE = Path(__file__).with_name("scene_table.json")
SCENE_PACKAGES = (
    "tuxpaint-stamps-default",
    "plasma-workspace-wallpapers",
    "mate-backgrounds",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "tuxpaint-data",
    "palapeli-data",
)
EMPTY_SHARE = 0.08
LARGE_SHARE = 0.45
MAX_UPSCALE = 3.0  # a 70-px fruit stamp may grow to 210 px, no more (blur)


def _table() -> dict:
    return json.loads(SCENE_TABLE.read_text())


SCENE_CLASSES: tuple[str, ...] = tuple(_table()["classes"])


@dataclass(frozen=True)
class SceneSources:
    """Files of one split: target stamps by class index, distractor stamps, backgrounds.

    Args:
        classes: class names, the order of the label vector.
        stamps: (class index, path) of every target cut-out (RGBA PNG).
        distractors: paths of photo cut-outs that belong to no class.
        backgrounds: paths of photographs to composite on.
    """

    classes: tuple[str, ...]
    stamps: tuple[tuple[int, Path], ...]
    distractors: tuple[Path, ...]
    backgrounds: tuple[Path, ...]

    @classmethod
    def from_table(
        cls, split: str, table: dict | None = None, stamps_root: str | Path | None = None
    ) -> SceneSources:
        """The files of ``split`` ("train" or "test") named by a scene table.

        Raises:
            SceneDataMissing: a listed file is absent (message names the Debian packages).
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        table = table or _table()
        root = Path(stamps_root or os.environ.get("VIZ_STAMPS_DIR") or table["stamps_root"])
        classes = tuple(table["classes"])
        index = {c: i for i, c in enumerate(classes)}
        stamps = tuple(
            (index[s["class"]], root / s["path"]) for s in table["stamps"] if s["split"] == split
        )
        distractors = tuple(root / d["path"] for d in table["distractors"] if d["split"] == split)
        backgrounds = tuple(Path(b["file"]) for b in table["backgrounds"] if b["split"] == split)
        missing = [
            p for p in (*(p for _, p in stamps), *distractors, *backgrounds) if not p.is_file()
        ]
        if missing:
            raise SceneDataMissing(
                f"{len(missing)} scene files are missing (first: {missing[0]}). The zoo's training "
                "data comes from Debian packages: apt-get install " + " ".join(SCENE_PACKAGES)
            )
        if not stamps or not backgrounds:
            raise SceneDataMissing(f"the scene table has no {split} stamps or backgrounds")
        return cls(classes, stamps, distractors, backgrounds)


@dataclass
class Scene:
    """One rendered scene.

    Attributes:
        image: RGB canvas.
        labels: (n_classes,) float32 multi-hot, 1 for every class pasted.
        names: present class names, in class order.
        boxes: (class index or -1 for a distractor/patch, left, top, width, height), paste order.
    """

    image: Image.Image
    labels: np.ndarray
    names: list[str]
    boxes: list[tuple[int, int, int, int, int]] = field(default_factory=list)


def _load_rgba(path: Path, max_side: int) -> Image.Image:
    with Image.open(path) as im:
        im = im.convert("RGBA")
    scale = max_side / max(im.size)
    if scale < 1:
        im = im.resize(
            (max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS
        )
    bbox = im.getchannel("A").getbbox()
    return im.crop(bbox) if bbox else im


def _load_background(path: Path, short_side: int) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (short_side * 2, short_side * 2))  # fast JPEG downscale on decode
        im = im.convert("RGB")
    scale = short_side / min(im.size)
    return im.resize((round(im.width * scale), round(im.height * scale)), Image.BICUBIC)


class SceneMaker:
    """Renders the scenes of one split; decoded sources are kept in memory (tens of MB).

    Args:
        sources: the split's files.
        split: "train" or "test" (part of every scene's seed).
        size: canvas side in pixels.
    """

    def __init__(self, sources: SceneSources, split: str, size: int = 224):
        self.sources, self.split, self.size = sources, split, size
        self.classes = sources.classes
        self._stamps = [(c, _load_rgba(p, size)) for c, p in sources.stamps]
        self._distractors = [_load_rgba(p, size) for p in sources.distractors]
        self._backgrounds = [_load_background(p, int(size * 1.6)) for p in sources.backgrounds]
        self._by_class: dict[int, list[int]] = {}
        for i, (c, _) in enumerate(self._stamps):
            self._by_class.setdefault(c, []).append(i)
        self._split_id = zlib.crc32(split.encode())

    def _background(self, rng: np.random.Generator) -> Image.Image:
        bg = self._backgrounds[rng.integers(len(self._backgrounds))]
        side = int(min(bg.size) * rng.uniform(0.45, 1.0))
        left = int(rng.integers(0, bg.width - side + 1))
        top = int(rng.integers(0, bg.height - side + 1))
        crop = bg.crop((left, top, left + side, top + side)).resize(
            (self.size, self.size), Image.BILINEAR
        )
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        return crop

    def _prepare(self, stamp: Image.Image, frac: float, rng: np.random.Generator) -> Image.Image:
        """Flip, rotate, scale to ``frac`` of the canvas, jitter colour, erode + feather alpha."""
        if rng.random() < 0.5:
            stamp = stamp.transpose(Image.FLIP_LEFT_RIGHT)
        angle = float(rng.uniform(-15, 15))
        if abs(angle) > 2:
            stamp = stamp.rotate(angle, resample=Image.BILINEAR, expand=True)
        long_side = max(8, min(frac * self.size, MAX_UPSCALE * max(stamp.size)))
        scale = long_side / max(stamp.size)
        stamp = stamp.resize(
            (max(4, round(stamp.width * scale)), max(4, round(stamp.height * scale))),
            Image.BILINEAR,
        )
        rgb = np.asarray(stamp.convert("RGB"), dtype=np.float32)
        gain = rng.uniform(0.75, 1.25, size=3) * rng.uniform(0.85, 1.15)
        grey = rgb.mean(axis=2, keepdims=True)
        sat = rng.uniform(0.7, 1.3)
        rgb = np.clip((grey + (rgb - grey) * sat) * gain, 0, 255).astype(np.uint8)
        alpha = stamp.getchannel("A").filter(
            ImageFilter.MinFilter(5 if min(stamp.size) > 24 else 3)
        )
        alpha = alpha.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.6, 1.6))))
        out = Image.fromarray(rgb, "RGB")
        out.putalpha(alpha)
        return out

    def _patch(self, rng: np.random.Generator, frac: float, canvas_bg: Image.Image) -> Image.Image:
        """A stamp-shaped piece of another background: the cut-out edge without an object."""
        pool = self._distractors + [s for _, s in self._stamps]
        shape = self._prepare(pool[rng.integers(len(pool))], frac, rng)
        other = self._background(rng)
        for _retry in range(8 if len(self._backgrounds) > 1 else 0):  # bounded: twin files
            if not np.array_equal(np.asarray(other)[:4, :4], np.asarray(canvas_bg)[:4, :4]):
                break
            other = self._background(rng)
        w, h = shape.size
        left = int(rng.integers(0, max(1, self.size - w + 1)))
        top = int(rng.integers(0, max(1, self.size - h + 1)))
        piece = other.crop((left, top, left + w, top + h)).convert("RGBA")
        piece.putalpha(shape.getchannel("A"))
        return piece

    def render(self, index: int, seed: int = 0) -> Scene:
        """Scene ``index`` of this split under ``seed`` (deterministic)."""
        rng = np.random.default_rng([seed, self._split_id, index])
        canvas = self._background(rng)
        n_classes = len(self.classes)
        items: list[tuple[int, Image.Image]] = []  # (class or -1, prepared RGBA)
        r = rng.random()
        if r < EMPTY_SHARE:
            targets, fracs = [], []
        elif r < EMPTY_SHARE + LARGE_SHARE:
            targets = [int(rng.choice(list(self._by_class)))]
            fracs = [float(rng.uniform(0.55, 1.25))]  # up to overflowing, as in close-ups
        else:
            k = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
            targets = [int(c) for c in rng.choice(list(self._by_class), size=k, replace=False)]
            fracs = [float(rng.uniform(0.2, 0.5)) for _ in targets]
        for c, frac in zip(targets, fracs):
            choices = self._by_class[c]
            stamp = self._stamps[choices[rng.integers(len(choices))]][1]
            items.append((c, self._prepare(stamp, frac, rng)))
        n_distract = int(rng.integers(0, 3)) if self._distractors else 0
        n_patch = int(rng.integers(0, 3))
        if not targets and n_distract + n_patch == 0:
            n_patch = 1
        small = 0.45 if targets and fracs[0] < 0.55 else 0.3
        for _ in range(n_distract):
            stamp = self._distractors[rng.integers(len(self._distractors))]
            items.append((-1, self._prepare(stamp, float(rng.uniform(0.15, small)), rng)))
        for _ in range(n_patch):
            items.append((-1, self._patch(rng, float(rng.uniform(0.15, small)), canvas)))
        order = rng.permutation(len(items))
        placed: list[tuple[int, int, int, int]] = []
        labels = np.zeros(n_classes, dtype=np.float32)
        boxes = []
        canvas = canvas.convert("RGBA")
        for i in order:
            c, im = items[i]
            w, h = im.size
            for _attempt in range(12):
                left = int(rng.integers(-w // 6, max(-w // 6 + 1, self.size - w + w // 6 + 1)))
                top = int(rng.integers(-h // 6, max(-h // 6 + 1, self.size - h + h // 6 + 1)))
                box = (left, top, w, h)
                if all(_overlap(box, other) <= 0.3 for other in placed):
                    break
            else:
                if c < 0:
                    continue  # a distractor that does not fit is left out
            placed.append(box)
            canvas.paste(im, (left, top), im)
            boxes.append((c, left, top, w, h))
            if c >= 0:
                labels[c] = 1.0
        image = canvas.convert("RGB")
        if rng.random() < 0.15:
            image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.9))))
        names = [self.classes[i] for i in np.flatnonzero(labels)]
        return Scene(image=image, labels=labels, names=names, boxes=boxes)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box's area."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    return iw * ih / max(1, min(aw * ah, bw * bh))


@lru_cache(maxsize=4)
def scene_maker(split: str, size: int = 224) -> SceneMaker:
    """The default (Debian-package) scene maker of ``split`` at ``size`` px, built once."""
    return SceneMaker(SceneSources.from_table(split), split, size)


def scenes_available() -> bool:
    """Whether the Debian packages behind the scenes are installed (both splits' files present)."""
    try:
        SceneSources.from_table("test")
        SceneSources.from_table("train")
    except SceneDataMissing:
        return False
    return True


def sample_scenes(n: int = 6, size: int = 224) -> list[tuple[str, Image.Image]]:
    """``n`` held-out scenes (test split) titled like ``"scene 3: bird, fruit"``.

    Raises:
        SceneDataMissing: the Debian packages are not installed.
    """
    maker = scene_maker("test", size)
    out = []
    for i in range(n):
        scene = maker.render(i)
        out.append((f"scene {i}: {', '.join(scene.names) or 'no target object'}", scene.image))
    return out
