"""The "GCNet in five steps" page's runs: which Non-local and GC backbones the walk uses (never a
dead end), and what the two scored on held-out data (the registry's metadata, the manifest).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from viz.analysis.forward import DEFAULT_BACKBONE, Analysis
from viz.attention import NL_KINDS
from viz.views.training_curves import manifest_stamp
from viz.weights.registry import backbone_info
from viz.weights.sources.zoo import read_manifest


@dataclass(frozen=True)
class StepsModels:
    """Which runs the walk uses: a backbone with a Non-local block (the sidebar's when it has
    one), a GC backbone (``None`` when none is registered) and why, when the sidebar's choice was
    not used."""

    nl: str
    gc: str | None
    note: str = ""


def _kinds(name: str) -> list[str]:
    try:
        return list(backbone_info(name).meta.kinds)
    except KeyError:
        return []


def steps_models(current: str | None, registered: Sequence[str]) -> StepsModels:
    """The Non-local and GC backbones for the walk: never a dead end.

    Args:
        current: the sidebar's backbone (``None``: not chosen yet).
        registered: every registered backbone name.

    Returns:
        the sidebar's backbone when it has a Non-local block, else the default NL zoo model (with a
        note saying so); GC: the same network when it also carries a GC block, else ``zoo/gc``.
    """
    current = current or DEFAULT_BACKBONE
    note = ""
    kinds = _kinds(current)
    nl = current
    if not set(kinds) & set(NL_KINDS):
        nl = DEFAULT_BACKBONE
        note = (
            f"{current} has no Non-local block, so this walk uses {DEFAULT_BACKBONE} "
            "(pick a Non-local backbone in the sidebar to walk through another)."
        )
    gc = nl if "gc" in _kinds(nl) else ("zoo/gc" if "zoo/gc" in registered else None)
    return StepsModels(nl=nl, gc=gc, note=note)


@functools.lru_cache(maxsize=2)
def _manifest_scores(_stamp: tuple) -> dict[str, float]:
    checkpoints = read_manifest().get("checkpoints", {})
    return {k: v["mAP"] for k, v in checkpoints.items() if isinstance(v.get("mAP"), (int, float))}


def zoo_scores() -> dict[str, float]:
    """Held-out mAP per manifest entry (``gc``, ``nl_dot_product@seed1``, ...), read once per
    manifest file (path, size, mtime)."""
    return dict(_manifest_scores(manifest_stamp()))


def held_out_scores(nl: Analysis, gc: Analysis) -> tuple[dict, str | None]:
    """Held-out scores of the two models (``gc``, ``nl``; for two zoo models also ``nl_seed1``
    and ``baseline`` from the manifest), and why they cannot be set side by side (or None)."""
    scores = {"gc": gc.meta.get("accuracy"), "nl": nl.meta.get("accuracy")}
    if gc.backbone == nl.backbone:
        return scores, (
            f"Both blocks sit in one network here ({nl.backbone}), so there are no two models' "
            "scores to set side by side."
        )
    if None in scores.values():
        missing = [a.backbone for a in (gc, nl) if a.meta.get("accuracy") is None]
        return scores, f"No held-out score is recorded for {', '.join(missing)}."
    same = all(gc.meta.get(k) == nl.meta.get(k) for k in ("metric", "dataset"))
    if not same:
        return scores, (
            f"{gc.backbone} and {nl.backbone} were scored on different data or metrics, so their "
            "scores are not compared."
        )
    zoo = zoo_scores()
    if nl.backbone.startswith("zoo/") and gc.backbone.startswith("zoo/"):
        kind = nl.backbone.removeprefix("zoo/")
        scores["nl_seed1"] = zoo.get(f"{kind}@seed1")
        scores["baseline"] = zoo.get("baseline")
    return scores, None
