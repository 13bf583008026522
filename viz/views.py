"""What each page shows, assembled from an :class:`viz.session.Analysis`: pure, Streamlit-free.

Pages call these and only draw the results; benchmarks call them directly (image bytes -> every
figure of a page) so they measure exactly what a user waits for, minus the browser.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz import figures
from viz.attention import CHANNEL_KINDS, NL_KINDS
from viz.session import Analysis, RecordView, nl_grids, nl_statistics, records_of_kind

__all__ = [
    "a2_view",
    "attribution_view",
    "channel_compare_view",
    "channel_gates",
    "channel_view",
    "compare_view",
    "fmt",
    "module_explainer",
    "nl_form",
    "nonlocal_view",
    "prediction_figure",
    "nl_mean_map",
    "nl_runs_layers",
    "qi_query_maps",
    "query_independence_view",
    "reading",
    "spatial_maps",
    "spatial_view",
    "styled",
    "table1_table",
    "table1_measured",
]


fmt = figures.fmt_num  # "0.000", never "-0.000"; None / NaN -> "–"


def styled(frame: pd.DataFrame, digits: int = 3):
    """A DataFrame Styler writing every float cell with :func:`fmt` (no "-0.000", "–" for missing);
    integers and text stay as they are."""

    def cell(v):
        if v is None or isinstance(v, (float, np.floating)):
            return fmt(v, digits)
        return v

    return frame.style.format(cell, na_rep="–")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def nl_form(kind: str) -> str:
    """``"nl_dot_product"`` -> ``"dot_product"`` (the key of ``viz.paper.GCNET_TABLE1``)."""
    return kind[3:] if kind.startswith("nl_") else kind


def prediction_figure(analysis: Analysis, top: int = 5) -> go.Figure:
    """Horizontal bars of the top classes (probabilities: sigmoid per label, or softmax)."""
    pairs = analysis.prediction[:top]
    probs_all = analysis.probabilities
    if probs_all is not None and len(analysis.classes) == len(probs_all) and top > len(pairs):
        order = np.argsort(-np.asarray(probs_all))[:top]
        pairs = [(analysis.classes[i], float(probs_all[i])) for i in order]
    labels = [label for label, _ in pairs][::-1]
    probs = [p for _, p in pairs][::-1]
    kind = "sigmoid (multi-label)" if analysis.task == "multilabel" else "softmax"
    fig = go.Figure(go.Bar(x=probs, y=labels, orientation="h", text=[f"{p:.3f}" for p in probs]))
    fig.update_layout(
        title=f"Top {len(labels)} classes — {analysis.backbone}",
        xaxis=dict(title=f"probability ({kind})", range=[0, 1]),
        height=60 + 40 * max(len(labels), 1),
        margin=dict(l=10, r=10, t=50, b=40),
    )
    return fig


# ----------------------------------------------------------------------------- channel


def channel_gates(record: RecordView) -> np.ndarray:
    """A record's channel gate in [0, 1]: BAM emits logits, so its channel branch goes through σ."""
    gate = record.arrays["channel"]
    return _sigmoid(gate) if record.kind == "bam" else gate


def channel_view(
    analysis: Analysis, sort: bool = False, top_k: int | None = None
) -> dict[str, go.Figure]:
    """Per-block gate bar charts and, when there are gates, the blocks x channels heatmap."""
    recs = {
        p: r for p, r in records_of_kind(analysis, CHANNEL_KINDS).items() if "channel" in r.arrays
    }
    out: dict[str, go.Figure] = {}
    for path, rec in recs.items():
        out[f"bars:{path}"] = figures.channel_bars(
            channel_gates(rec),
            title=f"{path} ({rec.kind}) — {rec.module_type}",
            sort=sort,
            top_k=top_k,
        )
    if recs:
        out["heatmap"] = figures.channel_heatmap(
            {f"{p} ({r.kind})": channel_gates(r) for p, r in recs.items()}
        )
    return out


