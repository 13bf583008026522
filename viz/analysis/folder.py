"""GCNet's Table-1 statistics over a folder of images: the work behind ``python -m viz stats``.

One image is one sample of the statistics; GCNet reports means over a validation set, so the command
runs every image of a folder (recursively) through the backbone under :func:`viz.capture.capture`
and measures every Non-local block with :func:`viz.analysis.table1.record_statistics`. Decoding and
preprocessing run in DataLoader workers; images that cannot be read are reported and skipped.
Images of different sizes are never padded: a batch is split into groups of equal tensor shape.

The folder may hold files nobody checked (a shared drive, a pupils' upload dump), so reading is
bounded the way uploads are (:func:`read_image_file`): a file larger than the uploads' limit
(:data:`viz.data.uploads.MAX_UPLOAD_BYTES`) is skipped from its size alone, and at most the limit
+ 1 byte is ever read. A symlink is followed only when its target resolves inside the input folder
(a link between two of its own sub-folders is harmless); one that leads out of it is skipped with a
reason, so the outputs never reveal statistics of files the folder's owner could not read.
Symlinked sub-folders are not descended into (``Path.rglob`` does not follow them).

Outputs in ``--out``: ``per_image.csv`` (one row per image and layer), ``summary.csv`` and
``summary.md`` (mean and population std over images, per layer), the summary also printed. Each is
written to a temporary file in ``--out`` and renamed into place, so a reader never sees half a file
and a symlink planted at an output's name is replaced, never written through. Text cells of the
CSVs that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR: file names
above all) are prefixed with ``'``; numbers are written as numbers.

The JSD of large maps is estimated from sampled pairs (see :mod:`viz.analysis.table1`: the exact
mean is O(N^2 N'), minutes at N = 4096). Every row says which method gave its JSD, with its 95 % interval;
the summary gives the layer mean's sampling interval, and ``--exact`` forces the exact JSD."""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from stat import S_ISREG

import pandas as pd
import torch
from PIL import Image

from viz.analysis.table1 import DEFAULT_MEMORY_BUDGET, DEFAULT_SAMPLE_PAIRS, record_statistics
from viz.attention import NL_KINDS
from viz.capture import capture
from viz.data.uploads import MAX_UPLOAD_BYTES, load_image
from viz.errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


STAT_COLUMNS = ("cos_input", "cos_output", "cos_att", "jsd_att")


# how each JSD was obtained: "exact" or "sampled", with its 95 % interval (lo = hi when exact)
JSD_COLUMNS = ("jsd_att_lo", "jsd_att_hi", "jsd_att_method")


COLUMNS = ("image", "layer", "kind", "N", *STAT_COLUMNS, *JSD_COLUMNS)


def find_images(folder: str | Path) -> list[Path]:
    """Image files under ``folder`` (recursive, by suffix, case-insensitive), sorted.

    Args:
        folder: directory to search.
    """
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def read_image_file(
    path: str | Path, root: str | Path | None = None, limit: int = MAX_UPLOAD_BYTES
) -> bytes:
    """The bytes of one image file, refused before they cost memory when the file is not fit to read.

    The size is taken from the open file (``fstat``) and a file over ``limit`` is refused unread; the
    read itself asks for at most ``limit`` + 1 bytes, so a file that grows after the check still
    costs no more than that. With ``root``, the file's resolved path must lie inside the resolved
    ``root``: a symlink out of the input folder is refused (links within it are followed).

    Args:
        path: the image file.
        root: the input folder it was found in (no containment check when None).
        limit: largest accepted size in bytes (the uploads' limit by default).

    Raises:
        ImageError: larger than ``limit``, outside ``root``, or not a regular file; the message says
            which (it becomes the skip reason).
        OSError: the file cannot be opened or read.
    """
    resolved = Path(path).resolve()
    if root is not None and not resolved.is_relative_to(Path(root).resolve()):
        raise ImageError(f"it is a symlink to {resolved}, outside the input folder; not read")
    # O_NOFOLLOW: the path was just resolved, so a link appearing at its last part is a swap
    fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not S_ISREG(info.st_mode):
            raise ImageError("not a regular file; not read")
        if info.st_size > limit:
            raise ImageError(
                f"the file is {info.st_size / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB"
            )
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ImageError(f"the file grew past the limit of {limit / 2**20:.0f} MB while read")
    return data


