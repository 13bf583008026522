"""Forward with every attention captured vs the bare ``model(x)``; goal <= 1.10x.

Models: the zoo Non-local model (untrained head/attention if its checkpoint is missing: timing does not
depend on weight values) and timm gcresnet33ts / seresnet33ts (pretrained=False, adapters installed),
at 224 and 512 px, batch 1, ``torch.inference_mode``, CPU, 2 torch threads.

Run: ``python bench/capture_overhead.py [--repeat N]``
"""

from __future__ import annotations

import argparse

import torch
from common import goal, header, paired_samples, ratios, setup_threads, zoo_backbone

GOAL = 1.10


def models():
    import timm

    bb, trained = zoo_backbone("nl_embedded_gaussian")
    yield f"zoo/nl_embedded_gaussian ({'trained' if trained else 'untrained head'})", bb.model
    for name in ("gcresnet33ts", "seresnet33ts"):
        yield f"timm {name} (pretrained=False)", timm.create_model(name, pretrained=False).eval()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--sizes", type=int, nargs="+", default=[224, 512])
    args = p.parse_args()
    setup_threads()
    from viz.capture import capture, install_adapters

    header("capture overhead: forward with capture / bare forward (goal <= 1.10x)")
    print(
        "| model | px | records | bare ms (min) | captured ms (min) | ratio median | ratio min | goal |"
    )
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for label, model in models():
        install_adapters(model)  # installed once per model in the app too
        for size in args.sizes:
            x = torch.randn(1, 3, size, size)
            n_records = 0

            def bare(model=model, x=x):
                with torch.inference_mode():
                    model(x)

            def captured(model=model, x=x):
                nonlocal n_records
                with torch.inference_mode(), capture(model) as records:
                    model(x)
                n_records = len(records)

            tb, tc = paired_samples(bare, captured, repeat=args.repeat)
            r_med, r_min = ratios(tb, tc)
            worst = max(worst, r_min)
            print(
                f"| {label} | {size} | {n_records} | {min(tb) * 1e3:.1f} | {min(tc) * 1e3:.1f} | "
                f"{r_med:.3f}x | {r_min:.3f}x | {goal(r_min, GOAL)} |",
                flush=True,
            )
    print(f"\nworst min-ratio {worst:.3f}x (goal <= {GOAL}x): {goal(worst, GOAL)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
