// pool.js: a batch's rows dealt out to workers and put back in order, URLs made absolute for them,
// a worker that fails refusing that batch and every later one; and explain.js's occlusion through a
// pool: the same map as on the page's own thread, and the page's own thread when the pool fails.
// The workers here are stand-ins (node has no browser Worker); tests/test_why_browser.py runs the real ones.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { PageExplainer, occlusionBatch } from "../explain.js";
import { WorkerPool, joinRows, splitRows } from "../pool.js";
import { ort, why } from "./ort_node.mjs";

const RUNTIME = { module: "vendor/ort.mjs", wasm: "vendor/ort.wasm", wasm_integrity: "sha384-w", missing_hint: "npm ci" };
const BASE = "http://127.0.0.1:7860/digitzoo/pages/";
const PIXELS = 784;

test("rows are split into contiguous, nearly equal, non-empty parts", () => {
  assert.deepEqual(splitRows(71, 2), [[0, 36], [36, 71]]);
  assert.deepEqual(splitRows(9, 4), [[0, 3], [3, 5], [5, 7], [7, 9]]);
  assert.deepEqual(splitRows(1, 2), [[0, 1]], "one row: one part");
  assert.deepEqual(splitRows(6, 3), [[0, 2], [2, 4], [4, 6]]);
});

test("the parts' outputs are joined along the batch axis, each output in its place", () => {
  const part = (rows, first) => [{ data: Float32Array.from({ length: rows * 2 }, (_, i) => first + i), dims: [rows, 2] },
                                 { data: new Float32Array(rows * 3).fill(first), dims: [rows, 3] }];
  const [logits, other] = joinRows([part(2, 0), part(1, 100)]);
  assert.deepEqual(logits.dims, [3, 2]);
  assert.deepEqual(Array.from(logits.data), [0, 1, 2, 3, 100, 101]);
  assert.deepEqual(other.dims, [3, 3]);
  assert.deepEqual(Array.from(other.data), [0, 0, 0, 0, 0, 0, 100, 100, 100]);
});

// A Worker stand-in: `answer(message)` -> the outputs it posts back for a run (or throws: an { error }
// message); `setUp(message)` the same for "start" and "open" (by default: done, no outputs).
class FakeWorker extends EventTarget {
  constructor(answer, log, setUp = () => []) {
    super();
    Object.assign(this, { answer, log, setUp });
  }

  postMessage(message, transfer = []) {
    this.log.push({ worker: this, message, transfer });
    queueMicrotask(async () => {
      let data;
      try {
        data = { id: message.id, outputs: await (message.kind === "run" ? this.answer : this.setUp)(message) };
      } catch (error) {
        data = { id: message.id, error: error.message };
      }
      this.dispatchEvent(new MessageEvent("message", { data }));
    });
  }

}

// Each row's output: [its index in the whole batch (from its first pixel), the sum of its pixels].
const rowStamp = ({ batch, dims }) => [{ data: Float32Array.from({ length: dims[0] * 2 }, (_, i) => {
  const row = batch.subarray(Math.floor(i / 2) * PIXELS, (Math.floor(i / 2) + 1) * PIXELS);
  return i % 2 ? row.reduce((a, v) => a + v, 0) : row[0];
}), dims: [dims[0], 2] }];

function stampedBatch(count) {
  const batch = new Float32Array(count * PIXELS);
  for (let r = 0; r < count; r++) { batch[r * PIXELS] = r; batch[r * PIXELS + 1] = 0.5; }
  return batch;
}

