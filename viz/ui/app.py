"""The multipage app in one place: page config, the shared sidebar, ``st.navigation`` over
``app_pages/``.

The page files live in ``app_pages/``, not ``pages/``: Streamlit (1.67) turns on its legacy
multipage mode for a server whose entry script has a ``pages`` folder beside it, and sessions that
start in that mode (first visitors, deep links, tabs reconnecting after a restart) run a page file
alone, without the sidebar. With no ``pages/`` folder every run is a plain ``st.navigation`` run
(``tests/app/test_startup.py`` checks both facts). Page paths are relative to ``app.py``.
"""

from __future__ import annotations

import streamlit as st

from viz.analysis.turns import COMPUTE
from viz.ui.sidebar import sidebar


def pages() -> dict[str, list]:
    """The navigation: section -> pages (paths relative to the entry script)."""
    return {
        "Explore": [
            st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("app_pages/channel.py", title="Channel gates", icon=":material/bar_chart:"),
            st.Page("app_pages/spatial.py", title="Spatial maps", icon=":material/map:"),
            st.Page(
                "app_pages/nonlocal.py", title="Non-local queries", icon=":material/my_location:"
            ),
            st.Page(
                "app_pages/double_attention.py",
                title="Double attention (A²)",
                icon=":material/call_split:",
            ),
        ],
        "GCNet": [
            st.Page(
                "app_pages/query_independence.py",
                title="Query independence",
                icon=":material/science:",
            ),
            st.Page(
                "app_pages/gcnet_steps.py",
                title="GCNet in five steps",
                icon=":material/slideshow:",
            ),
        ],
        "Compare": [
            st.Page("app_pages/attribution.py", title="Attribution", icon=":material/biotech:"),
            st.Page("app_pages/compare.py", title="All modules", icon=":material/grid_view:"),
        ],
    }


def run() -> None:
    """One run of the app: page config, sidebar, then the chosen page."""
    st.set_page_config(
        page_title="Visual Attention Explorer", page_icon=":material/visibility:", layout="wide"
    )
    try:
        sidebar()
        st.navigation(pages()).run()
    finally:  # rerun / stop signals included: the next run queues anew
        COMPUTE.done()
