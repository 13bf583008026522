"""The training curves, read from the zoo's manifest: how query independence emerged while the zoo
trained (distances per epoch, the entropy guard, both data regimes), and one checkpoint's loss
and mAP.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from viz import figures
from viz.figures.training_curves import training_curves_figure
from viz.weights.sources.zoo import MANIFEST, WEIGHTS_DIR, read_manifest


@dataclass(frozen=True)
class TrainingFigures:
    """How query independence emerged while the zoo trained: the distance curves per epoch
    (``emergence``) and the guard against the trivial answer, entropy and unary share (``guard``).
    Frozen, because one bundle is shared by every run until the manifest changes."""

    emergence: go.Figure
    guard: go.Figure


def manifest_stamp() -> tuple[str, int, int]:
    """(path, size, mtime) of the shipped manifest: a cache key that changes when the file does
    (views built from it are computed once per manifest, not once per rerun)."""
    path = Path(WEIGHTS_DIR) / MANIFEST
    try:
        st = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), st.st_size, st.st_mtime_ns)


def training_view() -> tuple[TrainingFigures, pd.DataFrame, str, str]:
    """The zoo's emergence curves, entropy guard / unary share, both data regimes, and a reading.

    Built once per manifest file (its path, size and mtime): the curves do not depend on the
    image, and rebuilding them cost ~0.2 s of every Query-independence run. Callers must not
    mutate the returned figures (they are shared); the table is each caller's own copy.

    Returns:
        the figures, the regimes table, the computed reading, and a line saying how far training
        went (epochs, scenes).
    """

    figs, table, reading, done = _training_view(manifest_stamp())
    return figs, table.copy(), reading, done


@functools.lru_cache(maxsize=2)
def _training_view(_stamp: tuple) -> tuple[TrainingFigures, pd.DataFrame, str, str]:

    manifest = read_manifest()
    ck = manifest.get("checkpoints", {})
    figs = TrainingFigures(emergence=figures.emergence_figure(ck), guard=figures.guard_figure(ck))
    table = pd.DataFrame(figures.regimes_table(manifest))
    progress = manifest.get("progress", {})
    recipe = manifest.get("recipe", {})
    held = manifest.get("data", {}).get("test", {})
    done = (
        f"{progress.get('epochs_completed', '?')} of {progress.get('epochs_planned', '?')} epochs "
        f"of {recipe.get('scenes_per_epoch', '?')} fresh scenes; statistics on "
        f"{recipe.get('table1_scenes', '?')} of {held.get('scenes', '?')} held-out scenes "
        "(stamps and backgrounds never seen in training)."
    )
    return figs, table, figures.emergence_reading(ck), done


def zoo_training_curves(backbone: str) -> go.Figure | None:
    """Loss and mAP curves of a shipped zoo checkpoint (``None`` for other backbones)."""

    if not backbone.startswith("zoo/"):
        return None
    entry = read_manifest().get("checkpoints", {}).get(backbone.removeprefix("zoo/"))
    return training_curves_figure(entry, backbone) if entry and entry.get("curves") else None
