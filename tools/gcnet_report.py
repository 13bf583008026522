"""Print the GCNet-recipe tables of docs/zoo.md from weights/gcnet/manifest.json (the docs never
retype numbers): the family, the ablation cell by cell, and each run's curve of att.

``python tools/gcnet_report.py [MANIFEST]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from viz.analysis.query_reading import reading_of_stats  # noqa: E402


def f(v, digits=3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _cells(manifest: dict) -> list[dict]:
    order = {"short": 0, "long": 1}
    return sorted(
        manifest.get("cells", {}).values(),
        key=lambda c: (
            c["factors"]["kind"],
            order[c["factors"]["schedule"]],
            c["factors"]["optimiser"],
            c["factors"]["input"],
            c["factors"]["init"],
            c["factors"]["scale"],
            c["factors"]["seed"],
        ),
    )


def report(manifest: dict) -> str:
    out = [
        "| form | schedule | optimiser | input | init | scale | seed | held-out att | input "
        "| peak/unif. | entropy | unary share | mAP | reading (held-out) | photos att | photos "
        "peak | reading (photos) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in _cells(manifest):
        fa, fin = cell["factors"], cell["final"]
        t, p = fin["table1"], fin.get("photos_table1")
        r = reading_of_stats(t)
        rp = reading_of_stats(p) if p else None
        out.append(
            f"| {fa['kind'].removeprefix('nl_')} | {fa['schedule']} ({cell['steps']}) "
            f"| {fa['optimiser']} | {fa['input']} | {fa['init']} | {fa['scale']} | {fa['seed']} "
            f"| {f(t['att'])} | {f(t['input'])} | {f(t['peak'], 1)} | {f(t['entropy'], 2)} "
            f"| {f(t.get('unary_share'), 2)} | {f(fin['heldout_mAP'])} | {r.outcome} "
            f"| {f(p['att']) if p else '–'} | {f(p['peak'], 1) if p else '–'} "
            f"| {rp.outcome if rp else '–'} |"
        )
    out += [
        "",
        "Closest approach to GCNet's pattern during training (held-out scenes): the epoch of lowest "
        "att among the epochs whose mean row has structure (peak >= 3x uniform) and whose inputs "
        "differ (input >= 0.25):",
        "",
        "| cell | epoch | att | peak/unif. | entropy | reading |",
        "|---|---|---|---|---|---|",
    ]
    for cell in _cells(manifest):
        ok = [
            row
            for row in cell["curve"][1:]
            if row["table1"]["peak"] >= 3.0 and row["table1"]["input"] >= 0.25
        ]
        if not ok:
            out.append(f"| `{cell['name']}` | – | – | – | – | no epoch with structure |")
            continue
        best = min(ok, key=lambda row: row["table1"]["att"])
        t = best["table1"]
        out.append(
            f"| `{cell['name']}` | {best['epoch']} | {f(t['att'])} | {f(t['peak'], 1)} "
            f"| {f(t['entropy'], 2)} | {reading_of_stats(t).outcome} |"
        )
    out += ["", "att on held-out scenes after each epoch (epoch 0 = init):", ""]
    for cell in _cells(manifest):
        if cell["factors"]["schedule"] != "long":
            continue
        curve = " → ".join(f(row["table1"]["att"]) for row in cell["curve"])
        loss = " → ".join(f(row["heldout_loss"]) for row in cell["curve"])
        out.append(f"- `{cell['name']}`: att {curve}; held-out loss {loss}")
    return "\n".join(out)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "weights" / "gcnet" / "manifest.json"
    print(report(json.loads(path.read_text())))
