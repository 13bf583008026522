"""timm / torchvision loaders, offline: weights files written here stand in for the caches.

A model is built with random init (``pretrained=False``), its state dict saved where the loader
looks (a user file, the Hugging Face cache layout, torchvision's hub cache), loaded through the
registry, and compared output for output. The network path runs only with ``VAE_NETWORK=1``.
"""

from __future__ import annotations

import os

import pytest
import timm
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file

from viz.capture import capture
from viz.errors import WeightsUnavailable
from viz.weights.hub import network_available
from viz.weights.registry import backbone_info, list_backbones, load_backbone
from viz.weights.sources.timm import TIMM_MODELS
from viz.weights.sources.torchvision import TORCHVISION_MODELS

torch.set_num_threads(1)

REQUIRED = (
    "kinds",
    "attention_points",
    "dataset",
    "accuracy",
    "metric",
    "classes",
    "task",
    "source",
    "licence",
    "input_size",
    "gradcam_layer",
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty user dir, empty HF and torch caches, and no network attempt."""
    monkeypatch.setenv("VAE_WEIGHTS_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "torchhub"))
    monkeypatch.setenv("VAE_OFFLINE", "1")
    (tmp_path / "user").mkdir()
    return tmp_path


def same_outputs(model_a, model_b, size=64):
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.equal(model_a.eval()(x), model_b.eval()(x))


def test_registry_metadata_without_loading():
    names = list_backbones("pretrained")
    for model in TIMM_MODELS:
        assert f"timm/{model}" in names
    for model in TORCHVISION_MODELS:
        assert f"torchvision/{model}" in names
    for name in [f"timm/{m}" for m in TIMM_MODELS] + [
        f"torchvision/{m}" for m in TORCHVISION_MODELS
    ]:
        meta = backbone_info(name).meta
        missing = [k for k in REQUIRED if k not in meta]
        assert not missing, (name, missing)
        assert len(meta["classes"]) == 1000 and meta["classes"][0] == "tench"
        assert meta["dataset"] == "ImageNet-1k" and meta["task"] == "multiclass"
    assert backbone_info("timm/resnet33ts").meta["kinds"] == []
    assert backbone_info("timm/gcresnet33ts").meta["kinds"] == ["gc"]
    assert backbone_info("timm/seresnet33ts").meta["accuracy"] == pytest.approx(80.380)
    assert backbone_info("torchvision/mobilenet_v3_large").meta["accuracy"] == pytest.approx(75.274)
    assert backbone_info("torchvision/efficientnet_b0").meta["accuracy"] == pytest.approx(77.692)


@pytest.mark.parametrize("model_name", ["gcresnet50t", "resnet33ts", "ecaresnet50d"])
def test_timm_gradcam_layer_and_attention_points_exist(model_name):
    model = timm.create_model(model_name, pretrained=False)
    meta = backbone_info(f"timm/{model_name}").meta
    layer = model.get_submodule(meta.gradcam_layer)
    assert any(isinstance(m, torch.nn.Conv2d) for m in layer.modules())
    kinds = {"SEModule": "se", "EcaModule": "eca", "GlobalContext": "gc"}
    found = {kinds[type(m).__name__] for m in model.modules() if type(m).__name__ in kinds}
    assert found == set(meta.kinds)


@pytest.mark.parametrize("model_name", list(TORCHVISION_MODELS))
def test_torchvision_gradcam_layer_exists(model_name):
    model = torchvision.models.get_model(model_name)
    meta = backbone_info(f"torchvision/{model_name}").meta
    assert any(
        isinstance(m, torch.nn.Conv2d) for m in model.get_submodule(meta.gradcam_layer).modules()
    )


def test_timm_local_file_loads_same_network_and_captures(isolated):
    reference = timm.create_model("seresnet33ts", pretrained=False)
    save_file(reference.state_dict(), str(isolated / "user" / "seresnet33ts.safetensors"))
    bb = load_backbone("timm/seresnet33ts", "cpu")
    assert "local file" in bb.meta.weights_source
    assert same_outputs(bb.model, reference)
    x = bb.preprocess(Image.new("RGB", (320, 200), (200, 30, 30)))
    assert x.shape == (1, 3, 256, 256)
    assert bb.prepare(Image.new("RGB", (320, 200))).size == (256, 256)
    with torch.no_grad(), capture(bb.model) as records:
        logits = bb.model(x)
    assert len(records) == 10 and {r.kind for r in records.values()} == {"se"}
    assert records["stages.0.0.attn"].tensors["channel"].shape[0] == 1
    assert len(bb.predict(logits, top=3)) == 3


def test_timm_hf_cache_is_read_by_timm(isolated):
    reference = timm.create_model("eca_resnet33ts", pretrained=False)
    repo = isolated / "hf" / "models--timm--eca_resnet33ts.ra2_in1k"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    save_file(reference.state_dict(), str(snapshot / "model.safetensors"))
    bb = load_backbone("timm/eca_resnet33ts", "cpu")
    assert "Hugging Face cache" in bb.meta.weights_source
    assert same_outputs(bb.model, reference)
    with torch.no_grad(), capture(bb.model) as records:
        bb.model(torch.randn(1, 3, 64, 64))
    assert {r.kind for r in records.values()} == {"eca"}


def test_torchvision_cache_file_loads_same_network_and_captures(isolated):
    reference = torchvision.models.mobilenet_v3_large()
    cache = isolated / "torchhub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference.state_dict(), cache / "mobilenet_v3_large-5c1a4163.pth")
    bb = load_backbone("torchvision/mobilenet_v3_large", "cpu")
    assert same_outputs(bb.model, reference)
    x = bb.preprocess(Image.new("RGB", (300, 260)))
    assert x.shape == (1, 3, 224, 224)
    with torch.no_grad(), capture(bb.model) as records:
        bb.model(x)
    assert len(records) == 8
    assert {r.module_type for r in records.values()} == {"SqueezeExcitation"}


@pytest.mark.timeout(20)
def test_offline_without_cache_says_what_to_fetch(isolated):
    with pytest.raises(WeightsUnavailable) as info:
        load_backbone("timm/seresnet33ts", "cpu")
    msg = str(info.value)
    assert "timm/seresnet33ts.ra2_in1k" in msg and "hf download" in msg
    assert "seresnet33ts.safetensors" in msg
    # the folders by their settings, not the server's absolute paths (pupils read this)
    assert "HF_HUB_CACHE" in msg and "VAE_WEIGHTS_DIR" in msg
    assert str(isolated) not in msg


@pytest.mark.timeout(20)
def test_offline_torchvision_names_file_and_cache(isolated):
    with pytest.raises(WeightsUnavailable) as info:
        load_backbone("torchvision/regnet_y_400mf", "cpu")
    msg = str(info.value)
    assert "regnet_y_400mf-e6988f5f.pth" in msg and "regnet_y_400mf.pth" in msg
    assert "TORCH_HOME" in msg and "VAE_WEIGHTS_DIR" in msg
    assert str(isolated) not in msg


@pytest.mark.timeout(20)
def test_real_offline_failure_is_fast_without_the_switch(isolated, monkeypatch):
    """Without VAE_OFFLINE the hub is probed (3 s timeout), not retried for minutes."""
    monkeypatch.delenv("VAE_OFFLINE")
    if os.environ.get("VAE_NETWORK") == "1" or network_available("huggingface.co"):
        pytest.skip("a hub is reachable here")
    with pytest.raises(WeightsUnavailable):
        load_backbone("timm/gcresnet33ts", "cpu")


def test_corrupt_local_file_is_refused_with_its_name(isolated):
    bad = isolated / "user" / "resnet33ts.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsUnavailable) as info:
        load_backbone("timm/resnet33ts", "cpu")
    assert "resnet33ts.safetensors" in str(info.value)


def test_wrong_model_in_local_file_is_refused(isolated):
    other = timm.create_model("resnet33ts", pretrained=False)
    save_file(other.state_dict(), str(isolated / "user" / "seresnet33ts.safetensors"))
    with pytest.raises(WeightsUnavailable) as info:
        load_backbone("timm/seresnet33ts", "cpu")
    assert "missing" in str(info.value) and "attn" in str(info.value)


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("VAE_NETWORK") != "1", reason="set VAE_NETWORK=1 to download")
def test_network_download_predicts_a_cat():
    from skimage import data

    bb = load_backbone("timm/seresnet33ts", "cpu")
    x = bb.preprocess(Image.fromarray(data.chelsea()))
    with torch.no_grad():
        top = bb.predict(bb.model(x), top=5)
    assert any("cat" in name for name, _ in top)
