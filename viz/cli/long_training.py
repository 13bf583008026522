"""Long runs on cached trunk features: the GCNet-recipe Non-local family and the ablation of what
makes Non-local maps query-independent.

Every run is one :class:`Cell`: a Non-local form, how its block is fed and initialised
(:class:`~viz.models.zoo.BlockRecipe`), an optimiser, a schedule and an init seed. Every cell trains
on the same stream of batches drawn from one pool of cached scenes (:mod:`viz.cli.feature_cache`),
so cells differ only in what they name. After every epoch a cell measures, on held-out scenes,
its loss and mAP and the block's Table 1 (input, output, att, JSD), the mean-row entropy, the mean
row's peak over uniform and the DNL unary share; at the end, the same on the real photographs.

Why cached features: the trunk is frozen, so its output for a scene never changes; computing it
once lets a cell take 10x the zoo's steps for the same time. Why a large pool sampled in passes
with horizontal flips: a small pool is memorised (measured: 1,000 scenes gave held-out mAP 0.30),
and the held-out loss curve in each cell's record shows whether the pool was large enough.

A cell's record is written to ``<out>/cells/<name>.json`` when it ends, and its state after every
epoch to ``<scratch>/<name>.pt``, so a stopped worker resumes a cell where it stopped.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from viz.cli.feature_cache import CacheSpec, load_cache
from viz.cli.manifest import save
from viz.cli.photos import photo_checks
from viz.cli.recipe import warmup_cosine
from viz.cli.zoo_trainer import evaluate, nl_statistics
from viz.models.teacher import teacher_matrix
from viz.models.zoo import BlockRecipe, ZooNet

SCHEDULES = {"short": (12, 50), "long": (12, 500)}  # epochs, steps per epoch
OPTIMISERS = ("adamw", "sgd")


@dataclass(frozen=True)
class LongRecipe:
    """What every cell shares (written into the manifest)."""

    batch: int = 48
    adamw_lr: float = 2e-3
    adamw_weight_decay: float = 0.05
    sgd_lr: float = 0.02  # mmdetection's Mask R-CNN recipe (8 GPUs x 2 images)
    sgd_momentum: float = 0.9
    sgd_weight_decay: float = 1e-4
    warmup_share: float = 0.1
    distill: float = 10.0
    train_scenes: int = 32640
    test_scenes: int = 1000
    table1_scenes: int = 500
    jsd_scenes: int = 100
    flip: bool = True
    data_seed: int = 0


@dataclass(frozen=True)
class Cell:
    """One run: a Non-local form, its block recipe, optimiser, schedule and init seed."""

    kind: str
    recipe: BlockRecipe
    optimiser: str = "adamw"
    schedule: str = "long"
    seed: int = 0
    snapshots: bool = False  # keep the trained parts after every epoch (the app's epoch slider)

    def __post_init__(self):
        if self.optimiser not in OPTIMISERS:
            raise ValueError(f"optimiser must be one of {OPTIMISERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {tuple(SCHEDULES)}")

    @property
    def name(self) -> str:
        r = self.recipe
        return (
            f"{self.kind}.{r.input}.{r.init}.{r.scale}.{self.optimiser}.{self.schedule}"
            f".seed{self.seed}"
        )

    @property
    def factors(self) -> dict:
        return {
            "kind": self.kind,
            **asdict(self.recipe),
            "optimiser": self.optimiser,
            "schedule": self.schedule,
            "seed": self.seed,
        }


class BatchStream:
    """Batch ``t`` of the shared data stream: which pool scenes, and which are flipped.

    A pure function of (data seed, step): the pool is walked in passes, each a fresh permutation;
    so every cell sees the same scenes in the same order, and a resumed cell continues the stream.
    """

    def __init__(self, pool: int, batch: int, seed: int, flip: bool):
        self.pool, self.batch, self.seed, self.flip = pool, batch, seed, flip
        self._perms: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _pass(self, p: int) -> tuple[torch.Tensor, torch.Tensor]:
        if p not in self._perms:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + p)
            perm = torch.randperm(self.pool, generator=gen)
            flips = torch.rand(self.pool, generator=gen) < 0.5
            self._perms = {p: (perm, flips & self.flip)}
        return self._perms[p]

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = step * self.batch
        idx, flips = [], []
        for k in range(start, start + self.batch):
            perm, fl = self._pass(k // self.pool)
            idx.append(int(perm[k % self.pool]))
            flips.append(bool(fl[k % self.pool]))
        return torch.tensor(idx), torch.tensor(flips)


def make_model(cell: Cell, classes: int) -> ZooNet:
    """The cell's model at init (its seed decides every random weight)."""
    torch.manual_seed(cell.seed)
    return ZooNet(cell.kind, num_classes=classes, recipe=cell.recipe)


