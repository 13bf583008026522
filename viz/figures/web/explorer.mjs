// The in-browser explorer (Streamlit components v2, one inline module: no build step, no CDN).
//
// Everything a hover shows is drawn here from the payload of viz/figures/explorer_payload.py: no
// Python runs on hover. A click (or Enter) appends a pin / unpin / clear entry to a log kept for
// the life of the page and sends the WHOLE log, so a rerun that coalesces several clicks still sees
// every one of them, in order (viz.ui.explorer.apply_pin_log applies the new entries; applyEntries
// in pins.mjs applies the same rules here). Each hover draw is timed with performance.now(); the
// samples, the drawn query and the render counter Python sends are kept in
// window.__vaeExplorer[key] and on the root's dataset.
//
// viz/figures/web_assets.py inlines the two imports below (their files' text) before sending.
import { bytes, el, fmt, readRow, readRows } from "./helpers.mjs";
import { applyEntries, coarseCell, originalCell, sameCell } from "./pins.mjs";

const STATES = new Map();
const COLOURS = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4",
  "#46f0f0", "#f032e6", "#bcf60c", "#fabebe", "#008080", "#9a6324"];

function decode(d) {
  const m = { d, lut: bytes(d.lut), gh: d.grid[0], gw: d.grid[1] };
  if (d.rows) m.q = bytes(d.rows);
  if (d.mode === "a2") m.g = readRows(bytes(d.grows), d.goffset, d.gstep, d.keys[0] * d.keys[1]);
  if (d.mode === "map") m.sorted = d.values.slice().sort((a, b) => b - a);
  return m;
}

function build(st, parentElement) {
  const d = st.m.d;
  parentElement.querySelectorAll(".vae-explorer").forEach((e) => e.remove());
  const root = el("div", "vae-explorer", parentElement);
  root.tabIndex = 0;
  root.dataset.mode = d.mode;
  root.setAttribute("role", "application");
  root.setAttribute("aria-label", d.pinnable
    ? "attention explorer: arrow keys move the query, Enter pins it, Escape clears the pins"
    : "attention explorer: arrow keys move the cell read out below");
  const stage = el("div", "stage", root);
  const base = el("canvas", "base", stage), over = el("canvas", "over", stage);
  const bar = el("div", "bar", root);
  const readout = el("span", "readout", bar);
  readout.setAttribute("aria-live", "polite");  // keyboard users hear the cell read out
  const clear = d.pinnable ? el("button", "clear", bar) : null;
  if (clear) { clear.type = "button"; clear.textContent = "Clear pins"; }
  const side = d.mode === "a2" ? el("canvas", "side", root) : null;
  if (d.legend) {  // the colour bar: the LUT left to right, and what its colours mean
    const lg = el("div", "legend", root), cv = el("canvas", "", lg), L = st.m.lut;
    cv.width = 256; cv.height = 1;
    const g = cv.getContext("2d"), im = g.createImageData(256, 1);
    for (let i = 0; i < 256; i++) im.data.set([L[3 * i], L[3 * i + 1], L[3 * i + 2], 255], 4 * i);
    g.putImageData(im, 0, 0);
    el("span", "", lg).textContent = d.legend;
  }
  const thumbs = el("div", "thumbs", root);
  if (d.note) el("div", "note", root).textContent = d.note;
  Object.assign(st, { root, base, over, readout, side, thumbs, hover: null });
  const W = 560;
  if (d.mode === "channels") {
    st.band = Math.max(16, Math.min(48, Math.floor(160 / st.m.gh)));  // few blocks: taller strips
    base.width = over.width = W;
    base.height = over.height = st.m.gh * st.band;
    st.cellW = W / st.m.gw;
    const ctx = base.getContext("2d");
    d.gates.forEach((g, b) => g.forEach((v, c) => {
      const k = Math.max(0, Math.min(255, Math.round(v * 255))) * 3, L = st.m.lut;
      ctx.fillStyle = `rgb(${L[k]},${L[k + 1]},${L[k + 2]})`;
      ctx.fillRect(c * st.cellW, b * st.band + 1, Math.ceil(st.cellW), st.band - 2);
    }));
    readout.textContent = `${d.labels.length} blocks × up to ${st.m.gw} channels: hover a channel`;
  } else {
    base.width = over.width = W;
    base.height = over.height = Math.round((W * d.ih) / d.iw);
    const s = W / d.iw;
    st.box = d.box.map((v) => v * s);
    st.map = el("canvas");
    st.map.width = d.keys[1];
    st.map.height = d.keys[0];
    st.mapData = new ImageData(d.keys[1], d.keys[0]);
    const img = new Image();
    img.onload = () => {
      const ctx = base.getContext("2d");
      ctx.drawImage(img, 0, 0, base.width, base.height);
      const [x0, y0, x1, y1] = st.box;
      ctx.fillStyle = "rgba(0,0,0,0.55)";  // dim what the model did not see
      ctx.fillRect(0, 0, base.width, y0);
      ctx.fillRect(0, y1, base.width, base.height - y1);
      ctx.fillRect(0, y0, x0, y1 - y0);
      ctx.fillRect(x1, y0, base.width - x1, y1 - y0);
      st.imgReady = true;
      drawThumbs(st);
    };
    img.src = d.image;
    readout.textContent = d.mode === "map" ? `${d.label}: hover a cell` : "hover a cell";
  }
  const cellAt = (ev) => {
    const rect = over.getBoundingClientRect();
    const x = ((ev.clientX - rect.left) * over.width) / rect.width;
    const y = ((ev.clientY - rect.top) * over.height) / rect.height;
    if (d.mode === "channels") {
      const r = Math.floor(y / st.band), c = Math.floor(x / st.cellW);
      return r >= 0 && r < st.m.gh && c >= 0 && c < d.gates[r].length ? [r, c] : null;
    }
    const [x0, y0, x1, y1] = st.box;
    if (x < x0 || x >= x1 || y < y0 || y >= y1) return null;
    return [Math.floor(((y - y0) / (y1 - y0)) * st.m.gh), Math.floor(((x - x0) / (x1 - x0)) * st.m.gw)];
  };
  over.addEventListener("mousemove", (ev) => {
    const cell = cellAt(ev);
    if (cell && !(st.hover && sameCell(cell, st.hover))) hoverTo(st, cell, ev.timeStamp);
  });
  over.addEventListener("click", (ev) => {
    const cell = cellAt(ev);
    if (cell) { if (!(st.hover && sameCell(cell, st.hover))) hoverTo(st, cell, ev.timeStamp); toggle(st, cell); }
    root.focus({ preventScroll: true });
  });
  root.addEventListener("keydown", (ev) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[ev.key]) {
      const [dr, dc] = moves[ev.key], h = st.hover || [st.m.gh >> 1, st.m.gw >> 1];
      const r = Math.max(0, Math.min(st.m.gh - 1, h[0] + (st.hover ? dr : 0)));
      const maxC = d.mode === "channels" ? d.gates[r].length : st.m.gw;
      const c = Math.max(0, Math.min(maxC - 1, h[1] + (st.hover ? dc : 0)));
      hoverTo(st, [r, c], ev.timeStamp);
      ev.preventDefault();
    } else if (ev.key === "Enter" && st.hover && d.pinnable) {
      toggle(st, st.hover);
      ev.preventDefault();
    } else if (ev.key === "Escape" && d.pinnable) {
      send(st, ["clear", 0, 0]);
      ev.preventDefault();
    }
  });
  if (clear) clear.addEventListener("click", () => send(st, ["clear", 0, 0]));
}