def _decode(data: bytes) -> Image.Image:
    return load_image(data)


class _ImageFiles(torch.utils.data.Dataset):
    """Path -> (path, (3, H, W) tensor or None, error message or None); runs in workers."""

    def __init__(self, paths: Sequence[Path], preprocess: Callable, root: Path | None = None):
        self.paths, self.preprocess, self.root = list(paths), preprocess, root

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        path = self.paths[i]
        try:
            image = _decode(read_image_file(path, self.root))
            x = self.preprocess(image)
            return str(path), x[0] if x.ndim == 4 else x, None
        except Exception as exc:  # ImageError, OSError, a preprocess failure: report and skip
            return str(path), None, str(exc) or type(exc).__name__


def _keep_list(items):
    return items


def _worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)  # decode/preprocess only; the forward pass uses the main process


def nl_layers_of(backbone) -> list[tuple[str, str]]:
    """(layer path, kind) of every Non-local block that emits during a forward pass, in order.

    Found by capturing one forward of a black image, i.e. by the same mechanism the statistics use.
    """

    x = backbone.preprocess(Image.new("RGB", (224, 224))).to(backbone.device)
    with torch.inference_mode(), capture(backbone.model) as records:
        backbone.model(x)
    return [(path, rec.kind) for path, rec in records.items() if rec.kind in NL_KINDS]


def batch_statistics(
    backbone,
    x: torch.Tensor,
    memory_budget: int | None = None,
    exact: bool | None = None,
    sample_pairs: int | None = None,
) -> list[list[dict]]:
    """Table-1 statistics of every Non-local block for each image of one batch.

    Args:
        backbone: a loaded ``viz.weights.Backbone``.
        x: (B, 3, H, W) preprocessed images.
        memory_budget: bytes for one JSD block (``viz.analysis.table1.DEFAULT_MEMORY_BUDGET`` when
            None).
        exact: True forces the exact JSD, False the sampled one, None chooses by size.
        sample_pairs: pairs per sampled JSD (``viz.analysis.table1.DEFAULT_SAMPLE_PAIRS`` when None).

    Returns:
        one list per image of dicts with ``layer``, ``kind``, ``N``, the four statistics, the
        ``JSD_COLUMNS`` and the rest of :func:`viz.analysis.table1.query_independence`'s keys.
    """

    budget = memory_budget or DEFAULT_MEMORY_BUDGET
    pairs = sample_pairs or DEFAULT_SAMPLE_PAIRS
    with torch.inference_mode(), capture(backbone.model) as records:
        backbone.model(x.to(backbone.device))
    rows: list[list[dict]] = [[] for _ in range(x.shape[0])]
    for layer, rec in records.items():
        if rec.kind not in NL_KINDS:
            continue
        n = int(rec.tensors["attention"].shape[1])
        for i in range(x.shape[0]):
            stats = record_statistics(rec, i, budget, exact=exact, sample_pairs=pairs)
            lo, hi = stats["jsd_att_ci"] or (None, None)
            rows[i].append(
                {"layer": layer, "kind": rec.kind, "N": n, **stats}
                | {"jsd_att_lo": lo, "jsd_att_hi": hi}
            )
    return rows


