"""One forward pass per (backbone, image), turned into plain numpy: an :class:`Analysis`.

The pages never touch torch: they receive an :class:`Analysis` (numpy arrays, picklable, so
``st.cache_data`` can store it and hand every session its own copy) and pass it to
:mod:`viz.views`. A click on a map changes only which rows of an already captured record are drawn.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from viz.analysis.table1 import query_independence
from viz.analysis.turns import COMPUTE
from viz.attention import NL_KINDS
from viz.capture import Record, capture
from viz.weights.registry import backbone_info, list_backbones

DEFAULT_BACKBONE = "zoo/nl_embedded_gaussian"

DISPLAY_SIDE = 640  # the long side of Analysis.display: enough for a page, small to send


@dataclass
class Analysis:
    """Everything the pages draw from one forward pass.

    Args:
        backbone: registry name.
        image_hash: hash of the source image (cache key).
        image: (H, W, 3) uint8, ``backbone.prepare(img)``: exactly the pixels the model saw.
        prediction: top classes ``[(label, probability)]``.
        records: module path -> :class:`Record`.
        task: ``"multilabel"``, ``"multiclass"`` or ``"features"``.
        probabilities: every class's probability (sigmoid for multi-label, softmax otherwise).
        classes: class names aligned with ``probabilities``.
        device: where the forward ran.
        input_shape: shape of the tensor fed to the model.
        forward_ms: wall time of the forward pass.
        meta: JSON-able subset of the backbone's metadata (dataset, accuracy, table1, ...).
        display: (H', W', 3) uint8, the user's own picture at its own aspect ratio, at most
            ``DISPLAY_SIDE`` px on its long side (figures draw maps over it); None for analyses
            made before it existed or by a backbone whose geometry is unknown.
        view_box: (x0, y0, x1, y1) in ``display`` pixels (edges): exactly the region the model
            saw, from the backbone's own pipeline; None with ``display``.
    """

    backbone: str
    image_hash: str
    image: np.ndarray
    prediction: list[tuple[str, float]]
    records: dict[str, Record]
    task: str = ""
    probabilities: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    device: str = "cpu"
    input_shape: tuple[int, ...] = ()
    forward_ms: float = 0.0
    meta: dict = field(default_factory=dict)
    display: np.ndarray | None = None
    view_box: tuple[float, float, float, float] | None = None

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


def display_view(backbone, image) -> tuple[np.ndarray | None, tuple | None]:
    """(the picture at most ``DISPLAY_SIDE`` px, the model's crop box in its pixels), or
    (None, None) when the backbone cannot say which region its pipeline keeps.

    Args:
        backbone: a loaded backbone (its ``view_box`` reads the pipeline's own steps).
        image: the RGB picture as the backbone receives it.
    """
    box_of = getattr(backbone, "view_box", None)
    box = box_of(*image.size) if box_of is not None else None
    if box is None:
        return None, None
    from PIL import Image

    scale = min(1.0, DISPLAY_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
    sx, sy = size[0] / image.width, size[1] / image.height
    x0, y0, x1, y1 = box
    view_box = (float(x0 * sx), float(y0 * sy), float(x1 * sx), float(y1 * sy))
    return np.asarray(small, dtype=np.uint8).copy(), view_box


def analyse(backbone, image, image_hash: str = "") -> Analysis:
    """Run ONE forward pass of ``backbone`` on ``image`` under :func:`viz.capture.capture`.

    Args:
        backbone: a loaded :class:`viz.weights.Backbone`.
        image: RGB ``PIL.Image`` (from ``viz.data.load_image`` or a sample).
        image_hash: cache key of the image, stored for exports.

    Returns:
        an :class:`Analysis` holding numpy copies of every captured record.
    """
    image = image.convert("RGB")
    prepared = backbone.prepare(image).convert("RGB")
    shown = np.asarray(prepared, dtype=np.uint8).copy()
    display, view_box = display_view(backbone, image)
    # one resize, not two, when ``prepare`` is the very geometry inside ``preprocess``
    same = getattr(backbone.preprocess, "geometry", None) is backbone.prepare
    from_prepared = getattr(backbone.preprocess, "from_prepared", None) if same else None
    x = from_prepared(prepared) if from_prepared is not None else backbone.preprocess(image)
    x = x.to(backbone.device)
    with torch.inference_mode(), capture(backbone.model) as recs:
        start = time.perf_counter()
        out = backbone.model(x)
        if backbone.device.type == "cuda":
            torch.cuda.synchronize()
        forward_ms = (time.perf_counter() - start) * 1000.0
    logits = out[0] if isinstance(out, (tuple, list)) else out
    task = backbone.meta.task
    prediction: list[tuple[str, float]] = []
    probabilities = None
    classes = list(backbone.meta.classes or [])
    if task != "features" and logits.ndim == 2:
        prediction = backbone.predict(logits, top=5)
        probabilities = backbone.probabilities(logits).numpy().astype(np.float32)
        if len(classes) != len(probabilities):
            classes = [str(i) for i in range(len(probabilities))]
    records = {path: rec.numpy() for path, rec in recs.items()}
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
        display=display,
        view_box=view_box,
    )


def records_of_kind(analysis: Analysis, kinds) -> dict[str, Record]:
    """Records whose kind is in ``kinds`` (a string or a collection), in capture order."""
    wanted = {kinds} if isinstance(kinds, str) else set(kinds)
    return {p: r for p, r in analysis.records.items() if r.kind in wanted}


def nl_layers(analysis: Analysis) -> list[str]:
    """Paths of the Non-local records (any of the four forms)."""

    return list(records_of_kind(analysis, NL_KINDS))


def nl_grids(record: Record) -> tuple[tuple[int, int], tuple[int, int]]:
    """(query grid (H, W), key grid (H', W')) of a Non-local record."""
    _, h, w = record.tensors["input"].shape
    if "keys_shape" in record.tensors:
        kh, kw = (int(v) for v in np.asarray(record.tensors["keys_shape"]).ravel()[:2])
    else:
        kh, kw = h, w
    return (h, w), (kh, kw)


_STATS_MEMO: OrderedDict[tuple, dict] = OrderedDict()


_STATS_MEMO_SIZE = 64


_STATS_LOCK = threading.Lock()


def nl_statistics(record: Record, key: tuple | None = None) -> dict:
    """GCNet's Table-1 statistics of one Non-local record
    (via :func:`viz.analysis.table1.query_independence`).

    Args:
        record: the Non-local record.
        key: ``(backbone, image_hash, path)`` when known: the statistics are a pure function of it,
            so each page run after the first reuses them (bounded memo; no pixels are kept).

    Returns:
        ``cos_input``, ``cos_output``, ``cos_att``, ``jsd_att`` (None for forms whose rows are not
        distributions), plus ``N`` (queries) and ``N_keys``.
    """

    if key is not None and key[1]:
        with _STATS_LOCK:
            if key in _STATS_MEMO:
                _STATS_MEMO.move_to_end(key)
                return dict(_STATS_MEMO[key])
    x, z, att = record.tensors["input"], record.tensors["output"], record.tensors["attention"]
    c = x.shape[0]
    with COMPUTE.turn():  # the exact JSD is the heaviest step of a page: in the session's turn
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
    image the model saw (``image``), the user's picture (``display``, when known) and a JSON
    description (``meta``, with the crop box ``view_box`` in ``display`` pixels)."""
    arrays = {"image": analysis.image}
    if analysis.display is not None:
        arrays["display"] = analysis.display
    for path, rec in analysis.records.items():
        for name, arr in rec.tensors.items():
            arrays[f"{path}/{name}"] = arr
    description = {
        "backbone": analysis.backbone,
        "image_hash": analysis.image_hash,
        "prediction": analysis.prediction,
        "kinds": {p: r.kind for p, r in analysis.records.items()},
        "input_shape": list(analysis.input_shape),
        "device": analysis.device,
        "view_box": list(analysis.view_box) if analysis.view_box is not None else None,
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

    wanted = [kinds] if isinstance(kinds, str) else list(kinds)
    zoo = list_backbones("zoo")
    for kind in wanted:
        for name in zoo:
            if kind in backbone_info(name).meta.kinds:
                return name
    return None
