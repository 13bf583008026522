"""viz.zoo's shared trunk: one Lite0 per process, one trunk pass per input across zoo models, and
results exactly those of the uncached trunk (threads, gradients, weight changes, copies)."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from viz.capture import capture
from viz.errors import WeightsUnavailable
from viz.models import zoo
from viz.models.zoo import INPUT_SIZE, TRUNK_CHANNELS, SharedTrunk, ZooNet, build_trunk
from viz.weights.sources.zoo import load_zoo
from viz.weights.spec import Backbone
from viz.weights.transforms import normalise, resize_center_crop

KINDS = ("baseline", "se", "cbam", "a2", "gc", "nl_embedded_gaussian", "nl_concatenation")


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def plain() -> nn.Module:
    """The uncached trunk: the reference every cached result is compared with."""
    return build_trunk()


@pytest.fixture()
def shared(plain) -> SharedTrunk:
    """A cached trunk on the SAME weights as ``plain`` (its own empty cache per test)."""
    return SharedTrunk(plain).eval()


@pytest.fixture(scope="module")
def heads() -> dict[str, ZooNet]:
    """Untrained zoo models without a trunk (they take trunk features): the parts after it."""
    torch.manual_seed(0)
    return {k: ZooNet(k).eval() for k in KINDS}


def _zoo(kind: str, trunk: nn.Module, heads) -> ZooNet:
    model = copy.deepcopy(heads[kind])  # as load_zoo: trained parts first, then the trunk
    model.trunk = trunk
    return model.eval()


def _images(n: int, size: int = INPUT_SIZE) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randn(1, 3, size, size, generator=g) for _ in range(n)]


def _records(model, x):
    with torch.inference_mode(), capture(model) as records:
        out = model(x)
    return out, {p: {k: v.clone() for k, v in r.tensors.items()} for p, r in records.items()}


def test_every_zoo_model_on_one_input_is_bit_identical_and_runs_the_trunk_once(
    plain, shared, heads
):
    (x,) = _images(1)
    for kind in KINDS:
        want, want_rec = _records(_zoo(kind, plain, heads), x)
        got, got_rec = _records(_zoo(kind, shared, heads), x)
        assert torch.equal(got, want), kind
        assert got_rec.keys() == want_rec.keys(), kind
        for path in want_rec:
            for name, tensor in want_rec[path].items():
                assert torch.equal(got_rec[path][name], tensor), (kind, path, name)
    assert shared.cache.misses == 1
    assert shared.cache.hits == len(KINDS) - 1


def test_nearby_inputs_never_share_an_entry(plain, shared):
    (x,) = _images(1)
    ulp = x.clone()
    ulp[0, 0, 0, 0] = torch.nextafter(ulp[0, 0, 0, 0], torch.tensor(float("inf")))
    assert shared._key(ulp) != shared._key(x)
    y = x.clone()
    y[0, :, 100:108, 100:108] += 0.01
    with torch.inference_mode():
        fx, fy = shared(x), shared(y)
        assert torch.equal(fx, plain(x)) and torch.equal(fy, plain(y))
        assert not torch.equal(fx, fy)
        assert shared.cache.misses == 2 and shared.cache.hits == 0
        # the same values in another dtype or layout are other inputs too
        shared(x.double().float())  # same bytes: a hit
        assert shared.cache.hits == 1
        cl = x.contiguous(memory_format=torch.channels_last)
        assert torch.equal(shared(cl), plain(cl))
        assert shared.cache.misses == 3
    key = shared._key(x)
    assert "cpu" in key and str(x.dtype) in key
    assert shared._key(x.double()) != key


def test_memory_stays_bounded(plain):
    trunk = SharedTrunk(plain, max_entries=8).eval()
    xs = _images(20, size=64)
    with torch.no_grad():
        for x in xs:
            assert torch.equal(trunk(x), plain(x))
    per_entry = TRUNK_CHANNELS * 4 * 4 * 4  # 64 px -> 4 x 4 map, float32
    assert len(trunk.cache) == 8 and trunk.cache.nbytes == 8 * per_entry
    # LRU: the newest 8 are kept, the oldest recomputed
    with torch.no_grad():
        trunk(xs[-1])
        assert trunk.cache.hits == 1
        trunk(xs[0])
        assert trunk.cache.misses == 21
    small = SharedTrunk(plain, max_bytes=per_entry - 1).eval()
    with torch.no_grad():
        assert torch.equal(small(xs[0]), plain(xs[0]))
    assert len(small.cache) == 0  # too big to keep: computed, returned, not stored


def test_caller_changing_its_result_does_not_change_the_cache(plain, shared):
    (x,) = _images(1, size=64)
    with torch.inference_mode():
        shared(x).zero_()  # a miss
        shared(x).add_(1.0)  # a hit
        assert torch.equal(shared(x), plain(x))
    assert shared.cache.hits == 2


def test_gradients_bypass_the_cache(plain, shared, heads):
    (x,) = _images(1)
    model = _zoo("nl_embedded_gaussian", shared, heads)
    with torch.no_grad():
        model(x)  # fill the cache for x
    hits, misses = shared.cache.hits, shared.cache.misses

    def input_grad(m):
        xi = x.clone().requires_grad_(True)
        m(xi)[0, 0].backward()
        return xi.grad

    want = input_grad(_zoo("nl_embedded_gaussian", plain, heads))
    got = input_grad(model)
    assert got is not None and got.abs().sum() > 0
    assert torch.equal(got, want)
    with torch.no_grad():  # an input that requires grad is never served from the cache either
        model(x.clone().requires_grad_(True))
    assert (shared.cache.hits, shared.cache.misses) == (hits, misses)


def test_attribution_on_a_shared_trunk_equals_the_plain_trunk(plain, shared, heads):
    from viz.analysis.attribution import attribute

    def backbone(trunk):
        model = _zoo("gc", trunk, heads)

        def prepare(image):
            return resize_center_crop(image, INPUT_SIZE)

        meta = {"gradcam_layer": "head.conv"}
        return Backbone("test/zoo_gc", model, lambda i: normalise(prepare(i)), meta, "cpu", prepare)

    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (240, 260, 3), dtype=np.uint8))
    bb = backbone(shared)
    bb.device = torch.device("cpu")
    with torch.no_grad():  # the cache already holds this image, as after the page's forward
        bb.model(bb.preprocess(image))
    ref = backbone(plain)
    ref.device = torch.device("cpu")
    want = attribute(ref, image, target=2, steps=4)
    got = attribute(bb, image, target=2, steps=4)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
    assert got["integrated_gradients"].max() > 0


def test_weights_changed_in_place_are_not_served_stale(heads):
    net = build_trunk()
    trunk = SharedTrunk(net).eval()
    (x,) = _images(1, size=64)
    with torch.no_grad():
        before = trunk(x)
        net.conv_stem.weight.mul_(0.5)
        after = trunk(x)
        assert torch.equal(after, net(x))
    assert not torch.equal(before, after)


def test_training_mode_bypasses_the_cache(plain):
    trunk = SharedTrunk(copy.deepcopy(plain))
    trunk.train()
    (x,) = _images(1, size=64)
    with torch.no_grad():
        trunk(torch.cat([x, x]))
    assert len(trunk.cache) == 0


def test_threads_each_get_their_own_features(plain, shared, heads):
    xs = _images(6)
    kinds = ("se", "nl_embedded_gaussian", "gc")
    with torch.inference_mode():
        want = [[_zoo(k, plain, heads)(x) for k in kinds] for x in xs]
    models = [_zoo(k, shared, heads) for k in kinds]
    results: list = [None] * (2 * len(xs))
    errors: list = []
    barrier = threading.Barrier(len(results))

    def work(i):
        try:
            barrier.wait()
            with torch.inference_mode():
                results[i] = [m(xs[i % len(xs)]) for m in models]
        except Exception as exc:  # surfaced below with the thread's index
            errors.append((i, exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, got in enumerate(results):
        for g, w in zip(got, want[i % len(xs)]):
            assert torch.equal(g, w), i
    # two threads per input: the second waited for the first instead of running the trunk again
    assert shared.cache.misses == len(xs)


def test_copies_get_their_own_cache(plain, shared, heads):
    model = _zoo("se", shared, heads)
    (x,) = _images(1, size=64)
    with torch.no_grad():
        model(x)
    replica = copy.deepcopy(model)
    assert replica.trunk.cache is not shared.cache and len(replica.trunk.cache) == 0
    assert isinstance(replica.trunk, nn.Module)
    with torch.no_grad():
        assert torch.equal(replica(x), model(x))
    assert model.to("cpu") is model


def test_shared_trunk_is_built_once_for_concurrent_first_callers(monkeypatch):
    builds = []

    def slow_build():
        builds.append(threading.get_ident())
        threading.Event().wait(0.2)  # a window in which the other callers arrive
        return nn.Identity()

    monkeypatch.setattr(zoo, "_SHARED_TRUNKS", {})
    monkeypatch.setattr(zoo, "build_trunk", slow_build)
    got: list = [None] * 8
    barrier = threading.Barrier(len(got))

    def work(i):
        barrier.wait()
        got[i] = zoo.shared_trunk("cpu")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(got))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1
    assert all(t is got[0] for t in got) and isinstance(got[0], SharedTrunk)


def test_loaded_zoo_models_share_one_trunk():
    try:
        a, b = load_zoo("se"), load_zoo("nl_embedded_gaussian")
    except WeightsUnavailable as exc:
        pytest.skip(f"zoo checkpoints not available: {exc}")
    assert isinstance(a.trunk, SharedTrunk) and a.trunk is b.trunk
    assert a.trunk is zoo.shared_trunk("cpu")
    assert not any(p.requires_grad for p in a.trunk.parameters())
    a.train()
    assert not a.trunk.training  # the trunk stays frozen in eval mode
    a.eval()
