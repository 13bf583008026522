"""viz.stats: GCNet Table-1 statistics against a naive O(N^2) computation, and its memory bound."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from viz.attention import create_attention
from viz.capture import capture
from viz.stats import (
    DEFAULT_MEMORY_BUDGET,
    _block_size,
    cosine_distance_matrix,
    jsd_matrix,
    mean_cosine_distance,
    mean_jsd,
    mean_map,
    query_independence,
    record_statistics,
    rows_are_distributions,
)

ROOT = Path(__file__).resolve().parents[1]


def naive_cos_distance(v: np.ndarray) -> float:
    """(1 - cos)/2 over all ordered pairs, self-pairs included; cos with a zero vector = 0."""
    n = len(v)
    total = 0.0
    for i in range(n):
        for j in range(n):
            ni, nj = np.linalg.norm(v[i]), np.linalg.norm(v[j])
            cos = 0.0 if ni == 0 or nj == 0 else float(v[i] @ v[j]) / (ni * nj)
            total += (1.0 - cos) / 2.0
    return total / n**2


def naive_jsd_pair(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    kl = lambda a: sum(a_k * np.log(a_k / m_k) for a_k, m_k in zip(a, m) if a_k > 0)  # noqa: E731
    return 0.5 * (kl(p) + kl(q))


def naive_mean_jsd(p: np.ndarray) -> float:
    n = len(p)
    return sum(naive_jsd_pair(p[i], p[j]) for i in range(n) for j in range(n)) / n**2


def _softmax_rows(rng, n, k, sharp=3.0):
    logits = rng.normal(size=(n, k)) * sharp
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_matches_naive_computation():
    rng = np.random.default_rng(0)
    n, c, k = 12, 5, 9  # N' != N, as with sub-sampled keys
    x = rng.normal(size=(n, c))
    z = rng.normal(size=(n, c)) + 0.5
    att = _softmax_rows(rng, n, k)
    att[3, :4] = 0.0  # exact zeros: 0 log 0 = 0
    att[3] /= att[3].sum()
    stats = query_independence(x, z, att)
    assert stats["cos_input"] == pytest.approx(naive_cos_distance(x), rel=1e-10)
    assert stats["cos_output"] == pytest.approx(naive_cos_distance(z), rel=1e-10)
    assert stats["cos_att"] == pytest.approx(naive_cos_distance(att), rel=1e-10)
    assert stats["jsd_att"] == pytest.approx(naive_mean_jsd(att), rel=1e-10)
    assert 0.0 < stats["jsd_att"] <= np.log(2)
    # the pairwise matrices too
    idx = [0, 3, 7]
    jm = jsd_matrix(att[idx])
    cm = cosine_distance_matrix(x[idx])
    for a, i in enumerate(idx):
        for b, j in enumerate(idx):
            assert jm[a, b] == pytest.approx(naive_jsd_pair(att[i], att[j]), abs=1e-12)
            cos = x[i] @ x[j] / (np.linalg.norm(x[i]) * np.linalg.norm(x[j]))
            assert cm[a, b] == pytest.approx((1 - cos) / 2, abs=1e-12)
    np.testing.assert_allclose(mean_map(att), att.mean(axis=0))


def test_rows_not_distributions_have_no_jsd():
    rng = np.random.default_rng(1)
    att = rng.normal(size=(6, 6)) / 6  # dot-product rows: signed, not summing to 1
    assert not rows_are_distributions(att)
    stats = query_independence(rng.normal(size=(6, 3)), rng.normal(size=(6, 3)), att)
    assert stats["jsd_att"] is None
    assert stats["cos_att"] == pytest.approx(naive_cos_distance(att), rel=1e-10)


def test_identical_rows_give_zero():
    rng = np.random.default_rng(2)
    row = _softmax_rows(rng, 1, 16)[0]
    att = np.tile(row, (10, 1))
    stats = query_independence(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), att)
    assert stats["cos_att"] == pytest.approx(0.0, abs=1e-12)
    assert stats["jsd_att"] == pytest.approx(0.0, abs=1e-12)
    assert stats["cos_input"] > 0.1


def test_zero_vectors_follow_cosine_similarity_convention():
    v = np.array([[0.0, 0.0], [1.0, 0.0]])
    # pairs: (0,0) cos 0 -> 0.5, (0,1) 0.5, (1,0) 0.5, (1,1) cos 1 -> 0
    assert mean_cosine_distance(v) == pytest.approx(0.375)
    assert mean_cosine_distance(v) == pytest.approx(naive_cos_distance(v))
    assert mean_cosine_distance(np.zeros((4, 3))) == pytest.approx(0.5)
    torch_cos = torch.cosine_similarity(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))
    assert float(torch_cos) == 0.0  # the convention the module follows


def test_nl_block_with_zero_theta_is_query_independent():
    torch.manual_seed(0)
    block = create_attention("nl_embedded_gaussian", 8).eval()
    with torch.no_grad():
        block.theta.weight.zero_()
        block.theta.bias.zero_()
        block.bn.weight.fill_(1.0)
    x = torch.randn(1, 8, 5, 6)
    with torch.no_grad(), capture(block) as records:
        block(x)
    (record,) = records.values()
    stats = record_statistics(record)
    assert stats["cos_att"] == pytest.approx(0.0, abs=1e-9)
    assert stats["jsd_att"] == pytest.approx(0.0, abs=1e-9)
    assert stats["cos_input"] > 0.2  # the inputs do differ between positions
    # with theta zero, every output row is the same vector: z - x is query-independent too
    assert stats["cos_output"] == pytest.approx(0.0, abs=1e-6)


def test_record_statistics_uses_positions_as_rows():
    torch.manual_seed(1)
    block = create_attention("nl_embedded_gaussian", 6, sub_sample=True).eval()
    x = torch.randn(2, 6, 4, 4)
    with torch.no_grad(), capture(block) as records:
        block(x)
    (record,) = records.values()
    att = record.tensors["attention"][1].double().numpy()
    assert att.shape == (16, 4)
    stats = record_statistics(record, index=1)
    assert stats["cos_input"] == pytest.approx(
        naive_cos_distance(x[1].reshape(6, -1).T.double().numpy()), rel=1e-6
    )
    assert stats["jsd_att"] == pytest.approx(naive_mean_jsd(att), rel=1e-6)


@pytest.mark.parametrize("budget", [1, 200, 5_000])
def test_blocked_jsd_equals_unblocked(budget):
    rng = np.random.default_rng(3)
    p = _softmax_rows(rng, 23, 7)
    assert _block_size(7, budget) < 23  # really several blocks
    assert mean_jsd(p, memory_budget=budget) == pytest.approx(mean_jsd(p), rel=1e-12)
    np.testing.assert_allclose(jsd_matrix(p, memory_budget=budget), jsd_matrix(p), atol=1e-14)


def test_block_size_respects_budget():
    for n_keys in (4, 196, 1024, 4096):
        b = _block_size(n_keys, DEFAULT_MEMORY_BUDGET)
        # the block's two b x b x N' float64 temporaries fit in the budget
        assert 2 * 8 * b * b * n_keys <= DEFAULT_MEMORY_BUDGET
        assert b >= 1


def test_n4096_stays_within_the_memory_budget():
    """Peak RSS growth of a fresh process computing the statistics at N = 4096 (N' = 16 keys, so
    it is quick); the full N' = 4096 case is timed in bench/stats_bench.py."""
    script = textwrap.dedent(
        """
        import resource, torch
        from viz.stats import query_independence
        torch.set_num_threads(1)
        g = torch.Generator().manual_seed(0)
        n, keys = 4096, 16
        att = torch.softmax(torch.randn(n, keys, generator=g, dtype=torch.float64) * 3, dim=1)
        x = torch.randn(n, 32, generator=g)
        z = torch.randn(n, 32, generator=g)
        query_independence(x[:8], z[:8], att[:8])  # warm up allocator and code paths
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats = query_independence(x, z, att)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) * 1024, stats["jsd_att"])
        """
    )
    # A fixed mmap threshold makes glibc return every freed block >= 1 MiB at once, so the RSS
    # peak measures the working set, not glibc's retention of freed heap blocks (bench/stats_bench.py
    # reports the default allocator's figure).
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(2**20), "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    extra, jsd = run.stdout.split()
    assert float(jsd) > 0
    assert int(extra) <= DEFAULT_MEMORY_BUDGET * 1.10  # page-granularity slack only
