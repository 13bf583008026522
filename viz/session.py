"""One forward pass per (backbone, image), turned into plain numpy for the pages.

The pages never touch torch: they receive an :class:`Analysis` (numpy arrays, picklable, so
``st.cache_data`` can store it and hand every session its own copy) and pass it to
:mod:`viz.views`. A click on a map changes only which rows of an already captured record are drawn.

The Streamlit glue (cached model loading, cached analysis, the sidebar's current choice) lives at the
bottom of this module behind a lazy ``import streamlit``: it has to call torch code (``analyse``,
``load_backbone``), which pages may not contain, and ``app_pages/`` holds page files only. Scripts
and benchmarks import this module without starting Streamlit.
"""

from __future__ import annotations

import functools
import io
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_BACKBONE",
    "Analysis",
    "analyse_many",
    "ModelUnavailable",
    "RecordView",
    "analyse",
    "current_analysis",
    "current_image",
    "export_npz",
    "get_analysis",
    "get_attribution",
    "get_backbone",
    "grid_queries",
    "nl_layers",
    "nl_statistics",
    "records_of_kind",
    "require_kinds",
    "stats_csv",
    "zoo_model_for",
]

DEFAULT_BACKBONE = "zoo/nl_embedded_gaussian"
# Tensors emitted without a batch dimension (DESIGN.md: ``keys_shape`` is (H', W')).
_UNBATCHED = frozenset({"keys_shape"})
# Session-state keys shared by app.py and the pages.
BACKBONE_KEY = "backbone"
IMAGE_KEY = "va_image"  # (image_hash, PIL image, caption)