function toggle(st, cell) {
  if (!st.m.d.pinnable) return;
  const q = originalCell(st.m.d, cell);
  send(st, [st.pins.some((p) => sameCell(p, q)) ? "unpin" : "pin", q[0], q[1]]);
}

function send(st, [op, r, c]) {
  st.log.entries.push([op, r, c, st.data.token]);
  const d = st.m.d;
  st.pins = applyEntries(st.pins, [[op, r, c, st.data.token]], st.data.token, d.max_pins, d.full || d.grid);
  st.root.dataset.pins = JSON.stringify(st.pins);
  st.probe.pins = st.pins;
  drawOver(st);
  drawThumbs(st);
  // ``have``: the payload this page holds, so Python can leave the rows out of the next render
  st.setStateValue("pins", { id: st.log.id, entries: st.log.entries.slice(), have: st.m.d.id });
}

// One query's (or one A² position's) map into st.map through the colour LUT.
function paintRow(st, values, lo, step, count) {
  const px = st.mapData.data, L = st.m.lut;
  let mn = Infinity, mx = -Infinity;
  if (values) for (let j = 0; j < count; j++) { mn = Math.min(mn, values[j]); mx = Math.max(mx, values[j]); }
  for (let j = 0; j < count; j++) {
    const k = values ? Math.round(((values[j] - mn) / (mx - mn || 1)) * 255) * 3 : st.m.q[lo + j] * 3;
    // alpha grows with the value: the picture stays visible where the map is low
    px[4 * j] = L[k]; px[4 * j + 1] = L[k + 1]; px[4 * j + 2] = L[k + 2]; px[4 * j + 3] = 70 + (k / 3) * 0.725;
  }
  st.map.getContext("2d").putImageData(st.mapData, 0, 0);
}

