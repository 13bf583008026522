"""Converters for official checkpoint files: their keys renamed to ours, the architecture they fix.

Each converter renames the official keys to :func:`viz.models.resnet_attention.attention_resnet50`'s and
infers the options the file fixes (ECA kernel sizes, GC ratio, Non-local form) from tensor shapes,
then loads strictly: a key left over or missing is an error naming the file, never a half-random
network.

Renames (official -> ours), after stripping the ``module.`` (DataParallel) or ``backbone.``
(mmdetection) prefix:

* CBAM (Jongchan/attention-module): ``layerX.Y.cbam.ChannelGate.mlp.1|3`` (Linear) ->
  ``cbam.fc1|fc2`` (1x1 conv, weight reshaped); ``cbam.SpatialGate.spatial.conv|bn`` ->
  ``cbam.spatial_conv|spatial_bn``. The official spatial pool is max then mean, as ours: no swap.
* BAM (same repo): ``bamN.channel_att.gate_c.gate_c_fc_0|gate_c_bn_1|gate_c_fc_final`` ->
  ``bamN.channel_fc1|channel_bn|channel_fc2``; ``bamN.spatial_att.gate_s.gate_s_conv_reduce0,
  gate_s_bn_reduce0, gate_s_conv_di_j, gate_s_bn_di_j, gate_s_conv_final`` -> ``bamN.spatial.i``.
  The official forward multiplies the branches (the paper adds them): the converted model uses
  :class:`~viz.models.resnet_attention.ProductBAM` so its predictions are the checkpoint's.
* ECA (BangguWu/ECANet): ``layerX.Y.eca.conv.weight`` unchanged; k per stage read from the shapes.
* GC (mmdetection): ``layerX.Y.context_block.conv_mask`` -> ``gc.conv_mask``;
  ``context_block.channel_add_conv.{0,1,3}`` -> ``gc.transform.{0,1,3}``; ratio from the shapes.
* Non-local (mmcv ``NonLocal2d`` as an mmdetection backbone block): ``nonlocal_block.{g,theta,phi}
  .conv`` (or ``.0.conv`` when sub-sampled) -> ``nonlocal_block.{g,theta,phi}``; ``conv_out.conv``
  -> ``W_z``; ``conv_out.bn`` -> ``bn`` (a file without that norm gets an identity ``bn``);
  ``concat_project.conv`` -> ``concat_project``. Placement: after ``layer3.4`` (right before the last
  residual block of res4). mmcv scales the embedded-Gaussian logits by 1/sqrt(C/2); a file cannot
  tell dot product from embedded Gaussian (same tensors), so embedded Gaussian, mmcv's default, is
  assumed. mmdetection's model zoo has no such file; this reads any backbone saved with these names.

Detection files carry neck and heads too; only ``backbone.*`` is used. Their models have no
classifier: output = pooled ``layer4`` features (meta ``task = "features"``)."""

from __future__ import annotations

import re

import torch
from torch import nn

from viz.models.resnet_attention import attention_resnet50
from viz.weights.checkpoints import CheckpointError


def strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Keep the keys starting with ``prefix``, without it (all keys, unchanged, if none do).

    Args:
        state: a state dict.
        prefix: e.g. ``"module."`` or ``"backbone."``.
    """
    if not any(k.startswith(prefix) for k in state):
        return dict(state)
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _rename(
    state: dict[str, torch.Tensor], rules: list[tuple[str, str]]
) -> dict[str, torch.Tensor]:
    """Apply the first matching regex rule to each key."""
    out = {}
    for key, value in state.items():
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, key)
            if n:
                key = new
                break
        out[key] = value
    return out


def convert_cbam(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official CBAM ResNet-50 keys -> ``attention_resnet50("cbam")`` keys.

    Args:
        state: the file's state dict (``module.`` prefix optional).
    """
    state = _rename(
        strip_prefix(state, "module."),
        [
            (r"\.cbam\.ChannelGate\.mlp\.1\.", ".cbam.fc1."),
            (r"\.cbam\.ChannelGate\.mlp\.3\.", ".cbam.fc2."),
            (r"\.cbam\.SpatialGate\.spatial\.conv\.", ".cbam.spatial_conv."),
            (r"\.cbam\.SpatialGate\.spatial\.bn\.", ".cbam.spatial_bn."),
        ],
    )
    for key, value in state.items():  # Linear (out, in) -> 1x1 conv (out, in, 1, 1)
        if re.search(r"\.cbam\.fc[12]\.weight$", key) and value.dim() == 2:
            state[key] = value[:, :, None, None]
    return state


def _bam_spatial_rule(match: re.Match) -> str:
    prefix, part, index = match.group(1), match.group(2), match.group(3)
    position = {"conv_reduce": 0, "bn_reduce": 1}.get(part)
    if part == "conv_di":
        position = 3 + 3 * int(index)
    elif part == "bn_di":
        position = 4 + 3 * int(index)
    return f"{prefix}.spatial.{position}."