@dataclass
class RecordView:
    """One captured attention record as numpy (batch dimension removed, float32).

    Args:
        kind: one of ``viz.attention.ATTENTION_KINDS``.
        module_type: class name of the emitting module.
        arrays: tensor name -> array, names per DESIGN.md.
    """

    kind: str
    module_type: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape, for explainers and captions."""
        return {k: tuple(v.shape) for k, v in self.arrays.items()}


@dataclass
class Analysis:
    """Everything the pages draw from one forward pass.

    Args:
        backbone: registry name.
        image_hash: hash of the source image (cache key).
        image: (H, W, 3) uint8, ``backbone.prepare(img)``: exactly the pixels the model saw.
        prediction: top classes ``[(label, probability)]``.
        records: module path -> :class:`RecordView`.
        task: ``"multilabel"``, ``"multiclass"`` or ``"features"``.
        probabilities: every class's probability (sigmoid for multi-label, softmax otherwise).
        classes: class names aligned with ``probabilities``.
        device: where the forward ran.
        input_shape: shape of the tensor fed to the model.
        forward_ms: wall time of the forward pass.
        meta: JSON-able subset of the backbone's metadata (dataset, accuracy, table1, ...).
    """

    backbone: str
    image_hash: str
    image: np.ndarray
    prediction: list[tuple[str, float]]
    records: dict[str, RecordView]
    task: str = ""
    probabilities: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    device: str = "cpu"
    input_shape: tuple[int, ...] = ()
    forward_ms: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def kinds(self) -> list[str]:
        """Attention kinds present, in record order, without repeats."""
        return list(dict.fromkeys(r.kind for r in self.records.values()))


_META_KEYS = (
    "dataset",
    "accuracy",
    "metric",
    "task",
    "source",
    "licence",
    "input_size",
    "table1",
    "kinds",
    "title",
)


def _json_meta(meta: dict) -> dict:
    """Keep the small, JSON-able metadata (class lists stay in ``Analysis.classes``)."""
    out = {}
    for key in _META_KEYS:
        if key in meta:
            try:
                json.dumps(meta[key])
            except TypeError:
                continue
            out[key] = meta[key]
    return out


def _to_numpy(name: str, tensor) -> np.ndarray:
    arr = tensor.detach().cpu().numpy() if hasattr(tensor, "detach") else np.asarray(tensor)
    if name in _UNBATCHED:
        return arr.astype(np.int64) if np.issubdtype(arr.dtype, np.integer) else arr
    return np.ascontiguousarray(arr[0], dtype=np.float32)


def analyse(backbone, image, image_hash: str = "") -> Analysis:
    """Run ONE forward pass of ``backbone`` on ``image`` under :func:`viz.capture.capture`.

    Args:
        backbone: a loaded :class:`viz.backbones.Backbone`.
        image: RGB ``PIL.Image`` (from ``viz.images.load_image`` or a sample).
        image_hash: cache key of the image, stored for exports.

    Returns:
        an :class:`Analysis` holding numpy copies of every captured record.
    """
    import torch

    from viz.capture import capture

    image = image.convert("RGB")
    shown = np.asarray(backbone.prepare(image).convert("RGB"), dtype=np.uint8).copy()
    x = backbone.preprocess(image).to(backbone.device)
    with torch.inference_mode(), capture(backbone.model) as recs:
        start = time.perf_counter()
        out = backbone.model(x)
        if backbone.device.type == "cuda":
            torch.cuda.synchronize()
        forward_ms = (time.perf_counter() - start) * 1000.0
    logits = out[0] if isinstance(out, (tuple, list)) else out
    task = backbone.meta.get("task", "")
    prediction: list[tuple[str, float]] = []
    probabilities = None
    classes = list(backbone.meta.get("classes") or [])
    if task != "features" and logits.ndim == 2:
        prediction = backbone.predict(logits, top=5)
        lg = logits.detach().float().cpu()[0]
        probs = torch.sigmoid(lg) if task == "multilabel" else torch.softmax(lg, dim=0)
        probabilities = probs.numpy().astype(np.float32)
        if len(classes) != len(probabilities):
            classes = [str(i) for i in range(len(probabilities))]
    records = {
        path: RecordView(
            kind=rec.kind,
            module_type=rec.module_type,
            arrays={k: _to_numpy(k, v) for k, v in rec.tensors.items()},
        )
        for path, rec in recs.items()
    }
    return Analysis(
        backbone=backbone.name,
        image_hash=image_hash,
        image=shown,
        prediction=prediction,
        records=records,
        task=task,
        probabilities=probabilities,
        classes=classes,
        device=str(backbone.device),
        input_shape=tuple(x.shape),
        forward_ms=forward_ms,
        meta=_json_meta(backbone.meta),
    )


def records_of_kind(analysis: Analysis, kinds) -> dict[str, RecordView]:
    """Records whose kind is in ``kinds`` (a string or a collection), in capture order."""
    wanted = {kinds} if isinstance(kinds, str) else set(kinds)
    return {p: r for p, r in analysis.records.items() if r.kind in wanted}


def nl_layers(analysis: Analysis) -> list[str]:
    """Paths of the Non-local records (any of the four forms)."""
    from viz.attention import NL_KINDS

    return list(records_of_kind(analysis, NL_KINDS))


def nl_grids(record: RecordView) -> tuple[tuple[int, int], tuple[int, int]]:
    """(query grid (H, W), key grid (H', W')) of a Non-local record."""
    _, h, w = record.arrays["input"].shape
    if "keys_shape" in record.arrays:
        kh, kw = (int(v) for v in np.asarray(record.arrays["keys_shape"]).ravel()[:2])
    else:
        kh, kw = h, w
    return (h, w), (kh, kw)


_STATS_MEMO: OrderedDict[tuple, dict] = OrderedDict()
_STATS_MEMO_SIZE = 64
_STATS_LOCK = threading.Lock()


def nl_statistics(record: RecordView, key: tuple | None = None) -> dict:
    """GCNet's Table-1 statistics of one Non-local record (via :func:`viz.stats.query_independence`).

    Args:
        record: the Non-local record.
        key: ``(backbone, image_hash, path)`` when known: the statistics are a pure function of it,
            so each page run after the first reuses them (bounded memo; no pixels are kept).

    Returns:
        ``cos_input``, ``cos_output``, ``cos_att``, ``jsd_att`` (None for forms whose rows are not
        distributions), plus ``N`` (queries) and ``N_keys``.
    """
    from viz.stats import query_independence

    if key is not None and key[1]:
        with _STATS_LOCK:
            if key in _STATS_MEMO:
                _STATS_MEMO.move_to_end(key)
                return dict(_STATS_MEMO[key])
    x, z, att = record.arrays["input"], record.arrays["output"], record.arrays["attention"]
    c = x.shape[0]
    stats = query_independence(x.reshape(c, -1).T, z.reshape(c, -1).T, att)
    stats["N"], stats["N_keys"] = int(att.shape[0]), int(att.shape[1])
    if key is not None and key[1]:
        with _STATS_LOCK:
            _STATS_MEMO[key] = dict(stats)
            while len(_STATS_MEMO) > _STATS_MEMO_SIZE:
                _STATS_MEMO.popitem(last=False)
    return stats


def grid_queries(grid_hw: tuple[int, int], k: int) -> list[tuple[int, int]]:
    """A k x k grid of query cells spread evenly over a (H, W) map (cell centres), row-major.

    Fewer cells come back when the map is smaller than ``k`` along a side (no repeats).
    """
    h, w = int(grid_hw[0]), int(grid_hw[1])
    if k < 1 or h < 1 or w < 1:
        raise ValueError(f"need k >= 1 and a non-empty grid, got k={k}, grid={grid_hw}")
    rows = list(dict.fromkeys(min(h - 1, int((i + 0.5) * h / k)) for i in range(k)))
    cols = list(dict.fromkeys(min(w - 1, int((j + 0.5) * w / k)) for j in range(k)))
    return [(r, c) for r in rows for c in cols]


def export_npz(analysis: Analysis) -> bytes:
    """Every captured tensor as a compressed ``.npz`` (keys ``"<module path>/<tensor>"``), plus the
    image the model saw (``image``) and a JSON description (``meta``)."""
    arrays = {"image": analysis.image}
    for path, rec in analysis.records.items():
        for name, arr in rec.arrays.items():
            arrays[f"{path}/{name}"] = arr
    description = {
        "backbone": analysis.backbone,
        "image_hash": analysis.image_hash,
        "prediction": analysis.prediction,
        "kinds": {p: r.kind for p, r in analysis.records.items()},
        "input_shape": list(analysis.input_shape),
        "device": analysis.device,
    }
    arrays["meta"] = np.array(json.dumps(description))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def stats_csv(rows) -> str:
    """Statistics as CSV text: ``rows`` is a DataFrame or a list of dicts (one row each)."""
    import pandas as pd

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    return frame.to_csv(index=False)


def zoo_model_for(kinds) -> str | None:
    """The first zoo backbone whose module is one of ``kinds`` (for "switch to a model that has it")."""
    from viz.backbones import backbone_info, list_backbones

    wanted = [kinds] if isinstance(kinds, str) else list(kinds)
    zoo = list_backbones("zoo")
    for kind in wanted:
        for name in zoo:
            if kind in (backbone_info(name).meta.get("kinds") or []):
                return name
    return None


# --------------------------------------------------------------------------------------------
# Streamlit glue (lazy import: the functions above stay usable from scripts and benchmarks).
# --------------------------------------------------------------------------------------------


class ModelUnavailable(RuntimeError):
    """A backbone cannot be used here; ``str(err)`` says why and what to fetch."""


# Failed loads are remembered briefly so a page does not retry a slow failing download on every
# rerun, yet weights that arrive later are picked up without restarting the server.
_FAILURES: dict[str, tuple[float, str]] = {}
_FAILURES_LOCK = threading.Lock()
FAILURE_TTL_S = 30.0


@functools.lru_cache(maxsize=1)
def _cached_loader():
    import streamlit as st

    from viz.backbones import load_backbone

    @st.cache_resource(show_spinner=False, max_entries=16)
    def _load_backbone(name: str):
        return load_backbone(name)

    return _load_backbone


def get_backbone(name: str):
    """The loaded backbone, shared by all sessions (``st.cache_resource``).

    Raises:
        ModelUnavailable: weights missing or unusable, unknown name (message for the page).
    """
    from viz.backbones import WeightsUnavailable

    with _FAILURES_LOCK:
        failed = _FAILURES.get(name)
    if failed and time.monotonic() - failed[0] < FAILURE_TTL_S:
        raise ModelUnavailable(failed[1])
    try:
        return _cached_loader()(name)
    except WeightsUnavailable as exc:
        message = f"Weights for **{name}** are not available here: {exc}"
    except KeyError as exc:
        message = f"Unknown backbone {name!r}: {exc}"
    except Exception as exc:  # a broken checkpoint or library must not crash the page
        message = f"**{name}** could not be loaded ({type(exc).__name__}: {exc})"
    with _FAILURES_LOCK:
        _FAILURES[name] = (time.monotonic(), message)
    raise ModelUnavailable(message)


@functools.lru_cache(maxsize=1)
def _cached_analyser():
    import streamlit as st

    @st.cache_data(max_entries=48, show_spinner=False)
    def _analysis(name: str, image_hash: str, _image) -> Analysis:
        # ``_image`` is not hashed: (name, image_hash) identify the work.
        return analyse(get_backbone(name), _image, image_hash)

    return _analysis


def get_analysis(name: str, image_hash: str, image) -> Analysis:
    """Cached :func:`analyse` keyed by (backbone name, image hash); each caller gets its own copy.

    Raises:
        ModelUnavailable: the backbone cannot be loaded.
    """
    return _cached_analyser()(name, image_hash, image)


def current_image(hint: bool = False):
    """``(image_hash, PIL image, caption)`` chosen in the sidebar, or ``None`` (with ``hint``, the
    page also tells the user to choose one)."""
    import streamlit as st

    chosen = st.session_state.get(IMAGE_KEY)
    if chosen is None and hint:
        st.info("Choose a sample image or upload one in the sidebar.")
    return chosen


def analyse_many(names, image_hash: str, image, on_step=None):
    """Cached analyses of several backbones on one image, skipping those that cannot load.

    Args:
        names: backbone names, run in order.
        image_hash: cache key of ``image``.
        image: the sidebar's PIL image.
        on_step: ``(i, n, name)`` called before each backbone, for progress display.

    Returns:
        ``(analyses, missing)``: name -> :class:`Analysis`, and name -> why it is unavailable.
    """
    analyses, missing = {}, {}
    for i, name in enumerate(names):
        if on_step is not None:
            on_step(i, len(names), name)
        try:
            analyses[name] = get_analysis(name, image_hash, image)
        except ModelUnavailable as exc:
            missing[name] = str(exc)
    return analyses, missing


def current_analysis(name: str | None = None) -> Analysis | None:
    """The sidebar's backbone (or ``name``) run on the sidebar's image, drawing a warning and
    returning ``None`` when that is impossible (no image, weights missing)."""
    import streamlit as st

    name = name or st.session_state.get(BACKBONE_KEY) or DEFAULT_BACKBONE
    chosen = current_image(hint=True)
    if chosen is None:
        return None
    image_hash, image, _ = chosen
    try:
        with st.spinner(f"Running {name} on the image…"):
            return get_analysis(name, image_hash, image)
    except ModelUnavailable as exc:
        st.warning(str(exc), icon="⚠️")
        return None


def switch_backbone(name: str) -> None:
    """Callback for "switch to a model that has it" buttons (runs before the next script run)."""
    import streamlit as st

    st.session_state[BACKBONE_KEY] = name


def require_kinds(analysis: Analysis, kinds, what: str) -> bool:
    """True when ``analysis`` has a record of one of ``kinds``; otherwise say so, offer a one-click
    switch to a zoo model that has one, and return False.

    Args:
        analysis: the current analysis.
        kinds: attention kinds the page draws.
        what: human name of the module family, e.g. ``"a Non-local block"``.
    """
    import streamlit as st

    if records_of_kind(analysis, kinds):
        return True
    st.info(f"**{analysis.backbone}** has no {what}.")
    target = zoo_model_for(kinds)
    if target is not None:
        st.button(
            f"Switch to {target}",
            on_click=switch_backbone,
            args=(target,),
            type="primary",
            key=f"switch_{target}",
        )
    return False


@functools.lru_cache(maxsize=1)
def _cached_attributor():
    import streamlit as st

    @st.cache_data(max_entries=16, show_spinner=False)
    def _attribution(
        name: str, image_hash: str, _image, target: int | None, steps: int
    ) -> dict[str, np.ndarray]:
        from viz.attribution import attribute

        return attribute(get_backbone(name), _image, target=target, steps=steps)

    return _attribution


def get_attribution(
    name: str, image_hash: str, image, target: int | None = None, steps: int = 16
) -> dict[str, np.ndarray]:
    """Cached captum Grad-CAM + Integrated Gradients maps ((h, w) in [0, 1], aligned with the image
    the model saw), keyed by (backbone, image hash, target, steps).

    Raises:
        ModelUnavailable: the backbone cannot be loaded.
        ImportError: ``viz.attribution`` (captum) is not available.
    """
    return _cached_attributor()(name, image_hash, image, target, steps)


# --------------------------------------------------------------------------------------------
# The Non-local click grid: a components-v2 element that keeps a log of every click in the browser.
#
# A plotly chart's selection is "the points selected now", and Streamlit coalesces rerun requests
# that arrive while a script runs (newest widget value wins), so clicks 40 ms apart were lost. Here
# the browser appends every click to a log and sends the WHOLE log each time; Python applies the
# entries it has not applied yet, in order. Whatever gets coalesced, the newest log holds them all.
# --------------------------------------------------------------------------------------------

_CLICK_GRID_CSS = """
.vae-grid { position: relative; width: 100%; max-width: 560px; user-select: none; }
.vae-grid img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.vae-grid img.heat { image-rendering: auto; mix-blend-mode: normal; }
.vae-grid .cells { position: absolute; inset: 0; display: grid; }
.vae-grid .cell { margin: 0; padding: 0; border: 1px solid rgba(255,255,255,0.25);
  background: transparent; cursor: crosshair; position: relative; }