def compute_statistics(
    backbone,
    paths: Sequence[Path],
    workers: int = 2,
    batch_size: int = 8,
    root: Path | None = None,
    progress: bool = True,
    memory_budget: int | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    exact: bool | None = None,
    sample_pairs: int | None = None,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """Statistics of every Non-local block over ``paths``.

    Args:
        backbone: a loaded ``viz.weights.Backbone``.
        paths: image files.
        workers: DataLoader worker processes for decoding and preprocessing (0 = in-process).
        batch_size: images per DataLoader batch (a batch is forwarded in equal-shape groups).
        root: the input folder: paths are written relative to it in the ``image`` column, and a
            file that resolves outside it is skipped (see :func:`read_image_file`).
        progress: show a tqdm progress bar on stderr.
        memory_budget: bytes for one JSD block.
        on_skip: called with (path, reason) for each unreadable image.
        exact: True forces the exact JSD, False the sampled one, None chooses by size.
        sample_pairs: pairs per sampled JSD (``viz.analysis.table1.DEFAULT_SAMPLE_PAIRS`` when None).

    Returns:
        (rows with ``COLUMNS``, skipped (path, reason) pairs).
    """
    from tqdm import tqdm

    loader = torch.utils.data.DataLoader(
        _ImageFiles(paths, backbone.preprocess, root),
        batch_size=max(1, batch_size),
        num_workers=max(0, workers),
        collate_fn=_keep_list,
        worker_init_fn=_worker_init if workers > 0 else None,
    )
    rows: list[dict] = []
    skipped: list[tuple[str, str]] = []
    bar = tqdm(total=len(paths), unit="img", disable=not progress, file=sys.stderr)
    try:
        for items in loader:
            groups: dict[tuple[int, ...], list[tuple[str, torch.Tensor]]] = {}
            for path, x, error in items:
                if x is None:
                    skipped.append((path, error))
                    if on_skip is not None:
                        on_skip(path, error)
                    continue
                groups.setdefault(tuple(x.shape), []).append((path, x))
            for members in groups.values():
                batch = torch.stack([x for _, x in members])
                for (path, _), image_rows in zip(
                    members, batch_statistics(backbone, batch, memory_budget, exact, sample_pairs)
                ):
                    name = str(Path(path).relative_to(root)) if root else path
                    rows.extend({"image": name, **r} for r in image_rows)
            bar.update(len(items))
    finally:
        bar.close()
    return rows, skipped


def summarise(rows: Sequence[dict]) -> list[dict]:
    """Per layer (first-seen order): image count, N, and mean / population std of each statistic.

    Args:
        rows: per-image rows with ``COLUMNS``.

    Returns:
        dicts with ``layer``, ``kind``, ``images``, ``N`` (a range "a-b" when sizes differ), and
        ``<stat>_mean`` / ``<stat>_std`` (None when no image has the statistic, e.g. JSD of
        dot-product rows); ``jsd_att_method`` ("exact", "sampled", "mixed" or None) and
        ``jsd_att_ci_lo`` / ``jsd_att_ci_hi``, the 95 % interval of ``jsd_att_mean`` that the
        sampling alone leaves: mean +- 1.96 sqrt(sum_i SE_i^2) / images (equal to the mean when
        every image was exact; it says nothing of the spread between images, which ``_std`` is).
    """
    if not rows:
        return []
    frame = pd.DataFrame(list(rows))
    values = frame.reindex(columns=list(STAT_COLUMNS)).astype(float)  # None -> NaN, skipped
    grouped = values.groupby(frame["layer"], sort=False)
    means, stds = grouped.mean(), grouped.std(ddof=0)
    out = []
    for layer, part in frame.groupby("layer", sort=False):
        ns = sorted({int(n) for n in part["N"]})
        entry = {
            "layer": layer,
            "kind": part["kind"].iloc[0],
            "images": len(part),
            "N": str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}",
        }
        for stat in STAT_COLUMNS:
            missing = pd.isna(means.at[layer, stat])
            entry[f"{stat}_mean"] = None if missing else float(means.at[layer, stat])
            entry[f"{stat}_std"] = None if missing else float(stds.at[layer, stat])
        records = [
            {k: (None if _missing(v) else v) for k, v in r.items()} for r in part.to_dict("records")
        ]
        entry.update(_jsd_summary(records, entry["jsd_att_mean"]))
        out.append(entry)
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _jsd_summary(rows: Sequence[dict], mean: float | None) -> dict:
    with_jsd = [r for r in rows if r.get("jsd_att") is not None]
    if mean is None or not with_jsd:
        return {"jsd_att_method": None, "jsd_att_ci_lo": None, "jsd_att_ci_hi": None}
    methods = {r.get("jsd_att_method") or "exact" for r in with_jsd}
    se = math.sqrt(sum((r.get("jsd_att_se") or 0.0) ** 2 for r in with_jsd)) / len(with_jsd)
    return {
        "jsd_att_method": methods.pop() if len(methods) == 1 else "mixed",
        "jsd_att_ci_lo": max(0.0, mean - 1.959963984540054 * se),
        "jsd_att_ci_hi": mean + 1.959963984540054 * se,
    }


