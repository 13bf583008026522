"""The published numbers the app compares its live measurements against, kept as data.

Everything here is transcribed from the papers (:data:`GCNET_SOURCE`: GCNet's Table 1;
:data:`IMAGENET_SOURCE`: the ECA paper's ImageNet ResNet-50 table) so pages and figures never
re-type a number; ``tests/analysis/test_paper.py`` checks the transcription against the tables as
printed (``tests/analysis/paper_tables.md``).
"""

from __future__ import annotations

from viz.attention.nonlocal_ import NL_FORMS

__all__ = [
    "GCNET_SOURCE",
    "GCNET_TABLE1",
    "IMAGENET_RESNET50_TOP1",
    "IMAGENET_SOURCE",
    "NL_FORMS",
    "NL_FORM_TITLES",
    "TABLE1_STATS",
    "paper_value",
]

#: The four Non-local pairwise forms, in the order the paper lists them.

NL_FORM_TITLES: dict[str, str] = {
    "gaussian": "Gaussian",
    "embedded_gaussian": "Embedded Gaussian",
    "dot_product": "Dot product",
    "concatenation": "Concatenation",
}

#: The Table-1 distance statistics (the accuracy columns differ between COCO and Kinetics).
TABLE1_STATS: tuple[str, ...] = ("input", "output", "att", "jsd")

GCNET_SOURCE = (
    'Cao et al., "GCNet: Non-local Networks Meet Squeeze-Excitation Networks and Beyond", '
    "2019, Table 1"
)

# Mean distance between positions, d = (1 - cos)/2 over all ordered pairs; JSD only where the
# attention rows are distributions (None where the paper prints "–").
GCNET_TABLE1: dict[str, dict[str, dict[str, float | None]]] = {
    "COCO": {
        "gaussian": {
            "ap_box": 38.0,
            "ap_mask": 34.8,
            "input": 0.397,
            "output": 0.062,
            "att": 0.177,
            "jsd": 0.065,
        },
        "embedded_gaussian": {
            "ap_box": 38.0,
            "ap_mask": 34.7,
            "input": 0.402,
            "output": 0.012,
            "att": 0.020,
            "jsd": 0.011,
        },
        "dot_product": {
            "ap_box": 38.1,
            "ap_mask": 34.8,
            "input": 0.405,
            "output": 0.020,
            "att": 0.015,
            "jsd": None,
        },
        "concatenation": {
            "ap_box": 38.0,
            "ap_mask": 34.9,
            "input": 0.393,
            "output": 0.003,
            "att": 0.004,
            "jsd": None,
        },
    },
    "Kinetics": {
        "gaussian": {
            "top1": 76.0,
            "top5": 92.3,
            "input": 0.345,
            "output": 0.056,
            "att": 0.056,
            "jsd": 0.021,
        },
        "embedded_gaussian": {
            "top1": 75.9,
            "top5": 92.2,
            "input": 0.358,
            "output": 0.003,
            "att": 0.004,
            "jsd": 0.015,
        },
        "dot_product": {
            "top1": 76.0,
            "top5": 92.3,
            "input": 0.353,
            "output": 0.095,
            "att": 0.099,
            "jsd": None,
        },
        "concatenation": {
            "top1": 75.4,
            "top5": 92.2,
            "input": 0.354,
            "output": 0.048,
            "att": 0.049,
            "jsd": None,
        },
    },
}

IMAGENET_SOURCE = "ECA-Net paper, Table 3 (ResNet-50, 224 px); BAM from the BAM paper"

#: ImageNet top-1 (%) of ResNet-50 with each attention module. Non-local has no ImageNet result.
IMAGENET_RESNET50_TOP1: dict[str, float] = {
    "baseline": 75.20,
    "se": 76.71,
    "cbam": 77.34,
    "a2": 77.00,
    "gsop": 77.68,
    "gc": 77.70,
    "eca": 77.48,
    "bam": 75.98,
}


def paper_value(dataset: str, form: str, stat: str) -> float | None:
    """One Table-1 number, with a clear error for a name that does not exist.

    Args:
        dataset: "COCO" or "Kinetics".
        form: one of ``NL_FORMS`` (an ``nl_`` prefix is accepted).
        stat: a column, e.g. "input", "output", "att", "jsd", "ap_box", "top1".

    Returns:
        The number, or None where the paper prints "–".
    """
    form = form.removeprefix("nl_")
    try:
        row = GCNET_TABLE1[dataset][form]
    except KeyError:
        raise KeyError(
            f"no GCNet Table-1 row for dataset={dataset!r}, form={form!r}; "
            f"datasets {sorted(GCNET_TABLE1)}, forms {list(NL_FORMS)}"
        ) from None
    if stat not in row:
        raise KeyError(f"no column {stat!r} for {dataset}; columns {sorted(row)}")
    return row[stat]
