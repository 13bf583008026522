"""Real-photo checks written into the manifest: the shipped sample photos of covered classes, and
whether each zoo model names them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from viz.data.samples import list_samples, load_sample
from viz.data.scenes import _table
from viz.data.uploads import load_image
from viz.models.zoo import ZooNet, build_trunk
from viz.weights.transforms import normalise, resize_center_crop


def photo_features(
    photos: list[tuple[str, str]], size: int, trunk: torch.nn.Module | None = None
) -> torch.Tensor | None:
    """Trunk features of the real photo checks (shorter side + centre crop, as uploads), from the
    same trunk the models train on (the default Lite0 trunk when ``trunk`` is None)."""
    if not photos:
        return None
    trunk = (trunk or build_trunk()).eval()
    images = [
        load_sample(f) if f in WHEEL_PHOTOS else load_image(Path(f).read_bytes()) for f, _ in photos
    ]
    with torch.no_grad():
        return torch.cat([trunk(normalise(resize_center_crop(im, size))) for im in images])


@torch.no_grad()
def photo_checks(model: ZooNet, feats, photos: list[tuple[str, str]], classes) -> list[dict]:
    """Each real photo's expected class, the model's top class and its score."""
    if feats is None:
        return []
    model.eval()
    scores = torch.sigmoid(model(feats))
    out = []
    for (file, want), row in zip(photos, scores):
        top = int(row.argmax())
        out.append(
            {
                "photo": file,
                "class": want,
                "top": classes[top],
                "top_score": round(float(row[top]), 4),
                "class_score": round(float(row[classes.index(want)]), 4),
            }
        )
    return out


def real_photos(table: dict | None) -> list[tuple[str, str]]:
    """The scene table's photo checks that are installed, plus the photos shipped in wheels."""

    table = table or _table()
    photos = [(p["file"], p["class"]) for p in table.get("photo_checks", [])]
    photos = [(f, c) for f, c in photos if Path(f).is_file() and c in table["classes"]]
    for name, cls in WHEEL_PHOTOS.items():
        if name in list_samples() and cls in table["classes"]:
            photos.append((name, cls))
    return photos


# photos inside installed wheels (viz.samples) that show one zoo class
WHEEL_PHOTOS = {
    "skimage/chelsea": "cat, dog or bear",
    "sklearn/flower": "flower",
    "skimage/motorcycle": "road vehicle",
}
