"""GCNet's Table-1 statistics, the entropy guard and the DNL split, for whole batches of NL records.

Why a batched torch version beside :mod:`viz.analysis.table1`: training measures every NL model on
500 held-out scenes after every epoch, which the per-image numpy path makes minutes long. The
definitions are the same (tests compare the two): d = (1 - cos) / 2 averaged over all N*N ordered
pairs, self-pairs included; the mean cosine is |mean unit vector|^2, so it costs O(N*C).
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "SOFTMAX_FORMS",
    "dnl_batch",
    "mean_cosine_distance",
    "mean_jsd",
    "mean_row_entropy",
    "mean_row_peak",
    "record_batch_statistics",
]

SOFTMAX_FORMS = ("nl_gaussian", "nl_embedded_gaussian")


def mean_cosine_distance(vectors: torch.Tensor) -> torch.Tensor:
    """(B,) mean of (1 - cos)/2 over all ordered pairs of the N vectors (B, N, D) of each item."""
    unit = torch.nn.functional.normalize(vectors.double(), dim=2, eps=1e-12)
    mean = unit.mean(dim=1)
    return ((1.0 - (mean * mean).sum(dim=1)) / 2.0).float()


def mean_jsd(rows: torch.Tensor, block: int = 32) -> torch.Tensor:
    """(B,) mean Jensen-Shannon divergence (natural log) over all ordered pairs of rows (B, N, K).

    JSD(p, q) = log 2 + (sum p log p + sum q log q)/2 - sum (p+q) log(p+q) / 2 ; only the last term
    needs the pairs. It is symmetric, so each unordered pair is computed once: a block of
    ``block`` queries against itself (both orders) and against every later query (doubled); half
    the work of all ordered pairs, the same sum.
    """
    rows = rows.float().clamp_min(0)
    b, n, _ = rows.shape
    self_term = torch.xlogy(rows, rows).sum(dim=2)  # (B, N)
    cross = torch.zeros(b, dtype=torch.float64)
    for start in range(0, n, block):
        stop = min(n, start + block)
        p = rows[:, start:stop, None, :]  # (B, blk, 1, K)
        within = p + rows[:, None, start:stop, :]  # (B, blk, blk, K): both orders, diagonal too
        cross += torch.xlogy(within, within).sum(dim=(1, 2, 3)).double()
        if stop < n:
            later = p + rows[:, None, stop:, :]  # (B, blk, N - stop, K): each pair once
            cross += 2 * torch.xlogy(later, later).sum(dim=(1, 2, 3)).double()
    jsd = math.log(2) + self_term.double().sum(dim=1) / n - cross / (2 * n * n)
    return jsd.clamp_min(0).float()


def mean_row_entropy(rows: torch.Tensor) -> torch.Tensor:
    """(B,) entropy of the mean attention row over log K: 1 means uniform attention.

    Why: identical rows are "query-independent" also when every row is uniform, which says nothing
    about a learned global context. Rows that may be negative (dot product) use |mean row|.
    """
    mean = rows.float().mean(dim=1).abs()
    p = mean / mean.sum(dim=1, keepdim=True).clamp_min(1e-12)
    entropy = -torch.xlogy(p, p).sum(dim=1)
    return entropy / math.log(rows.shape[2]) if rows.shape[2] > 1 else torch.ones(rows.shape[0])


def mean_row_peak(rows: torch.Tensor) -> torch.Tensor:
    """(B,) the mean attention row's strongest key over a uniform share: max_j p_j * K.

    Why beside the entropy: GCNet's pattern is one *shared map with structure*; uniform rows agree
    too. 1 means uniform; a shared map that singles out a region gets several times 1. Rows that
    may be negative (dot product) use |mean row|, normalised, as the entropy does.
    """
    mean = rows.float().mean(dim=1).abs()
    p = mean / mean.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return p.amax(dim=1) * rows.shape[2]


def _unary_map(kind: str, tensors: dict, scale: float) -> torch.Tensor:
    """(B, K) the attention a query would get from the shared (unary) term alone."""
    n_keys = tensors["attention"].shape[2]
    if kind == "nl_concatenation":
        logits = tensors["key_term"] + tensors["query_term"].mean(dim=1, keepdim=True)
        return torch.relu(logits) / n_keys
    unary = tensors["unary"]
    if kind == "nl_dot_product":
        return unary / n_keys
    return torch.softmax(unary * scale, dim=1)


def dnl_batch(kind: str, tensors: dict, scale: float = 1.0) -> dict[str, torch.Tensor]:
    """Per item (B,): how much of the logits' variance over keys the shared term explains.

    Returns:
        ``unary_share``: 1 - sum_i Var_j(pairwise_ij) / sum_i Var_j(logit_ij) (an R^2; for
        concatenation the key term's share of the pre-ReLU logit, 1 by construction);
        ``unary_distance``: mean over queries of (1 - cos(row_i, unary-only row))/2, how far each
        real map is from the map the shared term alone draws.
    """
    att = tensors["attention"].float()
    if kind == "nl_concatenation":
        logits = tensors["query_term"][:, :, None] + tensors["key_term"][:, None, :]
        pairwise = logits - tensors["key_term"][:, None, :]
    else:
        pairwise = tensors["pairwise"].float()
        logits = pairwise + tensors["unary"].float()[:, None, :]
    var_logit = logits.var(dim=2, unbiased=False).sum(dim=1)
    var_pair = pairwise.var(dim=2, unbiased=False).sum(dim=1)
    share = 1.0 - var_pair / var_logit.clamp_min(1e-12)
    unary = _unary_map(kind, tensors, scale).float()
    cos = torch.nn.functional.cosine_similarity(att, unary[:, None, :].expand_as(att), dim=2)
    return {"unary_share": share, "unary_distance": ((1.0 - cos) / 2.0).mean(dim=1)}


def record_batch_statistics(
    kind: str, tensors: dict, scale: float = 1.0, jsd: bool = True
) -> dict[str, torch.Tensor]:
    """Every per-item statistic of a batched NL record: Table 1, entropy guard, DNL split.

    Args:
        kind: the record's ``nl_*`` kind.
        tensors: the record's tensors (``input``, ``output``, ``attention``, and ``unary`` /
            ``pairwise`` or ``query_term`` / ``key_term``).
        scale: the block's softmax scale (``NonLocalBlock.scale``).
        jsd: also the JSD (O(N^2 K) per item) for the softmax forms.
    """
    x, z, att = tensors["input"], tensors["output"], tensors["attention"]
    stats = {
        "input": mean_cosine_distance(x.flatten(2).transpose(1, 2)),
        "output": mean_cosine_distance(z.flatten(2).transpose(1, 2)),
        "att": mean_cosine_distance(att),
        "entropy": mean_row_entropy(att),
        "peak": mean_row_peak(att),
        "output_nonzero": (z.flatten(1).abs().amax(dim=1) > 0).float(),
    }
    if kind in SOFTMAX_FORMS and jsd:
        stats["jsd"] = mean_jsd(att)
    if "unary" in tensors or "key_term" in tensors:
        stats.update(dnl_batch(kind, tensors, scale))
    return stats