function a2Weights(st, cell) {
  const d = st.m.d;
  return readRow(st.m.q, d.offset, d.step, d.n, cell[0] * st.m.gw + cell[1]);
}

function hoverTo(st, cell, eventTime) {
  const t0 = performance.now();
  st.hover = cell;
  const d = st.m.d;
  if (d.mode === "queries") {
    const K = d.keys[0] * d.keys[1];
    paintRow(st, null, (cell[0] * st.m.gw + cell[1]) * K, 0, K);
    const q = originalCell(st.m.d, cell);
    st.readout.textContent = `query (${q[0]}, ${q[1]}): its attention over ${d.keys[0]}×${d.keys[1]} keys`;
  } else if (d.mode === "a2") {
    const w = a2Weights(st, cell), hw = d.keys[0] * d.keys[1], mix = new Float32Array(hw);
    for (let i = 0; i < d.n; i++) for (let j = 0; j < hw; j++) mix[j] += w[i] * st.m.g[i * hw + j];
    paintRow(st, mix, 0, 0, hw);
    drawA2Side(st, w);
    const top = [...w.keys()].sort((a, b) => w[b] - w[a])[0];
    st.readout.textContent = `position (${cell[0]}, ${cell[1]}): takes descriptor ${top} (${fmt(w[top])})`;
  } else if (d.mode === "map") {
    const v = d.values[cell[0] * st.m.gw + cell[1]];
    const rank = st.m.sorted.indexOf(v) + 1;
    st.readout.textContent = `${d.label} (${cell[0]}, ${cell[1]}) = ${fmt(v)} · rank ${rank} of ${d.values.length}`;
  } else {
    const [b, c] = cell;
    st.readout.textContent = `${d.labels[b]}: channel ${c}, gate ${fmt(d.gates[b][c])}, ` +
      `rank ${d.ranks[b][c]} of ${d.gates[b].length}`;
  }
  drawOver(st);
  const ms = performance.now() - t0;
  const p = st.probe;
  p.hoverMs.push(ms);
  if (p.hoverMs.length > 2000) p.hoverMs.shift();
  p.draws += 1;
  p.drawn = d.mode === "channels" || d.mode === "map" ? cell : originalCell(st.m.d, cell);
  st.root.dataset.drawn = p.drawn.join(",");
  st.root.dataset.draws = p.draws;
  if (eventTime !== undefined)
    requestAnimationFrame(() => { p.frameMs.push(performance.now() - eventTime); });
}

function cellRect(st, cell) {
  if (st.m.d.mode === "channels") return [cell[1] * st.cellW, cell[0] * st.band, st.cellW, st.band];
  const [x0, y0, x1, y1] = st.box, cw = (x1 - x0) / st.m.gw, ch = (y1 - y0) / st.m.gh;
  return [x0 + cell[1] * cw, y0 + cell[0] * ch, cw, ch];
}

function drawOver(st) {
  const ctx = st.over.getContext("2d"), d = st.m.d;
  ctx.clearRect(0, 0, st.over.width, st.over.height);
  if (d.mode !== "channels" && (st.hover || d.mode === "map")) {
    if (d.mode === "map" && !st.mapPainted) { paintRow(st, null, 0, 0, d.keys[0] * d.keys[1]); st.mapPainted = true; }
    const [x0, y0, x1, y1] = st.box;
    ctx.globalAlpha = d.opacity;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(st.map, x0, y0, x1 - x0, y1 - y0);
    ctx.globalAlpha = 1;
  }
  ctx.lineWidth = 3;
  (st.pins || []).forEach((pin, i) => {
    ctx.strokeStyle = COLOURS[i % COLOURS.length];
    ctx.strokeRect(...cellRect(st, coarseCell(st.m.d, pin)));
  });
  if (st.hover) {
    ctx.lineWidth = 2;
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = "#ffffff";
    ctx.strokeRect(...cellRect(st, st.hover));
    ctx.setLineDash([]);
  }
}

function thumb(st, label, colour) {
  const box = el("div", "thumb", st.thumbs), c = el("canvas", "", box);
  const [x0, y0, x1, y1] = st.box;
  c.width = 120;
  c.height = Math.max(1, Math.round((120 * (y1 - y0)) / (x1 - x0)));
  if (colour) c.style.borderColor = colour;
  el("span", "", box).textContent = label;
  const ctx = c.getContext("2d");
  ctx.drawImage(st.base, x0, y0, x1 - x0, y1 - y0, 0, 0, c.width, c.height);
  ctx.globalAlpha = st.m.d.opacity;
  ctx.drawImage(st.map, 0, 0, c.width, c.height);
  ctx.globalAlpha = 1;
}

