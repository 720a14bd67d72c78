// sketch.js (the page's preprocessing) against hub/serving/sketch.py on stored drawings
// (vectors/sketch.json: RGBA canvases and Python's 28x28 outputs, written by tests/js_vectors.py).
// sketch.js works on RGBA bytes alone (no canvas, no DOM), so all of preprocess() runs here; the page
// only adds getImageData, which the browser tests (tests/test_web_browser.py) cover.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { inflateSync } from "node:zlib";

import { EmptySketch, SketchError, inkLevels, preprocess } from "../sketch.js";

const vectors = JSON.parse(readFileSync(new URL("./vectors/sketch.json", import.meta.url), "utf-8"));

function float32s(base64) {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function canvas(drawing) {
  return new Uint8Array(inflateSync(Buffer.from(drawing.rgba_zlib_b64, "base64")));
}

// A width x height RGBA canvas of one colour, with `paint(x, y)` -> [r, g, b, a] or null where it draws.
function filled(width, height, colour, paint = () => null) {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgba.set(paint(x, y) || colour, 4 * (y * width + x));
  }
  return rgba;
}

test("the stored drawings cover the preprocessing's paths", () => {
  assert.ok(vectors.drawings.length >= 4);
  assert.equal(vectors.tolerance, 1e-5);
  const minAlpha = (rgba) => rgba.reduce((m, v, i) => (i % 4 === 3 ? Math.min(m, v) : m), 255);
  const layered = vectors.drawings.filter((d) => minAlpha(canvas(d)) < 253);
  assert.ok(layered.length >= 1 && layered.length < vectors.drawings.length, "transparent and opaque canvases");
});

for (const drawing of vectors.drawings) {
  test(`preprocess matches hub/serving/sketch.py: ${drawing.name} (${drawing.width}x${drawing.height})`, (t) => {
    const rgba = canvas(drawing);
    assert.equal(rgba.length, drawing.width * drawing.height * 4);
    const expected = float32s(drawing.python_28x28_f32_b64);
    const x = preprocess(rgba, drawing.width, drawing.height);
    assert.ok(x instanceof Float32Array);
    assert.equal(x.length, 28 * 28);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - expected[i]));
    t.diagnostic(`max |JS - Python| = ${worst}`);
    assert.ok(worst <= vectors.tolerance, `max |JS - Python| = ${worst} > ${vectors.tolerance}`);
    assert.equal(Math.max(...x), 1);
  });
}

test("inkLevels: opacity on a transparent layer, else grey against the border's paper", () => {
  const layer = inkLevels(filled(10, 10, [0, 0, 0, 0], (x) => (x === 5 ? [255, 0, 0, 200] : null)), 10, 10);
  assert.equal(layer.levels[5], 200);
  assert.equal(layer.levels[0], 0);
  assert.equal(layer.table[255], 1);
  const white = inkLevels(filled(10, 10, [255, 255, 255, 255]), 10, 10);
  assert.equal(white.levels[0], 255);
  assert.equal(white.table[255], 0); // the paper is no ink
  assert.equal(white.table[0], 1); // black on white is full ink
  const dark = inkLevels(filled(10, 10, [0, 0, 0, 255]), 10, 10);
  assert.equal(dark.table[0], 0);
  assert.equal(dark.table[255], 1); // light on dark is not inverted
});

test("refusals: SketchError with a sentence, EmptySketch for a blank canvas", () => {
  assert.throws(() => preprocess(filled(100, 100, [255, 255, 255, 255]), 100, 100), EmptySketch);
  assert.throws(() => preprocess(filled(100, 100, [0, 0, 0, 0]), 100, 100), EmptySketch);
  const tooSmall = () => preprocess(filled(7, 7, [255, 255, 255, 255]), 7, 7);
  assert.throws(tooSmall, (error) => error instanceof SketchError && !(error instanceof EmptySketch) &&
                                     /too small \(7x7\)/.test(error.message));
  const dot = filled(100, 100, [255, 255, 255, 255], (x, y) => (x >= 50 && x < 52 && y >= 50 && y < 52 ? [0, 0, 0, 255] : null));
  assert.throws(() => preprocess(dot, 100, 100), /too small to read/);
  const allInk = filled(100, 100, [0, 0, 0, 0], (x) => (x < 80 ? [0, 0, 0, 255] : null));
  assert.throws(() => preprocess(allInk, 100, 100), /Most of the canvas is ink/);
});
