"""viz.attribution: captum maps on a tiny backbone; the shared model is left exactly as it was."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from viz.analysis.attribution import (
    attribute,
    default_target,
    gradcam_layer,
    map_correlation,
)
from viz.analysis.numpy_stats import resize_bilinear
from viz.attention import create_attention
from viz.capture import capture
from viz.weights.spec import Backbone


def _tiny_backbone(size: int = 32, gradcam: str | None = "features.2") -> Backbone:
    torch.manual_seed(0)
    model = nn.Sequential()
    model.features = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        create_attention("nl_embedded_gaussian", 8),
    )
    model.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    model.eval()

    def prepare(image: Image.Image) -> Image.Image:
        return image.convert("RGB").resize((size, size))

    def preprocess(image: Image.Image) -> torch.Tensor:
        arr = np.asarray(prepare(image), dtype=np.float32) / 255.0 - 0.5
        return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous()

    meta = {"gradcam_layer": gradcam} if gradcam else {}
    return Backbone("test/tiny", model, preprocess, meta, torch.device("cpu"), prepare)


def _image(seed: int = 0, size=(40, 30)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _hook_state(model: nn.Module):
    return [
        (
            name,
            len(m._forward_hooks),
            len(m._forward_pre_hooks),
            len(m._backward_hooks),
            len(getattr(m, "_backward_pre_hooks", {})),
        )
        for name, m in model.named_modules()
    ]


def test_maps_shape_range_and_geometry():
    bb = _tiny_backbone()
    maps = attribute(bb, _image(), steps=4)
    assert set(maps) == {"gradcam", "integrated_gradients"}
    prepared = bb.prepare(_image())
    assert maps["integrated_gradients"].shape == (prepared.size[1], prepared.size[0])
    assert maps["gradcam"].shape == (8, 8)  # layer resolution: 32 px / stride 4
    for m in maps.values():
        assert m.dtype == np.float32
        assert m.min() >= 0.0 and m.max() <= 1.0
    assert maps["integrated_gradients"].max() == pytest.approx(1.0)


def test_default_target_is_the_top_logit_and_is_used():
    bb = _tiny_backbone()
    img = _image(1)
    with torch.no_grad():
        top = int(bb.model(bb.preprocess(img)).argmax())
    assert default_target(bb, img) == top
    implicit = attribute(bb, img, steps=4)
    explicit = attribute(bb, img, target=top, steps=4)
    other = attribute(bb, img, target=(top + 1) % 5, steps=4)
    for k in implicit:
        np.testing.assert_allclose(implicit[k], explicit[k], atol=1e-6)
    assert not np.allclose(implicit["integrated_gradients"], other["integrated_gradients"])


def test_methods_subset_and_unknown_method():
    bb = _tiny_backbone()
    assert set(attribute(bb, _image(), methods=("gradcam",))) == {"gradcam"}
    with pytest.raises(ValueError, match="unknown attribution"):
        attribute(bb, _image(), methods=("saliency",))


def test_gradcam_layer_falls_back_to_last_conv():
    assert gradcam_layer(_tiny_backbone(gradcam=None)) == "features.4.W_z"
    assert gradcam_layer(_tiny_backbone()) == "features.2"


def test_no_hooks_or_requires_grad_changes_left_on_shared_model():
    bb = _tiny_backbone()
    bb.model.features[0].weight.requires_grad_(False)  # a mixed state must survive too
    before_hooks = _hook_state(bb.model)
    before_grad = {n: p.requires_grad for n, p in bb.model.named_parameters()}
    before_values = {n: p.detach().clone() for n, p in bb.model.named_parameters()}
    attribute(bb, _image(), steps=4)
    assert _hook_state(bb.model) == before_hooks
    assert all(n == 0 for _, *counts in before_hooks for n in counts)
    assert {n: p.requires_grad for n, p in bb.model.named_parameters()} == before_grad
    for n, p in bb.model.named_parameters():
        assert p.grad is None
        assert torch.equal(p.detach(), before_values[n])
    assert not bb.model.training


def test_open_capture_does_not_record_attribution_forwards():
    bb = _tiny_backbone()
    with capture(bb.model) as records:
        attribute(bb, _image(), steps=4)
    assert records == {}


def test_two_threads_at_once_match_alone():
    bb = _tiny_backbone()
    imgs = [_image(2), _image(3)]
    alone = [attribute(bb, im, steps=8) for im in imgs]
    results: dict[int, dict] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                results[i] = attribute(bb, imgs[i], steps=8)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def plain_forwards() -> None:  # another session using the model meanwhile
        barrier.wait()
        with torch.no_grad():
            for _ in range(20):
                bb.model(bb.preprocess(imgs[0]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    threads.append(threading.Thread(target=plain_forwards))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(2):
        for k in alone[i]:
            np.testing.assert_allclose(results[i][k], alone[i][k], atol=1e-5)


def test_map_correlation():
    rng = np.random.default_rng(0)
    a = rng.random((8, 8))
    assert map_correlation(a, a) == pytest.approx(1.0)
    assert map_correlation(a, 1.0 - a) == pytest.approx(-1.0)
    # different grids: the larger is resized to the smaller
    yy, xx = np.mgrid[0:8, 0:8]
    blob = np.exp(-((yy - 2.0) ** 2 + (xx - 5.0) ** 2) / 6.0)
    big = resize_bilinear(blob, (32, 32))
    assert big.shape == (32, 32)
    assert map_correlation(big, blob) > 0.99
    assert map_correlation(blob, big) == pytest.approx(map_correlation(big, blob))
    assert map_correlation(big, blob[:, ::-1]) < 0.5
    # matches numpy's Pearson on equal grids
    b = rng.random((8, 8))
    assert map_correlation(a, b) == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    # constant map: undefined -> nan, no warning
    with np.errstate(all="raise"):
        assert math.isnan(map_correlation(a, np.full((4, 4), 0.3)))
        assert math.isnan(map_correlation(np.zeros((4, 4)), a))
    with pytest.raises(ValueError, match="NaN"):
        map_correlation(a, np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        map_correlation(a, np.zeros(5))