// Pinned queries side by side, each in its own colour (NL mode).
function drawThumbs(st) {
  const d = st.m.d;
  if (d.mode !== "queries" || !st.imgReady) return;
  st.thumbs.replaceChildren();
  const K = d.keys[0] * d.keys[1];
  st.pins.forEach((pin, i) => {
    const cell = coarseCell(st.m.d, pin);
    paintRow(st, null, (cell[0] * st.m.gw + cell[1]) * K, 0, K);
    thumb(st, `(${pin[0]}, ${pin[1]})`, COLOURS[i % COLOURS.length]);
  });
  if (st.hover) paintRow(st, null, (st.hover[0] * st.m.gw + st.hover[1]) * K, 0, K);
}

// A²: the n weights as bars, and the three gather maps the position draws on most.
function drawA2Side(st, w) {
  const d = st.m.d, c = st.side, ctx = c.getContext("2d");
  c.width = 560; c.height = 70;
  ctx.clearRect(0, 0, c.width, c.height);
  const bw = c.width / d.n, top = [...w.keys()].sort((a, b) => w[b] - w[a]).slice(0, 3);
  const wmax = Math.max(...w) || 1;  // bars scaled to the largest weight
  for (let i = 0; i < d.n; i++) {
    const bh = (c.height - 2) * (w[i] / wmax);
    ctx.fillStyle = top.includes(i) ? "#ff4b4b" : "#7f8fa6";
    ctx.fillRect(i * bw + 1, c.height - bh, Math.max(1, bw - 2), bh);
  }
  if (!st.imgReady) return;
  st.thumbs.replaceChildren();
  const hw = d.keys[0] * d.keys[1], saved = new Uint8ClampedArray(st.mapData.data);
  for (const i of top) {
    paintRow(st, st.m.g.subarray(i * hw, (i + 1) * hw), 0, 0, hw);
    thumb(st, `gather ${i} · d = ${fmt(w[i])}`, null);
  }
  st.mapData.data.set(saved);
  st.map.getContext("2d").putImageData(st.mapData, 0, 0);
}

export default function ({ parentElement, data, setStateValue }) {
  const key = data.key;
  let st = STATES.get(key);
  if (!st) {
    st = { log: { id: Math.random().toString(36).slice(2) + Date.now().toString(36), entries: [] } };
    STATES.set(key, st);
  }
  const all = (window.__vaeExplorer = window.__vaeExplorer || {});
  st.probe = all[key] = all[key] || { hoverMs: [], frameMs: [], draws: 0, calls: 0 };
  st.probe.calls += 1;
  st.probe.lite = (st.probe.lite || 0) + (data.lite ? 1 : 0);  // renders without the rows
  st.probe.render = data.render;
  st.data = data;
  st.setStateValue = setStateValue;
  const known = st.m && st.m.d.id === data.id;
  if (data.lite && !known) {
    // Python left the rows out, but this page does not hold them (e.g. its module reloaded): ask
    setStateValue("need", { id: data.id, nonce: Math.random().toString(36).slice(2) });
    return;
  }
  if (!known) {
    st.m = decode(data);
    st.mapPainted = false;
    st.imgReady = false;
    build(st, parentElement);
  } else {
    st.m.d.opacity = data.opacity;
    if (!st.root || !parentElement.contains(st.root)) {
      st.mapPainted = false;
      st.imgReady = false;
      build(st, parentElement);
    }
  }
  const applied = data.log_id === st.log.id ? data.applied : 0;
  st.pins = applyEntries(data.pins || [], st.log.entries.slice(applied), data.token, data.max_pins,
    data.full || data.grid);
  st.probe.pins = st.pins;
  st.probe.root = st.root;
  st.probe.grid = st.m.d.grid;
  st.probe.id = st.m.d.id;
  // for tests and bench: where a cell is on screen, and a digest of what is drawn
  st.probe.cellCentre = (r, c) => {
    const [x, y, w, h] = cellRect(st, [r, c]), rect = st.over.getBoundingClientRect();
    const k = rect.width / st.over.width;
    return [rect.left + (x + w / 2) * k, rect.top + (y + h / 2) * k];
  };
  st.probe.signature = () => {
    const px = st.over.getContext("2d").getImageData(0, 0, st.over.width, st.over.height).data;
    let hsh = 0;
    for (let i = 0; i < px.length; i += 7) hsh = (hsh * 31 + px[i]) | 0;
    return hsh;
  };
  st.root.dataset.render = data.render;
  st.root.dataset.pins = JSON.stringify(st.pins);
  drawOver(st);
  drawThumbs(st);
}
