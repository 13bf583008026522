// The in-browser query grid (Streamlit components v2, one inline module: no build step, no CDN).
//
// Draws the payload of viz/figures/query_grid_payload.py: a k x k grid of query maps over the
// picture (panels laid out where their queries sit) beside the matrix of (1 - cos)/2 distances
// between their rows. The grid size and the opacity are range inputs drawn here, so moving them runs
// no Python at all (a Streamlit slider cost a server round trip and a plotly redraw per move).
// Hovering a panel or a matrix cell reads the exact values out. Each redraw is timed; the samples
// and what is drawn are kept in window.__vaeQueryGrid[key] and on the root's dataset.
//
// viz/figures/web_assets.py inlines the import below (its file's text) before sending.
import { bytes, el, fmt, readRows } from "./helpers.mjs";

const STATES = new Map();
const MOSAIC_W = 560, MATRIX_W = 300, GAP = 6, BAND = 16;

function colour(L, t) {
  const k = Math.max(0, Math.min(255, Math.round(t * 255))) * 3;
  return [L[k], L[k + 1], L[k + 2]];
}

function decode(d) {
  const K = d.keys[0] * d.keys[1];
  return { d, K, vals: readRows(bytes(d.rows), d.offset, d.step, K), lut: bytes(d.lut) };
}

function legend(parent, L, text) {
  const lg = el("div", "legend", parent), cv = el("canvas", "", lg);
  cv.width = 256; cv.height = 1;
  const g = cv.getContext("2d"), im = g.createImageData(256, 1);
  for (let i = 0; i < 256; i++) im.data.set([...colour(L, i / 255), 255], 4 * i);
  g.putImageData(im, 0, 0);
  const span = el("span", "", lg);
  span.textContent = text;
  return span;
}

function build(st, parentElement) {
  const d = st.m.d;
  parentElement.querySelectorAll(".vae-qgrid").forEach((e) => e.remove());
  const root = el("div", "vae-qgrid", parentElement);
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "attention maps of a grid of queries and their distances");
  const title = el("div", "title", root);
  const controls = el("div", "controls", root);
  const slider = (text, min, max, step, value) => {
    const lab = el("label", "", controls);
    el("span", "", lab).textContent = text;
    const input = el("input", "", lab), out = el("output", "", lab);
    Object.assign(input, { type: "range", min, max, step, value });
    input.setAttribute("aria-label", text);
    return [input, out];
  };
  const [kIn, kOut] = slider("Query grid (k × k queries)", Math.min(...d.sizes), Math.max(...d.sizes), 1, st.k);
  const [oIn, oOut] = slider("Map opacity", 0, 1, 0.05, st.opacity);
  const panes = el("div", "panes", root);
  const left = el("div", "", panes), right = el("div", "", panes);
  const mosaic = el("canvas", "mosaic", left);
  const matrix = el("canvas", "matrix", right);
  const caption = el("div", "caption", right);
  const readout = el("div", "readout", root);
  readout.setAttribute("aria-live", "polite");
  const mapsRange = legend(root, st.m.lut, "");
  const distRange = legend(root, st.m.lut, "");
  if (d.note) el("div", "note", root).textContent = d.note;
  Object.assign(st, { root, title, kIn, kOut, oIn, oOut, mosaic, matrix, caption, readout,
    mapsRange, distRange, hover: null });
  const img = new Image();
  img.onload = () => { st.img = img; redraw(st); };
  img.src = d.image;
  const moved = (ev) => {
    st.k = Number(kIn.value);
    st.opacity = Number(oIn.value);
    st.hover = null;
    redraw(st, ev.timeStamp);
  };
  kIn.addEventListener("input", moved);
  oIn.addEventListener("input", moved);
  mosaic.addEventListener("mousemove", (ev) => hoverAt(st, "panel", panelAt(st, ev)));
  matrix.addEventListener("mousemove", (ev) => hoverAt(st, "pair", pairAt(st, ev)));
  mosaic.addEventListener("mouseleave", () => hoverAt(st, "panel", null));
  matrix.addEventListener("mouseleave", () => hoverAt(st, "pair", null));
}

function layout(st) {
  const d = st.m.d, g = d.grids[String(st.k)];
  const rows = [...new Set(g.queries.map((q) => q[0]))].length, cols = g.queries.length / rows;
  const pw = Math.floor((MOSAIC_W - (cols - 1) * GAP) / cols);
  const ph = Math.max(1, Math.round((pw * d.ih) / d.iw));
  return { g, rows, cols, pw, ph, n: g.queries.length };
}

