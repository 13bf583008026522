"""What a mechanism means for display: the :class:`Mechanism` record each mechanism file exports.

A mechanism file holds the ``nn.Module`` and, next to it, one ``Mechanism`` (several for the
Non-local forms): its kind, family, formula, how its channel gate and its maps become [0, 1]
arrays, and a line about the live tensor shapes. Figures and views read these facts; none of
them is retyped elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from torch import nn

Tensors = Mapping[str, np.ndarray]

__all__ = ["FAMILIES", "MapFact", "Mechanism", "Tensors", "expit", "mb"]

FAMILIES = ("channel", "channel+spatial", "context", "double", "nonlocal")


@dataclass(frozen=True)
class MapFact:
    """One 2-D map a record offers.

    Args:
        label: caption of the map.
        needs: tensor name that must be present for the map to exist.
        to_map: ``tensors -> (h, w)`` array (batch removed).
        unit: the map's values lie in [0, 1] (False for signed maps, e.g. dot-product rows).
    """

    label: str
    needs: str
    to_map: Callable[[Tensors], np.ndarray]
    unit: bool = True


@dataclass(frozen=True)
class Mechanism:
    """The display facts of one attention kind.

    Args:
        kind: its name, unique among the registered kinds.
        family: one of ``FAMILIES``.
        title: human name.
        formula: one-line formula (Unicode).
        build: ``(channels, **options) -> nn.Module``.
        gate: ``tensors -> (C,)`` channel gate in [0, 1], or ``None`` (no channel gate).
        maps: the 2-D maps, in display order.
        pages: the pages that draw this kind.
        explain: ``tensors -> str``, one sentence about this run's sizes.
    """

    kind: str
    family: str
    title: str
    formula: str
    build: Callable[..., nn.Module]
    gate: Callable[[Tensors], np.ndarray] | None = None
    maps: tuple[MapFact, ...] = ()
    pages: tuple[str, ...] = ()
    explain: Callable[[Tensors], str] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.kind}: family {self.family!r} is not one of {FAMILIES}")
        if "channel" in self.pages and self.gate is None:  # the Channel page draws the gate
            raise ValueError(f"{self.kind}: drawn on the channel page, so it needs a gate")

    def channel_gate(self, tensors: Tensors) -> np.ndarray | None:
        """The channel gate in [0, 1], or ``None`` when this record has none."""
        if self.gate is None or "channel" not in tensors:
            return None
        return self.gate(tensors)

    def spatial_maps(self, tensors: Tensors) -> dict[str, np.ndarray]:
        """Caption -> 2-D map, for the maps whose tensors this record holds."""
        return {m.label: m.to_map(tensors) for m in self.maps if m.needs in tensors}


def channel_mechanism(
    kind: str,
    title: str,
    formula: str,
    build,
    maps=(),
    logits: bool = False,
    family: str = "channel",
) -> Mechanism:
    """A mechanism with a channel gate (``channel``; through σ when the module emits ``logits``),
    drawn on the Channel page, and on the Spatial page too when it has ``maps``."""
    pages = ("channel", "spatial") if maps else ("channel",)
    gate = (lambda t: expit(t["channel"])) if logits else channel_of
    return Mechanism(kind, family, title, formula, build, gate, tuple(maps), pages, channel_count)


def channel_of(tensors: Tensors) -> np.ndarray:
    """The ``channel`` tensor as it is (already a gate in [0, 1])."""
    return tensors["channel"]


def channel_count(tensors: Tensors) -> str:
    """``"64 channel gates in this block."`` (empty when the record has no channel gate)."""
    if "channel" not in tensors:
        return ""
    return f"{tensors['channel'].shape[0]} channel gates in this block."


def mb(nbytes: float) -> str:
    """``"1.50 MB"`` / ``"12.0 KB"``."""
    return f"{nbytes / 2**20:.2f} MB" if nbytes >= 2**16 else f"{nbytes / 1024:.1f} KB"
