"""Which backbones can show a page's modules, best first, and which one a page starts with.

Pages draw one family of modules (channel gates, spatial maps, Non-local, A²). Rather than a dead
end ("this backbone has no X"), a page picks among the backbones that carry one of its kinds. The
ranking uses only what the registry knows without loading: the spec's kinds, its held-out metric and
its cheap weights check.

Ranking, in order: weights present here (a missing or failed one never leads); trained here (the
zoo: its mAP is measured on held-out scenes, while pretrained/official numbers are published
ImageNet top-1, a different metric on a different task, so the two are not compared); the higher
held-out metric; registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from viz.weights.registry import backbone_info, list_backbones, weights_present
from viz.weights.spec import HIDDEN_GROUPS

__all__ = ["GROUP_RANK", "Candidate", "candidates_for", "default_choice"]

GROUP_RANK = {"zoo": 0, "pretrained": 1, "official": 2}  # other groups (tests' own) come last


@dataclass(frozen=True)
class Candidate:
    """A backbone that carries at least one of a page's kinds.

    Args:
        name: registry name.
        group: ``"zoo"``, ``"pretrained"``, ``"official"`` (or a test group).
        kinds: its attention kinds that the page draws.
        metric: name of its held-out metric (``"mAP"``, ``"top-1"``) or None.
        score: value of that metric, or None when unknown.
        present: its weights look loadable here (and it has not just failed to load).
    """

    name: str
    group: str
    kinds: tuple[str, ...]
    metric: str | None
    score: float | None
    present: bool


def _wanted(kinds: str | Iterable[str]) -> set[str]:
    return {kinds} if isinstance(kinds, str) else set(kinds)


def candidates_for(
    kinds: str | Iterable[str],
    unavailable: Collection[str] = (),
    present: Callable[[str], bool] | None = None,
) -> list[Candidate]:
    """Every registered backbone carrying one of ``kinds``, best first (see the module docstring).

    Args:
        kinds: the attention kinds a page draws (one kind or several).
        unavailable: names known not to load right now (e.g. a load that just failed).
        present: ``name -> bool`` weights check (default :func:`registry.weights_present`; the app
            passes a briefly cached one).
    """
    present = present or weights_present
    wanted = _wanted(kinds)
    found = []
    for order, name in enumerate(list_backbones()):
        spec = backbone_info(name)
        if spec.group in HIDDEN_GROUPS:
            continue
        carried = tuple(k for k in spec.meta.kinds if k in wanted)
        if not carried:
            continue
        score = spec.meta.accuracy
        score = float(score) if isinstance(score, (int, float)) else None
        loadable = name not in unavailable and present(name)
        found.append(
            (
                (
                    not loadable,
                    GROUP_RANK.get(spec.group, len(GROUP_RANK)),
                    -score if score is not None else float("inf"),
                    order,
                ),
                Candidate(name, spec.group, carried, spec.meta.metric, score, loadable),
            )
        )
    return [candidate for _, candidate in sorted(found, key=lambda pair: pair[0])]


def default_choice(candidates: list[Candidate], preferred: str | None) -> str | None:
    """``preferred`` when it is a candidate whose weights are present, else the best present
    candidate, else None (nothing here can load: the page says so).

    Args:
        candidates: from :func:`candidates_for`, best first.
        preferred: the sidebar's preferred backbone.
    """
    present = [c.name for c in candidates if c.present]
    if preferred in present:
        return preferred
    return present[0] if present else None