def channel_compare_view(
    analyses: Mapping[str, Analysis], top_k: int | None = None
) -> dict[str, go.Figure]:
    """The same block's gates across several images (one figure per block present in all)."""
    items = list(analyses.items())
    if not items:
        return {}
    first = records_of_kind(items[0][1], CHANNEL_KINDS)
    out = {}
    for path, rec in first.items():
        if "channel" not in rec.arrays:
            continue
        gates = {}
        for label, an in items:
            other = an.records.get(path)
            if other is not None and "channel" in other.arrays:
                gates[label] = channel_gates(other)
        if len(gates) >= 2:
            out[path] = figures.channel_compare(
                gates, top_k=top_k, title=f"{path} ({rec.kind}) across images"
            )
    return out


# ----------------------------------------------------------------------------- spatial


def spatial_maps(record: RecordView) -> dict[str, np.ndarray]:
    """The 2-D maps a record offers, named for captions (all in [0, 1] except GC's softmax)."""
    a = record.arrays
    if record.kind == "gc":
        return {"context a = softmax(conv_mask(x))": a["context"]}
    if record.kind == "cbam" and "spatial" in a:
        return {"spatial gate Ms": a["spatial"]}
    if record.kind == "bam":
        out = {"σ(Ms) spatial branch": _sigmoid(a["spatial"])}
        if "gate" in a:
            out["gate σ(Mc+Ms), mean over channels"] = a["gate"].mean(axis=0)
        return out
    if record.kind == "gsop" and "spatial" in a:
        return {"position attention": a["spatial"]}
    if record.kind == "a2":
        return {"gather maps, mean over n": a["gather"].mean(axis=0)}
    if record.kind in NL_KINDS:
        _, (kh, kw) = nl_grids(record)
        return {"mean attention row (all queries)": a["attention"].mean(axis=0).reshape(kh, kw)}
    return {}


def spatial_view(analysis: Analysis, opacity: float = 0.5) -> dict[str, go.Figure]:
    """Every spatial map of GC / CBAM / BAM (and GSoP position) records, overlaid on the image."""
    out = {}
    for path, rec in records_of_kind(analysis, ("gc", "cbam", "bam", "gsop")).items():
        for label, heat in spatial_maps(rec).items():
            if rec.kind == "gsop" and "spatial" not in rec.arrays:
                continue
            out[f"{path}:{label}"] = figures.spatial_overlay(
                analysis.image,
                heat,
                opacity=opacity,
                title=f"{path} ({rec.kind}): {label} {heat.shape[0]}×{heat.shape[1]}",
            )
    return out


# ----------------------------------------------------------------------------- non-local


