"""Frozen-trunk features of many scenes, computed once and kept on disk in fp16 shards.

Why: rendering a scene and running the frozen Lite0 trunk costs ~0.06 core-s per scene, about as
much as one training step of a small model on a batch of 48 scenes. The long GCNet-recipe runs
(:mod:`viz.cli.long_training`) take thousands of steps; with the trunk in the loop they would be
bound by it. The trunk is frozen, so its output for scene ``i`` never changes: compute it once per
scene, in shards that several processes fill in parallel and that a stopped build resumes.

A shard holds scenes ``start .. start + SHARD - 1`` of one split under one seed: ``feats``
(n, 432, 14, 14) fp16, ``labels`` (n, classes) uint8, ``teacher`` (n, classes) fp16 (the ImageNet
teacher's class probabilities, :mod:`viz.models.teacher`). Files are written to a temporary name
and renamed, so a shard on disk is always whole. They are read with ``weights_only=True``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from viz.data.scenes import GENERATOR_VERSION, SceneMaker, SceneSources
from viz.weights.transforms import normalise

SHARD = 480  # scenes per shard file (10 batches of 48; ~81 MB in fp16)


@dataclass(frozen=True)
class CacheSpec:
    """Which scenes a cache holds: a split, its seed, the canvas size and how many."""

    split: str
    scenes: int
    seed: int = 0
    size: int = 224

    @property
    def stem(self) -> str:
        return f"{self.split}_g{GENERATOR_VERSION}_t432kd_s{self.size}_seed{self.seed}"

    def shard_path(self, root: Path, start: int) -> Path:
        return root / f"{self.stem}_{start:06d}.pt"

    def starts(self) -> list[int]:
        return list(range(0, self.scenes, SHARD))


def build_shards(
    spec: CacheSpec,
    root: Path,
    sources: SceneSources,
    worker: int = 0,
    workers: int = 1,
    batch: int = 48,
    trunk: torch.nn.Module | None = None,
    log=print,
) -> int:
    """Compute this worker's missing shards (every ``workers``-th, from ``worker``); returns how
    many it wrote. Shards already on disk are kept (a stopped build resumes)."""
    from viz.cli.zoo_trainer import trunk_and_teacher, trunk_features

    root.mkdir(parents=True, exist_ok=True)
    todo = [s for s in spec.starts()[worker::workers] if not spec.shard_path(root, s).is_file()]
    if not todo:
        return 0
    maker = SceneMaker(sources, spec.split, spec.size)
    trunk, teacher = trunk_and_teacher(trunk, list(sources.classes))
    for start in todo:
        stop = min(spec.scenes, start + SHARD)
        feats, labels, soft = [], [], []
        for b in range(start, stop, batch):
            scenes = [maker.render(i, spec.seed) for i in range(b, min(stop, b + batch))]
            x = torch.cat([normalise(sc.image) for sc in scenes])
            f, p = trunk_features(trunk, teacher, x)
            feats.append(f.half())
            soft.append(p.half())
            labels.append(torch.from_numpy(np.stack([sc.labels for sc in scenes]).astype(np.uint8)))
        path = spec.shard_path(root, start)
        tmp = path.with_suffix(".tmp")
        torch.save(
            {"feats": torch.cat(feats), "labels": torch.cat(labels), "teacher": torch.cat(soft)},
            tmp,
        )
        os.replace(tmp, path)
        log(f"cache {spec.split}: scenes {start}-{stop - 1} -> {path.name}")
    return len(todo)


def load_cache(spec: CacheSpec, root: Path) -> dict[str, torch.Tensor]:
    """Every shard of ``spec`` concatenated: ``feats`` fp16, ``labels`` float32, ``teacher`` fp16.

    Raises:
        FileNotFoundError: a shard is missing (build it first: ``python -m viz train --gcnet``
            builds what is missing).
    """
    parts: dict[str, list[torch.Tensor]] = {"feats": [], "labels": [], "teacher": []}
    for start in spec.starts():
        path = spec.shard_path(root, start)
        if not path.is_file():
            raise FileNotFoundError(f"feature cache shard {path} is missing")
        data = torch.load(path, weights_only=True)
        for key in parts:
            parts[key].append(data[key])
    out = {key: torch.cat(v) for key, v in parts.items()}
    out["labels"] = out["labels"].float()
    return out
