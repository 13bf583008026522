"""Scene tables the tests write themselves: tiny coloured stamps and noise backgrounds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def write_scene_table(root: Path) -> dict:
    """Three classes of disc/square stamps, one distractor shape, two backgrounds per split."""
    stamps, distractors, backgrounds = [], [], []
    for split in ("train", "test"):
        for name, colour in COLOURS.items():
            for j in range(2):
                im = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
                ImageDraw.Draw(im).ellipse((2, 2, 37 - 4 * j, 27), fill=(*colour, 255))
                path = root / "stamps" / split / f"{name}{j}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                im.save(path)
                stamps.append({"path": f"{split}/{name}{j}.png", "class": name, "split": split})
        im = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
        ImageDraw.Draw(im).rectangle((3, 3, 26, 26), fill=(250, 250, 0, 255))
        im.save(root / "stamps" / split / "distractor.png")
        distractors.append({"path": f"{split}/distractor.png", "split": split})
        for j in range(2):
            bg = Image.fromarray(
                np.random.default_rng(j + (split == "test")).integers(
                    60, 120, (90, 120, 3), np.uint8
                )
            )
            path = root / "bg" / f"{split}{j}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            bg.save(path)
            backgrounds.append({"file": str(path), "package": "test", "split": split})
    table = {
        "stamps_root": str(root / "stamps"),
        "classes": list(COLOURS),
        "stamps": stamps,
        "distractors": distractors,
        "backgrounds": backgrounds,
    }
    (root / "table.json").write_text(json.dumps(table))
    return table
