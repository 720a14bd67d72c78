// pad.js's drawing model: strokes as data, undo / redo / clear, and how strokes are painted.
// The pointer wiring (attachPad) needs a canvas: the static site's browser tests drive it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Strokes, paintStrokes } from "../pad.js";

function drawn(strokes, ...lines) {
  for (const line of lines) {
    strokes.begin(...line[0]);
    for (const point of line.slice(1)) strokes.extend(...point);
    strokes.end();
  }
  return strokes;
}

test("strokes keep every point with its time, in order", () => {
  const strokes = drawn(new Strokes(), [[1, 2, 0], [3, 4, 16]], [[5, 6, 40]]);
  assert.deepEqual(strokes.toJSON(), [[[1, 2, 0], [3, 4, 16]], [[5, 6, 40]]]);
  assert.equal(strokes.empty, false);
  strokes.extend(9, 9, 50); // after the pen is lifted a move adds nothing
  assert.deepEqual(strokes.toJSON()[1], [[5, 6, 40]]);
});

test("undo takes the last stroke away and redo brings it back; a new stroke forgets the undone", () => {
  const strokes = drawn(new Strokes(), [[0, 0, 0]], [[1, 1, 1]], [[2, 2, 2]]);
  assert.equal(strokes.undo(), true);
  assert.equal(strokes.undo(), true);
  assert.deepEqual(strokes.toJSON(), [[[0, 0, 0]]]);
  assert.equal(strokes.redo(), true);
  assert.deepEqual(strokes.toJSON(), [[[0, 0, 0]], [[1, 1, 1]]]);
  drawn(strokes, [[7, 7, 7]]);
  assert.equal(strokes.redo(), false); // [2, 2, 2] is gone for good
  assert.deepEqual(strokes.toJSON(), [[[0, 0, 0]], [[1, 1, 1]], [[7, 7, 7]]]);
});

test("clear empties the pad; undo brings the drawing back and redo clears it again", () => {
  const strokes = drawn(new Strokes(), [[0, 0, 0]], [[1, 1, 1]]);
  assert.equal(strokes.clear(), true);
  assert.equal(strokes.empty, true);
  assert.equal(strokes.clear(), false); // nothing left to clear: no change
  assert.equal(strokes.undo(), true);
  assert.deepEqual(strokes.toJSON(), [[[0, 0, 0]], [[1, 1, 1]]]);
  assert.equal(strokes.undo(), true); // then the strokes, latest first
  assert.deepEqual(strokes.toJSON(), [[[0, 0, 0]]]);
  assert.equal(strokes.redo(), true);
  assert.equal(strokes.redo(), true);
  assert.equal(strokes.empty, true); // the Clear, done again
  assert.equal(strokes.redo(), false);
});

test("undo on an empty pad changes nothing", () => {
  const strokes = new Strokes();
  assert.equal(strokes.undo(), false);
  assert.equal(strokes.redo(), false);
  assert.equal(strokes.empty, true);
});

test("strokes are painted as the pen draws: round, black, the pen's width; a tap is a dot", () => {
  const calls = [];
  const ctx = new Proxy({}, {
    get: (target, name) => (name in target ? target[name] : (...args) => calls.push([name, ...args])),
    set: (target, name, value) => { target[name] = value; calls.push([`=${name}`, value]); return true; },
  });
  paintStrokes(ctx, [[[10, 10, 0], [20, 30, 5]], [[50, 50, 9]]], 28);
  assert.equal(ctx.lineWidth, 28);
  assert.equal(ctx.lineCap, "round");
  assert.equal(ctx.strokeStyle, "#000");
  const path = calls.filter(([name]) => ["moveTo", "lineTo", "stroke"].includes(name));
  assert.deepEqual(path, [["moveTo", 10, 10], ["lineTo", 20, 30], ["stroke"], ["moveTo", 50, 50], ["lineTo", 50, 50], ["stroke"]]);
});
