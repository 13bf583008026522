"""The per-page model picker: a module page runs a backbone that carries its module, never a dead
end ("this backbone has no X").

Each page lists the backbones that carry one of its kinds (:func:`viz.weights.choice.candidates_for`,
best first, those whose weights are missing last and marked) and starts with the sidebar's
preferred backbone when that one carries the module and can load, else with the best one that can.
A choice made on a page is remembered for that page (in session state, outside the widget, whose
state Streamlit drops when another page runs) until the preferred backbone changes to one that
carries the page's module and can load.
"""

from __future__ import annotations

import streamlit as st

from viz.analysis.forward import DEFAULT_BACKBONE, Analysis, records_of_kind
from viz.errors import ModelUnavailable
from viz.ui.sidebar import GROUP_TITLES
from viz.ui.state import (
    BACKBONE_KEY,
    current_image,
    get_analysis,
    recent_failures,
    weights_look_present,
)
from viz.weights.choice import Candidate, candidates_for, default_choice

WIDGET_KEY = "page_backbone:{page}"  # the selectbox (dropped by Streamlit on other pages)
KEPT_KEY = "page_backbone_kept:{page}"  # (choice, preferred backbone when it was chosen)


def candidate_label(candidate: Candidate) -> str:
    """``zoo/gsop · zoo · mAP 0.372`` (with ``· weights missing`` when it cannot load here)."""
    parts = [candidate.name, GROUP_TITLES.get(candidate.group, candidate.group)]
    if candidate.score is not None:
        parts.append(f"{candidate.metric or 'score'} {candidate.score:.3g}")
    if not candidate.present:
        parts.append("weights missing")
    return " · ".join(parts)


def preferred_backbone() -> str:
    """The sidebar's preferred backbone (the default one before the sidebar has run)."""
    return st.session_state.get(BACKBONE_KEY) or DEFAULT_BACKBONE


def _keep(page: str, preferred: str) -> None:
    """on_change of a page's picker: remember the choice beyond the widget's lifetime."""
    st.session_state[KEPT_KEY.format(page=page)] = (
        st.session_state[WIDGET_KEY.format(page=page)],
        preferred,
    )


def page_choice(page: str, candidates: list[Candidate], preferred: str) -> str:
    """The backbone a page shows: its remembered choice, unless the preferred backbone has changed
    since to one this page can use (the latest choice wins); else
    :func:`~viz.weights.choice.default_choice` (the first candidate when nothing can load, so its
    load says what to fetch).

    Args:
        page: the page's key.
        candidates: from :func:`~viz.weights.choice.candidates_for`, not empty.
        preferred: the sidebar's preferred backbone.
    """
    kept = st.session_state.get(KEPT_KEY.format(page=page))
    names = [c.name for c in candidates]
    default = default_choice(candidates, preferred)
    if kept and kept[0] in names and (kept[1] == preferred or default != preferred):
        return kept[0]
    return default or names[0]


def _why(choice: str, default: str | None, preferred: str, by_name: dict, what: str) -> str:
    """One line under the picker: why the page shows ``choice``."""
    if choice == preferred:
        return f"The sidebar's preferred backbone; it carries the {what}."
    if choice != default:
        return f"Chosen on this page (the sidebar's preferred backbone is **{preferred}**)."
    if preferred not in by_name:
        return (
            f"The preferred backbone **{preferred}** does not carry a {what}, so this page shows "
            f"**{choice}**, the best one here that does."
        )
    reason = recent_failures().get(preferred) or "its weights are not here"
    return f"The preferred backbone **{preferred}** cannot load ({reason}); showing **{choice}**."


