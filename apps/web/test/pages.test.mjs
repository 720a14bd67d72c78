// The pages' model code that runs without a DOM: the GAN's labels and walk (gan.js) and the latent
// scatter's projection (latent.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ganLabels, walkNoise } from "../gan.js";
import { projector } from "../latent.js";
import { mulberry32, normals } from "../runtime.js";

const DIGITS = [..."0123456789"];

test("a grid of one digit is that digit; 'any' draws mulberry32(seed + 1)'s picks, as apps/gan.py does", () => {
  assert.deepEqual(ganLabels("4", DIGITS, 3, 9), [4, 4, 4]);
  const pick = mulberry32(8);
  assert.deepEqual(ganLabels("any", DIGITS, 5, 7), Array.from({ length: 5 }, () => Math.floor(pick() * 10)));
  assert.notDeepEqual(ganLabels("any", DIGITS, 16, 0), ganLabels("any", DIGITS, 16, 1));
});

test("the walk starts at one seed's noise and ends at the other's", () => {
  const steps = walkNoise(3, 11, 4, 8);
  assert.equal(steps.length, 32);
  assert.deepEqual(steps.slice(0, 4), normals(3, 4));
  Array.from(steps.slice(28)).forEach((v, i) => assert.ok(Math.abs(v - normals(11, 4)[i]) < 1e-6));
});

test("the scatter's view puts the codes' middle in the middle and turning keeps distances", () => {
  const spans = [[-2, 2], [-1, 1], [0, 4]];
  const [x, y] = projector(spans, 500, 0.3, 0.2)([0, 0, 2]);
  assert.ok(Math.abs(x - 250) < 1e-9 && Math.abs(y - 250) < 1e-9);
  const far = (yaw, pitch) => {
    const project = projector(spans, 500, yaw, pitch);
    const [a, b] = [project([-2, -1, 0]), project([2, 1, 4])];
    return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
  };
  assert.ok(Math.abs(far(0, 0) - far(1.1, -0.7)) < 1e-9);
  assert.ok(Math.max(...projector(spans, 500, 0, 0)([2, 0, 2]).slice(0, 2)) <= 500); // the span fits the view
});
