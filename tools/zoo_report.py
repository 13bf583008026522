"""Print the README's zoo tables from weights/manifest.json (so the README never retypes numbers).

``python tools/zoo_report.py [MANIFEST]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FORMS = ("nl_gaussian", "nl_embedded_gaussian", "nl_dot_product", "nl_concatenation")
PAPER = {  # GCNet Table 1, COCO: input, output, att
    "nl_gaussian": (0.397, 0.062, 0.177),
    "nl_embedded_gaussian": (0.402, 0.012, 0.020),
    "nl_dot_product": (0.405, 0.020, 0.015),
    "nl_concatenation": (0.393, 0.003, 0.004),
}


def f(v, digits=3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def report(manifest: dict) -> str:
    ck = manifest["checkpoints"]
    base = ck["baseline"]["mAP"]
    out = [
        "| kind | held-out mAP | vs baseline | seeds | empty-scene top score | real photos right |",
        "|---|---|---|---|---|---|",
    ]
    order = ["baseline", "se", "eca", "gsop", "cbam", "bam", "a2", "gc", *FORMS]
    for kind in order:
        e = ck.get(kind)
        if not e:
            continue
        seeds = manifest.get("nl_seeds", {}).get(kind)
        spread = (
            f"{seeds['mAP_mean']:.3f} ± {seeds['mAP_spread'] / 2:.3f} (2 seeds)" if seeds else "1"
        )
        delta = "—" if kind == "baseline" else f"{e['mAP'] - base:+.3f}"
        photos = e.get("photo_checks", [])
        right = f"{e.get('photo_hits', 0)} / {len(photos)}" if photos else "–"
        out.append(
            f"| {kind} | {e['mAP']:.3f} | {delta} | {spread} | {f(e['empty_scene_top_score'])} "
            f"| {right} |"
        )
    out += [
        "",
        "| form | run | input | output | att | JSD | entropy | unary share | unary dist. | GCNet COCO in/out/att |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for form in FORMS:
        for name, label in (
            (form, "init"),
            (form, "trained"),
            (f"{form}@seed1", "trained, seed 1"),
            (f"{form}@pool", "trained, fixed pool"),
        ):
            e = ck.get(name)
            if not e:
                continue
            t = e["table1_init"] if label == "init" else e["table1"]
            paper = "/".join(f"{v:.3f}" for v in PAPER[form]) if label == "trained" else ""
            out.append(
                f"| {form.removeprefix('nl_')} | {label} (epoch {t['epoch']}) | {f(t['input'])} | {f(t.get('output'))} | "
                f"{f(t['att'])} | {f(t.get('jsd'))} | {f(t['entropy'], 2)} | {f(t.get('unary_share'), 2)} | "
                f"{f(t.get('unary_distance'))} | {paper} |"
            )
    out += [
        "",
        "| photo | class | kinds naming it first | most common other answer |",
        "|---|---|---|---|",
    ]
    names = [n for n in order if n in ck]
    for i, row in enumerate(ck["baseline"].get("photo_checks", [])):
        tops = [ck[n]["photo_checks"][i]["top"] for n in names]
        wrong = [t for t in tops if t != row["class"]]
        other = max(set(wrong), key=wrong.count) if wrong else "–"
        short = row["photo"].rsplit("/", 1)[-1]
        out.append(
            f"| {short} | {row['class']} | {tops.count(row['class'])} / {len(tops)} | {other} |"
        )
    p = manifest.get("progress", {})
    out += [
        "",
        f"epochs {p.get('epochs_completed')}/{p.get('epochs_planned')}, total {p.get('total_seconds')} s",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    path = Path(
        sys.argv[1]
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[1] / "weights" / "manifest.json"
    )
    print(report(json.loads(path.read_text())))
