"""What the zoo's trainer makes and with what: the shared :class:`Recipe`, the :class:`Run` list it
plans, and the :class:`RunState` each run carries from one epoch to the next.

Its own module so that the trainer (:mod:`viz.cli.zoo_trainer`) and the manifest writer
(:mod:`viz.cli.manifest`) both read these types without importing each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from viz.attention import NL_KINDS
from viz.models.zoo import ZooNet
from viz.weights.sources.zoo import checkpoint_name


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

    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps per epoch (the last batch may be short)."""
        return -(-self.scenes_per_epoch // self.batch)


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


def _empty_curves() -> dict[str, list]:
    return {
        "epoch": [],
        "train_loss": [],  # the objective (labels + distill x teacher term)
        "train_label_loss": [],  # the label term alone: comparable with the held-out loss
        "heldout_loss": [],
        "heldout_mAP": [],
    }


@dataclass
class RunState:
    """One run while it trains: its model and optimiser, the running sums of this epoch's losses,
    and the history the manifest records (curves per epoch, Table-1 rows from epoch 0 for NL
    kinds, the last held-out metrics)."""

    run: Run
    model: ZooNet
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    curves: dict[str, list] = field(default_factory=_empty_curves)
    table1_curve: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    loss_sum: float = 0.0
    label_loss_sum: float = 0.0
    loss_n: int = 0
    metrics: dict = field(default_factory=dict)

    def add_losses(self, loss: float, label_loss: float, n: int) -> None:
        """Count one batch of ``n`` scenes into this epoch's mean training losses."""
        self.loss_sum += loss * n
        self.label_loss_sum += label_loss * n
        self.loss_n += n

    def close_epoch(self, epoch: int, metrics: dict) -> None:
        """Append ``epoch``'s mean training losses and held-out ``metrics`` to the curves, keep the
        metrics for the manifest and start the next epoch's sums from zero."""
        c = self.curves
        c["epoch"].append(epoch)
        c["train_loss"].append(self.loss_sum / max(1, self.loss_n))
        c["train_label_loss"].append(self.label_loss_sum / max(1, self.loss_n))
        c["heldout_loss"].append(metrics["loss"])
        c["heldout_mAP"].append(metrics["mAP"])
        self.loss_sum, self.label_loss_sum, self.loss_n = 0.0, 0.0, 0
        self.metrics = metrics


def warmup_cosine(step: int, total: int, warmup_share: float) -> float:
    """The learning-rate factor at ``step`` of ``total``: linear warm-up over ``warmup_share`` of
    the steps, then cosine to zero (the zoo's and the long runs' schedule)."""
    warm = max(1, int(warmup_share * total))
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
