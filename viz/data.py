"""Cluttered Fashion-MNIST scenes: the offline training set of the zoo (see :mod:`viz.train`).

A scene is an RGB canvas with a textured background (smooth colour noise plus stripes or a checker)
and 2-4 tinted Fashion-MNIST articles of distinct classes at random positions and scales; the target
is multi-hot over the 10 classes. Clutter and several objects give attention something to do:
a model must find the articles among texture, and non-local blocks see more than one object.

Train scenes draw articles only from the official train split, test scenes only from t10k, and a
scene is a pure function of ``(split, index, seed)`` (its RNG is seeded with all three), so the same
scene is rendered on every machine. Data: Debian package ``dataset-fashion-mnist``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "CANVAS",
    "CLASSES",
    "FASHION_DIR",
    "GENERATOR_VERSION",
    "FashionMNISTMissing",
    "Scene",
    "fashion_available",
    "load_split",
    "render_scene",
    "sample_scenes",
]

CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CANVAS = 160  # px; the zoo trunk's stride 16 makes a 10 x 10 map (N = 100)
GENERATOR_VERSION = "1"
FASHION_DIR = Path(os.environ.get("VIZ_FASHION_DIR", "/usr/share/datasets/fashion-mnist"))

_SPLITS = {"train": ("train", 0), "test": ("t10k", 1), "t10k": ("t10k", 1)}


class FashionMNISTMissing(FileNotFoundError):
    """The Fashion-MNIST files are not on this machine."""


@dataclass
class Scene:
    """One rendered scene.

    Attributes:
        image: RGB canvas.
        labels: (10,) float32 multi-hot, 1 for every class pasted on the canvas.
        names: the present classes' names, in ``CLASSES`` order.
        boxes: (class index, left, top, side) of every pasted article, in paste order.
        articles: index of each pasted article's 28 x 28 image within its split, in paste order.
    """

    image: Image.Image
    labels: np.ndarray
    names: list[str]
    boxes: list[tuple[int, int, int, int]]
    articles: list[int]


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_available(root: str | Path | None = None) -> bool:
    """True when all four Fashion-MNIST files exist."""
    root = Path(root) if root is not None else FASHION_DIR
    names = [f"{p}-{k}-ubyte.gz" for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1")]
    return all((root / n).is_file() for n in names)


@lru_cache(maxsize=4)
def load_split(split: str, root: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) uint8 and labels (n,) of ``"train"`` or ``"test"`` (= t10k).

    Raises:
        FashionMNISTMissing: files absent (message names the Debian package).
        ValueError: unknown split.
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    prefix = _SPLITS[split][0]
    base = Path(root) if root is not None else FASHION_DIR
    img_path = base / f"{prefix}-images-idx3-ubyte.gz"
    lab_path = base / f"{prefix}-labels-idx1-ubyte.gz"
    if not (img_path.is_file() and lab_path.is_file()):
        raise FashionMNISTMissing(
            f"Fashion-MNIST not found in {base}: install Debian package dataset-fashion-mnist "
            "(apt-get install dataset-fashion-mnist)"
        )
    return _read_idx(img_path), _read_idx(lab_path)


@lru_cache(maxsize=4)
def _by_class(split: str, root: str | None) -> list[np.ndarray]:
    _, labels = load_split(split, root)
    return [np.flatnonzero(labels == c) for c in range(len(CLASSES))]


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Values in [0, 1] on a size x size grid, bilinear from a cells x cells random grid."""
    grid = (rng.random((cells, cells)) * 255).astype(np.uint8)
    img = Image.fromarray(grid).resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    c1, c2, c3 = rng.uniform(0.0, 1.0, (3, 3)).astype(np.float32)
    noise = _smooth_noise(rng, size, int(rng.integers(3, 9)))[..., None]
    bg = c1 * (1 - noise) + c2 * noise
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(8, 32)
    if rng.random() < 0.5:  # stripes at a random angle
        angle = rng.uniform(0, np.pi)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period
        pattern = (np.floor(phase) % 2).astype(np.float32)
    else:  # checker
        pattern = ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(np.float32)
    strength = rng.uniform(0.15, 0.45)
    bg = bg * (1 - strength * pattern[..., None]) + c3 * strength * pattern[..., None]
    return bg


def render_scene(split: str, index: int, size: int = CANVAS, seed: int = 0) -> Scene:
    """Render scene ``index`` of ``split`` (``"train"`` or ``"test"``), deterministically.

    Args:
        split: ``"train"`` (articles from the official train split) or ``"test"`` (from t10k).
        index: scene number (any non-negative int; articles are drawn at random from the split).
        size: canvas side in pixels.
        seed: generator seed; the same (split, index, seed, size) gives the same scene.

    Raises:
        FashionMNISTMissing: the dataset is not installed.
        ValueError: unknown split, negative index or a canvas below 32 px.
    """
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    if size < 32:
        raise ValueError(f"canvas size must be >= 32 px, got {size}")
    images, _ = load_split(split)
    by_class = _by_class(split, None)
    rng = np.random.default_rng([int(seed), _SPLITS[split][1], int(index)])
    canvas = _background(rng, size)
    k = int(rng.integers(2, 5))
    classes = rng.choice(len(CLASSES), size=k, replace=False)
    taken: list[tuple[int, int, int]] = []
    boxes, articles = [], []
    for cls in classes:
        source = int(by_class[cls][rng.integers(len(by_class[cls]))])
        articles.append(source)
        article = images[source]
        if rng.random() < 0.5:
            article = article[:, ::-1]
        side = int(rng.uniform(0.24, 0.42) * size)
        for _ in range(30):  # keep articles mostly visible: bounded overlap with earlier ones
            left = int(rng.integers(0, size - side + 1))
            top = int(rng.integers(0, size - side + 1))
            if all(_overlap(left, top, side, *t) < 0.25 for t in taken):
                break
        taken.append((left, top, side))
        glyph = Image.fromarray(np.ascontiguousarray(article)).resize((side, side), Image.BILINEAR)
        g = np.asarray(glyph, dtype=np.float32)[..., None] / 255.0
        tint = rng.uniform(0.0, 1.0, 3).astype(np.float32)
        alpha = np.clip(g * 3.0, 0.0, 1.0)
        colour = tint * (0.35 + 0.65 * g)
        patch = canvas[top : top + side, left : left + side]
        canvas[top : top + side, left : left + side] = patch * (1 - alpha) + colour * alpha
        boxes.append((int(cls), left, top, side))
    labels = np.zeros(len(CLASSES), dtype=np.float32)
    labels[classes] = 1.0
    names = [CLASSES[c] for c in range(len(CLASSES)) if labels[c]]
    image = Image.fromarray((np.clip(canvas, 0, 1) * 255).round().astype(np.uint8), "RGB")
    return Scene(image=image, labels=labels, names=names, boxes=boxes, articles=articles)


def _overlap(l1: int, t1: int, s1: int, l2: int, t2: int, s2: int) -> float:
    """Intersection area over the smaller square's area."""
    w = max(0, min(l1 + s1, l2 + s2) - max(l1, l2))
    h = max(0, min(t1 + s1, t2 + s2) - max(t1, t2))
    return w * h / float(min(s1, s2) ** 2)


def sample_scenes(n: int = 6) -> list[tuple[str, Image.Image]]:
    """``n`` held-out (t10k) scenes with titles like ``"scene 3: T-shirt/top, Bag"``.

    Raises:
        FashionMNISTMissing: the dataset is not installed.
    """
    out = []
    for i in range(n):
        scene = render_scene("test", i)
        out.append((f"scene {i}: {', '.join(scene.names)}", scene.image))
    return out