test("a batch runs in parts, one per worker, and comes back in row order", async () => {
  const log = [];
  const pool = new WorkerPool(RUNTIME, { size: 2, base: BASE, makeWorker: () => new FakeWorker(rowStamp, log) });
  const entry = { file: "models/mnist_cnn.onnx", sha256: "ab", inputs: [{ name: "image" }], outputs: [{ name: "logits" }] };
  const batch = stampedBatch(7);
  const [out] = await pool.run(entry, batch, 7);
  assert.deepEqual(out.dims, [7, 2]);
  assert.deepEqual(Array.from(out.data), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5]);
  const starts = log.filter((l) => l.message.kind === "start"), runs = log.filter((l) => l.message.kind === "run");
  assert.equal(starts.length, 2, "each worker started once");
  assert.deepEqual(starts[0].message.runtime, { ...RUNTIME, module: `${BASE}vendor/ort.mjs`, wasm: `${BASE}vendor/ort.wasm` },
                   "the runtime's URLs absolute (a worker resolves against its own script)");
  assert.deepEqual(runs.map((r) => r.message.dims), [[4, 1, 28, 28], [3, 1, 28, 28]]);
  assert.notEqual(runs[0].worker, runs[1].worker, "the parts went to different workers");
  assert.equal(runs[0].message.entry.file, `${BASE}models/mnist_cnn.onnx`);
  assert.equal(runs[0].transfer[0], runs[0].message.batch.buffer, "each part's rows are moved, not copied again");
  assert.equal(batch[0], 0, "the caller's batch is left whole");
  await pool.run(entry, batch, 3);
  assert.equal(log.filter((l) => l.message.kind === "start").length, 2, "no new workers for the next batch");
});