def make_optimiser(cell: Cell, model: nn.Module, recipe: LongRecipe) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cell.optimiser == "sgd":
        return torch.optim.SGD(
            params,
            lr=recipe.sgd_lr,
            momentum=recipe.sgd_momentum,
            weight_decay=recipe.sgd_weight_decay,
        )
    return torch.optim.AdamW(params, lr=recipe.adamw_lr, weight_decay=recipe.adamw_weight_decay)


def optimiser_label(cell: Cell, recipe: LongRecipe) -> str:
    if cell.optimiser == "sgd":
        return (
            f"SGD(lr={recipe.sgd_lr}, momentum={recipe.sgd_momentum}, "
            f"weight_decay={recipe.sgd_weight_decay})"
        )
    return f"AdamW(lr={recipe.adamw_lr}, weight_decay={recipe.adamw_weight_decay})"


@dataclass
class Data:
    """The cached pool, the held-out scenes and the real photos' features, in memory."""

    train: dict
    test: dict
    classes: list[str]
    photos: list[tuple[str, str]] = field(default_factory=list)
    photo_feats: torch.Tensor | None = None


def load_data(
    cache_root: Path, recipe: LongRecipe, classes, photos=(), photo_feats=None, seed: int = 0
) -> Data:
    train = load_cache(CacheSpec("train", recipe.train_scenes, seed), cache_root)
    test = load_cache(CacheSpec("test", recipe.test_scenes, seed), cache_root)
    test["feats"] = test["feats"].float()
    return Data(train, test, list(classes), list(photos), photo_feats)


def _measure(model: ZooNet, data: Data, recipe: LongRecipe, epoch: int, photos: bool) -> dict:
    metrics = evaluate(model, data.test["feats"], data.test["labels"], data.classes)
    row = {
        "epoch": epoch,
        "heldout_loss": metrics["loss"],
        "heldout_mAP": metrics["mAP"],
        "table1": nl_statistics(
            model, data.test["feats"][: recipe.table1_scenes], jsd_scenes=recipe.jsd_scenes
        ),
    }
    if photos and data.photo_feats is not None:
        row["photos_table1"] = nl_statistics(model, data.photo_feats, jsd_scenes=len(data.photos))
        checks = photo_checks(model, data.photo_feats, data.photos, data.classes)
        row["photo_hits"] = sum(c["top"] == c["class"] for c in checks)
        row["photo_checks"] = checks
    return row