def jsd_method_text(entry: dict) -> str:
    """How a summary entry's JSD was obtained, for people: "exact" or "sampled, 95 % CI [a, b]".

    Args:
        entry: one dict of :func:`summarise`.
    """
    method = entry.get("jsd_att_method")
    if method is None:
        return "–"
    if method == "exact":
        return "exact"
    return f"{method}, 95 % CI [{entry['jsd_att_ci_lo']:.4g}, {entry['jsd_att_ci_hi']:.4g}]"


def _pm(mean: float | None, std: float | None) -> str:
    return "–" if mean is None else f"{mean:.3f} ± {std:.3f}"


def summary_markdown(summary: Sequence[dict], backbone: str = "", images: int | None = None) -> str:
    """The summary as a markdown table (mean ± population std over images).

    Args:
        summary: output of :func:`summarise`.
        backbone: name for the heading.
        images: number of images measured, for the heading.
    """
    head = "GCNet Table-1 statistics"
    if backbone:
        head += f" — {backbone}"
    if images is not None:
        head += f", {images} image{'s' if images != 1 else ''}"
    lines = [
        f"## {head}",
        "",
        "d = (1 − cos)/2 averaged over all N² ordered pairs of positions; JSD of attention rows "
        "(only for rows that are distributions); mean ± std over images.",
        "",
        "| layer | kind | N | images | input | output | att | JSD att | JSD method |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        cells = [_pm(s[f"{k}_mean"], s[f"{k}_std"]) for k in STAT_COLUMNS]
        cells.append(jsd_method_text(s))
        lines.append(
            f"| {s['layer']} | {s['kind']} | {s['N']} | {s['images']} | " + " | ".join(cells) + " |"
        )
    if any(s.get("jsd_att_method") in ("sampled", "mixed") for s in summary):
        lines += [
            "",
            "JSD method: sampled = estimated per image from random pairs of positions (the exact "
            "mean is O(N²·N')); the interval is the 95 % sampling interval of the layer mean, per "
            "image in per_image.csv; `--exact` computes every pair.",
        ]
    return "\n".join(lines) + "\n"


# first characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    if isinstance(v, str) and v.startswith(_FORMULA_STARTS):
        return "'" + v  # shown as text by spreadsheets; numbers never reach this branch
    return v


def _csv_text(columns: Sequence[str], records: Sequence[dict]) -> str:
    buffer = io.StringIO(newline="")
    w = csv.writer(buffer)
    w.writerow(columns)
    for r in records:
        w.writerow([_csv_value(r.get(c)) for c in columns])
    return buffer.getvalue()


def _write_replacing(path: Path, text: str) -> None:
    """Write ``text`` to a new temporary file beside ``path``, then rename it onto ``path``.

    The rename replaces whatever is at ``path`` (a symlink included: the link goes, its target is
    untouched) and readers see the old file or the whole new one, never a partial one.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # the mode a plain open() would give, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(
    rows: Sequence[dict], summary: Sequence[dict], out_dir: str | Path, markdown: str
) -> dict[str, Path]:
    """Write ``per_image.csv``, ``summary.csv``, ``summary.md`` into ``out_dir`` (created).

    Each file is written to a temporary file in ``out_dir`` and renamed into place (a symlink at an
    output's name is replaced, not followed); formula-like text cells are neutralised.

    Returns:
        dict name -> path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "per_image": out / "per_image.csv",
        "summary": out / "summary.csv",
        "markdown": out / "summary.md",
    }
    summary_cols = ["layer", "kind", "N", "images"] + [
        f"{s}_{m}" for s in STAT_COLUMNS for m in ("mean", "std")
    ]
    summary_cols += ["jsd_att_method", "jsd_att_ci_lo", "jsd_att_ci_hi"]
    _write_replacing(paths["per_image"], _csv_text(COLUMNS, rows))
    _write_replacing(paths["summary"], _csv_text(summary_cols, summary))
    _write_replacing(paths["markdown"], markdown)
    return paths
