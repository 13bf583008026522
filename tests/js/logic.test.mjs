// The explorer's pure JavaScript under node (plain node:test, no npm package), against the cases
// Python is tested on too (cases.json; the Python side is test_shared_cases.py). pytest runs this
// file with `node --test` (test_web_files.py).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { bytes, readRow, readRows } from "../../viz/figures/web/helpers.mjs";
import { applyEntries, coarseCell, originalCell } from "../../viz/figures/web/pins.mjs";

const CASES = JSON.parse(readFileSync(new URL("./cases.json", import.meta.url), "utf8"));

for (const c of CASES.pin_log) {
  test(`pin log: ${c.name}`, () => {
    const before = JSON.stringify(c.pins);
    assert.deepEqual(applyEntries(c.pins, c.entries, c.token, c.max_pins, c.grid), c.expect);
    assert.equal(JSON.stringify(c.pins), before, "the pins passed in are not changed");
  });
  test(`pin log, one entry at a time as clicks arrive: ${c.name}`, () => {
    let pins = c.pins;
    for (const e of c.entries) pins = applyEntries(pins, [e], c.token, c.max_pins, c.grid);
    assert.deepEqual(pins, c.expect);
  });
}

for (const c of CASES.rows) {
  test(`quantised rows read back: ${c.name}`, () => {
    const { rows: b64, offset, step } = c.packed;
    const q = bytes(b64);
    assert.equal(q.length, c.rows.length * c.width, "one uint8 per value");
    const back = readRows(q, offset, step, c.width);
    c.rows.forEach((row, i) => {
      const one = readRow(q, offset, step, c.width, i);
      row.forEach((v, j) => {
        const got = back[i * c.width + j];
        assert.equal(one[j], got, "readRow and readRows agree");
        const py = c.back[i][j];  // Python's dequantise_rows, float64; here float32
        assert.ok(Math.abs(got - py) <= 1e-6 * Math.max(1, Math.abs(py)), `[${i}][${j}] ${got} vs ${py}`);
        if (v === null) assert.ok(Math.abs(got - offset[i]) <= 1e-6 * Math.max(1, Math.abs(offset[i])));
        else
          assert.ok(Math.abs(got - v) <= step[i] / 2 + 1e-6 * Math.max(1, Math.abs(v)),
            `[${i}][${j}] ${got} is more than half a step (${step[i]}) from ${v}`);
      });
    });
  });
}

for (const c of CASES.downsampled) {
  test(`downsampled coordinates: ${c.name}`, () => {
    assert.equal(c.qrows.length, c.grid[0]);
    assert.equal(c.qcols.length, c.grid[1]);
    for (const [cell, original] of c.cells) assert.deepEqual(originalCell(c, cell), original);
    for (const [pin, cell] of c.pins) assert.deepEqual(coarseCell(c, pin), cell, `pin ${pin}`);
    for (let r = 0; r < c.grid[0]; r++)  // a pin made by clicking a cell is drawn on that cell
      for (let k = 0; k < c.grid[1]; k++) assert.deepEqual(coarseCell(c, originalCell(c, [r, k])), [r, k]);
  });
}
