"""viz.analysis.numpy_stats against the code it replaced (``_stats_before``, verbatim): equal to
1e-9 where the old code computed in float64; to float32 rounding where it resized in float32;
and the numpy mean-row peak against its torch twin in ``viz.analysis.training_stats``."""

from __future__ import annotations

import math

import _stats_before as before
import numpy as np
import pytest
import torch

from viz.analysis import numpy_stats as ns
from viz.analysis import row_maps, training_stats
from viz.analysis.attribution import map_correlation
from viz.analysis.pins import pinned_statistics
from viz.figures.explorer_payload import block_mean
from viz.figures.raster import downscaled

TOL = 1e-9


def _softmax_rows(rng, n, k, sharp=2.0):
    e = np.exp(rng.normal(size=(n, k)) * sharp)
    return e / e.sum(axis=1, keepdims=True)


def _awkward_rows(rng, n=9, c=7):
    """Rows with a zero row, a row shorter than the zero threshold, one just above it, a NaN row
    and ordinary rows: the cases the zero-row guard decides."""
    v = rng.normal(size=(n, c))
    v[1] = 0.0
    v[2] = 1e-13
    v[3] = 1e-11
    v[4, 0] = np.nan
    return v


# ------------------------------------------------------------------------------ cosine distances


def test_cosine_distance_matrix_equals_both_old_versions():
    rng = np.random.default_rng(0)
    for v in (rng.normal(size=(12, 196)), _awkward_rows(rng), rng.random((5, 3)) * 1e6):
        np.testing.assert_allclose(
            ns.cosine_distance_matrix(v), before.stats_cosine_distance_matrix(v), atol=TOL
        )
    ok = rng.normal(size=(12, 196))  # the pins' code had no NaN rows to meet
    np.testing.assert_allclose(
        ns.cosine_distance_matrix(ok), before.pins_cosine_distances(ok), atol=TOL
    )
    f32 = rng.normal(size=(6, 50)).astype(np.float32)
    np.testing.assert_allclose(
        ns.cosine_distance_matrix(f32), before.stats_cosine_distance_matrix(f32), atol=TOL
    )
    assert ns.cosine_distance_matrix(np.zeros((0, 4))).shape == (0, 0)
    # a torch tensor is read as float64 like an array
    t = torch.randn(5, 8, dtype=torch.float32)
    np.testing.assert_allclose(
        ns.cosine_distance_matrix(t), before.stats_cosine_distance_matrix(t), atol=TOL
    )


def test_cosine_distances_to_one_map_equal_the_old_mean_distance():
    rng = np.random.default_rng(1)
    rows = _softmax_rows(rng, 30, 16)
    rows[4] = 0.0  # a zero row: cos 0 in both
    target = rng.random(16)
    new = float(ns.cosine_distance_matrix(rows, target[None, :]).mean())
    assert new == pytest.approx(before.row_maps_mean_distance_to(rows, target), abs=TOL)
    assert ns.cosine_distance_matrix(rows, target[None, :]).shape == (30, 1)


def test_mean_cosine_distance_equals_old():
    rng = np.random.default_rng(2)
    for v in (rng.normal(size=(196, 64)), rng.normal(size=(40, 5)).astype(np.float32)):
        assert ns.mean_cosine_distance(v) == pytest.approx(
            before.stats_mean_cosine_distance(v), abs=TOL
        )
    awkward = _awkward_rows(rng)
    awkward[4] = 1.0  # the mean cosine of a NaN row is NaN in both: leave it out
    assert ns.mean_cosine_distance(awkward) == pytest.approx(
        before.stats_mean_cosine_distance(awkward), abs=TOL
    )
    with pytest.raises(ValueError, match="non-empty"):
        ns.mean_cosine_distance(np.zeros((0, 3)))


# ------------------------------------------------------------------ distributions and entropy


