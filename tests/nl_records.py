"""A hand-made Non-local run for the views' tests: attention rows of your choosing on a 4x4 grid."""

from __future__ import annotations

import numpy as np

from viz.analysis.forward import Analysis
from viz.capture import Record


def synthetic_nl_analysis(rows: np.ndarray, kind: str = "nl_embedded_gaussian") -> Analysis:
    """A hand-made run: a 4×4 grid whose attention rows are ``rows``, random inputs/outputs; its
    image hash names the rows (the statistics are memoised per backbone, hash and layer)."""
    rng = np.random.default_rng(0)
    n = rows.shape[0]
    logits = np.log(rows)
    unary = logits.mean(axis=0)
    tensors = {
        "attention": rows.astype(np.float32),
        "input": rng.normal(size=(8, 4, 4)).astype(np.float32),
        "output": rng.normal(size=(8, 4, 4)).astype(np.float32),
        "unary": unary.astype(np.float32),
        "pairwise": (logits - unary[None, :]).astype(np.float32),
    }
    assert n == 16
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    digest = f"syn-{hash(rows.tobytes())}"
    return Analysis("test/synthetic", digest, image, [], {"nl": Record(kind, tensors)})
