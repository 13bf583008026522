"""Each attention module against a reference: timm's layer with shared weights where one exists,
a direct transcription of the paper's equations otherwise."""

import math

import pytest
import torch
import torch.nn.functional as F
from timm.layers.cbam import CbamModule
from timm.layers.eca import EcaModule
from timm.layers.global_context import GlobalContext
from timm.layers.non_local_attn import NonLocalAttn
from timm.layers.squeeze_excite import SEModule

from viz.attention import ATTENTION_KINDS, NL_KINDS, create_attention, eca_kernel_size
from viz.attention.a2 import double_attention

torch.manual_seed(0)


def _randomise(module: torch.nn.Module) -> torch.nn.Module:
    """Random weights *and* BN statistics, so zero-inits and identity BNs hide nothing."""
    g = torch.Generator().manual_seed(1)
    for p in module.parameters():
        p.data = torch.randn(p.shape, generator=g) * 0.5
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean = torch.randn(m.num_features, generator=g) * 0.1
            m.running_var = torch.rand(m.num_features, generator=g) + 0.5
    return module.eval()


def test_every_kind_keeps_shape():
    x = torch.randn(2, 32, 9, 7)
    for kind in ATTENTION_KINDS:
        block = create_attention(kind, 32).eval()
        assert block(x).shape == x.shape, kind


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown attention kind"):
        create_attention("transformer", 16)


@pytest.mark.parametrize("kind", ["gc", "a2", *NL_KINDS])
def test_new_residual_blocks_are_identity(kind):
    x = torch.randn(2, 16, 6, 6)
    block = create_attention(kind, 16).eval()
    torch.testing.assert_close(block(x), x)


def test_se_matches_timm():
    ours = _randomise(create_attention("se", 64, hidden=4))
    ref = SEModule(64, rd_channels=4).eval()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 64, 5, 5)
    torch.testing.assert_close(ours(x), ref(x))


@pytest.mark.parametrize(("channels", "k"), [(256, 5), (512, 5), (1024, 5), (2048, 7), (64, 3)])
def test_eca_kernel_sizes(channels, k):
    assert eca_kernel_size(channels) == k
    assert create_attention("eca", channels).kernel_size == k


def test_eca_explicit_kernel_and_timm_match():
    assert create_attention("eca", 256, kernel_size=3).kernel_size == 3  # the official checkpoint
    ours = _randomise(create_attention("eca", 256))
    ref = EcaModule(channels=256).eval()  # timm: max(k, 3) = 5 here too
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 256, 4, 4)
    torch.testing.assert_close(ours(x), ref(x))


def test_cbam_matches_timm_with_swapped_spatial_channels():
    ours = _randomise(create_attention("cbam", 64, mlp_bias=False))
    ref = CbamModule(64, rd_channels=4).eval()
    sd = ours.state_dict()
    ref.channel.fc1.weight.data = sd["fc1.weight"]
    ref.channel.fc2.weight.data = sd["fc2.weight"]
    # official order is [max; mean], timm's is [mean; max]: swap the two input channels
    ref.spatial.conv.conv.weight.data = sd["spatial_conv.weight"][:, [1, 0]]
    bn = ref.spatial.conv.bn
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(bn, name).data = sd[f"spatial_bn.{name}"].clone()
    x = torch.randn(2, 64, 6, 6)
    torch.testing.assert_close(ours(x), ref(x))
    # and without the swap they differ: the order matters
    ref.spatial.conv.conv.weight.data = sd["spatial_conv.weight"]
    assert not torch.allclose(ours(x), ref(x), atol=1e-4)