.vae-grid .cell:hover { background: rgba(255,255,255,0.25); }
.vae-grid .cell.chosen::after, .vae-grid .cell.pending::after { content: "✕"; position: absolute;
  inset: 0; display: flex; align-items: center; justify-content: center; font-weight: 700;
  font-size: clamp(9px, 2.2vw, 20px); color: #ff1f1f; text-shadow: 0 0 3px #fff; }
.vae-grid .cell.pending::after { color: #ff9900; }
"""

_CLICK_GRID_JS = """
// One click log per component key, kept for the life of the page: every click is appended and the
// whole log is sent, so coalesced reruns cannot drop a click.
const logs = new Map();

export default function ({ parentElement, data, setStateValue, key }) {
  let log = logs.get(key);
  if (!log) {
    log = { id: Math.random().toString(36).slice(2) + Date.now().toString(36), cells: [] };
    logs.set(key, log);
  }
  let root = parentElement.querySelector(".vae-grid");
  if (!root) {
    root = document.createElement("div");
    root.className = "vae-grid";
    parentElement.appendChild(root);
  }
  const h = data.rows, w = data.cols;
  root.innerHTML = "";
  root.style.aspectRatio = `${data.width} / ${data.height}`;
  root.dataset.queries = JSON.stringify(data.queries);
  const base = document.createElement("img");
  base.src = data.image;
  base.alt = "image";
  root.appendChild(base);
  if (data.heat) {
    const heat = document.createElement("img");
    heat.className = "heat";
    heat.src = data.heat;
    heat.alt = "";
    heat.style.opacity = data.opacity;
    root.appendChild(heat);
  }
  const grid = document.createElement("div");
  grid.className = "cells";
  grid.style.gridTemplateColumns = `repeat(${w}, 1fr)`;
  grid.style.gridTemplateRows = `repeat(${h}, 1fr)`;
  const chosen = new Set(data.queries.map(([r, c]) => r * w + c));
  const applied = data.log_id === log.id ? data.applied : 0;
  const pending = new Set(
    log.cells.slice(applied).filter((e) => e[2] === data.token).map((e) => e[0] * w + e[1])
  );
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const cell = document.createElement("button");
      cell.type = "button";
      cell.className = "cell";
      if (chosen.has(r * w + c)) cell.classList.add("chosen");
      if (pending.has(r * w + c)) cell.classList.add("pending");
      cell.dataset.row = r;
      cell.dataset.col = c;
      cell.title = `cell (${r}, ${c})`;
      cell.addEventListener("click", () => {
        log.cells.push([r, c, data.token]);
        cell.classList.add("pending");
        setStateValue("clicks", { id: log.id, cells: log.cells.slice() });
      });
      grid.appendChild(cell);
    }
  }
  root.appendChild(grid);
}
"""


@functools.lru_cache(maxsize=1)
def _click_grid_component():
    import streamlit as st

    return st.components.v2.component(
        "vae_click_grid", html="", css=_CLICK_GRID_CSS, js=_CLICK_GRID_JS, isolate_styles=True
    )


def _get(obj, name):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    try:
        return obj[name]
    except (KeyError, TypeError, IndexError):
        return getattr(obj, name, None)


def apply_click_log(log, mark, token: str, add) -> tuple:
    """Apply the entries of a browser click log not applied yet, in click order.

    Args:
        log: ``{"id": str, "cells": [[row, col, token], ...]}`` as the browser sends it, or None.
        mark: ``(log_id, n_applied)`` returned by the previous call (or None).
        token: which grid the clicks must belong to (entries of another grid are skipped).
        add: ``(row, col) -> None`` applied to each new click of this grid.

    Returns:
        the new mark. A log with another id (a reloaded page) is applied from its start.
    """
    log_id, cells = _get(log, "id"), _get(log, "cells") or []
    if log_id is None:
        return mark
    start = mark[1] if mark and mark[0] == log_id else 0
    for entry in cells[start:]:
        try:
            r, c, t = int(entry[0]), int(entry[1]), str(entry[2])
        except (TypeError, ValueError, IndexError):
            continue
        if t == token:
            add(r, c)
    return (log_id, len(cells))


def click_grid(key: str, payload: dict, token: str, add) -> None:
    """Draw the click grid (``viz.figures.click_grid_payload``) and apply every click to ``add``.

    Clicks are applied in the callback that runs before the next (fragment) rerun, so the figures
    drawn after the grid already show them.
    """
    import streamlit as st

    mark_key = f"{key}:applied"

    def _on_clicks() -> None:
        value = st.session_state.get(key)
        st.session_state[mark_key] = apply_click_log(
            _get(value, "clicks"), st.session_state.get(mark_key), token, add
        )

    mark = st.session_state.get(mark_key) or (None, 0)
    data = {**payload, "token": token, "log_id": mark[0], "applied": mark[1]}
    try:
        _click_grid_component()(
            key=key,
            data=data,
            default={"clicks": None},
            on_clicks_change=_on_clicks,
            height="content",
        )
    except RuntimeError as exc:
        # Components v2 look the runtime up through a process-wide singleton; AppTest sessions
        # run in parallel threads replace it under each other ("Runtime hasn't been created!").
        # A real server has one runtime. Either way the page must go on: the row / column inputs
        # add queries too. (Streamlit's rerun / stop signals are BaseExceptions: not caught.)
        st.caption(
            f"The click grid is not available here ({exc}); use row / column and “Add query”."
        )
