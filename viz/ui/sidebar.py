"""The shared sidebar every page run starts with: the preferred backbone, upload or sample image,
device.

The choices live in ``st.session_state`` (keys in :mod:`viz.ui.state`).
"""

from __future__ import annotations

import streamlit as st
from PIL import ImageDraw

from viz.data.samples import list_samples, load_sample, sample_caption
from viz.data.uploads import describe_image, image_hash, load_image, model_view_box
from viz.errors import ImageError
from viz.ui import state
from viz.ui.text import escape, literal
from viz.weights.registry import backbone_info, default_device, list_backbones
from viz.weights.spec import HIDDEN_GROUPS

GROUP_TITLES = {"zoo": "zoo", "pretrained": "public pretrained", "official": "official file"}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
REFUSED_KEY = "va_refused"  # sha256 of a refused upload -> why, for this session
REFUSALS_KEPT = 32  # refused uploads remembered per session (a digest and a sentence each)


def _backbone_label(name: str) -> str:
    spec = backbone_info(name)
    meta = spec.meta
    acc = meta.accuracy
    score = f"{meta.metric or 'acc'} {acc:.3g}" if isinstance(acc, (int, float)) else "acc —"
    group = GROUP_TITLES.get(spec.group, spec.group)
    missing = "" if state.weights_look_present(name) else " · weights missing"
    return f"[{group}] {name} · {meta.dataset or '?'} · {score}{missing}"


def _backbone_picker() -> str:
    groups = ["zoo", "pretrained", "official"]
    names = [n for g in groups for n in list_backbones(g)]
    names += [
        n
        for n in list_backbones()
        if n not in names and backbone_info(n).group not in HIDDEN_GROUPS
    ]
    # The default goes first: a selectbox's `index` is part of its identity, so passing one only on
    # the first run made the next rerun (e.g. an upload) rebuild the widget at index 0.
    if state.DEFAULT_BACKBONE in names:
        names.remove(state.DEFAULT_BACKBONE)
        names.insert(0, state.DEFAULT_BACKBONE)
    if st.session_state.get(state.BACKBONE_KEY) not in names:
        st.session_state.pop(state.BACKBONE_KEY, None)
    name = st.sidebar.selectbox(
        "Preferred backbone",
        names,
        format_func=_backbone_label,
        key=state.BACKBONE_KEY,
        help="Home and Attribution run this backbone; every module page uses it when it carries "
        "that page's module, and otherwise offers the backbones that do. Grouped by source: "
        "zoo: trained here, shipped in weights/ · public pretrained: ImageNet checkpoints "
        "through timm/torchvision · official file: converters for checkpoints you download.",
    )
    meta = backbone_info(name).meta
    kinds = ", ".join(meta.kinds) or "none"
    st.sidebar.caption(
        f"Attention: **{kinds}** · data: {meta.dataset or '?'} · source: {meta.source or '?'}"
    )
    return name


def _sample_image():
    names = list_samples()
    if not names:
        return None
    name = st.sidebar.selectbox("…or a sample image", names, key="sample")
    key = f"sample:{name}"
    current = st.session_state.get(state.IMAGE_KEY)
    if current is None or current[0] != key:
        img = load_sample(name)
        current = (key, img, f"sample: {sample_caption(name)}")
    return current


def view_box(name: str, img) -> tuple[int, int, int, int]:
    """The region of ``img`` backbone ``name`` sees, read from its own pipeline before it is
    loaded (:meth:`BackboneSpec.view_box`); the central square when the pipeline is unknown."""
    box = backbone_info(name).view_box(*img.size)
    if box is None:
        return model_view_box(*img.size)
    x0, y0, x1, y1 = box
    left, top = int(round(x0)), int(round(y0))
    return left, top, left + int(round(x1 - x0)), top + int(round(y1 - y0))