test("the pool is ready once every worker has loaded onnxruntime-web; prepare opens a file in each", async () => {
  const log = [], loaded = [];
  const pool = new WorkerPool(RUNTIME, { base: BASE, makeWorker: () => new FakeWorker(rowStamp, log, (m) => new Promise((resolve) => {
    if (m.kind === "start") loaded.push(resolve); else resolve([]);
  })) });
  assert.equal(pool.ready, false);
  pool.prepare({ file: "models/mnist_lstm.onnx", inputs: [{ name: "image" }], outputs: [] });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(log.map((l) => l.message.kind), ["start", "start", "open", "open"]);
  assert.equal(log[2].message.entry.file, `${BASE}models/mnist_lstm.onnx`);
  loaded[0]([]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(pool.ready, false, "one worker of two loaded");
  loaded[1]([]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(pool.ready, true);

  const failing = new WorkerPool(RUNTIME, { base: BASE, makeWorker: () => new FakeWorker(rowStamp, [], (m) => {
    if (m.kind === "start") throw new Error("onnxruntime-web could not be loaded"); return [];
  }) });
  failing.prepare({ file: "x", inputs: [{ name: "i" }], outputs: [] });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(failing.ready, false);
  assert.match(failing.broken.message, /could not be loaded/);
});

test("a worker that refuses a batch, or cannot start, makes the pool refuse from then on", async () => {
  const refusing = new WorkerPool(RUNTIME, { base: BASE, makeWorker: () => new FakeWorker(() => { throw new Error("Refused models/x.onnx"); }, []) });
  await assert.rejects(refusing.run({ file: "x", inputs: [{ name: "i" }], outputs: [] }, stampedBatch(4), 4), /Refused models\/x\.onnx/);
  assert.match(refusing.broken.message, /Refused/);
  await assert.rejects(refusing.run({ file: "x", inputs: [{ name: "i" }], outputs: [] }, stampedBatch(4), 4), /Refused/);

  let made = null;
  const silent = new WorkerPool(RUNTIME, { base: BASE, size: 1, makeWorker: () => (made = new FakeWorker(() => new Promise(() => {}), [])) });
  const waiting = silent.run({ file: "x", inputs: [{ name: "i" }], outputs: [] }, stampedBatch(2), 2);
  made.dispatchEvent(Object.assign(new Event("error"), { message: "worker.js: 404" }));
  await assert.rejects(waiting, /a worker failed: worker\.js: 404/);
});

// The shipped CNN on onnxruntime-node, in the page's thread or in stand-in workers that each run their rows.

test("occlusion through workers is the page thread's map, and the page's thread takes over when they fail", { skip: !ort && why }, async () => {
  const file = new URL(`../../../hub/pretrained/exports/mnist_cnn/mnist_cnn.onnx`, import.meta.url);
  const session = await ort.InferenceSession.create(readFileSync(file), { executionProviders: ["cpu"] });
  const entry = { model: "mnist_cnn", file: "models/mnist_cnn.onnx", inputs: [{ name: session.inputNames[0] }],
                  outputs: [{ name: session.outputNames[0] }] };
  const settings = { occlusion: { window: 4, stride: 2 } };
  const x = new Float32Array(PIXELS);
  for (let r = 6; r < 22; r++) x[r * 28 + 14] = 1; // a stroke: a 1
  for (let c = 10; c < 18; c++) x[6 * 28 + c] = 0.8;
  const runRows = async ({ batch, dims }) => {
    const out = await session.run({ [entry.inputs[0].name]: new ort.Tensor("float32", batch, dims) });
    const logits = out[entry.outputs[0].name];
    return [{ data: logits.data, dims: logits.dims }];
  };
  const log = [];
  const pool = new WorkerPool(RUNTIME, { base: BASE, makeWorker: () => new FakeWorker(runRows, log) });
  const here = new PageExplainer(ort, settings, { entry, session }, null);
  const there = new PageExplainer(ort, settings, { entry, session }, null, { pool });
  const expected = await here.attribution(x, 1, "occlusion");
  // The first map: the workers are not ready, so this thread computes it while they start and open the file.
  assert.deepEqual(await there.attribution(x, 1, "occlusion"), expected);
  assert.deepEqual(log.map((l) => l.message.kind), ["start", "start", "open", "open"]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(pool.ready);
  const map = await there.attribution(Float32Array.from(x), 1, "occlusion"); // a new drawing (the same ink)
  const inked = occlusionBatch(x, settings.occlusion).windows.length;
  assert.deepEqual(log.filter((l) => l.message.kind === "run").map((l) => l.message.dims[0]),
                   splitRows(inked + 1, 2).map(([a, b]) => b - a), "the next map's batch was run by the workers");
  let worst = 0, scale = 0;
  for (let p = 0; p < PIXELS; p++) { worst = Math.max(worst, Math.abs(map[p] - expected[p])); scale = Math.max(scale, Math.abs(expected[p])); }
  assert.ok(scale > 0 && worst <= 1e-5 * scale, `max |workers - page| = ${worst} (scale ${scale})`);

  const failing = new WorkerPool(RUNTIME, { base: BASE, makeWorker: () => new FakeWorker(() => { throw new Error("no wasm"); }, []) });
  failing.prepare(entry);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(failing.ready, "started, then a run fails");
  const warned = [], warn = console.warn;
  console.warn = (text) => warned.push(text);
  try {
    const fallback = await new PageExplainer(ort, settings, { entry, session }, null, { pool: failing }).attribution(x, 1, "occlusion");
    assert.deepEqual(fallback, expected, "the page's own thread ran it");
  } finally {
    console.warn = warn;
  }
  assert.match(warned.join(" "), /"Why\?" runs on the page's own thread: no wasm/);

  // "Why not 7?" after "why 1": the same drawing's batch is not run again; a new drawing's is.
  let runs = 0;
  const counted = { run: (feeds) => { runs += 1; return session.run(feeds); } };
  const asked = new PageExplainer(ort, settings, { entry, session: counted }, null);
  await asked.attribution(x, 1, "occlusion");
  const seven = await asked.attribution(x, 7, "occlusion");
  assert.equal(runs, 1, "one batch for both digits");
  assert.deepEqual(seven, await here.attribution(Float32Array.from(x), 7, "occlusion"));
  assert.notDeepEqual(seven, expected, "the map for 7 is not the map for 1");
  await asked.attribution(Float32Array.from(x), 7, "occlusion");
  assert.equal(runs, 2, "a new drawing is run");
  await session.release();
});
