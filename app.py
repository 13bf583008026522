"""Visual Attention Explorer — entry point: ``streamlit run app.py``.

Runs on every rerun of every page: page config, the shared sidebar (backbone, image, device) whose
choices live in ``st.session_state``, then ``st.navigation`` over ``pages/``.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from viz import session
from viz.backbones import backbone_info, default_device, list_backbones
from viz.images import ImageError, describe_image, image_hash, load_image

# With a pages/ folder beside this script, the very first run in a server process goes through
# Streamlit's legacy multipage path (PagesManager.uses_pages_directory, REFERENCE.md). That run's
# session then never saw its first file upload (measured in Chromium: the upload's PUT succeeded,
# no rerun followed). st.navigation below is the v2 API: switch the flag off and start this run
# again as a v2 run.
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()

st.set_page_config(page_title="Visual Attention Explorer", page_icon="🔎", layout="wide")

GROUP_TITLES = {"zoo": "zoo", "pretrained": "public pretrained", "official": "official file"}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]


def _backbone_label(name: str) -> str:
    spec = backbone_info(name)
    meta = spec.meta
    acc = meta.get("accuracy")
    score = f"{meta.get('metric', 'acc')} {acc:.3g}" if isinstance(acc, (int, float)) else "acc —"
    group = GROUP_TITLES.get(spec.group, spec.group)
    return f"[{group}] {name} · {meta.get('dataset', '?')} · {score}"


def _backbone_picker() -> str:
    groups = ["zoo", "pretrained", "official"]
    names = [n for g in groups for n in list_backbones(g)]
    names += [n for n in list_backbones() if n not in names]
    # The default goes first: a selectbox's `index` is part of its identity, so passing one only on
    # the first run made the next rerun (e.g. an upload) rebuild the widget at index 0.
    if session.DEFAULT_BACKBONE in names:
        names.remove(session.DEFAULT_BACKBONE)
        names.insert(0, session.DEFAULT_BACKBONE)
    if st.session_state.get(session.BACKBONE_KEY) not in names:
        st.session_state.pop(session.BACKBONE_KEY, None)
    name = st.sidebar.selectbox(
        "Backbone (grouped by source)",
        names,
        format_func=_backbone_label,
        key=session.BACKBONE_KEY,
        help="zoo: trained here, shipped in weights/ · public pretrained: ImageNet checkpoints "
        "through timm/torchvision · official file: converters for checkpoints you download.",
    )
    meta = backbone_info(name).meta
    kinds = ", ".join(meta.get("kinds") or []) or "none"
    st.sidebar.caption(
        f"Attention: **{kinds}** · data: {meta.get('dataset', '?')} · "
        f"source: {meta.get('source', '?')}"
    )
    return name


def _sample_image():
    try:
        from viz.samples import list_samples, load_sample, sample_caption
    except ImportError:
        return None
    names = list_samples()
    if not names:
        return None
    name = st.sidebar.selectbox("…or a sample image", names, key="sample")
    key = f"sample:{name}"
    current = st.session_state.get(session.IMAGE_KEY)
    if current is None or current[0] != key:
        img = load_sample(name)
        current = (key, img, f"sample: {sample_caption(name)}")
    return current


def _image_picker() -> None:
    upload = st.sidebar.file_uploader("Upload an image", type=UPLOAD_TYPES, key="upload")
    chosen = None
    if upload is not None:
        data = upload.getvalue()
        digest = image_hash(data)
        current = st.session_state.get(session.IMAGE_KEY)
        if current is not None and current[0] == digest:
            chosen = current
        else:
            try:
                img = load_image(data)
                chosen = (digest, img, f"upload: {upload.name} ({describe_image(img)})")
            except ImageError as exc:
                st.error(f"Cannot use **{upload.name}**: {exc}", icon="🚫")
    if chosen is None:
        chosen = _sample_image()
    if chosen is not None:
        st.session_state[session.IMAGE_KEY] = chosen
        st.sidebar.image(chosen[1], width="stretch")
        st.sidebar.caption(f"Image — {chosen[2]}")


_backbone_picker()
_image_picker()
st.sidebar.caption(f"Device: `{default_device()}`")

PAGES = {
    "Explore": [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/channel.py", title="Channel gates", icon="📊"),
        st.Page("pages/spatial.py", title="Spatial maps", icon="🗺️"),
        st.Page("pages/nonlocal.py", title="Non-local queries", icon="🎯"),
        st.Page("pages/double_attention.py", title="Double attention (A²)", icon="🔀"),
    ],
    "GCNet": [
        st.Page("pages/query_independence.py", title="Query independence", icon="🧪"),
    ],
    "Compare": [
        st.Page("pages/attribution.py", title="Attribution", icon="🔬"),
        st.Page("pages/compare.py", title="All modules", icon="🧩"),
    ],
}
st.navigation(PAGES).run()