def _with_model_view(img, name: str):
    """A thumbnail with the region the model sees outlined (when it is not the whole image)."""
    box = view_box(name, img)
    if box == (0, 0, img.width, img.height):
        return img
    thumb = img.copy()
    thumb.thumbnail((512, 512))
    sx, sy = thumb.width / img.width, thumb.height / img.height
    draw = ImageDraw.Draw(thumb)
    x0, y0, x1, y1 = box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy
    width = max(2, min(thumb.size) // 60)
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(255, 40, 40), width=width)
    return thumb


def _crop_note(img, name: str) -> str:
    left, top, right, bottom = view_box(name, img)
    note = (
        f"Red outline: the {right - left}×{bottom - top} region of this {img.width}×{img.height} "
        f"image (x {left}–{right}, y {top}–{bottom}) is what {name} sees (shorter-side resize + "
        "centre crop, from its own pipeline)."
    )
    box, full = img.info.get("crop_box"), img.info.get("cropped_from")
    if box and full:
        note += (
            f" This panorama ({full[0]}×{full[1]}) was trimmed to its centre "
            f"{box[2] - box[0]}×{box[3] - box[1]} (x {box[0]}–{box[2]}, y {box[1]}–{box[3]})."
        )
    return note


def _refusal(digest: str) -> str | None:
    """Why this session refused the upload with sha256 ``digest`` before, or None."""
    return st.session_state.get(REFUSED_KEY, {}).get(digest)


def _remember_refusal(digest: str, message: str) -> None:
    """Keep ``message`` for ``digest`` in this session (the newest :data:`REFUSALS_KEPT`): a
    refused upload stays in the uploader, and every rerun (any widget, any page move) would
    otherwise decode it again — seconds of CPU each time for a truncated or hostile file."""
    refused = dict(st.session_state.get(REFUSED_KEY, {}))
    refused.pop(digest, None)
    refused[digest] = message
    st.session_state[REFUSED_KEY] = dict(list(refused.items())[-REFUSALS_KEPT:])


def _show_waiting(slot) -> None:
    """Say why the page pauses: other sessions' decodes hold the process-wide decode budget."""
    slot.info(
        "Waiting for other uploads to finish decoding on this server…", icon=":material/hourglass:"
    )


def _decoded_upload(upload):
    """``(digest, image, caption)`` of the uploaded file, or None with the reason shown.

    Decoded at most once per session and file: a decoded image is kept as the session's image
    (:data:`state.IMAGE_KEY`), a refusal's message by the bytes' digest.
    """
    data = upload.getvalue()
    digest = image_hash(data)
    current = st.session_state.get(state.IMAGE_KEY)
    if current is not None and current[0] == digest:
        return current
    message = _refusal(digest)
    if message is None:
        waiting = st.sidebar.empty()
        try:
            img = load_image(data, name=upload.name, on_wait=lambda: _show_waiting(waiting))
        except ImageError as exc:
            message = str(exc)
            _remember_refusal(digest, message)
        else:
            return digest, img, f"upload: {literal(upload.name)} ({describe_image(img)})"
        finally:
            waiting.empty()
    st.error(f"Cannot use {literal(upload.name)}: {escape(message)}", icon=":material/block:")
    return None


def _image_picker(name: str) -> None:
    upload = st.sidebar.file_uploader("Upload an image", type=UPLOAD_TYPES, key="upload")
    chosen = None if upload is None else _decoded_upload(upload)
    if chosen is None:
        chosen = _sample_image()
    if chosen is not None:
        st.session_state[state.IMAGE_KEY] = chosen
        st.sidebar.image(_with_model_view(chosen[1], name), width="stretch")
        st.sidebar.caption(f"Image — {chosen[2]}")
        img = chosen[1]
        if view_box(name, img) != (0, 0, img.width, img.height) or img.info.get("crop_box"):
            st.sidebar.caption(_crop_note(img, name))


def sidebar() -> None:
    """Draw the sidebar and store its choices in session state."""
    name = _backbone_picker()
    _image_picker(name)
    st.sidebar.caption(f"Device: `{default_device()}`")
