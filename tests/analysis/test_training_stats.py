"""viz.analysis.training_stats (batched, training-time) against viz.analysis.table1, and the DNL split
against the logits."""

from __future__ import annotations

import math

import pytest
import torch

from viz.analysis.table1 import record_statistics
from viz.analysis.training_stats import mean_jsd, mean_row_entropy, record_batch_statistics
from viz.attention import NL_KINDS, create_attention
from viz.capture import capture


def _nl_model(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    block = create_attention(kind, 16)
    torch.nn.init.normal_(block.bn.weight)  # a trained-looking block: non-zero output
    return torch.nn.Sequential(block).eval()


@pytest.mark.parametrize("kind", NL_KINDS)
def test_batched_table1_equals_the_per_image_reference(kind):
    model = _nl_model(kind)
    x = torch.randn(3, 16, 5, 4)
    with torch.no_grad(), capture(model) as records:
        model(x)
    rec = records["0"]
    batched = record_batch_statistics(kind, rec.tensors, model[0].scale)
    for i in range(3):
        ref = record_statistics(rec, i, exact=True)
        assert batched["input"][i] == pytest.approx(ref["cos_input"], abs=1e-5)
        assert batched["output"][i] == pytest.approx(ref["cos_output"], abs=1e-5)
        assert batched["att"][i] == pytest.approx(ref["cos_att"], abs=1e-5)
        if ref["jsd_att"] is None:
            assert "jsd" not in batched
        else:
            assert batched["jsd"][i] == pytest.approx(ref["jsd_att"], abs=1e-5)


@pytest.mark.parametrize("kind", ["nl_gaussian", "nl_embedded_gaussian", "nl_dot_product"])
def test_dnl_split_sums_to_the_logits_and_explains_the_recorded_attention(kind):
    model = _nl_model(kind, seed=1)
    block = model[0]
    x = torch.randn(2, 16, 4, 4)
    with torch.no_grad(), capture(model) as records:
        model(x)
    t = records["0"].tensors
    assert t["unary"].shape == (2, 16) and t["pairwise"].shape == (2, 16, 16)
    q, k, _ = block.embeddings(x)
    logits = torch.bmm(q.transpose(1, 2), k)
    assert torch.allclose(t["pairwise"] + t["unary"][:, None, :], logits, atol=1e-4)
    # the unary term is mu_q^T k_j: the same for every query
    assert torch.allclose(
        t["unary"], q.mean(2, keepdim=True).transpose(1, 2).bmm(k)[:, 0], atol=1e-4
    )
    # the recorded attention is the form's normalisation of pairwise + unary
    full = t["pairwise"] + t["unary"][:, None, :]
    if kind == "nl_dot_product":
        expected = full / full.shape[2]
    else:
        expected = torch.softmax(full * block.scale, dim=2)
    assert torch.allclose(t["attention"], expected, atol=1e-5)


def test_unary_share_is_one_when_queries_agree_and_small_when_they_do_not():
    from viz.analysis.training_stats import dnl_batch

    k = torch.randn(1, 4, 9)
    same = torch.randn(1, 4, 1).expand(1, 4, 9)  # every query identical: pairwise = 0
    mu = same.mean(2, keepdim=True)
    t = {"unary": mu.transpose(1, 2).bmm(k)[:, 0], "pairwise": (same - mu).transpose(1, 2).bmm(k)}
    t["attention"] = torch.softmax(t["pairwise"] + t["unary"][:, None], dim=2)
    out = dnl_batch("nl_embedded_gaussian", t)
    assert out["unary_share"][0] == pytest.approx(1.0) and out["unary_distance"][0] < 1e-6
    varied = torch.randn(1, 4, 9) * 5
    mu = varied.mean(2, keepdim=True)
    t = {"unary": mu.transpose(1, 2).bmm(k)[:, 0], "pairwise": (varied - mu).transpose(1, 2).bmm(k)}
    t["attention"] = torch.softmax(t["pairwise"] + t["unary"][:, None], dim=2)
    assert dnl_batch("nl_embedded_gaussian", t)["unary_share"][0] < 0.5


def test_concatenation_split_has_query_and_key_terms():
    model = _nl_model("nl_concatenation")
    with torch.no_grad(), capture(model) as records:
        model(torch.randn(2, 16, 3, 3))
    t = records["0"].tensors
    assert t["query_term"].shape == (2, 9) and t["key_term"].shape == (2, 9)
    logit = t["query_term"][:, :, None] + t["key_term"][:, None, :]
    assert torch.allclose(torch.relu(logit) / 9, t["attention"], atol=1e-6)
    stats = record_batch_statistics("nl_concatenation", t)
    assert torch.allclose(stats["unary_share"], torch.ones(2))  # the query term only shifts a row


def test_entropy_guard_tells_uniform_from_peaked():
    uniform = torch.full((1, 5, 10), 0.1)
    peaked = torch.zeros(1, 5, 10)
    peaked[..., 3] = 1.0
    assert mean_row_entropy(uniform)[0] == pytest.approx(1.0)
    assert mean_row_entropy(peaked)[0] == pytest.approx(0.0, abs=1e-6)
    # identical uniform rows: zero JSD, and the guard is what tells them apart from a learned map
    assert mean_jsd(uniform)[0] == pytest.approx(0.0, abs=1e-6)
    two = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    assert mean_jsd(two)[0] == pytest.approx(math.log(2) / 2, abs=1e-6)  # 2 of 4 pairs differ


def test_mean_jsd_over_unordered_pairs_equals_every_ordered_pair():
    """The symmetric blocks give the same mean as summing every ordered pair directly."""
    import math

    import torch

    from viz.analysis.training_stats import mean_jsd

    gen = torch.Generator().manual_seed(3)
    rows = torch.softmax(torch.randn(2, 37, 11, generator=gen) * 2, dim=2)
    p, q = rows[:, :, None, :].double(), rows[:, None, :, :].double()
    m = (p + q) / 2
    pair = 0.5 * (torch.xlogy(p, p / m) + torch.xlogy(q, q / m)).sum(dim=3)
    want = pair.mean(dim=(1, 2))
    for block in (1, 5, 32, 64):
        got = mean_jsd(rows, block=block)
        assert torch.allclose(got.double(), want, atol=1e-6), (block, got, want)
    assert math.isclose(float(mean_jsd(rows[:, :1])[0]), 0.0, abs_tol=1e-7)