def test_rows_are_distributions_agrees_with_both_old_checks():
    rng = np.random.default_rng(3)
    p = _softmax_rows(rng, 20, 9)
    off = p.copy()
    off[0] *= 1.0 + 3e-4  # sums 1.0003: beyond atol + rtol
    near = p.copy()
    near[0, 0] -= 5e-5  # sums 0.99995: within
    negative = p.copy()
    negative[1, 2] = -2e-4
    nan = p.copy()
    nan[2, 2] = np.nan
    cases = [p, p.astype(np.float32), off, near, negative, nan, rng.normal(size=(6, 6)) / 6]
    for a in cases:
        want = before.stats_rows_are_distributions(a)
        assert ns.rows_are_distributions(a) is want
        assert before.pins_are_distributions(np.asarray(a, dtype=np.float64)) is want
    assert [ns.rows_are_distributions(a) for a in cases] == [True, True, False, True] + [False] * 3


def test_entropy_equals_old_pins_and_row_maps():
    rng = np.random.default_rng(4)
    p = _softmax_rows(rng, 12, 196)
    p[3, :50] = 0.0  # exact zeros: 0 log 0 = 0
    p[3] /= p[3].sum()
    np.testing.assert_allclose(ns.entropy(p), before.pins_entropy(p), atol=TOL)
    f32 = _softmax_rows(rng, 40, 49).astype(np.float32)
    for att in (p, f32):
        want = before.row_maps_mean_row_entropy(att)
        assert row_maps.mean_row_entropy(att) == pytest.approx(want, abs=TOL)
    # the small negatives the distributions check lets through count as 0, as both old callers had it
    assert ns.entropy(np.array([0.5, 0.5, -1e-5])) == pytest.approx(math.log(2), abs=1e-15)
    assert ns.entropy(np.full(8, 1 / 8)) == pytest.approx(math.log(8), abs=1e-15)


def test_softmax_equals_old_dnl_and_row_maps():
    rng = np.random.default_rng(5)
    u64 = rng.normal(size=196) * 4
    u32 = u64.astype(np.float32)  # dnl_maps gets the captured float32 unary term
    np.testing.assert_allclose(ns.softmax(u64), before.row_maps_softmax(u64), atol=TOL, rtol=0)
    new32, old32 = ns.softmax(u32), before.dnl_softmax(u32)
    assert new32.dtype == old32.dtype == np.float32
    np.testing.assert_allclose(new32, old32, rtol=1e-6, atol=0)


@pytest.mark.parametrize("signed", [False, True])
def test_mean_row_peak_and_entropy_are_the_twins_of_the_batched_ones(signed):
    rng = np.random.default_rng(6)
    batch = np.stack([_softmax_rows(rng, 49, 49, sharp=s) for s in (0.1, 1.0, 3.0)])
    if signed:  # dot-product rows: |mean row|, normalised
        batch = rng.normal(size=(3, 49, 49)) / 49 + 0.01
    t = torch.as_tensor(batch, dtype=torch.float32)
    np.testing.assert_allclose(
        [ns.mean_row_peak(rows) for rows in batch],
        training_stats.mean_row_peak(t).numpy(),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        [ns.mean_row_entropy(rows) for rows in batch],
        training_stats.mean_row_entropy(t).numpy(),
        rtol=1e-5,
    )
    assert ns.mean_row_peak(np.full((4, 10), 0.1)) == pytest.approx(1.0)  # uniform
    assert ns.mean_row_peak(np.eye(10)[[3] * 4]) == pytest.approx(10.0)  # one key for all


def test_mean_row_peak_and_entropy_equal_old_query_reading():
    rng = np.random.default_rng(17)
    zero_mean = np.zeros((3, 5))  # reads as uniform
    for rows in (_softmax_rows(rng, 30, 49), rng.normal(size=(8, 12)), zero_mean, np.ones((4, 1))):
        assert ns.mean_row_peak(rows) == pytest.approx(
            before.query_reading_mean_row_peak(rows), abs=TOL
        )
        assert ns.mean_row_entropy(rows) == pytest.approx(
            before.query_reading_mean_row_entropy(rows), abs=TOL
        )
        np.testing.assert_allclose(
            ns.mean_row_distribution(rows),
            before.query_reading_mean_row_distribution(rows),
            atol=TOL,
        )


# ------------------------------------------------------------------------ Jensen-Shannon divergence