def _query_rows(record: RecordView, queries: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    (h, w), (kh, kw) = nl_grids(record)
    att = record.arrays["attention"]
    return [att[r * w + c].reshape(kh, kw) for r, c in queries]


# Figures are sent at the size they are drawn: panels are composited JPEGs, overlays carry the photo
# at <= 512 px and the heat map at <= 64 px (the browser smooths it), not 768 px / 256 px floats.
OVERLAY_PHOTO_SIDE = 512
OVERLAY_HEAT_SIDE = 64
PANEL_SIDE = 160


def nl_mean_map(record: RecordView) -> np.ndarray:
    """The attention row averaged over every query, on the key grid."""
    return spatial_maps(record)["mean attention row (all queries)"]


def _light_overlay(image, heat, opacity, title) -> go.Figure:
    return figures.spatial_overlay(
        image,
        heat,
        opacity=opacity,
        title=title,
        max_side=OVERLAY_PHOTO_SIDE,
        heat_side=OVERLAY_HEAT_SIDE,
    )


def nonlocal_view(
    analysis: Analysis,
    layer: str,
    queries: Sequence[tuple[int, int]],
    opacity: float = 0.6,
    click: bool = True,
) -> dict[str, go.Figure]:
    """The click grid (queries marked) and each query's attention map over the image.

    Args:
        click: also build the plotly click grid (the app draws the in-browser grid instead,
            ``viz.session.click_grid``).

    Returns:
        ``"click"`` (a figure for ``st.plotly_chart(on_select="rerun")``, when ``click``),
        ``"maps"`` (one composited panel per query, side by side), ``"overlay"`` (all queries'
        maps averaged over the image, queries marked) and ``"mean"`` (the map averaged over every
        query).
    """
    rec = analysis.records[layer]
    (h, w), _ = nl_grids(rec)
    queries = [(int(r), int(c)) for r, c in queries if 0 <= r < h and 0 <= c < w]
    mean = nl_mean_map(rec)
    out = {}
    if click:
        out["click"] = figures.click_grid_figure(
            analysis.image, (h, w), queries=queries, heat=mean, opacity=0.35
        )
    if queries:
        maps = _query_rows(rec, queries)
        out["maps"] = figures.composited_query_maps(
            analysis.image,
            maps,
            queries,
            (h, w),
            opacity=opacity,
            titles=[f"query ({r}, {c})" for r, c in queries],
            side=PANEL_SIDE,
        )
        fig = _light_overlay(
            analysis.image,
            np.mean(maps, axis=0),
            opacity,
            f"{len(queries)} queries overlaid (mean of their maps)",
        )
        centres = [figures.cell_center(r, c, (h, w), analysis.image.shape[:2]) for r, c in queries]
        fig.add_trace(
            go.Scatter(
                x=[x for x, _ in centres],
                y=[y for _, y in centres],
                mode="markers+text",
                text=[f"({r},{c})" for r, c in queries],
                textposition="top center",
                marker=dict(symbol="x", size=12, color="red", line=dict(width=2, color="white")),
                name="queries",
                showlegend=False,
            )
        )
        out["overlay"] = fig
    out["mean"] = _light_overlay(
        analysis.image, mean, opacity, f"{layer}: mean over all {h * w} queries"
    )
    return out


def table1_measured(stats: Mapping) -> dict:
    """``nl_statistics`` keys -> Table-1 column keys (``input``, ``output``, ``att``, ``jsd``)."""
    return {
        "input": stats["cos_input"],
        "output": stats["cos_output"],
        "att": stats["cos_att"],
        "jsd": stats["jsd_att"],
    }


def reading(measured: Mapping[str, Mapping]) -> str:
    """A plain-language reading of measured Table-1 statistics (form -> stats), computed."""
    if not measured:
        return "No Non-local block was measured."
    att = float(np.mean([s["att"] for s in measured.values()]))
    inp = float(np.mean([s["input"] for s in measured.values()]))
    out = float(np.mean([s["output"] for s in measured.values()]))
    ratio = att / inp if inp > 0 else float("inf")
    if ratio < 0.25:
        verdict = "the maps are nearly the same for every query (query-independent, as GCNet found)"
    elif ratio < 0.6:
        verdict = "the maps depend on the query only partly"
    else:
        verdict = "the maps clearly depend on the query (unlike GCNet's finding)"
    forms = ", ".join(measured)
    text = (
        f"Attention rows differ by {fmt(att)} on average while inputs differ by {fmt(inp)} "
        f"(outputs by {fmt(out)}): {verdict}. Measured on this image for: {forms}."
    )
    by_att = sorted(measured.items(), key=lambda kv: kv[1]["att"])
    if len(by_att) > 1:
        (lo_form, lo), (hi_form, hi) = by_att[0], by_att[-1]
        text += (
            f" Most query-independent: {lo_form} (att {fmt(lo['att'])}); "
            f"most query-dependent: {hi_form} (att {fmt(hi['att'])})."
        )
    return text


def qi_query_maps(
    an: Analysis, path: str, grid: int = 4, opacity: float = 0.6
) -> tuple[go.Figure, go.Figure]:
    """One Non-local layer's maps for a ``grid`` x ``grid`` grid of queries (composited panels, one
    small JPEG each) and the query x query distance matrix of their attention rows."""
    from viz.session import grid_queries
    from viz.stats import cosine_distance_matrix

    rec = an.records[path]
    label = f"{an.backbone} · {path}"
    (h, w), _ = nl_grids(rec)
    queries = grid_queries((h, w), grid)
    maps = _query_rows(rec, queries)
    maps_fig = figures.composited_query_maps(
        an.image,
        maps,
        queries,
        (h, w),
        opacity=opacity,
        cols=min(grid, 4),
        titles=[f"({r}, {c})" for r, c in queries],
        side=PANEL_SIDE if grid <= 4 else 120,
    )
    qrows = np.stack([rec.arrays["attention"][r * w + c] for r, c in queries])
    distance = figures.distance_matrix(
        cosine_distance_matrix(qrows),
        [f"({r},{c})" for r, c in queries],
        title=f"{label}: (1 − cos)/2 between the attention rows of {len(queries)} queries",
    )
    return maps_fig, distance


def nl_runs_layers(
    analysis: Analysis, others: Sequence[Analysis] = ()
) -> list[tuple[Analysis, str]]:
    """(run, layer path) of every Non-local layer of ``analysis`` and ``others``, each run once."""
    out, seen = [], set()
    for an in (analysis, *others):
        if (an.backbone, an.image_hash) in seen:
            continue
        seen.add((an.backbone, an.image_hash))
        out += [(an, path) for path in records_of_kind(an, NL_KINDS)]
    return out


def query_independence_view(
    analysis: Analysis,
    grid: int = 4,
    others: Sequence[Analysis] = (),
    gc: Analysis | None = None,
    opacity: float = 0.6,
    maps: bool = True,
) -> tuple[dict[str, go.Figure], pd.DataFrame, str]:
    """GCNet's reproduction for every Non-local layer in ``analysis`` and ``others``.

    Args:
        analysis: the current run.
        grid: the query grid is ``grid`` x ``grid`` cells spread over the map.
        others: more runs of the same image (e.g. the four zoo NL forms).
        gc: a run with a GC block, whose context map is drawn beside the mean NL map.
        opacity: heat-map opacity over the image.
        maps: also build every layer's query maps and distances (the app builds only the layer on
            show, with :func:`qi_query_maps`).

    Returns:
        figures (per layer: ``maps:``, ``distance:`` when ``maps``; then ``table1`` and
        ``gc_vs_nl``), the statistics table (one row per layer) and the computed reading.
    """
    figs: dict[str, go.Figure] = {}
    rows, measured, zoo_table = [], {}, {}
    means: dict[str, np.ndarray] = {}
    for an, path in nl_runs_layers(analysis, others):
        rec = an.records[path]
        label = f"{an.backbone} · {path}"
        if maps:
            figs[f"maps:{label}"], figs[f"distance:{label}"] = qi_query_maps(
                an, path, grid, opacity
            )
        stats = nl_statistics(rec, key=(an.backbone, an.image_hash, path))
        form = nl_form(rec.kind)
        measured.setdefault(form, table1_measured(stats))
        if an.meta.get("table1"):
            zoo_table.setdefault(form, an.meta["table1"])
        means.setdefault(label, nl_mean_map(rec))
        rows.append(
            {
                "backbone": an.backbone,
                "layer": path,
                "form": form,
                "N": stats["N"],
                "N_keys": stats["N_keys"],
                "input": stats["cos_input"],
                "output": stats["cos_output"],
                "att": stats["cos_att"],
                "jsd": stats["jsd_att"],
            }
        )
    if measured:
        figs["table1"] = figures.table1_comparison(measured, zoo=zoo_table or None)
    if gc is not None:
        ctx = records_of_kind(gc, "gc")
        if ctx and means:
            gc_path, gc_rec = next(iter(ctx.items()))
            first_label, first_mean = next(iter(means.items()))
            figs["gc_vs_nl"] = figures.composited_query_maps(
                gc.image,
                [gc_rec.arrays["context"], first_mean],
                None,
                gc_rec.arrays["context"].shape,
                opacity=0.5,
                cols=2,
                titles=[f"GC context ({gc.backbone})", f"mean NL map ({first_label})"],
                side=2 * PANEL_SIDE,
                normalize=True,
                title="GC's context map and the mean Non-local map"
                "<br><sup>each map min–max scaled</sup>",
            )
    frame = pd.DataFrame(
        rows, columns=["backbone", "layer", "form", "N", "N_keys", "input", "output", "att", "jsd"]
    )
    return figs, frame, reading(measured)


def table1_table(frame: pd.DataFrame, analyses: Sequence[Analysis] = ()) -> pd.DataFrame:
    """Table 1 as a table: the paper's COCO and Kinetics rows, the zoo's held-out values and the
    values measured on this image (first layer of each form in ``frame``)."""
    measured = {
        row.form: {"input": row.input, "output": row.output, "att": row.att, "jsd": row.jsd}
        for row in frame.drop_duplicates("form").itertuples()
    }
    zoo = {}
    for an in analyses:
        if an.meta.get("table1"):
            for kind in an.kinds:
                if kind in NL_KINDS:
                    zoo.setdefault(nl_form(kind), an.meta["table1"])
    return figures.table1_frame(measured, zoo=zoo or None)


# ----------------------------------------------------------------------------- A2


def a2_view(
    analysis: Analysis, layer: str, position: tuple[int, int] | None = None, max_maps: int = 16
) -> dict[str, go.Figure]:
    """A²: the gather maps, the distribute argmax / entropy maps, one position's distribution over
    the n descriptors, and the descriptor matrix G (m x n)."""
    rec = analysis.records[layer]
    a = rec.arrays
    out = {
        "gather": figures.a2_gather_grid(a["gather"], image=analysis.image, max_maps=max_maps),
        "distribute": figures.a2_distribute_maps(a["distribute"]),
    }
    if position is not None:
        out["position"] = figures.a2_position_distribution(a["distribute"], *position)
    if "descriptors" in a:
        out["descriptors"] = figures.descriptor_matrix(a["descriptors"])
    return out


# ----------------------------------------------------------------------------- compare / attribution


def compare_view(analyses: Mapping[str, Analysis]) -> dict[str, go.Figure]:
    """One image through several models: every model's main spatial map in one grid, and the channel
    gates of the channel modules side by side."""
    panels, gates = {}, {}
    image = None
    for name, an in analyses.items():
        image = an.image if image is None else image
        if not an.records:
            panels[f"{name}: no attention"] = None
        for path, rec in an.records.items():
            maps = spatial_maps(rec)
            if maps:
                label, heat = next(iter(maps.items()))
                panels[f"{name}: {label}"] = heat
            elif rec.kind in CHANNEL_KINDS:
                panels[f"{name}: channel gates only"] = None
            if rec.kind in CHANNEL_KINDS and "channel" in rec.arrays:
                gates[f"{name} · {path}"] = channel_gates(rec)
    out = {}
    if panels:
        out["spatial"] = figures.compare_grid(image, panels, cols=4)
    if gates and len({g.shape for g in gates.values()}) == 1:
        out["channel"] = figures.channel_compare(
            gates, top_k=32, title="Channel gates, 32 most varying channels"
        )
    return out


def attribution_view(
    analysis: Analysis, attributions: Mapping[str, np.ndarray], opacity: float = 0.5
) -> tuple[go.Figure, pd.DataFrame]:
    """Attribution maps beside the attention maps, and each attribution's Pearson correlation with
    the other maps (NaN where a map is constant, e.g. an all-zero Grad-CAM)."""
    maps = {k: np.asarray(v, dtype=np.float32) for k, v in attributions.items()}
    for path, rec in analysis.records.items():
        for label, heat in spatial_maps(rec).items():
            maps[f"{path}: {label}"] = heat
            break
    fig = figures.attribution_side_by_side(analysis.image, maps, opacity=opacity)
    rows = []
    try:
        from viz.attribution import map_correlation
    except ImportError:  # pragma: no cover - attribution module absent
        map_correlation = None
    methods = list(attributions)
    if map_correlation is not None:
        # every attribution against every other map (attention maps among themselves are not asked)
        for i, a in enumerate(methods):
            for b in methods[i + 1 :] + [k for k in maps if k not in attributions]:
                r = map_correlation(maps[a], maps[b])
                rows.append({"map A": a, "map B": b, "pearson r": float(r)})
    return fig, pd.DataFrame(rows, columns=["map A", "map B", "pearson r"])


# ----------------------------------------------------------------------------- explainers

_FORMULAS = {
    "se": "s = σ(W₂ δ(W₁ GAP(x))), out = x · s",
    "eca": "w = σ(Conv1d_k(GAP(x))), out = x · w  (k from log₂ C)",
    "gsop": "att = σ(conv(rowconv(Cov(conv₁ₓ₁(x))))), out = x · att  (second-order pooling)",
    "cbam": "Mc = σ(MLP(avg x) + MLP(max x)); Ms = σ(BN(conv₇ₓ₇([max_c x'; mean_c x']))); "
    "out = x · Mc · Ms",
    "bam": "F' = F + F ⊗ σ(Mc(F) + Ms(F)), Mc: GAP → MLP, Ms: dilated 3×3 convs",
    "gc": "a = softmax_N(conv_mask(x)); ctx = Σ_j a_j x_j; out = x + Conv(ReLU(LN(Conv(ctx))))",
    "a2": "G = φ(X) softmax_N(θ(X))ᵀ (gather, m×n); Z = G softmax_n(ρ(X)) (distribute, m×N)",
    "nl_gaussian": "y_i = Σ_j softmax_j(x_iᵀ x_j) g(x_j); z = BN(W_z y) + x",
    "nl_embedded_gaussian": "y_i = Σ_j softmax_j(θ_iᵀ φ_j) g(x_j); z = BN(W_z y) + x",
    "nl_dot_product": "y_i = Σ_j (θ_iᵀ φ_j / N') g(x_j); z = BN(W_z y) + x",
    "nl_concatenation": "y_i = Σ_j ReLU(w_fᵀ[θ_i; φ_j]) / N' · g(x_j); z = BN(W_z y) + x",
}


def _mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:.2f} MB" if nbytes >= 2**16 else f"{nbytes / 1024:.1f} KB"