function panelRect(lay, i) {
  const r = Math.floor(i / lay.cols), c = i % lay.cols;
  return [c * (lay.pw + GAP), r * (lay.ph + BAND + GAP) + BAND, lay.pw, lay.ph];
}

function panelAt(st, ev) {
  const rect = st.mosaic.getBoundingClientRect(), lay = st.lay;
  const x = ((ev.clientX - rect.left) * st.mosaic.width) / rect.width;
  const y = ((ev.clientY - rect.top) * st.mosaic.height) / rect.height;
  for (let i = 0; i < lay.n; i++) {
    const [x0, y0, w, h] = panelRect(lay, i);
    if (x >= x0 && x < x0 + w && y >= y0 - BAND && y < y0 + h) return i;
  }
  return null;
}

function pairAt(st, ev) {
  const rect = st.matrix.getBoundingClientRect(), n = st.lay.n;
  const i = Math.floor(((ev.clientY - rect.top) / rect.height) * n);
  const j = Math.floor(((ev.clientX - rect.left) / rect.width) * n);
  return i >= 0 && i < n && j >= 0 && j < n ? [i, j] : null;
}

function hoverAt(st, kind, what) {
  const key = what === null ? null : [kind, what];
  if (JSON.stringify(key) === JSON.stringify(st.hover)) return;
  st.hover = key;
  redraw(st);
}

function redraw(st, eventTime) {
  if (!st.img) return;
  const t0 = performance.now(), d = st.m.d, lay = (st.lay = layout(st)), g = lay.g, K = st.m.K;
  st.kOut.textContent = `${st.k} × ${st.k}`;
  st.oOut.textContent = st.opacity.toFixed(2);
  st.title.textContent = `${d.label ? d.label + ": a" : "A"}ttention maps of ${lay.n} queries`;
  // one colour scale for every map shown: differences between panels are real differences
  let lo = Infinity, hi = -Infinity;
  for (const r of g.rows)
    for (let j = 0; j < K; j++) { const v = st.m.vals[r * K + j]; lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = hi - lo || 1;
  const M = st.mosaic, ctx = M.getContext("2d");
  M.width = MOSAIC_W;
  M.height = lay.rows * (lay.ph + BAND + GAP) - GAP;
  const s = lay.pw / d.iw, [bx0, by0, bx1, by1] = d.box.map((v) => v * s);
  const pic = el("canvas");
  pic.width = lay.pw; pic.height = lay.ph;
  const pc = pic.getContext("2d");
  pc.drawImage(st.img, 0, 0, lay.pw, lay.ph);
  pc.fillStyle = "rgba(0,0,0,0.55)";  // dim what the model did not see
  pc.fillRect(0, 0, lay.pw, by0); pc.fillRect(0, by1, lay.pw, lay.ph - by1);
  pc.fillRect(0, by0, bx0, by1 - by0); pc.fillRect(bx1, by0, lay.pw - bx1, by1 - by0);
  const map = el("canvas"), [kh, kw] = d.keys;
  map.width = kw; map.height = kh;
  const mc = map.getContext("2d"), im = mc.createImageData(kw, kh);
  const marked = st.hover ? (st.hover[0] === "panel" ? [st.hover[1]] : st.hover[1]) : [];
  ctx.font = "12px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  g.rows.forEach((r, i) => {
    for (let j = 0; j < K; j++) im.data.set([...colour(st.m.lut, (st.m.vals[r * K + j] - lo) / span), 255], 4 * j);
    mc.putImageData(im, 0, 0);
    const [x, y] = panelRect(lay, i);
    ctx.drawImage(pic, x, y);
    ctx.globalAlpha = st.opacity;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(map, x + bx0, y + by0, bx1 - bx0, by1 - by0);
    ctx.globalAlpha = 1;
    const [qr, qc] = g.queries[i];
    const cx = x + bx0 + ((qc + 0.5) * (bx1 - bx0)) / d.grid[1];
    const cy = y + by0 + ((qr + 0.5) * (by1 - by0)) / d.grid[0];
    ctx.beginPath(); ctx.arc(cx, cy, 4, 0, 2 * Math.PI);
    ctx.fillStyle = "#ffffff"; ctx.fill();
    ctx.lineWidth = 2; ctx.strokeStyle = "#000000"; ctx.stroke();
    ctx.fillStyle = getComputedStyle(st.root).color || "#000";
    ctx.fillText(`(${qr}, ${qc})`, x + lay.pw / 2, y - BAND / 2);
    if (marked.includes(i)) { ctx.lineWidth = 3; ctx.strokeStyle = "#ff4b4b"; ctx.strokeRect(x + 1.5, y + 1.5, lay.pw - 3, lay.ph - 3); }
  });
  drawMatrix(st, lay, marked);
  st.mapsRange.textContent = `${d.legend}: ${fmt(lo)} (dark) to ${fmt(hi)} (bright)`;
  st.distRange.textContent = `${d.dlegend}: 0 (dark) to ${fmt(g.max)} (bright)`;
  st.caption.textContent = `(1 − cos)/2 between the attention rows of the ${lay.n} queries ` +
    `(rows and columns in the panels' order). Mean over the ${lay.n * (lay.n - 1)} ordered pairs ` +
    `of different queries: ${fmt(g.mean)}.`;
  st.readout.textContent = readoutText(st, lay);
  const ms = performance.now() - t0, p = st.probe;
  p.drawMs.push(ms);
  if (p.drawMs.length > 2000) p.drawMs.shift();
  p.draws += 1;
  p.k = st.k; p.opacity = st.opacity; p.queries = g.queries; p.id = d.id; p.payload = d;
  p.drawnAt = performance.timeOrigin + performance.now();  // absolute: benches compare tabs
  Object.assign(st.root.dataset, { k: st.k, opacity: st.opacity, draws: p.draws, id: d.id });
  if (eventTime !== undefined) requestAnimationFrame(() => { p.frameMs.push(performance.now() - eventTime); });
}

