"""Build viz/data/scene_table.json from the by-eye stamp facts (shared/data/real_object_stamps.json).

Why a checked-in table: the app and the trainer must not depend on a file outside the repository,
and the train/test split must be reviewable data, not code that could drift. Run once after the
facts change: ``python tools/make_scene_table.py ../shared/data/real_object_stamps.json``.

Regrouping (measured choices, see README "Zoo data"): plain class names; backgrounds that show an
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
    "tree_plant": "tree or plant",
    "instrument": "musical instrument",
    "tool": "hand tool",
    "vehicle": "road vehicle",
}
# The facts file's look-alike groups, as stem patterns (plus the generic stem rule below).
NAMED_GROUPS = {
    r"^gnu": "gnu",
    r"^pig": "pig",
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
    for key, paths in facts["classes"].items():
        name = PLAIN_NAMES[key]
        classes.append(name)
        paths = [p for p in paths if p not in seen]  # a stamp in two classes keeps its first
        seen.update(paths)
        for p, side in sorted(split_groups(paths).items()):
            stamps.append({"path": p, "class": name, "split": side, "group": group_of(p)})
    distractors = [p for p in facts["distractor_photos"] if p not in seen]
    dsplit = split_groups(distractors)
    backgrounds = [b for b in facts["backgrounds"] if not b.get("shows")]
    bsplit = split_groups([b["file"] for b in backgrounds], min_test=8)
    return {
        "about": __doc__.split("\n\n")[0],
        "made_by": "python tools/make_scene_table.py shared/data/real_object_stamps.json",
        "stamps_root": "/usr/share/tuxpaint/stamps",
        "classes": classes,
        "stamps": stamps,
        "distractors": [{"path": p, "split": dsplit[p]} for p in sorted(distractors)],
        "backgrounds": [
            {"file": b["file"], "package": b["package"], "split": bsplit[b["file"]]}
            for b in backgrounds
        ],
        "dropped_backgrounds": [
            {"file": b["file"], "shows": b["shows"]} for b in facts["backgrounds"] if b.get("shows")
        ],
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
