"""The maps a Non-local block's rows are measured against, on one image (numpy): the map the
shared (unary) term alone draws, with the block's own softmax scale recovered from its rows; the
mean row's entropy (the guard against uniform rows); and the mean distance of rows to one map.

``viz.analysis.training_stats`` computes the same in torch for training, given the scale; a captured
record does not carry the scale (the converted mmdetection blocks use 1/√C', the zoo 1), so here
it is read off the rows themselves.
"""

from __future__ import annotations

import numpy as np

from viz.analysis.numpy_stats import (
    ZERO_NORM,
    cosine_distance_matrix,
    entropy,
    rows_are_distributions,
    softmax,
)
from viz.capture.recorder import Record


def mean_row_entropy(attention: np.ndarray) -> float | None:
    """Entropy of the mean attention row / log N' (1 = uniform), the guard against the trivial
    answer (uniform rows are identical too); ``None`` unless the rows are distributions."""
    att = np.asarray(attention, dtype=np.float64)
    if att.shape[1] < 2 or not rows_are_distributions(att):
        return None
    return float(entropy(att.mean(axis=0)) / np.log(att.shape[1]))


def softmax_scale(record: Record) -> float:
    """The block's softmax scale, recovered from its own rows: log a_ij = s·logit_ij − log Z_i,
    so s is the least-squares slope of row-centred log-attention on row-centred logits (1 for
    the zoo, 1/√C' for the converted mmdetection blocks)."""
    att = record.tensors["attention"].astype(np.float64)
    logits = (record.tensors["pairwise"] + record.tensors["unary"][None, :]).astype(np.float64)
    ok = att > 1e-30  # underflowed weights carry no slope; each row uses the rest
    count = np.maximum(ok.sum(axis=1, keepdims=True), 1)
    la = np.where(ok, np.log(np.where(ok, att, 1.0)), 0.0)
    lg = np.where(ok, logits, 0.0)
    la = np.where(ok, la - la.sum(axis=1, keepdims=True) / count, 0.0)
    lg = np.where(ok, lg - lg.sum(axis=1, keepdims=True) / count, 0.0)
    denom = float((lg * lg).sum())
    return float((la * lg).sum() / denom) if denom > 0 else 1.0


def unary_only_map(record: Record) -> np.ndarray | None:
    """(N',) the attention a query would get from the shared (unary) term alone, as the block
    forms it (softmax, ÷ N', or ReLU then ÷ N'); ``None`` when the record has no split."""
    t = record.tensors
    n_keys = t["attention"].shape[1]
    if record.kind == "nl_concatenation" and "key_term" in t:
        return np.maximum(t["key_term"] + t["query_term"].mean(), 0.0) / n_keys
    if "unary" not in t:
        return None
    if record.kind == "nl_dot_product":
        return t["unary"] / n_keys
    return softmax(softmax_scale(record) * t["unary"].astype(np.float64))


def mean_distance_to(rows: np.ndarray, target: np.ndarray) -> float | None:
    """Mean over rows of (1 − cos(row, target))/2; ``None`` when ``target`` is all zero."""
    target = np.asarray(target, dtype=np.float64).ravel()
    if not np.linalg.norm(target) > ZERO_NORM:
        return None
    return float(cosine_distance_matrix(rows, target[None, :]).mean())
