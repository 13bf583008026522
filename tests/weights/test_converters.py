"""Official-checkpoint converters, offline: files written here with the OFFICIAL key names.

Each test takes our architecture's keys, maps them to the official names by the documented renames
(written out independently here), fills random values, saves the file as the official repository
would (``torch.save`` of a wrapper dict), loads it through the registry and checks that every
tensor arrived at the right parameter, then runs ``capture`` end to end.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from viz.attention import CBAM
from viz.capture import capture
from viz.errors import WeightsUnavailable
from viz.models.resnet_attention import ProductBAM, attention_resnet50
from viz.weights.convert import convert_bam, convert_cbam, convert_mmdet_backbone
from viz.weights.registry import load_backbone
from viz.weights.sources.official import OFFICIAL, find_official_file

torch.set_num_threads(1)


def random_state(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random values for every tensor; BN variances positive so eval is well defined."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            out[key] = torch.rand(value.shape, generator=g) + 0.5
        else:
            out[key] = torch.randn(value.shape, generator=g) * 0.05
    return out


def official_cbam_key(key: str) -> str:
    key = key.replace(".cbam.fc1.", ".cbam.ChannelGate.mlp.1.")
    key = key.replace(".cbam.fc2.", ".cbam.ChannelGate.mlp.3.")
    key = key.replace(".cbam.spatial_conv.", ".cbam.SpatialGate.spatial.conv.")
    key = key.replace(".cbam.spatial_bn.", ".cbam.SpatialGate.spatial.bn.")
    return "module." + key


def to_official_cbam(ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in ours.items():
        if re.search(r"\.cbam\.fc[12]\.weight$", key):
            value = value[:, :, 0, 0]  # official MLP is nn.Linear
        out[official_cbam_key(key)] = value
    return out


BAM_SPATIAL = {
    0: "gate_s_conv_reduce0",
    1: "gate_s_bn_reduce0",
    3: "gate_s_conv_di_0",
    4: "gate_s_bn_di_0",
    6: "gate_s_conv_di_1",
    7: "gate_s_bn_di_1",
    9: "gate_s_conv_final",
}


def official_bam_key(key: str) -> str:
    m = re.match(r"(bam\d)\.spatial\.(\d+)\.(.*)", key)
    if m:
        return f"module.{m.group(1)}.spatial_att.gate_s.{BAM_SPATIAL[int(m.group(2))]}.{m.group(3)}"
    key = re.sub(r"^(bam\d)\.channel_fc1\.", r"\1.channel_att.gate_c.gate_c_fc_0.", key)
    key = re.sub(r"^(bam\d)\.channel_bn\.", r"\1.channel_att.gate_c.gate_c_bn_1.", key)
    key = re.sub(r"^(bam\d)\.channel_fc2\.", r"\1.channel_att.gate_c.gate_c_fc_final.", key)
    return "module." + key


def official_mmdet_key(key: str, sub_sample: bool = False) -> str:
    key = key.replace(".gc.conv_mask.", ".context_block.conv_mask.")
    key = re.sub(r"\.gc\.transform\.(\d)\.", r".context_block.channel_add_conv.\1.", key)
    pool = "0." if sub_sample else ""
    key = re.sub(r"\.nonlocal_block\.(g|phi)\.", rf".nonlocal_block.\1.{pool}conv.", key)
    key = key.replace(".nonlocal_block.theta.", ".nonlocal_block.theta.conv.")
    key = key.replace(".nonlocal_block.W_z.", ".nonlocal_block.conv_out.conv.")
    key = key.replace(".nonlocal_block.bn.", ".nonlocal_block.conv_out.bn.")
    return "backbone." + key


def save_official(tmp_path, name: str, state: dict, wrapper: dict | None = None):
    path = tmp_path / OFFICIAL[name].file_names[0]
    torch.save({**(wrapper or {}), "state_dict": state}, path)
    return path


def assert_arrived(model: nn.Module, ours: dict[str, torch.Tensor]) -> None:
    loaded = model.state_dict()
    assert set(loaded) == set(ours)
    for key, value in ours.items():
        assert torch.equal(loaded[key], value), key


def run_capture(backbone, size: int = 64):
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), capture(backbone.model) as records:
        out = backbone.model(x)
    assert torch.isfinite(out).all()
    return out, records


@pytest.fixture
def official_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_OFFICIAL_DIR", str(tmp_path))
    return tmp_path


def test_missing_file_names_file_repo_and_folder(official_dir):
    with pytest.raises(WeightsUnavailable) as info:
        load_backbone("official/cbam_resnet50", "cpu")
    msg = str(info.value)
    assert "RESNET50_CBAM_new_name_wrap.pth" in msg
    assert "Jongchan/attention-module" in msg
    # the folder by its setting, not the server's absolute path (pupils read this)
    assert "VAE_OFFICIAL_DIR" in msg and str(official_dir) not in msg


def test_missing_file_without_the_setting_names_the_project_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_OFFICIAL_DIR", raising=False)
    with pytest.raises(WeightsUnavailable) as info:
        find_official_file(OFFICIAL["official/eca_resnet50"], tmp_path)
    msg = str(info.value)
    assert "eca_resnet50_k3557.pth.tar" in msg
    assert "weights/official/" in msg and "VAE_OFFICIAL_DIR" in msg
    assert str(tmp_path) not in msg


def test_cbam_file_loads_every_tensor_and_captures(official_dir):
    ours = random_state(attention_resnet50("cbam"))
    official = to_official_cbam(ours)
    assert "module.layer1.0.cbam.ChannelGate.mlp.1.weight" in official
    assert "module.layer4.2.cbam.SpatialGate.spatial.bn.running_var" in official
    save_official(official_dir, "official/cbam_resnet50", official, {"epoch": 90})
    bb = load_backbone("official/cbam_resnet50", "cpu")
    assert_arrived(bb.model, ours)
    out, records = run_capture(bb)
    assert out.shape == (1, 1000)
    assert len(records) == 16
    assert {r.kind for r in records.values()} == {"cbam"}
    rec = records["layer3.5.cbam"]
    assert rec.tensors["channel"].shape == (1, 1024)
    assert rec.tensors["spatial"].shape == (1, 4, 4)
    assert bb.meta["accuracy"] == 77.622 and len(bb.meta["classes"]) == 1000


class OfficialCBAMReference(nn.Module):
    """The official CBAM computation with its own parameter names (Linear MLP, max-then-mean)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = channels // reduction
        self.ChannelGate = nn.Module()
        self.ChannelGate.mlp = nn.Sequential(
            nn.Flatten(), nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels)
        )
        self.SpatialGate = nn.Module()
        self.SpatialGate.spatial = nn.Module()
        self.SpatialGate.spatial.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.SpatialGate.spatial.bn = nn.BatchNorm2d(1)

    def forward(self, x):
        mlp = self.ChannelGate.mlp
        att = mlp(F.adaptive_avg_pool2d(x, 1)) + mlp(F.adaptive_max_pool2d(x, 1))
        x = x * torch.sigmoid(att)[:, :, None, None]
        pooled = torch.cat([x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)], 1)
        sp = self.SpatialGate.spatial
        return x * torch.sigmoid(sp.bn(sp.conv(pooled)))