def run_cell(
    cell: Cell,
    data: Data,
    recipe: LongRecipe,
    out_dir: Path,
    scratch: Path,
    log=print,
    schedule: tuple[int, int] | None = None,
) -> dict:
    """Train one cell (resuming from ``scratch`` if a state is there) and write its record.

    Args:
        schedule: (epochs, steps per epoch); default :data:`SCHEDULES` of the cell.
    """
    epochs, per_epoch = schedule or SCHEDULES[cell.schedule]
    total = epochs * per_epoch
    classes = len(data.classes)
    model = make_model(cell, classes)
    opt = make_optimiser(cell, model, recipe)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s, total, recipe.warmup_share)
    )
    state_path = scratch / f"{cell.name}.pt"
    curve: list[dict] = []
    train_curve: list[dict] = []
    seconds = 0.0
    start_epoch = 1
    if state_path.is_file():
        state = torch.load(state_path, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        saved = json.loads(state["record"])
        curve, train_curve, seconds = saved["curve"], saved["train_curve"], saved["seconds"]
        start_epoch = len(train_curve) + 1
        log(f"{cell.name}: resumed after epoch {start_epoch - 1}")
    else:
        curve.append(_measure(model, data, recipe, 0, photos=True))
        if cell.snapshots:
            _save_snapshot(model, out_dir, cell, 0)
    stream = BatchStream(len(data.train["labels"]), recipe.batch, recipe.data_seed, recipe.flip)
    mapped = teacher_matrix(data.classes).sum(dim=0) > 0
    loss_fn = nn.BCEWithLogitsLoss()
    feats, labels, teacher = data.train["feats"], data.train["labels"], data.train["teacher"]
    for epoch in range(start_epoch, epochs + 1):
        t0 = time.time()
        model.train()
        loss_sum = label_sum = 0.0
        for step in range((epoch - 1) * per_epoch, epoch * per_epoch):
            idx, flips = stream(step)
            x = feats[idx].float()
            if flips.any():
                x[flips] = x[flips].flip(3)
            y, soft = labels[idx], teacher[idx].float()
            logits = model(x)
            label_loss = loss_fn(logits, y)
            loss = label_loss
            if recipe.distill and mapped.any():
                loss = loss + recipe.distill * loss_fn(logits[:, mapped], soft[:, mapped])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item()
            label_sum += label_loss.item()
        seconds += time.time() - t0
        train_curve.append(
            {
                "epoch": epoch,
                "steps": epoch * per_epoch,
                "train_loss": loss_sum / per_epoch,
                "train_label_loss": label_sum / per_epoch,
            }
        )
        curve.append(_measure(model, data, recipe, epoch, photos=True))
        if cell.snapshots:
            _save_snapshot(model, out_dir, cell, epoch)
        t1 = curve[-1]["table1"]
        log(
            f"{cell.name} epoch {epoch}/{epochs} ({time.time() - t0:.0f}s) "
            f"mAP {curve[-1]['heldout_mAP']:.3f} loss {curve[-1]['heldout_loss']:.3f} "
            f"att {t1['att']:.3f} in {t1['input']:.3f} H {t1['entropy']:.2f} "
            f"peak {t1['peak']:.1f}"
        )
        scratch.mkdir(parents=True, exist_ok=True)
        record = json.dumps({"curve": curve, "train_curve": train_curve, "seconds": seconds})
        tmp = state_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "record": record,
            },
            tmp,
        )
        os.replace(tmp, state_path)
    result = {
        "name": cell.name,
        "factors": cell.factors,
        "optimiser": optimiser_label(cell, recipe),
        "epochs": epochs,
        "steps_per_epoch": per_epoch,
        "steps": total,
        "train_seconds": round(seconds, 1),
        "curve": curve,
        "train_curve": train_curve,
        "final": curve[-1],
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    _write_json(out_dir / "cells" / f"{cell.name}.json", result)
    return {"result": result, "model": model}


def _save_snapshot(model: ZooNet, out_dir: Path, cell: Cell, epoch: int) -> None:
    save(model, out_dir / "epochs" / cell.name / f"epoch{epoch:02d}.safetensors")


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=_json_default) + "\n")
    os.replace(tmp, path)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value)}")


class ManifestLock:
    """An exclusive lock on ``<out>/.lock`` (several workers write one manifest)."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / ".lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "w")  # noqa: SIM115
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


ABLATION_KINDS = ("nl_embedded_gaussian", "nl_dot_product")


def cell_recipe(kind: str, recipe: BlockRecipe) -> BlockRecipe:
    """``recipe`` as it applies to ``kind``: only the embedded Gaussian has a scale in mmcv, so
    the other forms' cells carry ``scale="none"`` (two names for one model would train it twice)."""
    if kind != "nl_embedded_gaussian" and recipe.scale != "none":
        return BlockRecipe(recipe.input, recipe.init, "none")
    return recipe


def family_cells(seeds=(0, 1)) -> list[Cell]:
    """The GCNet-recipe family (every form, long, AdamW) and the shipped recipe's embedded
    Gaussian trained the same way (the counter-example); seed 0 of both embedded Gaussians keeps
    its per-epoch weights for the app's epoch slider."""
    from viz.attention import NL_KINDS
    from viz.models.zoo import GCNET_RECIPE, SHIPPED_RECIPE

    cells = []
    for seed in seeds:
        for kind in NL_KINDS:
            cells.append(
                Cell(
                    kind,
                    cell_recipe(kind, GCNET_RECIPE),
                    seed=seed,
                    snapshots=seed == 0 and kind == "nl_embedded_gaussian",
                )
            )
        cells.append(Cell("nl_embedded_gaussian", SHIPPED_RECIPE, seed=seed, snapshots=seed == 0))
    return cells


