// The shipped mnist_cnn.onnx read through runtime.js (fetch stood in for, so its sha256 check runs
// on the real file) with onnxruntime-node on the CPU, against ONNX Runtime in Python
// (vectors/mnist_cnn.json, written by tests/js_vectors.py): the same top digit, probabilities within 1e-4.
// onnxruntime-node ships its native library for Linux x64/arm64, Windows and macOS arm64; where it
// cannot load this file skips, except in CI (DIGITZOO_REQUIRE_BROWSER), where that is a failure.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { inflateSync } from "node:zlib";

import { PageReader, classifierOf, readingFromServer } from "../reader.js";
import { RefusedFile, openModel, softmax } from "../runtime.js";
import { preprocess } from "../sketch.js";
import { ort, why } from "./ort_node.mjs";

const REPO = new URL("../../../", import.meta.url);
const expected = JSON.parse(readFileSync(new URL("./vectors/mnist_cnn.json", import.meta.url), "utf-8"));
const drawing = JSON.parse(readFileSync(new URL("./vectors/sketch.json", import.meta.url), "utf-8"))
  .drawings.find((d) => d.name === expected.drawing);


function float32s(base64) {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

// runtime.js opens models with the wasm backend (onnxruntime-web); onnxruntime-node runs them on the CPU.
const onCpu = () => ({ InferenceSession: { create: (bytes) => ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] }) } });
const realFetch = globalThis.fetch;
let model = null;
before(async () => {
  if (!ort) return;
  globalThis.fetch = async (url) => new Response(readFileSync(new URL(url, REPO)));
  try {
    model = await openModel(onCpu(), { file: expected.file, sha256: expected.sha256 });
  } finally {
    globalThis.fetch = realFetch;
  }
});
after(async () => { await model?.session.release(); });

async function read(x) {
  const feeds = { [expected.input]: new ort.Tensor("float32", x, [1, 1, 28, 28]) };
  const logits = (await model.session.run(feeds))[expected.output].data;
  const probabilities = softmax(logits);
  return { logits, probabilities, top: probabilities.indexOf(Math.max(...probabilities)) };
}

function assertClose(actual, wanted, tolerance, what) {
  const worst = Math.max(...wanted.map((v, i) => Math.abs(actual[i] - v)));
  assert.ok(worst <= tolerance, `${what}: max |Node - Python| = ${worst} > ${tolerance}`);
  return worst;
}

test("mnist_cnn.onnx in Node reads the stored input as ONNX Runtime in Python does", { skip: why || false }, async (t) => {
  assert.deepEqual(model.session.inputNames, [expected.input]);
  const { logits, probabilities, top } = await read(float32s(expected.input_28x28_f32_b64));
  assert.equal(top, expected.top_digit);
  const worst = assertClose(probabilities, expected.probabilities, expected.tolerance, "probabilities");
  assertClose(logits, expected.logits, expected.tolerance, "logits");
  t.diagnostic(`top digit ${top} (p = ${probabilities[top].toFixed(4)}); max |Node - Python| probability ${worst}`);
});

test("the page's own preprocessing of the drawing gives the same answer", { skip: why || false }, async () => {
  const rgba = new Uint8Array(inflateSync(Buffer.from(drawing.rgba_zlib_b64, "base64")));
  const { probabilities, top } = await read(preprocess(rgba, drawing.width, drawing.height));
  assert.equal(top, expected.top_digit);
  assertClose(probabilities, expected.probabilities, expected.tolerance, "probabilities");
});

test("a model file whose sha256 differs never reaches onnxruntime", { skip: why || false }, async () => {
  let created = false;
  globalThis.fetch = async (url) => new Response(readFileSync(new URL(url, REPO)));
  try {
    const refuse = { InferenceSession: { create: () => { created = true; } } };
    await assert.rejects(openModel(refuse, { file: expected.file, sha256: "f".repeat(64) }), RefusedFile);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(created, false);
});

test("the page's reader (reader.js) gives the reading ONNX Runtime in Python gives", { skip: why || false }, async () => {
  const entry = { model: "mnist_cnn", label: "CNN", classes: [..."0123456789"], inputs: [{ name: expected.input }],
                  outputs: [{ name: expected.output }] };
  const reader = new PageReader(ort, new Map([["mnist_cnn", Promise.resolve({ entry, session: model.session })]]), null, 0.5);
  const reading = await reader.read(float32s(expected.input_28x28_f32_b64), ["mnist_cnn", "mnist_cnn"]);
  assert.deepEqual(Object.keys(reading.probs), ["mnist_cnn"]); // asked twice, read once
  assertClose(reading.probs.mnist_cnn, expected.probabilities, expected.tolerance, "probabilities");
  assert.equal(reading.ranked("mnist_cnn", 1)[0][0], expected.top_digit);
  assert.equal(reading.doubt, null); // no detector: no verdict, never "not sure"
  assert.equal(reading.notSure, false);
  assert.match(reading.by, /^in your browser \(wasm\): [0-9.]+ ms \(CNN\)$/);
});

test("the server's reading is read as a page's own (the same Reading, the same threshold)", () => {
  const probs = { mnist_cnn: [0.1, 0.6, 0.3, 0, 0, 0, 0, 0, 0, 0] };
  const answer = { probs, doubt: 0.7, beliefs: null, answered_by: "onnxruntime-cpu: mnist_cnn 1.0 ms", seen: Array(784).fill(0) };
  const reading = readingFromServer(answer, 0.5);
  assert.equal(reading.notSure, true);
  assert.deepEqual(reading.ranked("mnist_cnn", 2), [[1, 0.6], [2, 0.3]]);
  assert.equal(reading.by, "on the server (onnxruntime-cpu: mnist_cnn 1.0 ms)");
  assert.equal(readingFromServer({ ...answer, doubt: 0.5 }, 0.5).notSure, false); // over the threshold, not at it
  assert.equal(readingFromServer({ ...answer, doubt: null }, 0.5).notSure, false);
});

test("classifierOf starts an opener once, on the first ask, and keeps what it gave", async () => {
  let opens = 0;
  const opened = { entry: { model: "b" }, session: null };
  const classifiers = new Map([["a", { entry: { model: "a" } }], ["b", () => { opens += 1; return Promise.resolve(opened); }]]);
  assert.equal(opens, 0, "nothing opens until asked");
  assert.equal(classifierOf(classifiers, "a").entry.model, "a");
  const [first, second] = await Promise.all([classifierOf(classifiers, "b"), classifierOf(classifiers, "b")]);
  assert.equal(opens, 1, "two asks, one open");
  assert.equal(first, opened);
  assert.equal(second, opened);
  assert.equal(await classifierOf(classifiers, "b"), opened);
  assert.equal(classifierOf(classifiers, "missing"), undefined);
});
