"""capture(): record names and shapes, normalisation, thread isolation, adapters for timm/torchvision."""

import threading

import pytest
import timm
import torch
import torchvision
from torch import nn

from viz.attention import ATTENTION_KINDS, create_attention
from viz.capture import capture, install_adapters
from viz.capture.recorder import Attention, emit, is_capturing

B, C, H, W = 2, 32, 6, 8
EXPECTED = {
    "se": {"channel": (B, C)},
    "eca": {"channel": (B, C)},
    "gsop": {"channel": (B, C)},
    "cbam": {"channel": (B, C), "spatial": (B, H, W)},
    "bam": {"channel": (B, C), "spatial": (B, H, W), "gate": (B, C, H, W)},
    "a2": {"gather": (B, 8, H, W), "distribute": (B, 8, H, W)},
    "gc": {"context": (B, H, W), "transform": (B, C)},
    **{
        k: {"attention": (B, H * W, H * W), "input": (B, C, H, W), "output": (B, C, H, W)}
        for k in ATTENTION_KINDS
        if k.startswith("nl_")
    },
}


def _trained_like(block: nn.Module) -> nn.Module:
    """Non-zero weights everywhere so outputs and gates are not trivially constant."""
    g = torch.Generator().manual_seed(3)
    for p in block.parameters():
        p.data = torch.randn(p.shape, generator=g) * 0.3
    return block.eval()


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_record_names_shapes_and_normalisation(kind):
    block = _trained_like(create_attention(kind, C))
    x = torch.randn(B, C, H, W)
    with capture(block) as records:
        y = block(x)
    (record,) = records.values()
    assert isinstance(record, Attention) and record.kind == kind
    for name, shape in EXPECTED[kind].items():
        t = record.tensors[name]
        assert tuple(t.shape) == shape, name
        assert t.device.type == "cpu" and not t.requires_grad
    t = record.tensors
    if kind in ("se", "eca", "gsop", "cbam"):
        assert t["channel"].min() >= 0 and t["channel"].max() <= 1
    if kind == "cbam":
        assert t["spatial"].min() >= 0 and t["spatial"].max() <= 1
    if kind == "bam":
        gate = torch.sigmoid(t["channel"][:, :, None, None] + t["spatial"][:, None])
        torch.testing.assert_close(t["gate"], gate)
    if kind == "gc":
        torch.testing.assert_close(t["context"].sum((1, 2)), torch.ones(B))
    if kind == "a2":
        torch.testing.assert_close(t["gather"].sum((2, 3)), torch.ones(B, 8))
        torch.testing.assert_close(t["distribute"].sum(1), torch.ones(B, H, W))
    if kind in ("nl_gaussian", "nl_embedded_gaussian"):
        torch.testing.assert_close(t["attention"].sum(2), torch.ones(B, H * W))
    if kind.startswith("nl_"):
        torch.testing.assert_close(t["input"], x)
        torch.testing.assert_close(t["output"], y - x)
    if kind == "nl_concatenation":
        assert (t["attention"] >= 0).all()  # ReLU(...)/N'; dot product may be negative


def test_subsampled_keys_shape():
    block = _trained_like(create_attention("nl_embedded_gaussian", C, sub_sample=True))
    with capture(block) as records:
        block(torch.randn(1, C, 8, 6))
    (record,) = records.values()
    assert tuple(record.tensors["attention"].shape) == (1, 48, 12)
    assert tuple(record.tensors["keys_shape"].tolist()) == (4, 3)


class _TwoBlockNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, C, 3, padding=1)
        self.se = create_attention("se", C)
        self.nl = create_attention("nl_embedded_gaussian", C)
        self.head = nn.Linear(C, 5)

    def forward(self, x):
        x = self.nl(self.se(self.stem(x)))
        return self.head(x.mean((2, 3)))


def test_keys_are_module_paths_and_nothing_leaks_outside():
    model = _trained_like(_TwoBlockNet())
    x = torch.randn(1, 3, 8, 8)
    assert not is_capturing()
    with capture(model) as records:
        assert is_capturing()
        model(x)
    assert not is_capturing()
    assert list(records) == ["se", "nl"]
    model(x)  # outside the context nothing is recorded
    assert list(records) == ["se", "nl"]
    emit(model.se, channel=torch.zeros(1, C))  # a no-op without a capture
    assert list(records) == ["se", "nl"]


def test_a_module_called_twice_keeps_both_records():
    se = _trained_like(create_attention("se", C))
    with capture(se) as records:
        se(torch.randn(1, C, 4, 4))
        se(torch.randn(1, C, 4, 4))
    assert len(records) == 2


