"""Train the offline zoo on real-object scenes: every kind, the baseline and the NL variants, together.

Recipe (one :class:`Recipe`, written into the manifest): each step renders a fresh batch of scenes
(:mod:`viz.data.scenes`), runs the frozen Lite0 trunk on it *once* and trains every model on those same
features (their projection, attention block and head), so every kind sees the same data in the same
order with the same schedule. The four NL forms are trained with a second init seed, and once more
on a small fixed pool of scenes (the memorisation regime), for the same number of steps.
After every epoch: held-out loss and mAP for every model; Table-1 statistics, the entropy guard and
the DNL split for every NL model on ``table1_scenes`` held-out scenes (also at init, epoch 0).

Commands::

    python -m viz train --all                 # the whole zoo into weights/ (about 2 h on 2 cores)
    python -m viz train --all --out runs/zoo  # elsewhere (weights/ untouched)
    python -m viz train --smoke --out DIR     # seconds, a few tiny scenes (tests use it)
    python -m viz train --gcnet               # the GCNet-recipe family + the ablation (resumes)
    python -m viz train --gcnet --smoke --out DIR"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from viz.cli.photos import real_photos
from viz.cli.recipe import Recipe, plan_runs
from viz.cli.zoo_trainer import train_zoo
from viz.data.scenes import SceneSources
from viz.errors import SceneDataMissing
from viz.models.zoo import ZOO_KINDS
from viz.weights.sources.zoo import WEIGHTS_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m viz train",
        description=__doc__.split("\n")[0],
        epilog=__doc__[__doc__.index("Commands::") :].replace("::", ":"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kind", action="append", choices=ZOO_KINDS, help="kind to make")
    parser.add_argument(
        "--all", action="store_true", help="every kind, the baseline and NL variants"
    )
    parser.add_argument(
        "--no-variants", action="store_true", help="skip NL second seed and pool runs"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny scenes, 1 epoch, seconds")
    parser.add_argument("--out", type=Path, default=None, help="output dir (default weights/)")
    parser.add_argument("--scene-table", type=Path, default=None, help="scene table JSON")
    parser.add_argument("--stamps-root", type=Path, default=None, help="where the stamps live")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--scenes-per-epoch", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="main-process threads")
    parser.add_argument(
        "--gcnet",
        action="store_true",
        help="the GCNet-recipe NL family and the ablation, on cached trunk features "
        "(viz.cli.long_training); resumes where it stopped",
    )
    parser.add_argument(
        "--cells", choices=("all", "family", "ablation"), default="all", help="with --gcnet"
    )
    parser.add_argument("--workers", type=int, default=2, help="with --gcnet: processes")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="with --gcnet: the feature cache folder (default ~/.cache/vae-features; ~5.5 GB)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = Recipe()
    if args.smoke:
        if args.out is None:
            parser.error("--smoke needs --out DIR (it never overwrites weights/)")
        recipe = Recipe(
            size=64,
            epochs=1,
            scenes_per_epoch=8,
            batch=4,
            n_test=8,
            table1_scenes=4,
            pool=4,
            workers=0,
        )
    if args.epochs is not None:
        recipe.epochs = args.epochs
    if args.scenes_per_epoch is not None:
        recipe.scenes_per_epoch = args.scenes_per_epoch
    if args.gcnet:
        return _gcnet(args, parser)
    kinds = list(ZOO_KINDS) if args.all else (args.kind or [])
    if not kinds and args.smoke:
        kinds = ["baseline", "se", "nl_embedded_gaussian"]
    if not kinds:
        parser.error("say what to train: --all or --kind KIND")
    kinds = sorted(set(kinds), key=ZOO_KINDS.index)
    sources = _scene_sources(args)
    if sources is None:
        return 2
    table, train_sources, test_sources = sources
    runs = plan_runs(kinds, recipe, variants=not args.no_variants)
    photos = [] if args.smoke else real_photos(table)
    train_zoo(runs, recipe, args.out or WEIGHTS_DIR, train_sources, test_sources, photos=photos)
    return 0


def _scene_sources(args):
    """(the scene table or None for the shipped one, train sources, test sources); None after
    printing which Debian packages are missing."""
    table = json.loads(args.scene_table.read_text()) if args.scene_table else None
    try:
        train = SceneSources.from_table("train", table, args.stamps_root)
        test = SceneSources.from_table("test", table, args.stamps_root)
    except SceneDataMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return table, train, test


def _gcnet(args, parser) -> int:
    from viz.cli.long_training import GCNET_DIR_NAME, train_gcnet

    if args.smoke and args.out is None:
        parser.error("--smoke needs --out DIR (it never overwrites weights/)")
    out = args.out or WEIGHTS_DIR / GCNET_DIR_NAME
    cache = args.cache or (out / "cache" if args.smoke else DEFAULT_FEATURE_CACHE)
    sources = _scene_sources(args)
    if sources is None:
        return 2
    table, train_sources, test_sources = sources
    train_gcnet(
        out,
        cache,
        cache / "runs",
        train_sources,
        test_sources,
        photos=[] if args.smoke else real_photos(table),
        workers=args.workers,
        smoke=args.smoke,
        size=64 if args.smoke else 224,
        only=args.cells,
    )
    return 0


DEFAULT_FEATURE_CACHE = Path.home() / ".cache" / "vae-features"


if __name__ == "__main__":
    raise SystemExit(main())