@pytest.mark.parametrize("fusion", ["add", "mul"])
def test_gc_matches_timm(fusion):
    ours = _randomise(create_attention("gc", 64, ratio=1 / 16, fusion=fusion))
    ref = GlobalContext(64, fuse_add=fusion == "add", fuse_scale=fusion == "mul", rd_channels=4)
    mlp = ref.mlp_add if fusion == "add" else ref.mlp_scale
    mlp.norm.eps = ours.transform[1].eps
    sd = ours.state_dict()
    ref.conv_attn.weight.data, ref.conv_attn.bias.data = (
        sd["conv_mask.weight"],
        sd["conv_mask.bias"],
    )
    mlp.fc1.weight.data, mlp.fc1.bias.data = sd["transform.0.weight"], sd["transform.0.bias"]
    mlp.norm.weight.data = sd["transform.1.weight"].flatten()
    mlp.norm.bias.data = sd["transform.1.bias"].flatten()
    mlp.fc2.weight.data, mlp.fc2.bias.data = sd["transform.3.weight"], sd["transform.3.bias"]
    x = torch.randn(2, 64, 5, 7)
    torch.testing.assert_close(ours(x), ref.eval()(x), rtol=1e-4, atol=1e-5)


def test_nl_embedded_gaussian_matches_timm():
    ours = _randomise(
        create_attention("nl_embedded_gaussian", 64, inter_channels=32, scale=64**-0.5)
    )
    ref = NonLocalAttn(64, rd_channels=32).eval()
    sd = ours.state_dict()
    rename = {"theta": "t", "phi": "p", "g": "g", "W_z": "z", "bn": "norm"}
    ref.load_state_dict({rename[k.split(".")[0]] + k[k.index(".") :]: v for k, v in sd.items()})
    x = torch.randn(2, 64, 6, 5)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


def _naive_nl(block, x):
    """y_i = sum_j f(x_i, x_j) g(x_j) / C(x) with explicit loops over i and j."""
    b, c, h, w = x.shape
    pool = (lambda t: F.max_pool2d(t, 2)) if block.sub_sample else (lambda t: t)
    if block.mode == "gaussian":
        q, k = x.flatten(2), pool(x).flatten(2)
    else:
        q, k = block.theta(x).flatten(2), pool(block.phi(x)).flatten(2)
    g = pool(block.g(x)).flatten(2)
    n, n_keys = q.shape[2], k.shape[2]
    att = torch.zeros(b, n, n_keys)
    for i in range(n):
        for j in range(n_keys):
            if block.mode == "concatenation":
                w_f = block.concat_project.weight.flatten()
                att[:, i, j] = F.relu(torch.cat([q[:, :, i], k[:, :, j]], 1) @ w_f) / n_keys
            else:
                att[:, i, j] = (q[:, :, i] * k[:, :, j]).sum(1)
    if block.mode == "dot_product":
        att = att / n_keys
    elif block.mode in ("gaussian", "embedded_gaussian"):
        att = torch.exp(att * block.scale)
        att = att / att.sum(2, keepdim=True)
    y = torch.einsum("bij,bcj->bci", att, g).view(b, -1, h, w)
    return att, x + block.bn(block.W_z(y))


