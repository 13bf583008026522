"""Visual Attention Explorer — entry point: ``streamlit run app.py``.

Runs on every rerun of every page: page config, the shared sidebar (backbone, image, device) whose
choices live in ``st.session_state``, then ``st.navigation`` over ``app_pages/`` — all of it in
:mod:`viz.ui.app`, the one place that knows the multipage layout.

The page files live in ``app_pages/``, not ``pages/``: Streamlit (1.67) turns on its legacy
multipage mode for a server whose entry script has a ``pages`` folder beside it, and sessions that
start in that mode (first visitors, deep links, tabs reconnecting after a restart) run a page file
alone, without the sidebar. With no ``pages/`` folder every run is a plain ``st.navigation`` run
(tests/app/test_startup.py checks both facts).
"""

from viz import ui

ui.run()
