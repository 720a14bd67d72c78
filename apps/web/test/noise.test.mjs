// runtime.js's seeded noise against apps/gan.py's (vectors/noise.json, written by tests/js_vectors.py
// and asserted against the Python functions by tests/test_js.py): one seed, the same digits everywhere.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { mulberry32, normals } from "../runtime.js";

const { seeds } = JSON.parse(readFileSync(new URL("./vectors/noise.json", import.meta.url), "utf-8"));
// The page's normals are float32 (Float32Array), as Python's; Math.log/cos/sin may differ from C's libm
// in the last bit of a double, which can move a float32 by one step (< 1e-6 for |z| < 8).
const FLOAT32_STEP = 1e-6;

function assertClose(actual, expected, tolerance, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const worst = Math.max(...expected.map((v, i) => Math.abs(actual[i] - v)));
  assert.ok(worst <= tolerance, `${what}: max |JS - Python| = ${worst} > ${tolerance}`);
}

test("mulberry32 gives apps/gan.py's uniforms, bit for bit", () => {
  for (const { seed, uniforms } of seeds) {
    const uniform = mulberry32(seed);
    assert.deepEqual(uniforms.map(() => uniform()), uniforms, `seed ${seed}`);
  }
});

test("normals gives apps/gan.py's float32 Box-Muller noise", () => {
  for (const { seed, normals: expected } of seeds) {
    const z = normals(seed, expected.length);
    assert.ok(z instanceof Float32Array);
    assertClose(z, expected, FLOAT32_STEP, `seed ${seed}`);
  }
});

test("an odd count keeps the first of the last pair, as in Python", () => {
  for (const { seed, normals: even, odd_normals: odd } of seeds) {
    assert.equal(odd.length % 2, 1);
    const z = normals(seed, odd.length);
    assertClose(z, odd, FLOAT32_STEP, `seed ${seed}`);
    assert.deepEqual(Array.from(z), Array.from(normals(seed, even.length).subarray(0, odd.length)));
  }
});

test("a seed is taken modulo 2**32, as apps/gan.py's & 0xFFFFFFFF", () => {
  const [a, b] = [mulberry32(2 ** 32 + 42), mulberry32(42)];
  for (let i = 0; i < 4; i++) assert.equal(a(), b());
  for (const u of Array.from({ length: 1000 }, mulberry32(7))) assert.ok(u >= 0 && u < 1);
});