def ablation_cells(seeds=(0, 1)) -> list[Cell]:
    """The ablation, a fractional design (:data:`ABLATION_DESIGN` says which cells it skips).

    Short schedule: every combination of init x scale x input x optimiser for the embedded
    Gaussian (24) and init x input x optimiser for the dot product (12; no scale in mmcv).
    Long schedule: every init x scale x input with AdamW (12 + 6), and SGD only for the shipped
    recipe and the GCNet recipe (2 + 2): SGD's cells on the short schedule show whether the block
    learns at all under SGD before the long ones are worth their cost.
    """
    from itertools import product

    from viz.models.zoo import BLOCK_INITS, BLOCK_INPUTS, BLOCK_SCALES, GCNET_RECIPE, SHIPPED_RECIPE

    cells: list[Cell] = []
    for seed in seeds:
        for kind in ABLATION_KINDS:
            scales = BLOCK_SCALES if kind == "nl_embedded_gaussian" else ("none",)
            for init, scale, inp, opt in product(BLOCK_INITS, scales, BLOCK_INPUTS, OPTIMISERS):
                cells.append(Cell(kind, BlockRecipe(inp, init, scale), opt, "short", seed))
        for kind in ABLATION_KINDS:
            scales = BLOCK_SCALES if kind == "nl_embedded_gaussian" else ("none",)
            for init, scale, inp in product(BLOCK_INITS, scales, BLOCK_INPUTS):
                cells.append(Cell(kind, BlockRecipe(inp, init, scale), "adamw", "long", seed))
            for recipe in (SHIPPED_RECIPE, GCNET_RECIPE):
                cells.append(Cell(kind, cell_recipe(kind, recipe), "sgd", "long", seed))
    return cells


ABLATION_DESIGN = (
    "short schedule (600 steps): full factorial, init {default, mmcv} x E-G scale {none, "
    "1/sqrt(C')} x input {signed, ReLU, residual stage} x optimiser {AdamW, SGD}, for the embedded "
    "Gaussian (24 cells) and the dot product (12: no scale); long schedule (6,000 steps): every "
    "init x scale x input with AdamW, and SGD only for the shipped and the GCNet recipes (skipped: "
    "SGD x the 4 (E-G) / 2 (dot) mixed recipes on the long schedule); two init seeds per cell"
)


