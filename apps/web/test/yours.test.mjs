// yours.js: the checks of a visitor's model (interface rules, external data, truncated bytes), the
// output kinds, scoring with progress and Cancel, and a shipped classifier given as a visitor's file
// scored on all the shipped digits with onnxruntime-node: the same convention, outputs, accuracy and
// confusion as `digitzoo eval --onnx` (tests/js_vectors.py -> vectors/yours.json).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { Cancelled, OwnModel, Refused, argmax, checkInterface, detect, loadDigitSet, openOwnModel, outputKind, score, triedSentence,
         toProbabilities, usesExternalData } from "../yours.js";

const REPO = new URL("../../../", import.meta.url);
const vectors = JSON.parse(readFileSync(new URL("./vectors/yours.json", import.meta.url), "utf-8"));
const { yours } = vectors;

let ort = null;
try {
  ort = (await import("onnxruntime-node")).default;
} catch (error) {
  if (process.env.DIGITZOO_REQUIRE_BROWSER) throw error;
}

const tensor = (name, type, shape) => ({ name, isTensor: true, type, shape });
const logits = [tensor("logits", "float32", ["batch", 10])];

test("checkInterface takes the four layouts, a free or unit batch", () => {
  for (const [shape, layout] of [[["N", 1, 28, 28], "nchw"], [[1, 28, 28, 1], "nhwc"], [["b", 28, 28], "rows"], [[-1, 784], "flat"]]) {
    const face = checkInterface([tensor("x", "float32", shape)], logits, yours.sentences);
    assert.equal(face.layout, layout);
    assert.equal(face.batch, shape[0] === 1 ? 1 : null);
    assert.deepEqual([face.inputName, face.outputName], ["x", "logits"]);
  }
});

test("checkInterface refuses with one sentence naming what is wrong", () => {
  const cases = [
    [[tensor("x", "float32", ["N", 3, 32, 32])], logits, "The input is 3x32x32; an MNIST classifier takes 1x28x28 (or 28x28x1, 28x28, 784) per image."],
    [[tensor("x", "float32", ["N", 1, 28, 28])], [tensor("y", "float32", ["N", 2])], "The output is 2; an MNIST classifier gives 10 scores, one per digit."],
    [[tensor("x", "int64", ["N", 784])], logits, "The input is int64; an MNIST classifier takes float32."],
    [[tensor("x", "float32", [64, 784])], logits, "The input's batch size is fixed at 64; an MNIST classifier here takes any batch size, or 1."],
    [[tensor("x", "float32", ["N", 784]), tensor("y", "float32", ["N", 784])], logits, "The model has 2 inputs; an MNIST classifier takes one, the image."],
    [[tensor("x", "float32", ["N", 784])], [...logits, ...logits], "The model has 2 outputs; an MNIST classifier gives one, 10 scores."],
  ];
  for (const [inputs, outputs, sentence] of cases) {
    assert.throws(() => checkInterface(inputs, outputs, yours.sentences), (error) => error instanceof Refused && error.message === sentence);
  }
});

test("usesExternalData reads a real model, finds a tensor stored outside, and refuses cut bytes", () => {
  const model = readFileSync(new URL(vectors.file, REPO));
  assert.equal(usesExternalData(model), false);
  assert.throws(() => usesExternalData(model.subarray(0, Math.floor(model.length / 2))), /runs past the end|truncated/);
  // ModelProto.graph (7) > GraphProto.initializer (5) > TensorProto.data_location (14) = EXTERNAL (1)
  const tensorBytes = [14 << 3, 1], graph = [(5 << 3) | 2, tensorBytes.length, ...tensorBytes];
  assert.equal(usesExternalData(Uint8Array.from([(7 << 3) | 2, graph.length, ...graph])), true);
});

test("outputKind tells logits, probabilities and log-probabilities apart", () => {
  const probs = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0, 0, 0, 0, 0, 0]);
  assert.equal(outputKind(probs), "probabilities");
  assert.equal(outputKind(probs.map((p) => Math.log(p + 1e-12))), "log-probabilities");
  assert.equal(outputKind(Float32Array.from([3, -1, 0.5, 2, 0, 0, 0, 0, 0, 1])), "logits");
  const fromLogits = toProbabilities(Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, Math.log(9)]), "logits");
  assert.ok(Math.abs(fromLogits[9] - 0.5) < 1e-6);
  assert.equal(argmax(Float32Array.from([1, 5, 5, 0, 0, 0, 0, 0, 0, 0]), 0), 1); // the first of equals, as numpy
});

