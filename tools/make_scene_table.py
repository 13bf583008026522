"""Build viz/data/scene_table.json from by-eye stamp facts (a JSON file named on the command line).

The facts file lists, by eye, each stamp's class, the distractor photos, what each background
shows, and the licences. Why a checked-in table: the app and the trainer must not depend on a file
outside the repository, and the train/test split must be reviewable data, not code that could
drift. Run once after the facts change: ``python tools/make_scene_table.py FACTS.json``.

Regrouping (measured choices, see docs/zoo.md): plain class names; backgrounds that show an
object of a class (a bird, flowers, dogs, ...) are dropped (they would be unlabelled positives);
look-alikes (same stem up to digits, "_mirror", "-baby", the issue's named groups) share a split; about
a quarter of each class's groups, and of the distractors and backgrounds, are held out for testing.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

PLAIN_NAMES = {
    "bird": "bird",
    "fish": "fish or shellfish",
    "insect": "insect or small crawler",
    "ungulate": "hoofed mammal",
    "carnivore": "cat, dog or bear",
    "rodent": "rodent or rabbit",
    "fruit": "fruit",
    "vegetable": "vegetable or nut",
    "flower": "flower",
    "instrument": "musical instrument",
    "tool": "hand tool",
    "vehicle": "road vehicle",
}
# The facts file's look-alike groups, as stem patterns (plus the generic stem rule below).
NAMED_GROUPS = {
    r"^gnu": "gnu",
    r"^pig(_golden)?$": "pig",
    r"^apple": "apple",
    r"^lion": "lion",
    r"^tiger": "tiger",
    r"guineafowl": "guineafowl",
    r"gull$": "gull",
    r"^cow": "cow",
    r"^sheep": "sheep",
    r"^donkey": "donkey",
    r"^rabbit": "rabbit",
    r"^heron": "heron",
    r"penguin": "penguin",
    r"^walnut": "walnut",
    r"^garlic": "garlic",
    r"lettuce": "lettuce",
    r"^guitar": "guitar",
    r"^scissors": "scissors",
    r"^wrench": "wrench",
    r"^flower\d*$": "flower_numbered",
    r"orange": "orange",
    r"apricot": "apricot",
    r"strawberry": "strawberry",
    r"^(doe|deer|caribou|wapiti)$": "deer",
    r"^(camel|dromedary)$": "camel",
    r"^(bear|european-bear)$": "bear",
    r"^(hen|rooster|chicken_profile)$": "chicken",
    r"^(duck|drake|gander)$": "duck",
    r"pepper": "pepper",
}
TEST_SHARE = 0.25
# Classes of the facts file left out, with why; their stamps become distractors (non-class photos).
DROPPED_CLASSES = {
    "tree_plant": "trees, leaves and grass fill most photographic backgrounds (forests, meadows, "
    "palms): as a label the class is unlabelled-positive in nearly every scene",
}
# Backgrounds that show an object of a kept class, checked by eye on a contact sheet of all of
# them (the facts file's "shows" missed these). They would be unlabelled positives.
SHOWS_BY_EYE = {
    "/usr/share/backgrounds/mate/nature/Garden.jpg": "flower",
    "/usr/share/backgrounds/mate/nature/TwoWings.jpg": "flower",
    "/usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg": "flower",
    "/usr/share/backgrounds/Picture_0B_by_freespace.jpg": "fruit",
    "/usr/share/backgrounds/Picture_1A_by_freespace.jpg": "hand tool",
    "/usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg": "musical instrument",
    "/usr/share/tuxpaint/templates/corn_maze.jpg": "vegetable or nut",
}
# Real photographs of one class object (never used in training, dropped from the backgrounds):
# the trainer reports every model's top class on them (the zoo's real-photo check).
PHOTO_CHECKS = {
    "/usr/share/backgrounds/mate/nature/FreshFlower.jpg": "flower",
    "/usr/share/backgrounds/mate/nature/YellowFlower.jpg": "flower",
    "/usr/share/backgrounds/mate/nature/Garden.jpg": "flower",
    "/usr/share/backgrounds/mate/nature/LadyBird.jpg": "insect or small crawler",
    "/usr/share/backgrounds/Dragonfly_by_Bolly.jpg": "insect or small crawler",
    "/usr/share/palapeli/collection/european-honey-bee.jpg": "insect or small crawler",
    "/usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg": "cat, dog or bear",
    "/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg": "bird",
    "/usr/share/tuxpaint/templates/sheep.jpg": "hoofed mammal",
    "/usr/share/palapeli/collection/citrus-fruits.jpg": "fruit",
    "/usr/share/backgrounds/Picture_0B_by_freespace.jpg": "fruit",
}


def group_of(path: str) -> str:
    stem = Path(path).stem.lower()
    stem = re.sub(r"(_mirror|[-_]?\d+[a-z]?)$", "", stem)
    for pattern, name in NAMED_GROUPS.items():
        if re.search(pattern, stem):
            return name
    return stem


def _rank(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


def split_groups(paths: list[str], share: float = TEST_SHARE, min_test: int = 1) -> dict[str, str]:
    """path -> "train"/"test"; whole groups go one way, about ``share`` of the paths held out."""
    groups: dict[str, list[str]] = {}
    for p in paths:
        groups.setdefault(group_of(p), []).append(p)
    order = sorted(groups, key=_rank)
    target = max(min_test, round(share * len(paths)))
    split, held = {}, 0
    for g in order:
        side = "test" if held < target and held + len(groups[g]) <= max(target, 1) + 1 else "train"
        if side == "test":
            held += len(groups[g])
        for p in groups[g]:
            split[p] = side
    if held == 0 or held == len(paths):
        raise ValueError(f"cannot split {paths[:3]}...")
    return split


def build(facts: dict) -> dict:
    seen: set[str] = set()
    classes, stamps = [], []
    dropped_stamps: list[str] = []
    for key, paths in facts["classes"].items():
        if key in DROPPED_CLASSES:
            dropped_stamps += paths
            continue
        name = PLAIN_NAMES[key]
        classes.append(name)
        paths = [p for p in paths if p not in seen]  # a stamp in two classes keeps its first
        seen.update(paths)
        for p, side in sorted(split_groups(paths).items()):
            stamps.append({"path": p, "class": name, "split": side, "group": group_of(p)})
    distractors = [
        p for p in dict.fromkeys([*facts["distractor_photos"], *dropped_stamps]) if p not in seen
    ]
    dsplit = split_groups(distractors)
    shows = {b["file"]: b["shows"] for b in facts["backgrounds"] if b.get("shows")}
    shows.update(SHOWS_BY_EYE)
    backgrounds = [b for b in facts["backgrounds"] if b["file"] not in shows]
    bsplit = split_groups([b["file"] for b in backgrounds], min_test=8)
    return {
        "about": __doc__.split("\n\n")[0],
        "made_by": "python tools/make_scene_table.py FACTS.json",
        "stamps_root": "/usr/share/tuxpaint/stamps",
        "classes": classes,
        "stamps": stamps,
        "distractors": [{"path": p, "split": dsplit[p]} for p in sorted(distractors)],
        "backgrounds": [
            {"file": b["file"], "package": b["package"], "split": bsplit[b["file"]]}
            for b in backgrounds
        ],
        "dropped_backgrounds": [{"file": f, "shows": what} for f, what in shows.items()],
        "dropped_classes": DROPPED_CLASSES,
        "photo_checks": [{"file": f, "class": c} for f, c in PHOTO_CHECKS.items()],
        "licences": facts["licences"],
    }


if __name__ == "__main__":
    facts = json.loads(Path(sys.argv[1]).read_text())
    table = build(facts)
    out = Path(__file__).resolve().parents[1] / "viz" / "data" / "scene_table.json"
    out.write_text(json.dumps(table, indent=1) + "\n")
    for name in table["classes"]:
        rows = [s for s in table["stamps"] if s["class"] == name]
        test = [s for s in rows if s["split"] == "test"]
        print(f"{name:24s} {len(rows) - len(test):3d} train {len(test):3d} test")
    for key in ("distractors", "backgrounds"):
        rows = table[key]
        print(
            key,
            sum(r["split"] == "train" for r in rows),
            "train",
            sum(r["split"] == "test" for r in rows),
            "test",
        )
