// The explorer's pin logic and cell coordinates, pure (no DOM): node's tests import this file as
// it is and check it against the same cases as Python (tests/js/cases.json).

export function sameCell(a, b) { return a[0] === b[0] && a[1] === b[1]; }

// The same rules as viz.ui.explorer.apply_pin_log, so the browser shows the pins at once and
// Python ends with the same list: entries of another token are skipped, "clear" empties, "unpin"
// removes, "pin" adds a cell inside gridHW (rows, cols of the original grid) not pinned yet and
// keeps the newest maxPins (none when maxPins is 0). Returns a new list; `pins` is not changed.
export function applyEntries(pins, entries, token, maxPins, gridHW) {
  const [h, w] = gridHW;
  let out = pins.map((p) => [p[0], p[1]]);
  for (const [op, r, c, t] of entries) {
    if (t !== token) continue;
    if (op === "clear") out = [];
    else if (op === "unpin") out = out.filter((p) => !sameCell(p, [r, c]));
    else if (op === "pin" && maxPins > 0 && r >= 0 && r < h && c >= 0 && c < w &&
      !out.some((p) => sameCell(p, [r, c]))) {
      out.push([r, c]);
      if (out.length > maxPins) out = out.slice(out.length - maxPins);
    }
  }
  return out;
}

// The original grid's cell a sent (possibly downsampled) cell stands for: pins travel in these.
export function originalCell(d, cell) { return [d.qrows[cell[0]], d.qcols[cell[1]]]; }

// The sent cell nearest to a pin of the original grid (ties: the first), where it is drawn.
export function coarseCell(d, pin) {
  const near = (list, v) => list.reduce((b, x, i) => (Math.abs(x - v) < Math.abs(list[b] - v) ? i : b), 0);
  return [near(d.qrows, pin[0]), near(d.qcols, pin[1])];
}