def planned_cells() -> list[Cell]:
    """Every cell, in the order workers take them: what the app needs first."""
    family = family_cells()
    ablation = ablation_cells()
    first = [c for c in family if c.seed == 0 and c.snapshots]
    first += [c for c in family if c.seed == 0 and c.kind == "nl_dot_product"]
    short0 = [c for c in ablation if c.schedule == "short" and c.seed == 0]
    short1 = [c for c in ablation if c.schedule == "short" and c.seed == 1]
    order = first + short0 + [c for c in family if c.seed == 0] + short1 + family + ablation
    seen, out = set(), []
    for c in order:
        key = (c.name,)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(cell: Cell, out_dir: Path, scratch: Path) -> bool:
    """Take ``cell`` for this process unless it is done or a live process has it."""
    if (out_dir / "cells" / f"{cell.name}.json").is_file():
        return False
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"{cell.name}.claim"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            pid = int(path.read_text() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and _pid_alive(pid):
            return False
        path.unlink(missing_ok=True)
        return claim(cell, out_dir, scratch)
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    return True


def work(
    cells: list[Cell],
    data: Data,
    recipe: LongRecipe,
    out_dir: Path,
    scratch: Path,
    log=print,
    schedule: tuple[int, int] | None = None,
    on_cell=None,
) -> int:
    """Run every cell of ``cells`` that no other worker has and that is not done; returns how
    many this worker ran. ``on_cell(result)`` is called after each (the manifest update)."""
    ran = 0
    for cell in cells:
        if not claim(cell, out_dir, scratch):
            continue
        try:
            t0 = time.time()
            log(f"start {cell.name}")
            out = run_cell(cell, data, recipe, out_dir, scratch, log=log, schedule=schedule)
            log(f"done {cell.name} in {time.time() - t0:.0f}s")
            if on_cell is not None:
                on_cell(cell, out)
            ran += 1
        finally:
            (scratch / f"{cell.name}.claim").unlink(missing_ok=True)
    return ran


GCNET_DIR_NAME = "gcnet"
REMAKE_GCNET = "python -m viz train --gcnet"


def family_file(cell: Cell) -> str:
    """The shipped checkpoint of a family cell (the GCNet recipe, or the shipped recipe's E-G)."""
    tag = "gcnet" if cell.recipe.input == "residual" else "shipped"
    seed = "" if cell.seed == 0 else f"-seed{cell.seed}"
    return f"{tag}_{cell.kind}{seed}.safetensors"


def is_family(cell: Cell) -> bool:
    return cell.name in {c.name for c in family_cells()}


def assemble_manifest(out_dir: Path, header: dict) -> dict:
    """``manifest.json`` from every finished cell's record, the shipped checkpoints (sha256) and
    the per-epoch snapshots (sha256); called under :class:`ManifestLock`."""
    from viz.weights.checkpoints import sha256_of

    cells = {}
    for path in sorted((out_dir / "cells").glob("*.json")):
        record = json.loads(path.read_text())
        # each photo's answer only at the end (the per-epoch counts stay): a smaller manifest
        for row in record["curve"][:-1]:
            row.pop("photo_checks", None)
        cells[record["name"]] = record
    checkpoints = {}
    for cell in family_cells():
        record = cells.get(cell.name)
        file = out_dir / family_file(cell)
        if record is None or not file.is_file():
            continue
        entry = {
            "file": file.name,
            "sha256": sha256_of(file),
            "cell": cell.name,
            **cell.factors,
            "mAP": record["final"]["heldout_mAP"],
            "heldout_loss": record["final"]["heldout_loss"],
            "table1": record["final"]["table1"],
            "table1_init": record["curve"][0]["table1"],
            "photos_table1": record["final"].get("photos_table1"),
            "photo_hits": record["final"].get("photo_hits"),
        }
        snaps = sorted((out_dir / "epochs" / cell.name).glob("epoch*.safetensors"))
        if cell.snapshots and snaps:
            entry["epochs"] = [
                {
                    "epoch": int(p.stem[5:]),
                    "file": f"epochs/{cell.name}/{p.name}",
                    "sha256": sha256_of(p),
                }
                for p in snaps
            ]
        checkpoints[family_file(cell).removesuffix(".safetensors")] = entry
    manifest = {**header, "checkpoints": checkpoints, "cells": cells}
    tmp = out_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(tmp, out_dir / "manifest.json")
    return manifest


def reassemble(out_dir: Path) -> dict:
    """Rewrite ``manifest.json`` from the finished cells on disk, keeping its header (after a
    stopped run, or when only the manifest's layout changed)."""
    old = json.loads((out_dir / "manifest.json").read_text())
    header = {k: v for k, v in old.items() if k not in ("checkpoints", "cells")}
    with ManifestLock(out_dir):
        return assemble_manifest(out_dir, header)


def manifest_header(recipe: LongRecipe, schedule, data: Data) -> dict:
    import platform

    from viz.data.scenes import GENERATOR_VERSION
    from viz.models.zoo import GCNET_RECIPE, SHIPPED_RECIPE

    return {
        "about": "GCNet-recipe Non-local family and the ablation of what makes Non-local maps "
        f"query-independent. Remake: {REMAKE_GCNET} (resumes; workers share the cells).",
        "recipe": asdict(recipe),
        "schedules": {k: {"epochs": e, "steps_per_epoch": s} for k, (e, s) in SCHEDULES.items()}
        if schedule is None
        else {"override": {"epochs": schedule[0], "steps_per_epoch": schedule[1]}},
        "gcnet_recipe": asdict(GCNET_RECIPE),
        "shipped_recipe": asdict(SHIPPED_RECIPE),
        "design": ABLATION_DESIGN,
        "data": {
            "generator_version": GENERATOR_VERSION,
            "train_pool": len(data.train["labels"]),
            "pool_note": "train scenes 0..pool-1 of the train split (seed 0), trunk features cached "
            "once in fp16; walked in passes, a fresh permutation each, half of each pass "
            "flipped left-right at the feature level; every cell sees the same stream",
            "heldout": len(data.test["labels"]),
            "table1_scenes": recipe.table1_scenes,
            "jsd_scenes": recipe.jsd_scenes,
            "photos": [p for p, _ in data.photos],
        },
        "classes": data.classes,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": f"{os.cpu_count()}-core CPU",
    }


SMOKE_RECIPE = LongRecipe(batch=4, train_scenes=16, test_scenes=8, table1_scenes=4, jsd_scenes=4)
SMOKE_SCHEDULE = (1, 2)


def smoke_cells() -> list[Cell]:
    """The two snapshot cells (the app's epoch slider), one family dot product, one SGD cell."""
    from viz.models.zoo import GCNET_RECIPE

    family = [c for c in family_cells(seeds=(0,)) if c.snapshots]
    return [
        *family,
        Cell("nl_dot_product", cell_recipe("nl_dot_product", GCNET_RECIPE)),
        Cell("nl_embedded_gaussian", GCNET_RECIPE, "sgd", "short"),
    ]


def train_gcnet(
    out_dir: Path,
    cache_root: Path,
    scratch: Path,
    train_sources,
    test_sources,
    photos: list[tuple[str, str]],
    workers: int = 2,
    smoke: bool = False,
    size: int = 224,
    only: str = "all",
    log=print,
) -> dict:
    """Build the feature cache (what is missing), then run the cells in ``workers`` processes.

    Args:
        out_dir: where the manifest, the cells' records, checkpoints and snapshots go.
        cache_root: the feature cache (large; outside the repository).
        scratch: per-cell resumable states and claims.
        only: ``"all"``, ``"family"`` or ``"ablation"``.
        smoke: a tiny recipe, a few cells, one epoch of two steps (the tests).
    """
    import multiprocessing as mp

    from viz.cli.feature_cache import build_shards
    from viz.cli.photos import photo_features

    recipe = SMOKE_RECIPE if smoke else LongRecipe()
    schedule = SMOKE_SCHEDULE if smoke else None
    t_start = time.time()
    specs = [
        (CacheSpec("test", recipe.test_scenes, size=size), test_sources),
        (CacheSpec("train", recipe.train_scenes, size=size), train_sources),
    ]
    for spec, sources in specs:
        if workers <= 1:
            build_shards(spec, cache_root, sources, log=log)
            continue
        ctx = mp.get_context("fork")
        procs = [
            ctx.Process(target=_build_worker, args=(spec, cache_root, sources, w, workers))
            for w in range(workers)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
            if p.exitcode:
                raise RuntimeError(f"a cache worker failed (exit {p.exitcode})")
    log(f"feature cache ready in {time.time() - t_start:.0f}s")
    classes = list(train_sources.classes)
    data = Data(
        load_cache(specs[1][0], cache_root),
        load_cache(specs[0][0], cache_root),
        classes,
        list(photos),
        photo_features(photos, size) if photos else None,
    )
    data.test["feats"] = data.test["feats"].float()
    if smoke:
        cells = smoke_cells()
    else:
        cells = {
            "all": planned_cells(),
            "family": family_cells(),
            "ablation": ablation_cells(),
        }[only]
    header = manifest_header(recipe, schedule, data)

    def on_cell(cell: Cell, out: dict) -> None:
        with ManifestLock(out_dir):
            if is_family(cell) or smoke:
                save(out["model"], out_dir / family_file(cell))
            assemble_manifest(out_dir, header)

    if workers <= 1:
        work(cells, data, recipe, out_dir, scratch, log, schedule, on_cell)
    else:
        ctx = mp.get_context("fork")  # the pool's pages are shared, not copied
        procs = [
            ctx.Process(
                target=_cell_worker,
                args=(cells, data, recipe, out_dir, scratch, schedule, on_cell),
            )
            for _ in range(workers)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    with ManifestLock(out_dir):
        manifest = assemble_manifest(out_dir, header)
    log(f"done in {time.time() - t_start:.0f}s -> {out_dir / 'manifest.json'}")
    return manifest


def _build_worker(spec, root, sources, worker, workers):
    torch.set_num_threads(1)
    from viz.cli.feature_cache import build_shards

    build_shards(spec, root, sources, worker, workers)


def _cell_worker(cells, data, recipe, out_dir, scratch, schedule, on_cell):
    torch.set_num_threads(1)
    work(cells, data, recipe, out_dir, scratch, print, schedule, on_cell)
