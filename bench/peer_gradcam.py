"""captum LayerGradCam on the same model and image, as a ratio to our captured forward pass.

Both sides on the zoo Non-local model (untrained head/attention if the checkpoint is missing: timing
does not depend on weight values): ``viz.attribution.attribute(methods=("gradcam",))`` (a private
replica of the model + forward + backward) vs ``with capture(model): model(x)``; also captum's
LayerGradCam directly on the model (no replica), to show what the replica costs.

Run: ``python bench/peer_gradcam.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import statistics

import torch
from common import header, paired_samples, sample_image_bytes, setup_threads, zoo_backbone


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()
    setup_threads()
    from captum.attr import LayerGradCam

    from viz.analysis.attribution import attribute, gradcam_layer
    from viz.capture import capture
    from viz.data.uploads import load_image

    header("Grad-CAM (captum) vs our capture, same model and image")
    data, what = sample_image_bytes()
    bb, trained = zoo_backbone("nl_embedded_gaussian")
    print(f"model {bb.name} ({'trained' if trained else 'checkpoint missing'}); {what}")
    image = load_image(data)
    x = bb.preprocess(image)
    layer_path = gradcam_layer(bb)

    def ours():
        with torch.inference_mode(), capture(bb.model):
            bb.model(x)

    def gradcam_attribute():
        attribute(bb, image, target=0, methods=("gradcam",))

    def gradcam_direct():
        layer = bb.model.get_submodule(layer_path)
        LayerGradCam(bb.model, layer).attribute(x, target=0, relu_attributions=True)

    for label, fn in (
        ("viz.attribution.attribute(gradcam)", gradcam_attribute),
        ("captum LayerGradCam on the model", gradcam_direct),
    ):
        t_cap, t_gc = paired_samples(ours, fn, repeat=args.repeat)
        print(
            f"{label} (layer {layer_path}): median {statistics.median(t_gc) * 1e3:.1f} ms vs "
            f"capture {statistics.median(t_cap) * 1e3:.1f} ms -> "
            f"{statistics.median(t_gc) / statistics.median(t_cap):.2f}x "
            f"(min/min {min(t_gc) / min(t_cap):.2f}x)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