def test_threads_sharing_one_model_never_mix_records():
    model = _trained_like(_TwoBlockNet())
    inputs = [torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    alone = []
    for x in inputs:
        with capture(model) as rec:
            model(x)
        alone.append(rec)
    results: list = [None] * len(inputs)
    barrier = threading.Barrier(len(inputs))

    def work(i):
        barrier.wait()
        for _ in range(5):  # overlap many forwards
            with capture(model) as rec:
                model(inputs[i])
        results[i] = rec

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, alone):
        assert list(got) == list(want)
        for key in want:
            for name, tensor in want[key].tensors.items():
                torch.testing.assert_close(got[key].tensors[name], tensor)


def test_nested_captures_of_different_models():
    outer, inner = _trained_like(_TwoBlockNet()), _trained_like(create_attention("gc", C))
    with capture(outer) as a:
        outer(torch.randn(1, 3, 8, 8))
        with capture(inner) as b:
            inner(torch.randn(1, C, 4, 4))
        outer(torch.randn(1, 3, 8, 8))
    assert list(b) == ["GlobalContextBlock"]
    assert len(a) == 4 and all(k.split("@")[0] in ("se", "nl") for k in a)


def test_timm_adapters_give_the_gate_that_was_applied():
    model = timm.create_model("seresnet33ts", pretrained=False).eval()
    seen = {}

    def keep(name):
        def hook(_m, inputs, output):
            seen[name] = (inputs[0].detach(), output.detach())

        return hook

    for name, m in model.named_modules():
        if type(m).__name__ == "SEModule":
            m.register_forward_hook(keep(name))
    with capture(model) as records:
        model(torch.randn(1, 3, 64, 64))
    assert set(records) == set(seen) and len(records) > 0
    for name, (x, out) in seen.items():
        rec = records[name]
        assert rec.kind == "se" and rec.module_type == "SEModule"
        torch.testing.assert_close(out, x * rec.tensors["channel"][:, :, None, None])


@pytest.mark.parametrize(
    ("name", "kind", "names"),
    [
        ("eca_resnet33ts", "eca", {"channel"}),
        ("gcresnet33ts", "gc", {"context", "transform"}),
    ],
)
def test_timm_eca_and_gc_adapters(name, kind, names):
    model = timm.create_model(name, pretrained=False).eval()
    with capture(model) as records:
        model(torch.randn(1, 3, 64, 64))
    assert records and all(r.kind == kind and set(r.tensors) == names for r in records.values())
    if kind == "gc":
        for r in records.values():
            torch.testing.assert_close(r.tensors["context"].sum((1, 2)), torch.ones(1))


def test_timm_cbam_and_nonlocal_adapters_match_our_modules():
    from timm.layers.cbam import CbamModule
    from timm.layers.non_local_attn import NonLocalAttn

    x = torch.randn(1, 64, 6, 6)
    cbam = CbamModule(64).eval()
    with capture(cbam) as rec:
        out = cbam(x)
    (r,) = rec.values()
    assert r.kind == "cbam"
    expected = x * r.tensors["channel"][:, :, None, None] * r.tensors["spatial"][:, None]
    torch.testing.assert_close(out, expected)

    nl = NonLocalAttn(64).eval()
    nn.init.normal_(nl.norm.weight)
    with capture(nl) as rec:
        out = nl(x)
    (r,) = rec.values()
    assert r.kind == "nl_embedded_gaussian"
    torch.testing.assert_close(r.tensors["attention"].sum(2), torch.ones(1, 36))
    torch.testing.assert_close(r.tensors["output"], out - x)
    ours = create_attention("nl_embedded_gaussian", 64, inter_channels=8, scale=64**-0.5).eval()
    rename = {"t": "theta", "p": "phi", "g": "g", "z": "W_z", "norm": "bn"}
    ours.load_state_dict(
        {rename[k.split(".")[0]] + k[k.index(".") :]: v for k, v in nl.state_dict().items()}
    )
    with capture(ours) as mine:
        ours(x)
    torch.testing.assert_close(
        next(iter(mine.values())).tensors["attention"], r.tensors["attention"]
    )


def test_torchvision_squeeze_excitation_adapter():
    model = torchvision.models.mobilenet_v3_small(weights=None).eval()
    n_se = sum(type(m).__name__ == "SqueezeExcitation" for m in model.modules())
    with capture(model) as records:
        model(torch.randn(1, 3, 64, 64))
    assert len(records) == n_se > 0
    for r in records.values():
        assert r.kind == "se" and r.tensors["channel"].ndim == 2
        assert r.tensors["channel"].min() >= 0 and r.tensors["channel"].max() <= 1


def test_adapters_install_once_and_cost_nothing_outside_capture():
    model = timm.create_model("seresnet33ts", pretrained=False).eval()
    n = install_adapters(model)
    hooks = sum(len(m._forward_hooks) for m in model.modules())
    assert install_adapters(model) == n
    assert sum(len(m._forward_hooks) for m in model.modules()) == hooks
    bare = timm.create_model("seresnet33ts", pretrained=False).eval()
    bare.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(model(x), bare(x))  # hooks never change what the model computes