def test_cbam_spatial_channel_order_matches_official_numerically():
    torch.manual_seed(0)
    ref = OfficialCBAMReference(64).eval()
    with torch.no_grad():
        ref.SpatialGate.spatial.bn.running_var.fill_(0.7)
        ref.SpatialGate.spatial.bn.running_mean.fill_(0.1)
        ref.SpatialGate.spatial.conv.weight.mul_(10)  # make the two channels matter
    official = {f"layer1.0.cbam.{k}": v for k, v in ref.state_dict().items()}
    converted = convert_cbam(official)
    block = CBAM(64).eval()
    block.load_state_dict({k[len("layer1.0.cbam.") :]: v for k, v in converted.items()})
    x = torch.randn(2, 64, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(block(x), ref(x))
        # the test can fail: swapping the kernel's two input channels changes the output
        block.spatial_conv.weight.copy_(block.spatial_conv.weight.flip(1))
        assert not torch.allclose(block(x), ref(x), atol=1e-4)


def test_bam_file_loads_every_tensor_and_captures(official_dir):
    ours = random_state(attention_resnet50("bam", bam_combine="product"))
    official = {official_bam_key(k): v for k, v in ours.items()}
    assert "module.bam2.spatial_att.gate_s.gate_s_conv_di_1.weight" in official
    assert "module.bam3.channel_att.gate_c.gate_c_bn_1.running_mean" in official
    save_official(official_dir, "official/bam_resnet50", official, {"best_prec1": 76.86})
    bb = load_backbone("official/bam_resnet50", "cpu")
    assert_arrived(bb.model, ours)
    assert isinstance(bb.model.bam1, ProductBAM)
    _, records = run_capture(bb)
    assert sorted(records) == ["bam1", "bam2", "bam3"]
    rec = records["bam2"]
    assert rec.kind == "bam"
    assert rec.tensors["channel"].shape == (1, 512)
    assert rec.tensors["spatial"].shape == (1, 8, 8)
    gate = rec.tensors["gate"]
    assert gate.shape == (1, 512, 8, 8)
    expected = torch.sigmoid(
        rec.tensors["channel"][:, :, None, None] * rec.tensors["spatial"][:, None]
    )
    torch.testing.assert_close(gate, expected)


def test_bam_product_matches_official_formula():
    """Official: att = 1 + sigmoid(Mc * Ms); out = att * x."""
    torch.manual_seed(0)
    bam = ProductBAM(64).eval()
    official = {
        official_bam_key(f"bam1.{k}")[len("module.") :]: v for k, v in bam.state_dict().items()
    }
    assert convert_bam(official).keys() == {f"bam1.{k}" for k in bam.state_dict()}
    x = torch.randn(2, 64, 12, 12)
    with torch.no_grad():
        mc = bam.channel_fc2(torch.relu(bam.channel_bn(bam.channel_fc1(x.mean((2, 3))))))
        ms = bam.spatial(x)
        expected = (1 + torch.sigmoid(mc[:, :, None, None] * ms)) * x
        torch.testing.assert_close(bam(x), expected)


def test_eca_file_kernels_read_from_shapes(official_dir):
    ours = random_state(attention_resnet50("eca", eca_kernels=(3, 5, 5, 7)))
    official = {"module." + k: v for k, v in ours.items()}
    assert official["module.layer1.0.eca.conv.weight"].shape == (1, 1, 3)
    assert official["module.layer4.2.eca.conv.weight"].shape == (1, 1, 7)
    save_official(official_dir, "official/eca_resnet50", official)
    bb = load_backbone("official/eca_resnet50", "cpu")
    assert_arrived(bb.model, ours)
    assert [bb.model.get_submodule(f"layer{s}.0.eca").kernel_size for s in (1, 2, 3, 4)] == [
        3,
        5,
        5,
        7,
    ]
    _, records = run_capture(bb)
    assert len(records) == 16 and {r.kind for r in records.values()} == {"eca"}
    assert records["layer2.3.eca"].tensors["channel"].shape == (1, 512)


def test_gc_mmdet_file_backbone_only(official_dir):
    ours = random_state(attention_resnet50("gc", gc_ratio=1 / 16, features_only=True))
    assert not any(k.startswith("fc.") for k in ours)
    official = {official_mmdet_key(k): v for k, v in ours.items()}
    assert "backbone.layer2.0.context_block.channel_add_conv.3.weight" in official
    official["neck.lateral_convs.0.conv.weight"] = torch.randn(256, 512, 1, 1)  # ignored
    official["roi_head.bbox_head.fc_cls.weight"] = torch.randn(81, 1024)
    save_official(official_dir, "official/gc_resnet50_mask_rcnn", official, {"meta": {"epoch": 12}})
    bb = load_backbone("official/gc_resnet50_mask_rcnn", "cpu")
    assert_arrived(bb.model, ours)
    assert bb.meta["task"] == "features"
    out, records = run_capture(bb)
    assert out.shape == (1, 2048)  # pooled layer4 features: no classifier in a detector backbone
    assert len(records) == 4 + 6 + 3
    rec = records["layer2.0.gc"]
    assert rec.kind == "gc"
    assert rec.tensors["context"].shape == (1, 8, 8)
    torch.testing.assert_close(rec.tensors["context"].sum(), torch.tensor(1.0))
    assert rec.tensors["transform"].shape == (1, 512)


def test_gc_ratio_and_dated_name_found_by_pattern(official_dir):
    ours = random_state(attention_resnet50("gc", gc_ratio=1 / 4, features_only=True))
    official = {official_mmdet_key(k): v for k, v in ours.items()}
    torch.save(
        {"state_dict": official}, official_dir / "mask_rcnn_r50_fpn_r4_gcb_c3-c5_1x_coco_x.pth"
    )
    bb = load_backbone("official/gc_resnet50_mask_rcnn", "cpu")
    assert bb.model.layer4[0].gc.transform[0].out_channels == 512  # 2048 / 4
    assert_arrived(bb.model, ours)


@pytest.mark.parametrize("sub_sample", [False, True])
def test_nonlocal_mmdet_file(official_dir, sub_sample):
    model = attention_resnet50(
        None,
        nonlocal_after="layer3.4",
        nonlocal_options={"scale": "sqrt_inter"},
        features_only=True,
    )
    ours = random_state(model)
    del ours["layer3.4.nonlocal_block.W_z.bias"]  # mmcv's conv_out has no bias before its norm
    official = {official_mmdet_key(k, sub_sample): v for k, v in ours.items()}
    key = "g.0.conv.weight" if sub_sample else "g.conv.weight"
    assert f"backbone.layer3.4.nonlocal_block.{key}" in official
    assert "backbone.layer3.4.nonlocal_block.conv_out.bn.running_var" in official
    save_official(official_dir, "official/nl_resnet50_mask_rcnn", official)
    bb = load_backbone("official/nl_resnet50_mask_rcnn", "cpu")
    ours["layer3.4.nonlocal_block.W_z.bias"] = torch.zeros(1024)
    assert_arrived(bb.model, ours)
    block = bb.model.layer3[4].nonlocal_block
    assert block.sub_sample is sub_sample
    assert block.scale == pytest.approx(512**-0.5)
    _, records = run_capture(bb)
    assert list(records) == ["layer3.4.nonlocal_block"]
    rec = records["layer3.4.nonlocal_block"]
    assert rec.kind == "nl_embedded_gaussian"
    assert rec.tensors["attention"].shape == (1, 16, 4 if sub_sample else 16)
    torch.testing.assert_close(rec.tensors["attention"].sum(2), torch.ones(1, 16))
    assert rec.tensors["input"].shape == (1, 1024, 4, 4)


def test_nonlocal_keys_without_norm_get_identity_bn():
    model = attention_resnet50(None, nonlocal_after="layer3.4", features_only=True)
    state = {
        official_mmdet_key(k): v
        for k, v in random_state(model).items()
        if ".nonlocal_block.bn." not in k
    }
    converted = convert_mmdet_backbone(state)
    assert "layer3.4.nonlocal_block.W_z.bias" in converted
    assert not any(".nonlocal_block.bn." in k for k in converted)


def test_mismatched_official_file_names_file_and_keys(official_dir):
    ours = random_state(attention_resnet50("cbam"))
    official = to_official_cbam(ours)
    del official["module.layer2.1.cbam.ChannelGate.mlp.3.bias"]
    official["module.extra.weight"] = torch.zeros(1)
    save_official(official_dir, "official/cbam_resnet50", official)
    with pytest.raises(WeightsUnavailable) as info:
        load_backbone("official/cbam_resnet50", "cpu")
    msg = str(info.value)
    assert "RESNET50_CBAM_new_name_wrap.pth" in msg
    assert "layer2.1.cbam.fc2.bias" in msg and "extra.weight" in msg


def test_preprocess_and_prepare_geometry(official_dir):
    from PIL import Image

    ours = random_state(attention_resnet50("eca"))
    save_official(
        official_dir, "official/eca_resnet50", {"module." + k: v for k, v in ours.items()}
    )
    bb = load_backbone("official/eca_resnet50", "cpu")
    image = Image.new("L", (400, 300), 128)
    assert bb.prepare(image).size == (224, 224)
    assert bb.preprocess(image).shape == (1, 3, 224, 224)