@pytest.mark.parametrize("budget", [3_000, ns.DEFAULT_MEMORY_BUDGET])
def test_jsd_equals_old_table1_code(budget):
    rng = np.random.default_rng(7)
    p = _softmax_rows(rng, 70, 33)
    p[5, :10] = 0.0
    p[5] /= p[5].sum()
    assert ns.mean_jsd(p, budget) == pytest.approx(before.stats_mean_jsd(p, budget), abs=TOL)
    np.testing.assert_allclose(
        ns.jsd_matrix(p, budget), before.stats_jsd_matrix(p, budget), atol=TOL, rtol=0
    )
    f32 = p.astype(np.float32)  # as captured
    assert ns.mean_jsd(f32) == pytest.approx(before.stats_mean_jsd(f32), abs=TOL)


def test_jsd_matrix_equals_old_pins_code():
    rng = np.random.default_rng(8)
    rows = _softmax_rows(rng, 12, 196)
    np.testing.assert_allclose(ns.jsd_matrix(rows), before.pins_jsd_matrix(rows), atol=TOL, rtol=0)


def test_sampled_jsd_equals_old_code_on_the_same_pairs():
    """Only the pair draw changed (torch's generator -> numpy's); given the pairs, the estimate and
    its standard error are the old code's."""
    rng = np.random.default_rng(9)
    p = _softmax_rows(rng, 300, 64)
    for pairs, budget in ((2_000, ns.DEFAULT_MEMORY_BUDGET), (777, 5_000)):
        i, j = ns._draw_pairs(300, pairs, seed=3)
        assert (i != j).all() and i.min() >= 0 and j.max() < 300
        old = before.stats_sampled_mean_jsd_of_pairs(
            p, torch.as_tensor(i), torch.as_tensor(j), budget
        )
        new = ns.sampled_mean_jsd(p, pairs, seed=3, memory_budget=budget)
        assert new == pytest.approx(old, abs=TOL)


# ------------------------------------------------------------------------------- the pins, whole


def test_pinned_statistics_equal_the_old_pins_code():
    rng = np.random.default_rng(10)
    att = _softmax_rows(rng, 196, 196).astype(np.float32)
    pins = [(0, 0), (3, 7), (13, 13), (6, 2), (20, 1)]  # the last is off the grid
    new = pinned_statistics(att, pins, (14, 14), (14, 14))
    old = before.pins_pinned_statistics(att, pins, (14, 14), (14, 14))
    assert new.queries == old.queries and new.peak == old.peak and new.peak_key == old.peak_key
    np.testing.assert_allclose(new.entropy, old.entropy, atol=TOL, rtol=0)
    np.testing.assert_allclose(new.cosine, old.cosine, atol=TOL, rtol=0)
    np.testing.assert_allclose(new.jsd, old.jsd, atol=TOL, rtol=0)


# ------------------------------------------------------------------------------- bilinear resize


@pytest.mark.parametrize(
    "shape, out",
    [
        ((14, 14), (300, 300)),
        ((7, 5), (160, 96)),
        ((1, 4), (1, 8)),
        ((3, 5), (31, 50)),
        ((2, 2), (9, 5)),
    ],
)
def test_enlarging_equals_the_old_skimage_resize(shape, out):
    a = np.random.default_rng(11).normal(size=shape)
    np.testing.assert_allclose(
        ns.resize_bilinear(a, out), before.raster_resize_bilinear(a, out), atol=TOL, rtol=0
    )


@pytest.mark.parametrize(
    "shape, out", [((224, 224), (100, 100)), ((14, 14), (9, 5)), ((224, 160), (160, 300))]
)
def test_shrinking_is_antialiased_as_torch_and_pillow(shape, out):
    """Shrinking (one axis, or both): torch's antialiased bilinear computed in float64. The old
    ``resize_map`` ran it in float32 (torch's float32 kernel differs from its own float64 one by up
    to ~2e-5 here) and ``colour_panel`` in Pillow's float32 mode."""
    a = np.random.default_rng(12).random(shape)
    new = ns.resize_bilinear(a, out)
    t = torch.from_numpy(a)[None, None]
    ref = torch.nn.functional.interpolate(
        t, size=out, mode="bilinear", align_corners=False, antialias=True
    )[0, 0].numpy()
    np.testing.assert_allclose(new, ref, atol=TOL, rtol=0)
    np.testing.assert_allclose(new, before.attribution_resize_map(a, out), atol=5e-5)
    np.testing.assert_allclose(new, before.raster_colour_panel_resize(a, out), atol=1e-6)