function drawMatrix(st, lay, marked) {
  const g = lay.g, n = lay.n, C = st.matrix, ctx = C.getContext("2d");
  C.width = C.height = MATRIX_W;
  const cell = MATRIX_W / n, top = g.max || 1;
  ctx.font = `${Math.max(8, Math.min(12, cell / 3.2))}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const v = g.distance[i * n + j], [r, gg, b] = colour(st.m.lut, v / top);
      ctx.fillStyle = `rgb(${r},${gg},${b})`;
      ctx.fillRect(j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
      if (cell >= 30) {  // values written in the cells while they fit
        ctx.fillStyle = 0.299 * r + 0.587 * gg + 0.114 * b > 140 ? "#000" : "#fff";
        ctx.fillText(v.toFixed(3), (j + 0.5) * cell, (i + 0.5) * cell);
      }
    }
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#ff4b4b";
  if (st.hover && st.hover[0] === "pair") {
    const [i, j] = st.hover[1];
    ctx.strokeRect(j * cell + 1, i * cell + 1, cell - 2, cell - 2);
  } else for (const i of marked) ctx.strokeRect(1, i * cell + 1, MATRIX_W - 2, cell - 2);
}

function readoutText(st, lay) {
  const g = lay.g, n = lay.n, K = st.m.K, name = (i) => `(${g.queries[i][0]}, ${g.queries[i][1]})`;
  if (!st.hover) return "Hover a panel or a matrix cell to read its values.";
  if (st.hover[0] === "pair") {
    const [i, j] = st.hover[1];
    return `(1 − cos)/2 between the rows of queries ${name(i)} and ${name(j)} = ${fmt(g.distance[i * n + j])}`;
  }
  const i = st.hover[1], r = g.rows[i];
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (let j = 0; j < K; j++) { const v = st.m.vals[r * K + j]; lo = Math.min(lo, v); hi = Math.max(hi, v); }
  for (let j = 0; j < n; j++) if (j !== i) sum += g.distance[i * n + j];
  return `query ${name(i)}: attention from ${fmt(lo)} to ${fmt(hi)}; mean (1 − cos)/2 to the ` +
    `other ${n - 1} queries ${fmt(n > 1 ? sum / (n - 1) : 0)}`;
}

export default function ({ parentElement, data }) {
  const key = data.key;
  let st = STATES.get(key);
  if (!st) { st = { k: data.k, opacity: data.opacity }; STATES.set(key, st); }
  const all = (window.__vaeQueryGrid = window.__vaeQueryGrid || {});
  st.probe = all[key] = all[key] || { drawMs: [], frameMs: [], draws: 0, calls: 0 };
  st.probe.calls += 1;
  if (!st.m || st.m.d.id !== data.id) {
    st.m = decode(data);
    if (!data.sizes.includes(st.k)) st.k = data.k;  // the browser keeps the user's k and opacity
    st.img = null;
    build(st, parentElement);
  } else if (!st.root || !parentElement.contains(st.root)) {
    st.img = null;
    build(st, parentElement);
  }
  st.probe.root = st.root;
  st.probe.signature = () => {
    const px = st.mosaic.getContext("2d").getImageData(0, 0, st.mosaic.width, st.mosaic.height).data;
    let h = 0;
    for (let i = 0; i < px.length; i += 7) h = (h * 31 + px[i]) | 0;
    return h;
  };
}
