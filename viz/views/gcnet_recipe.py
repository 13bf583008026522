"""GCNet's finding put to the test: the three-outcome reading of a layer, the ablation of what
makes the maps query-independent, and the epoch slider's numbers (pure, Streamlit-free).

The page leads with the answer: whether the GCNet-recipe embedded Gaussian reaches GCNet's pattern
(:func:`family_status`, computed from the manifest of ``python -m viz train --gcnet``), the
reading on the user's own photo (:func:`layer_reading`), and the ablation as one figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from viz.analysis.dnl import dnl_share
from viz.analysis.forward import Analysis, nl_layers, nl_statistics
from viz.analysis.query_reading import (
    ATT_MAX,
    FLAT,
    INPUT_MIN,
    PEAK_MIN,
    QUERY_INDEPENDENT,
    QueryReading,
    query_reading,
    reading_of_stats,
)
from viz.attention import nl_form
from viz.figures.ablation import COLUMNS, ablation_figure, recipe_curves_figure
from viz.weights.sources.gcnet import backbone_name, epoch_name, read_gcnet_manifest

GCNET_EG = "gcnet-recipe/nl_embedded_gaussian"
SHIPPED_EG = "shipped-recipe/nl_embedded_gaussian"
EPOCH_MODELS = (GCNET_EG, SHIPPED_EG)

PATTERN = (
    f"GCNet's pattern: att ≤ {ATT_MAX} while inputs differ (input ≥ {INPUT_MIN}) and the shared "
    f"map has structure (its strongest key ≥ {PEAK_MIN:g}× a uniform share)"
)


def layer_reading(an: Analysis, path: str) -> QueryReading:
    """The three-outcome reading of one Non-local layer of ``an`` on its image."""
    rec = an.records[path]
    stats = nl_statistics(rec, key=(an.backbone, an.image_hash, path))
    share = None
    if "unary" in rec.tensors:
        share = dnl_share(rec.tensors["unary"], rec.tensors["pairwise"])
    elif "key_term" in rec.tensors:
        share = 1.0  # concatenation: the key term shapes every row by construction
    return query_reading(stats["cos_att"], stats["cos_input"], rec.tensors["attention"], share)


def readings(analyses: Sequence[Analysis]) -> list[tuple[str, str, QueryReading]]:
    """(backbone, form, reading) of the first Non-local layer of each run."""
    out = []
    for an in analyses:
        layers = nl_layers(an)
        if layers:
            rec = an.records[layers[0]]
            out.append((an.backbone, nl_form(rec.kind), layer_reading(an, layers[0])))
    return out


def readings_frame(rows: Sequence[tuple[str, str, QueryReading]]) -> pd.DataFrame:
    """The readings as a table: the outcome beside the numbers it rests on."""
    return pd.DataFrame(
        [
            {
                "model": name,
                "form": form,
                "reading": r.outcome,
                "att": r.att,
                "input": r.input,
                "peak / uniform": r.peak,
                "entropy": r.entropy,
                "unary share": r.unary_share,
            }
            for name, form, r in rows
        ]
    )


@dataclass(frozen=True)
class FamilyStatus:
    """Whether the GCNet recipe reaches GCNet's pattern, as the page's title and first lines.

    Args:
        trained: the family's embedded Gaussian exists in the manifest.
        reproduced: every trained seed reads :data:`QUERY_INDEPENDENT` on the real photos (and
            on the held-out scenes).
        title: the page title.
        text: what was measured, in a few sentences.
    """

    trained: bool
    reproduced: bool
    title: str
    text: str


def _final(manifest: Mapping, key: str) -> tuple[QueryReading | None, QueryReading | None]:
    entry = manifest.get("checkpoints", {}).get(key)
    if not entry:
        return None, None
    held = reading_of_stats(entry["table1"]) if entry.get("table1") else None
    photos = reading_of_stats(entry["photos_table1"]) if entry.get("photos_table1") else None
    return held, photos


def family_status(manifest: Mapping | None = None) -> FamilyStatus:
    """The verdict of ``weights/gcnet/manifest.json`` for the embedded Gaussian, in words."""
    manifest = read_gcnet_manifest() if manifest is None else manifest
    keys = [
        k for k in manifest.get("checkpoints", {}) if k.startswith("gcnet_nl_embedded_gaussian")
    ]
    if not keys:
        return FamilyStatus(
            False,
            False,
            "Query independence — GCNet's finding, tested on your photo",
            "The GCNet-recipe models are not trained here yet (python -m viz train --gcnet); "
            "the shipped zoo's blocks are measured below.",
        )
    parts, verdicts = [], []
    for key in sorted(keys):
        held, photos = _final(manifest, key)
        seed = key.partition("-")[2] or "seed0"
        for where, r in (("held-out scenes", held), ("real photos", photos)):
            if r is None:
                continue
            verdicts.append(r.outcome == QUERY_INDEPENDENT)
            parts.append(
                f"{seed}, {where}: {r.outcome} (att {r.att:.3f}, input {r.input:.3f}, "
                f"peak {r.peak:.1f}×, entropy {r.entropy:.2f})"
            )
    reproduced = bool(verdicts) and all(verdicts)
    if reproduced:
        title = "Query independence — GCNet's finding reproduced (GCNet recipe)"
        head = "The GCNet-recipe embedded Gaussian reaches " + PATTERN + "."
    else:
        title = "Query independence — GCNet's finding does not reproduce here"
        head = (
            "No recipe trained here reaches " + PATTERN + ". The GCNet-recipe embedded Gaussian "
            "ends as follows."
        )
    return FamilyStatus(True, reproduced, title, head + " " + "; ".join(parts) + ".")


def _recipe_label(factors: Mapping) -> str:
    return f"{factors['input']} · {factors['init']} · {factors['scale']}"


def ablation_frame(manifest: Mapping | None = None, where: str = "table1") -> pd.DataFrame:
    """One row per finished cell: its factors, final statistics and reading.

    Args:
        where: ``"table1"`` (held-out scenes) or ``"photos_table1"`` (the real photos).
    """
    manifest = read_gcnet_manifest() if manifest is None else manifest
    rows = []
    for cell in manifest.get("cells", {}).values():
        final = cell.get("final", {})
        stats = final.get(where)
        if not stats or stats.get("peak") is None:
            continue
        f = cell["factors"]
        r = reading_of_stats(stats)
        # epochs at which this cell read GCNet's pattern (it may pass through it and leave)
        independent = [
            row["epoch"]
            for row in cell["curve"][1:]
            if row.get(where) and reading_of_stats(row[where]).outcome == QUERY_INDEPENDENT
        ]
        rows.append(
            {
                "form": f["kind"].removeprefix("nl_"),
                "optimiser": f["optimiser"],
                "schedule": f["schedule"],
                "recipe": _recipe_label(f),
                "seed": f["seed"],
                "att": r.att,
                "input": r.input,
                "peak": r.peak,
                "entropy": r.entropy,
                "unary_share": r.unary_share,
                "mAP": final.get("heldout_mAP"),
                "outcome": r.outcome,
                "independent_epochs": ", ".join(map(str, independent)),
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.sort_values(["form", "optimiser", "schedule", "recipe", "seed"]).reset_index(
        drop=True
    )


FACTORS = {"input": 0, "init": 1, "scale": 2}


def ablation_reading(frame: pd.DataFrame) -> str:
    """Which ingredient moves att, computed: for each form and schedule, the mean att per level
    of each factor over the AdamW cells (SGD may not learn at all, which would confound the
    factor), and how many cells read each outcome."""
    if frame.empty:
        return "No ablation cell has finished yet."
    parts = []
    adamw = frame[frame["optimiser"] == "adamw"]
    for (form, schedule), part in adamw.groupby(["form", "schedule"], sort=False):
        levels = part["recipe"].str.split(" · ", expand=True)
        effects = []
        for factor, col in FACTORS.items():
            if levels[col].nunique() < 2:
                continue
            means = part.groupby(levels[col])["att"].mean()
            effects.append(f"{factor} " + " / ".join(f"{k} {v:.3f}" for k, v in means.items()))
        if effects:
            parts.append(f"{form}, {schedule}, AdamW (mean att per level): " + "; ".join(effects))
    counts = frame["outcome"].value_counts()
    independent, flat = counts.get(QUERY_INDEPENDENT, 0), counts.get(FLAT, 0)
    n = len(frame)
    tally = (
        f"Of {n} finished cells: {independent} {QUERY_INDEPENDENT}, {flat} {FLAT}, "
        f"{n - independent - flat} query-dependent."
    )
    passing = frame[(frame["independent_epochs"] != "") & (frame["outcome"] != QUERY_INDEPENDENT)]
    if len(passing):
        tally += (
            f" {len(passing)} read {QUERY_INDEPENDENT} at some epoch but not at the end "
            "(they pass through GCNet's pattern and leave it): "
            + "; ".join(
                f"{r.form} {r.recipe} {r.optimiser} {r.schedule} seed {r.seed} (epoch "
                f"{r.independent_epochs})"
                for r in passing.itertuples()
            )
            + "."
        )
    return " ".join(p + "." for p in parts) + (" " if parts else "") + tally


def ablation_view(
    manifest: Mapping | None = None, where: str = "table1"
) -> tuple[go.Figure, pd.DataFrame, str]:
    """The ablation figure, its table and its computed reading."""
    frame = ablation_frame(manifest, where)
    label = "held-out scenes" if where == "table1" else "the real photos"
    return ablation_figure(frame, label), frame, ablation_reading(frame)


def epoch_choices(registered: Sequence[str], manifest: Mapping | None = None) -> list[int]:
    """Epochs for which both recipes' snapshots are registered (the slider's stops)."""
    manifest = read_gcnet_manifest() if manifest is None else manifest
    names = set(registered)
    per_model = []
    for key, entry in manifest.get("checkpoints", {}).items():
        name = backbone_name(key)
        if name in EPOCH_MODELS:
            per_model.append(
                {
                    e["epoch"]
                    for e in entry.get("epochs", [])
                    if epoch_name(name, e["epoch"]) in names
                }
            )
    if len(per_model) < len(EPOCH_MODELS):
        return []
    return sorted(set.intersection(*per_model))


def epoch_numbers(an: Analysis) -> dict:
    """Table 1, the reading and the DNL share of the first Non-local layer, as one row."""
    path = nl_layers(an)[0]
    stats = nl_statistics(an.records[path], key=(an.backbone, an.image_hash, path))
    r = layer_reading(an, path)
    return {
        "input": stats["cos_input"],
        "output": stats["cos_output"],
        "att": stats["cos_att"],
        "jsd": stats["jsd_att"],
        "peak / uniform": r.peak,
        "entropy": r.entropy,
        "unary share": r.unary_share,
        "reading": r.outcome,
    }


def training_curves(manifest: Mapping | None = None) -> pd.DataFrame:
    """Per-epoch held-out att, peak, loss and mAP of the two epoch-slider models (both seeds)."""
    manifest = read_gcnet_manifest() if manifest is None else manifest
    rows = []
    for cell in manifest.get("cells", {}).values():
        f = cell["factors"]
        if (
            f["kind"] != "nl_embedded_gaussian"
            or f["schedule"] != "long"
            or f["optimiser"] != "adamw"
        ):
            continue
        recipe = _recipe_label(f)
        if recipe not in ("residual · mmcv · sqrt", "signed · default · none"):
            continue
        for row in cell["curve"]:
            t = row["table1"]
            rows.append(
                {
                    "recipe": "GCNet recipe" if recipe.startswith("residual") else "shipped recipe",
                    "seed": f["seed"],
                    "epoch": row["epoch"],
                    "att": t["att"],
                    "input": t["input"],
                    "output": t["output"],
                    "peak": t["peak"],
                    "entropy": t["entropy"],
                    "held-out loss": row["heldout_loss"],
                    "held-out mAP": row["heldout_mAP"],
                }
            )
    return pd.DataFrame(rows)


COUNTER_EXAMPLE = "zoo/nl_embedded_gaussian"  # the shipped zoo's embedded Gaussian


def sibling_models(current: str, registered) -> list[str]:
    """What the Query-independence page runs beside ``current``: the other Non-local forms of its
    recipe (``zoo/…`` or ``gcnet-recipe/…``) and the other recipe's embedded Gaussian, so the
    GCNet recipe and its counter-example are always side by side; only registered names."""
    from viz.attention import NL_KINDS

    registered = set(registered)
    family = current.split("/", 1)[0] if current.startswith("gcnet-recipe/") else "zoo"
    names = [f"{family}/{k}" for k in NL_KINDS]
    names.append(COUNTER_EXAMPLE if family == "gcnet-recipe" else GCNET_EG)
    return [n for n in dict.fromkeys(names) if n in registered]


def epoch_frame(rows: Mapping[str, dict]) -> pd.DataFrame:
    """The epoch slider's numbers, one row per model."""
    return pd.DataFrame.from_dict(dict(rows), orient="index")


def recipe_curves_view(manifest: Mapping | None = None) -> go.Figure:
    """The epoch slider's two recipes as curves over training, from the manifest."""
    return recipe_curves_figure(training_curves(manifest))
