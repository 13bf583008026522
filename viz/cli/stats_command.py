"""The ``python -m viz stats`` command (console script ``vae stats``): its flags, their checks
and what it prints; the statistics themselves are computed by :mod:`viz.analysis.folder`.

``python -m viz stats IMAGE_DIR --backbone NAME --out DIR`` writes Table-1 statistics for every
Non-local block over every image of a folder as CSV and Markdown.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from viz.analysis.folder import (
    IMAGE_SUFFIXES,
    compute_statistics,
    find_images,
    nl_layers_of,
    summarise,
    summary_markdown,
    write_outputs,
)
from viz.analysis.table1 import DEFAULT_SAMPLE_PAIRS, EXACT_MAX_WORK
from viz.errors import UsageError, WeightsUnavailable
from viz.weights.registry import backbone_info, list_backbones, load_backbone


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m viz stats",
        description=(
            "GCNet Table-1 statistics (mean distance between positions of Non-local inputs,\n"
            "outputs and attention maps, and the JSD of attention rows) for every Non-local\n"
            "block of a backbone, over every image of a folder."
        ),
        epilog="example:\n"
        "  python -m viz stats photos/ --backbone zoo/nl_embedded_gaussian --out results/\n\n"
        "Files over the uploads' size limit and symlinks that lead out of IMAGE_DIR are skipped\n"
        "(and named); CSV text cells that a spreadsheet would run as a formula get a leading '.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image_dir", metavar="IMAGE_DIR", help="folder of images (searched recursively)")
    p.add_argument("--backbone", required=True, help="registry name, e.g. zoo/nl_embedded_gaussian")
    p.add_argument("--out", default=None, help="output folder (default: ./stats_<backbone>)")
    p.add_argument("--workers", type=int, default=2, help="decoding workers (0 = in-process)")
    p.add_argument("--batch-size", type=int, default=8, help="images per forward pass")
    p.add_argument("--device", default=None, help="torch device (default: CUDA if present)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    method = p.add_mutually_exclusive_group()
    method.add_argument(
        "--exact",
        action="store_true",
        help="exact JSD over every pair of positions (O(N²·N'): minutes per image at N = 4096); "
        "default: exact for small maps, sampled pairs with a 95%% interval for large ones",
    )
    method.add_argument(
        "--sampled", action="store_true", help="sampled JSD estimate even for small maps"
    )
    p.add_argument(
        "--sample-pairs",
        type=int,
        default=None,
        help="pairs of positions per sampled JSD (default 20000)",
    )
    return p


def _run(args: argparse.Namespace) -> int:

    if args.workers < 0 or args.batch_size < 1:
        raise UsageError("--workers must be >= 0 and --batch-size >= 1")
    if args.sample_pairs is not None and args.sample_pairs < 2:
        raise UsageError("--sample-pairs must be >= 2")
    try:
        backbone_info(args.backbone)
    except KeyError:
        known = ", ".join(list_backbones()) or "none"
        raise UsageError(f"unknown backbone {args.backbone!r}; known: {known}") from None
    root = Path(args.image_dir)
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder")
    paths = find_images(root)
    if not paths:
        raise UsageError(
            f"no images in {root} (looked recursively for {', '.join(IMAGE_SUFFIXES)})"
        )
    try:
        backbone = load_backbone(args.backbone, args.device)
    except WeightsUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a builder's own failure (missing package, bad device, ...)
        print(f"error: cannot load {args.backbone}: {exc}", file=sys.stderr)
        return 1
    layers = nl_layers_of(backbone)
    if not layers:
        kinds = ", ".join(backbone.meta.kinds) or "none"
        raise UsageError(
            f"{args.backbone} has no Non-local block (attention: {kinds}); "
            "choose a backbone with nl_* attention, e.g. zoo/nl_embedded_gaussian"
        )

    def report(path: str, reason: str) -> None:
        from tqdm import tqdm

        tqdm.write(f"skipped {path}: {reason}", file=sys.stderr)

    print(
        f"{len(paths)} images, {len(layers)} Non-local block(s): "
        + ", ".join(f"{p} ({k})" for p, k in layers),
        file=sys.stderr,
    )
    exact = True if args.exact else False if args.sampled else None
    pairs = args.sample_pairs or DEFAULT_SAMPLE_PAIRS
    if exact:
        plan = "exact over every pair of positions (--exact)"
    elif exact is False:
        plan = f"sampled, {pairs} pairs per image with a 95 % interval (--sampled)"
    else:
        plan = (
            f"exact when N(N-1)/2·N' <= {EXACT_MAX_WORK:.2g}, else sampled ({pairs} pairs per "
            "image, 95 % interval); --exact forces exact"
        )
    print(f"JSD: {plan}", file=sys.stderr)
    rows, skipped = compute_statistics(
        backbone,
        paths,
        workers=args.workers,
        batch_size=args.batch_size,
        root=root,
        progress=not args.no_progress,
        on_skip=report,
        exact=exact,
        sample_pairs=pairs,
    )
    measured = len(paths) - len(skipped)
    if measured == 0:
        print(f"error: none of the {len(paths)} image files could be read", file=sys.stderr)
        return 1
    summary = summarise(rows)
    markdown = summary_markdown(summary, args.backbone, measured)
    out = Path(args.out) if args.out else Path(f"stats_{args.backbone.replace('/', '_')}")
    try:
        written = write_outputs(rows, summary, out, markdown)
    except OSError as exc:
        print(markdown)
        print(f"error: cannot write the results to {out}: {exc}", file=sys.stderr)
        return 1
    print(markdown)
    if skipped:
        print(f"{len(skipped)} unreadable file(s) skipped (listed above).")
    print("written: " + ", ".join(str(p) for p in written.values()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 nothing measurable, 2 bad input).

    Args:
        argv: arguments without the program name (``sys.argv[1:]`` when None).
    """
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