@pytest.mark.parametrize("kind", NL_KINDS)
@pytest.mark.parametrize("sub_sample", [False, True])
def test_nl_forms_match_the_equations(kind, sub_sample):
    block = _randomise(create_attention(kind, 8, sub_sample=sub_sample))
    x = torch.randn(2, 8, 4, 6) * 0.5
    att_ref, out_ref = _naive_nl(block, x)
    att, _ = block.pairwise(x)
    torch.testing.assert_close(att, att_ref, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(block(x), out_ref, rtol=1e-4, atol=1e-5)


def test_a2_two_forms_are_equal_and_module_uses_them():
    a, b, v = torch.randn(2, 6, 30), torch.randn(2, 5, 30), torch.randn(2, 5, 30)
    torch.testing.assert_close(
        double_attention(a, b, v), double_attention(a, b, v, form="quadratic")
    )
    block = _randomise(create_attention("a2", 16, m=6, n=5))
    x = torch.randn(2, 16, 5, 6)
    z = double_attention(
        block.phi(x).flatten(2), block.theta(x).flatten(2), block.rho(x).flatten(2), "quadratic"
    )
    torch.testing.assert_close(block(x), x + block.proj(z.view(2, 6, 5, 6)), rtol=1e-4, atol=1e-5)


def test_a2_softmax_axes():
    # gather maps: softmax over positions; distribute: softmax over descriptors (not both over one)
    a, b, v = torch.randn(1, 3, 12), torch.randn(1, 4, 12), torch.randn(1, 4, 12)
    z = double_attention(a, b, v)
    g = a @ torch.softmax(b, dim=2).transpose(1, 2)
    torch.testing.assert_close(z, g @ torch.softmax(v, dim=1))
    wrong = a @ torch.softmax(b, dim=1).transpose(1, 2) @ torch.softmax(v, dim=1)
    assert not torch.allclose(z, wrong)


def _bn(t, bn):
    return F.batch_norm(t, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


def test_gsop_channel_matches_the_equations():
    c, d = 32, 16
    block = _randomise(create_attention("gsop", c, d=d))
    x = torch.randn(2, c, 5, 4)
    conv, bn = block.reduce[1], block.reduce[2]
    y = F.relu(_bn(F.conv2d(F.relu(x), conv.weight, conv.bias), bn)).flatten(2)  # (B, d, M)
    m = y.shape[2]
    i_hat = (torch.eye(m) - torch.ones(m, m) / m) / m
    cov = y @ i_hat @ y.transpose(1, 2)  # (B, d, d), centred, divided by M
    head = block.channel_head
    cov = _bn(cov.unsqueeze(3), head.row_bn)[..., 0]
    w = head.row_conv.weight.view(d, 4, d)  # group i -> 4 outputs from row i
    rows = torch.einsum("gok,bgk->bgo", w, cov).reshape(2, 4 * d) + head.row_conv.bias
    att = torch.sigmoid(rows @ head.fc.weight.view(c, 4 * d).T + head.fc.bias)
    torch.testing.assert_close(block(x), x * att[:, :, None, None], rtol=1e-4, atol=1e-5)


def test_gsop_position_form():
    block = _randomise(create_attention("gsop", 16, d=8, mode="position"))
    x = torch.randn(1, 16, 16, 16)
    out = block(x)
    ratio = out / x  # the same map multiplies every channel
    torch.testing.assert_close(ratio[:, 0], ratio[:, 5], rtol=1e-3, atol=1e-4)
    assert ratio.min() >= 0 and ratio.max() <= 1


def test_bam_matches_the_paper_sum():
    c = 32
    block = _randomise(create_attention("bam", c, reduction=4))
    x = torch.randn(2, c, 9, 9)
    fc1, bn, fc2 = block.channel_fc1, block.channel_bn, block.channel_fc2
    mc = fc2(F.relu(_bn(fc1(x.mean((2, 3))), bn)))
    s = block.spatial
    h = F.relu(_bn(F.conv2d(x, s[0].weight, s[0].bias), s[1]))
    for i in (3, 6):  # two dilated 3x3 convs, d = 4
        h = F.relu(_bn(F.conv2d(h, s[i].weight, s[i].bias, padding=4, dilation=4), s[i + 1]))
    ms = F.conv2d(h, s[9].weight, s[9].bias)
    expected = x + x * torch.sigmoid(mc[:, :, None, None] + ms)
    torch.testing.assert_close(block(x), expected, rtol=1e-4, atol=1e-5)
    # the official code's product of branches is a different function
    assert not torch.allclose(block(x), x + x * torch.sigmoid(mc[:, :, None, None] * ms))


def test_eca_is_a_local_cross_channel_conv():
    block = _randomise(create_attention("eca", 64, kernel_size=3))
    x = torch.randn(1, 64, 3, 3)
    y = x.mean((2, 3))[0]
    w = block.conv.weight.flatten()
    padded = F.pad(y, (1, 1))
    expected = torch.sigmoid(torch.stack([padded[i : i + 3] @ w for i in range(64)]))
    torch.testing.assert_close(block(x), x * expected[None, :, None, None])
    assert math.isclose(float(block.conv.weight.numel()), 3)