def convert_bam(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official BAM ResNet-50 keys -> ``attention_resnet50("bam")`` keys.

    Args:
        state: the file's state dict (``module.`` prefix optional).
    """
    state = strip_prefix(state, "module.")
    n_di = {}
    for key in state:
        m = re.match(r"(bam\d)\.spatial_att\.gate_s\.gate_s_conv_di_(\d+)\.", key)
        if m:
            n_di[m.group(1)] = max(n_di.get(m.group(1), 0), int(m.group(2)) + 1)
    out = {}
    for key, value in state.items():
        new = re.sub(r"^(bam\d)\.channel_att\.gate_c\.gate_c_fc_0\.", r"\1.channel_fc1.", key)
        new = re.sub(r"^(bam\d)\.channel_att\.gate_c\.gate_c_bn_1\.", r"\1.channel_bn.", new)
        new = re.sub(r"^(bam\d)\.channel_att\.gate_c\.gate_c_fc_final\.", r"\1.channel_fc2.", new)
        final = re.match(r"^(bam\d)\.spatial_att\.gate_s\.gate_s_conv_final\.", new)
        if final:
            position = 3 + 3 * n_di.get(final.group(1), 0)
            new = f"{final.group(1)}.spatial.{position}." + new[final.end() :]
        else:
            new = re.sub(
                r"^(bam\d)\.spatial_att\.gate_s\.gate_s_(conv_reduce|bn_reduce|conv_di|bn_di)_?(\d+)\.",
                _bam_spatial_rule,
                new,
            )
        out[new] = value
    return out


def convert_eca(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official ECA-ResNet-50 keys -> ``attention_resnet50("eca")`` keys (only the prefix differs).

    Args:
        state: the file's state dict (``module.`` prefix optional).
    """
    return strip_prefix(state, "module.")


def convert_mmdet_backbone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """mmdetection ResNet-50 backbone (GC and/or Non-local blocks) -> ``attention_resnet50`` keys.

    Only ``backbone.*`` is kept (neck and heads are dropped).

    Args:
        state: the detector's state dict.
    """
    state = strip_prefix(state, "backbone.")
    state = _rename(
        state,
        [
            (r"\.context_block\.conv_mask\.", ".gc.conv_mask."),
            (r"\.context_block\.channel_add_conv\.(\d)\.", r".gc.transform.\1."),
            (r"\.nonlocal_block\.(g|theta|phi)\.(?:0\.)?conv\.", r".nonlocal_block.\1."),
            (r"\.nonlocal_block\.conv_out\.conv\.", ".nonlocal_block.W_z."),
            (r"\.nonlocal_block\.conv_out\.bn\.", ".nonlocal_block.bn."),
            (r"\.nonlocal_block\.concat_project\.conv\.", ".nonlocal_block.concat_project."),
        ],
    )
    for key in [k for k in state if k.endswith(".nonlocal_block.W_z.weight")]:
        bias = key[: -len("weight")] + "bias"
        if bias not in state:  # mmcv drops conv_out's bias when a norm follows: zero is exact
            state[bias] = torch.zeros(state[key].shape[0], dtype=state[key].dtype)
    return state


def eca_model(raw: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> nn.Module:
    kernels = []
    for s in (1, 2, 3, 4):
        w = state.get(f"layer{s}.0.eca.conv.weight")
        if w is None:
            raise CheckpointError(
                f"no ECA weight for layer{s} (expected layer{s}.0.eca.conv.weight)"
            )
        kernels.append(int(w.shape[-1]))
    return attention_resnet50("eca", eca_kernels=tuple(kernels))


def mmdet_model(raw: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> nn.Module:
    gc_stages = sorted(
        {int(m.group(1)) for k in state if (m := re.match(r"layer(\d)\.\d+\.gc\.conv_mask\.", k))}
    )
    kind = "gc" if gc_stages else None
    ratio = 1 / 16
    if gc_stages:
        hidden, channels = state[f"layer{gc_stages[0]}.0.gc.transform.0.weight"].shape[:2]
        ratio = hidden / channels
    nl_blocks = sorted({k.split(".nonlocal_block.")[0] for k in state if ".nonlocal_block." in k})
    if len(nl_blocks) > 1:
        raise CheckpointError(f"more than one Non-local block ({nl_blocks}); expected one")
    nl_after = nl_blocks[0] if nl_blocks else None
    nl_options = None
    if nl_after is not None:
        p = f"{nl_after}.nonlocal_block."
        if f"{p}concat_project.weight" in state:
            form = "nl_concatenation"
        elif f"{p}theta.weight" not in state:
            form = "nl_gaussian"
        else:
            form = "nl_embedded_gaussian"
        nl_options = {
            "kind": form,
            "inter_channels": int(state[f"{p}g.weight"].shape[0]),
            "scale": "sqrt_inter",
        }
    model = attention_resnet50(
        kind,
        stages=tuple(gc_stages) or None,
        gc_ratio=ratio,
        nonlocal_after=nl_after,
        nonlocal_options=nl_options,
        features_only=True,
    )
    if nl_after is not None:
        block = model.get_submodule(f"{nl_after}.nonlocal_block")
        block.sub_sample = any(re.search(r"\.nonlocal_block\.g\.0\.conv\.", k) for k in raw)
        if f"{nl_after}.nonlocal_block.bn.weight" not in state:
            block.bn = nn.Identity()  # conv_out without norm: W_z's bias is the whole output
    return model