def test_float32_resizers_agree_to_float32_rounding_when_enlarging():
    a = np.random.default_rng(13).random((14, 14))
    new = ns.resize_bilinear(a, (150, 150))
    np.testing.assert_allclose(new, before.attribution_resize_map(a, (150, 150)), atol=1e-6)
    np.testing.assert_allclose(new, before.raster_colour_panel_resize(a, (150, 150)), atol=1e-6)


def test_pictures_stay_uint8_and_equal_the_old_downscaled():
    img = np.random.default_rng(14).integers(0, 256, (300, 451, 3), dtype=np.uint8)
    for side in (640, 160, 97):
        new, old = downscaled(img, side), before.raster_downscaled(img, side)
        assert new.dtype == np.uint8 and np.array_equal(new, old)
    # the same filter as the float path, in Pillow's fixed point: within one level
    small = ns.resize_bilinear(img[..., 0], (100, 150)).astype(float)
    exact = ns.resize_bilinear(img[..., 0].astype(float), (100, 150))
    assert np.abs(small - exact).max() <= 1.0


def test_resize_keeps_nan_local_and_checks_its_arguments():
    a = np.ones((14, 14))
    a[3, 4] = np.nan
    up = ns.resize_bilinear(a, (140, 140))
    assert np.isnan(up).sum() <= 20 * 20 and np.isnan(up[30:50, 40:60]).any()
    assert np.allclose(up[100:], 1.0)
    same = ns.resize_bilinear(np.arange(6.0).reshape(2, 3), (2, 3))
    assert same.dtype == np.float64 and same.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="2-D"):
        ns.resize_bilinear(np.zeros((2, 3, 4)), (4, 4))
    with pytest.raises(ValueError, match="positive"):
        ns.resize_bilinear(np.zeros((2, 3)), (0, 4))


# -------------------------------------------------------------- correlation and block means


def test_map_correlation_equals_old():
    rng = np.random.default_rng(15)
    # float32-representable maps: the old code rounded every map to float32 before correlating
    a, b = (rng.random((14, 14)).astype(np.float32).astype(np.float64) for _ in range(2))
    assert map_correlation(a, b) == pytest.approx(before.attribution_map_correlation(a, b), abs=TOL)
    assert map_correlation(a, b) == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], abs=TOL)
    big = rng.random((56, 56)).astype(np.float32).astype(np.float64)
    assert map_correlation(big, a) == pytest.approx(
        before.attribution_map_correlation(big, a),
        abs=1e-6,  # old resized in float32
    )
    with np.errstate(all="raise"):  # the constant-map guard comes before np.corrcoef
        for const in (np.full((4, 4), 0.3), np.zeros((4, 4)), np.full((4, 4), 1e6) + 1e-12):
            assert math.isnan(map_correlation(a, const)) and math.isnan(map_correlation(const, a))
            assert math.isnan(before.attribution_map_correlation(a, const))


def test_block_mean_equals_old():
    rng = np.random.default_rng(16)
    for shape, factor in (((16, 16, 28, 28), 2), ((14, 14, 28, 28), 3), ((5, 7), 4), ((9, 9), 1)):
        g = rng.random(shape)
        np.testing.assert_allclose(
            block_mean(g, factor), before.explorer_payload_block_mean(g, factor), atol=TOL, rtol=0
        )
    g = rng.random((6, 6))
    g[0, 0] = np.nan  # a NaN spoils its own block only, as before
    new, old = block_mean(g, 4), before.explorer_payload_block_mean(g, 4)
    assert np.array_equal(np.isnan(new), np.isnan(old)) and np.isnan(new).sum() == 1