// A stand-in model that reads digit i as labels[i] except where `wrongAt` says.
function fakeModel(labels, wrongAt = new Set()) {
  const model = new OwnModel({ Tensor: class { constructor(type, data, dims) { Object.assign(this, { type, data, dims }); } } },
    null, { inputName: "x", outputName: "y", layout: "flat", batch: null }, yours.sentences);
  model.run = async (images, start, count) => {
    const out = new Float32Array(count * 10);
    for (let i = 0; i < count; i++) out[i * 10 + (wrongAt.has(start + i) ? (labels[start + i] + 1) % 10 : labels[start + i])] = 1;
    return out;
  };
  return model;
}

test("score counts, confuses, lists the misread digits and reports progress", async () => {
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => i % 10);
  const set = { count: 1000, images: new Uint8Array(1000 * 784), labels };
  const progress = [];
  const result = await score(fakeModel(labels, new Set([3, 504])), set, { onProgress: (done) => progress.push(done) });
  assert.equal(result.correct, 998);
  assert.equal(result.accuracy, 99.8);
  assert.deepEqual(result.wrong, [[3, 4], [504, 5]]);
  assert.equal(result.confusion[3][4], 1);
  assert.equal(result.confusion[0][0], 100);
  assert.equal(progress.at(-1), 1000); // in chunks sized to the pace, the page given its turn between them
  assert.ok(progress.length > 1 && progress.every((n, i) => i === 0 || n > progress[i - 1]), String(progress));
});

test("score stops at the next chunk when cancelled", async () => {
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => i % 10);
  const cancel = new AbortController();
  const done = [];
  await assert.rejects(score(fakeModel(labels), { count: 1000, images: new Uint8Array(1000 * 784), labels },
    { signal: cancel.signal, onProgress: (n) => { done.push(n); if (done.length === 2) cancel.abort(); } }), Cancelled);
  assert.equal(done.length, 2); // no chunk after the one that was running
  assert.ok(done[1] < 1000);
});

// ---- A shipped classifier as a visitor's file, with onnxruntime-node ----
const onCpu = () => ({ ...ort, InferenceSession: { create: (bytes) => ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] }) } });
const realFetch = globalThis.fetch;
let sets = null;
before(async () => {
  globalThis.fetch = async (url) => new Response(readFileSync(new URL(url, REPO)));
  try {
    sets = await Promise.all(yours.sets.map(loadDigitSet));
  } finally {
    globalThis.fetch = realFetch;
  }
});
after(() => { globalThis.fetch = realFetch; });

test("the shipped digit sets load, their sha256 checked", () => {
  assert.deepEqual(sets.map((s) => [s.count, s.images.length, s.labels.length]), yours.sets.map((s) => [s.count, s.count * 784, s.count]));
  assert.deepEqual(Array.from(sets[0].labels.subarray(0, 5)), [7, 2, 1, 0, 4]); // MNIST's first test labels
});

test("a shipped classifier given as your file: the same convention, outputs and figures as digitzoo eval --onnx", { skip: !ort && "onnxruntime-node cannot load here" }, async () => {
  const model = await openOwnModel(onCpu(), readFileSync(new URL(vectors.file, REPO)), yours);
  assert.equal(model.face.layout, vectors.layout);
  // The same count of digits read right in every convention, so the same choice.
  const found = await detect(model, sets[0], yours);
  assert.deepEqual(found, { convention: vectors.convention, output: vectors.output, correct: vectors.correct });
  assert.equal(triedSentence(yours, found.convention, found.correct), vectors.tried_says);
  for (const set of sets) {
    const result = await score(model, set);
    assert.equal(result.accuracy, vectors.accuracy[set.name], set.name);
    assert.deepEqual(result.confusion, vectors.confusion[set.name], set.name);
  }
});

test("openOwnModel refuses a file too big, cut short, or not a model onnxruntime can open", { skip: !ort && "onnxruntime-node cannot load here" }, async () => {
  const model = readFileSync(new URL(vectors.file, REPO));
  await assert.rejects(openOwnModel(onCpu(), model, { ...yours, max_bytes: 1000 }),
    (e) => e instanceof Refused && /^The file is 0\.0 MB; a model here may be at most 0\.001 MB\.$/.test(e.message));
  await assert.rejects(openOwnModel(onCpu(), model.subarray(0, model.length - 100), yours),
    (e) => e instanceof Refused && e.message.startsWith("This is not a complete ONNX model ("));
  await assert.rejects(openOwnModel(onCpu(), new TextEncoder().encode("\n\u0004abcd"), yours),
    (e) => e instanceof Refused && e.message.startsWith("onnxruntime cannot run this model: "));
});