def module_explainer(kind: str, record: RecordView | None = None) -> str:
    """Markdown: the module's formula and the live tensor shapes of this run.

    Args:
        kind: attention kind.
        record: a captured record of that kind (shapes are read from it), or ``None``.
    """
    lines = [f"**{kind}** — `{_FORMULAS.get(kind, 'attention module')}`"]
    if record is None:
        return lines[0]
    shapes = ", ".join(f"`{k}` {tuple(v.shape)}" for k, v in record.arrays.items())
    lines.append(f"Captured ({record.module_type}): {shapes}.")
    a = record.arrays
    if kind == "a2":
        n, h, w = a["gather"].shape
        big_n = h * w
        m = a["descriptors"].shape[0] if "descriptors" in a else n
        lines.append(
            f"Here m = {m}, n = {n}, N = {h}×{w} = {big_n}. Gather/distribute keeps "
            f"O(mn + nN) = {m * n + n * big_n:,} floats ({_mb(4 * (m * n + n * big_n))}); "
            f"the equivalent φ[softmax(θ)ᵀ softmax(ρ)] form needs an N×N = {big_n * big_n:,} "
            f"matrix ({_mb(4 * big_n * big_n)})."
        )
    elif kind in NL_KINDS:
        c, h, w = a["input"].shape
        n, n_keys = a["attention"].shape
        lines.append(
            f"Here C = {c}, the map is {h}×{w} (N = {n} queries, N' = {n_keys} keys); the attention "
            f"matrix has {n * n_keys:,} entries ({_mb(4 * n * n_keys)})."
        )
    elif kind == "gc":
        h, w = a["context"].shape
        lines.append(
            f"One context map of {h}×{w} = {h * w} weights summing to 1; "
            f"the transform adds a {a['transform'].shape[0]}-channel vector at every position."
        )
    elif "channel" in a:
        lines.append(f"{a['channel'].shape[0]} channel gates in this block.")
    return "\n\n".join(lines)


