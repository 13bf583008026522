"""Hooks that make unmodified timm / torchvision attention layers emit records like ours do.

Each adapter reads what the layer computes anyway: the output of its gate activation (SE, ECA, CBAM),
its attention logits (GC, Non-local) and its input/output. Children's hooks collect tensors in a
pending slot of the current recorder; the layer's own forward hook emits them as one record. Every
hook returns at once when nothing is capturing, so an adapted model costs nothing outside
``capture``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from torch import nn

from viz.capture.recorder import _PATH_CACHE, _RECORDER, emit

_MARK = "_viz_adapter_handles"  # the hook handles of an adapted module
_INSTALL_LOCK = threading.Lock()  # two sessions' first captures of one model must not hook twice


def _pending(parent: nn.Module) -> dict | None:
    recorder = _RECORDER.get()
    if recorder is None:
        return None
    return recorder.__dict__.setdefault("pending", {}).setdefault(id(parent), {})


def _collect(parent: nn.Module, name: str, transform: Callable[[torch.Tensor], torch.Tensor]):
    """A child forward hook storing ``transform(child_output)`` under ``name`` for ``parent``."""

    def hook(_module, _inputs, output):
        slot = _pending(parent)
        if slot is not None:
            slot[name] = transform(output)

    return hook


def _emitter(kind: str, finish: Callable[[dict, torch.Tensor, torch.Tensor], dict] | None = None):
    """The parent's forward hook: turn the pending slot into one record."""

    def hook(module, inputs, output):
        recorder = _RECORDER.get()
        if recorder is None:
            return
        slot = recorder.__dict__.get("pending", {}).pop(id(module), {})
        if finish is not None:
            slot = finish(slot, inputs[0], output)
        if slot:
            emit(module, kind=kind, **slot)

    return hook


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.detach().reshape(t.shape[0], -1)


def _adapt_se(m: nn.Module, gate_name: str) -> list:
    return [
        getattr(m, gate_name).register_forward_hook(_collect(m, "channel", _flat)),
        m.register_forward_hook(_emitter("se")),
    ]


def _adapt_eca(m: nn.Module) -> list:
    return [
        m.gate.register_forward_hook(_collect(m, "channel", _flat)),
        m.register_forward_hook(_emitter("eca")),
    ]


def _adapt_cbam(m: nn.Module) -> list:
    return [
        m.channel.gate.register_forward_hook(_collect(m, "channel", _flat)),
        m.spatial.gate.register_forward_hook(_collect(m, "spatial", lambda t: t.detach()[:, 0])),
        m.register_forward_hook(_emitter("cbam")),
    ]


def _adapt_global_context(m: nn.Module) -> list:
    def softmax_map(logits: torch.Tensor) -> torch.Tensor:
        b, _, h, w = logits.shape
        return torch.softmax(logits.detach().reshape(b, h * w), dim=1).view(b, h, w)

    handles = []
    if m.conv_attn is not None:
        handles.append(m.conv_attn.register_forward_hook(_collect(m, "context", softmax_map)))
    if m.mlp_add is not None:
        handles.append(m.mlp_add.register_forward_hook(_collect(m, "transform", _flat)))
    elif m.mlp_scale is not None:
        handles.append(
            m.mlp_scale.register_forward_hook(
                _collect(m, "transform", lambda t: _flat(m.gate(t.detach())))
            )
        )
    handles.append(m.register_forward_hook(_emitter("gc")))
    return handles


def _adapt_nonlocal(m: nn.Module) -> list:
    def finish(slot: dict, x: torch.Tensor, out: torch.Tensor) -> dict:
        t, p = slot.pop("_t").flatten(2), slot.pop("_p").flatten(2)
        attention = torch.softmax(torch.bmm(t.transpose(1, 2), p) * m.scale, dim=2)
        return {"attention": attention, "input": x.detach(), "output": (out - x).detach()}

    return [
        m.t.register_forward_hook(_collect(m, "_t", lambda t: t.detach())),
        m.p.register_forward_hook(_collect(m, "_p", lambda t: t.detach())),
        m.register_forward_hook(_emitter("nl_embedded_gaussian", finish)),
    ]


def _adapters() -> list[tuple[type, Callable[[nn.Module], list]]]:
    """(layer class, installer) pairs for the libraries that are importable."""
    found: list[tuple[type, Callable[[nn.Module], list]]] = []
    try:
        from timm.layers.cbam import CbamModule
        from timm.layers.eca import EcaModule
        from timm.layers.global_context import GlobalContext
        from timm.layers.non_local_attn import NonLocalAttn
        from timm.layers.squeeze_excite import SEModule

        found += [
            (SEModule, lambda m: _adapt_se(m, "gate")),
            (EcaModule, _adapt_eca),
            (CbamModule, _adapt_cbam),
            (GlobalContext, _adapt_global_context),
            (NonLocalAttn, _adapt_nonlocal),
        ]
    except ImportError:  # timm is optional for the core
        pass
    try:
        from torchvision.ops import SqueezeExcitation

        found.append((SqueezeExcitation, lambda m: _adapt_se(m, "scale_activation")))
    except ImportError:
        pass
    return found


def install(model: nn.Module) -> int:
    """Install adapter hooks on every known foreign attention layer of ``model`` (idempotent)."""
    table = _adapters()
    with _INSTALL_LOCK:
        return _install_locked(model, table)


def _install_locked(model: nn.Module, table) -> int:
    count = 0
    for module in model.modules():
        if getattr(module, _MARK, None):
            count += 1
            continue
        for cls, installer in table:
            if isinstance(module, cls):
                setattr(module, _MARK, installer(module))
                count += 1
                break
    return count


def remove(model: nn.Module) -> int:
    """Remove every adapter hook :func:`install` put on ``model``; returns how many modules had one.

    The model is then as it was before (a later ``capture`` installs the hooks again).
    """
    count = 0
    with _INSTALL_LOCK:
        for module in model.modules():
            handles = getattr(module, _MARK, None)
            if handles:
                for handle in handles:
                    handle.remove()
                delattr(module, _MARK)
                count += 1
        _PATH_CACHE.pop(model, None)
    return count
