"""The Non-local click grid's browser side (pure text): its CSS and its JavaScript.

The browser appends every click to a log and sends the WHOLE log each time; Python applies the
entries it has not applied yet, in order (see :mod:`viz.ui.explorer`).
"""

from __future__ import annotations

_CLICK_GRID_CSS = """
.vae-grid { position: relative; width: 100%; max-width: 560px; user-select: none; }
.vae-grid img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.vae-grid img.heat { image-rendering: auto; mix-blend-mode: normal; }
.vae-grid .cells { position: absolute; inset: 0; display: grid; }
.vae-grid .cell { margin: 0; padding: 0; border: 1px solid rgba(255,255,255,0.25);
  background: transparent; cursor: crosshair; position: relative; }
.vae-grid .cell:hover { background: rgba(255,255,255,0.25); }
.vae-grid .cell.chosen::after, .vae-grid .cell.pending::after { content: "✕"; position: absolute;
  inset: 0; display: flex; align-items: center; justify-content: center; font-weight: 700;
  font-size: clamp(9px, 2.2vw, 20px); color: #ff1f1f; text-shadow: 0 0 3px #fff; }
.vae-grid .cell.pending::after { color: #ff9900; }
"""


_CLICK_GRID_JS = """
// One click log per component key, kept for the life of the page: every click is appended and the
// whole log is sent, so coalesced reruns cannot drop a click.
const logs = new Map();

export default function ({ parentElement, data, setStateValue, key }) {
  let log = logs.get(key);
  if (!log) {
    log = { id: Math.random().toString(36).slice(2) + Date.now().toString(36), cells: [] };
    logs.set(key, log);
  }
  let root = parentElement.querySelector(".vae-grid");
  if (!root) {
    root = document.createElement("div");
    root.className = "vae-grid";
    parentElement.appendChild(root);
  }
  const h = data.rows, w = data.cols;
  root.innerHTML = "";
  root.style.aspectRatio = `${data.width} / ${data.height}`;
  root.dataset.queries = JSON.stringify(data.queries);
  const base = document.createElement("img");
  base.src = data.image;
  base.alt = "image";
  root.appendChild(base);
  if (data.heat) {
    const heat = document.createElement("img");
    heat.className = "heat";
    heat.src = data.heat;
    heat.alt = "";
    heat.style.opacity = data.opacity;
    root.appendChild(heat);
  }
  const grid = document.createElement("div");
  grid.className = "cells";
  grid.style.gridTemplateColumns = `repeat(${w}, 1fr)`;
  grid.style.gridTemplateRows = `repeat(${h}, 1fr)`;
  const chosen = new Set(data.queries.map(([r, c]) => r * w + c));
  const applied = data.log_id === log.id ? data.applied : 0;
  const pending = new Set(
    log.cells.slice(applied).filter((e) => e[2] === data.token).map((e) => e[0] * w + e[1])
  );
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const cell = document.createElement("button");
      cell.type = "button";
      cell.className = "cell";
      if (chosen.has(r * w + c)) cell.classList.add("chosen");
      if (pending.has(r * w + c)) cell.classList.add("pending");
      cell.dataset.row = r;
      cell.dataset.col = c;
      cell.title = `cell (${r}, ${c})`;
      cell.addEventListener("click", () => {
        log.cells.push([r, c, data.token]);
        cell.classList.add("pending");
        setStateValue("clicks", { id: log.id, cells: log.cells.slice() });
      });
      grid.appendChild(cell);
    }
  }
  root.appendChild(grid);
}
"""