def page_analysis(
    kinds, what: str, key: str, when_none=None, page_default: str | None = None
) -> Analysis:
    """The analysis a module page draws: picker, default choice, load, fallback.

    Draws a compact picker of the backbones that carry one of ``kinds`` and returns the chosen one
    run on the sidebar's image. If the chosen one cannot load (or records none of ``kinds``) the
    page says why and shows the next candidate that can; the page stops with a message only when
    there is no image or no candidate loads.

    Args:
        kinds: the attention kinds the page draws (one kind or several).
        what: human name of the module family, e.g. ``"Non-local block"``.
        key: the page's own key (widget and memory keys derive from it).
        when_none: drawn before the page stops when no candidate loads (e.g. the paper's
            numbers, which need no model).
        page_default: the page's own default model, used in place of the sidebar's preferred
            backbone while that is still the app's default (a backbone the user picked in the
            sidebar wins); e.g. the Query-independence page leads with the GCNet recipe.
    """
    chosen_image = current_image(hint=True)
    if chosen_image is None:
        st.stop()
    image_hash, image, _ = chosen_image
    preferred = preferred_backbone()
    candidates = candidates_for(kinds, recent_failures(), weights_look_present)
    sidebar_preferred = preferred
    if page_default is not None and preferred == DEFAULT_BACKBONE:
        if any(c.name == page_default and c.present for c in candidates):
            preferred = page_default
    if not candidates:
        st.warning(f"No registered backbone carries a {what}.", icon=":material/warning:")
        st.stop()
    by_name = {c.name: c for c in candidates}
    choice = page_choice(key, candidates, preferred)
    # what the page shows and under which preferred backbone: a later change of the preferred
    # backbone to one this page cannot use keeps showing this
    st.session_state[KEPT_KEY.format(page=key)] = (choice, preferred)
    widget_key = WIDGET_KEY.format(page=key)
    st.session_state[widget_key] = choice  # before the widget: its value on this page's run
    left, right = st.columns([2, 3], vertical_alignment="bottom")
    left.selectbox(
        "Model for this page",
        list(by_name),
        format_func=lambda name: candidate_label(by_name[name]),
        key=widget_key,
        on_change=_keep,
        args=(key, preferred),
        help=f"Backbones that carry a {what}, best first: trained here (held-out mAP), then "
        "public ones (ImageNet top-1); those whose weights are missing come last.",
    )
    default = default_choice(candidates, preferred)
    if preferred != sidebar_preferred and choice == preferred:
        right.caption(
            f"This page's default, **{choice}**; the sidebar's preferred backbone is "
            f"**{sidebar_preferred}** (pick it here to compare)."
        )
    else:
        right.caption(_why(choice, default, preferred, by_name, what))
    return _load_first(choice, candidates, image_hash, image, kinds, what, when_none)


def _load_first(
    choice: str, candidates, image_hash: str, image, kinds, what: str, when_none=None
) -> Analysis:
    """``choice`` run on the image, else the first loadable candidate (saying why), else stop.

    Args:
        choice: the backbone the picker shows.
        candidates: every candidate, best first (only present ones are tried after ``choice``).
        image_hash: cache key of ``image``.
        image: the sidebar's PIL image.
        kinds: the page's attention kinds (a run that records none of them is skipped).
        what: human name of the module family, for the messages.
        when_none: drawn before stopping when nothing loads.
    """
    order = [choice] + [c.name for c in candidates if c.present and c.name != choice]
    for name in order:
        try:
            with st.spinner(f"Running {name} on the image…"):
                analysis = get_analysis(name, image_hash, image)
        except ModelUnavailable as exc:
            st.warning(str(exc), icon=":material/warning:")
            continue
        if not records_of_kind(analysis, kinds):
            st.warning(f"**{name}** ran but recorded no {what}.", icon=":material/warning:")
            continue
        if name != choice:
            st.info(f"Showing **{name}** instead of **{choice}**.", icon=":material/swap_horiz:")
        return analysis
    st.error(
        f"None of the backbones that carry a {what} can load here; the messages above say what "
        "to fetch.",
        icon=":material/block:",
    )
    if when_none is not None:
        when_none()
    st.stop()