# ----------------------------------------------------------------------------- GCNet as a process


def training_view() -> tuple[dict[str, go.Figure], pd.DataFrame, str, str]:
    """The zoo's emergence curves, entropy guard / unary share, both data regimes, and a reading.

    Built once per manifest file (its path, size and mtime): the curves do not depend on the
    image, and rebuilding them cost ~0.2 s of every Query-independence run. Callers must not
    mutate the returned figures (they are shared).

    Returns:
        figures (``emergence``, ``guard``), the regimes table, the computed reading, and a line
        saying how far training went (epochs, scenes).
    """
    from viz.zoo import MANIFEST, WEIGHTS_DIR

    path = Path(WEIGHTS_DIR) / MANIFEST
    try:
        st = path.stat()
        stamp = (str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = (str(path), -1, -1)
    figs, table, reading, done = _training_view(stamp)
    return dict(figs), table.copy(), reading, done


@functools.lru_cache(maxsize=2)
def _training_view(_stamp: tuple) -> tuple[dict[str, go.Figure], pd.DataFrame, str, str]:
    from viz import gcnet_figures as gf
    from viz.zoo import read_manifest

    manifest = read_manifest()
    ck = manifest.get("checkpoints", {})
    figs = {"emergence": gf.emergence_figure(ck), "guard": gf.guard_figure(ck)}
    table = pd.DataFrame(gf.regimes_table(manifest))
    progress = manifest.get("progress", {})
    recipe = manifest.get("recipe", {})
    held = manifest.get("data", {}).get("test", {})
    done = (
        f"{progress.get('epochs_completed', '?')} of {progress.get('epochs_planned', '?')} epochs "
        f"of {recipe.get('scenes_per_epoch', '?')} fresh scenes; statistics on "
        f"{recipe.get('table1_scenes', '?')} of {held.get('scenes', '?')} held-out scenes "
        "(stamps and backgrounds never seen in training)."
    )
    return figs, table, gf.emergence_reading(ck), done


def dnl_view(
    an: Analysis, path: str, queries: Sequence[tuple[int, int]]
) -> tuple[go.Figure | None, float | None, str]:
    """DNL's split of one NL layer on this image: the shared map, pairwise maps, the unary share.

    Returns ``(None, None, why)`` for records without the split (concatenation has query/key terms
    instead; foreign layers record no split).
    """
    from viz import gcnet_figures as gf

    rec = an.records[path]
    (h, w), key_hw = nl_grids(rec)
    if "unary" not in rec.arrays:
        if "key_term" in rec.arrays:
            return (
                None,
                1.0,
                "Concatenation: logit = w_θᵀθ_i + w_φᵀφ_j — the query term only shifts a row "
                "before the ReLU, so the key term alone shapes every map (share 100 % by "
                "construction).",
            )
        return None, None, f"{path} records no DNL split."
    unary, pairwise = rec.arrays["unary"], rec.arrays["pairwise"]
    share = gf.dnl_share(unary, pairwise)
    softmax = rec.kind in ("nl_gaussian", "nl_embedded_gaussian")
    idx = [r * w + c for r, c in queries]
    maps = gf.dnl_maps(unary, pairwise, idx, key_hw, softmax=softmax)
    fig = gf.dnl_figure(maps, queries, (h, w), share, f"{an.backbone} · {path}")
    pair_sd = float(pairwise.std(axis=1).mean())
    unary_sd = float(unary.std())
    text = (
        f"Over keys, the shared term varies by {unary_sd:.3g} (s.d.) and the query-specific term "
        f"by {pair_sd:.3g} on average: the unary term explains {share:.0%} of the logits' "
        "variance. "
        + (
            "Most of each map is the same for every query — GCNet's observation, explained by DNL."
            if share >= 0.5
            else "Each query's own term dominates: the maps differ by query here."
        )
    )
    return fig, share, text


def gc_nl_correlation(gc: Analysis, nl: Analysis) -> float | None:
    """Pearson r between GC's context map and the first NL layer's mean attention map."""
    from viz.attribution import map_correlation

    ctx = records_of_kind(gc, "gc")
    layers = records_of_kind(nl, NL_KINDS)
    if not ctx or not layers:
        return None
    rec = next(iter(layers.values()))
    return map_correlation(next(iter(ctx.values())).arrays["context"], nl_mean_map(rec))


def zoo_training_curves(backbone: str) -> go.Figure | None:
    """Loss and mAP curves of a shipped zoo checkpoint (``None`` for other backbones)."""
    from viz.gcnet_figures import training_curves_figure
    from viz.zoo import read_manifest

    if not backbone.startswith("zoo/"):
        return None
    entry = read_manifest().get("checkpoints", {}).get(backbone.removeprefix("zoo/"))
    return training_curves_figure(entry, backbone) if entry and entry.get("curves") else None
