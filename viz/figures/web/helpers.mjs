// Shared by the in-browser components (the explorer, the query grid). Each component reaches the
// browser as ONE inline module: viz/figures/web_assets.py puts this file's text in place of the
// component's `import { … } from "./helpers.mjs";` line. Nothing here touches the DOM when the
// file loads, so node's tests import it as it is (tests/js/logic.test.mjs).

// base64 -> bytes (the payload's quantised rows and colour LUT travel as base64).
export function bytes(b64) {
  const bin = atob(b64), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

export function fmt(v) { return Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(2); }

// Row i of rows quantised per row (viz.figures.explorer_payload.quantise_rows, one uint8 per value):
// value = offset[i] + q * step[i], within half a step of the value Python had.
export function readRow(q, offset, step, width, i) {
  const out = new Float32Array(width), base = i * width;
  for (let j = 0; j < width; j++) out[j] = offset[i] + q[base + j] * step[i];
  return out;
}

// Every row (one per offset), row after row: what dequantise_rows gives in Python.
export function readRows(q, offset, step, width) {
  const n = offset.length, out = new Float32Array(n * width);
  for (let i = 0; i < n; i++) out.set(readRow(q, offset, step, width, i), i * width);
  return out;
}
