// explain.js against hub/serving/explain.py (vectors/explain.json, written by tests/js_vectors.py and
// asserted against the Python by tests/test_js.py): the occlusion patches, their coverage and map, the
// integrated-gradients path and map, the LSTM's row contributions and the palette on fixed numbers,
// to float32 rounding; then the shipped explainer and LSTM files run by onnxruntime-node through
// PageExplainer, against ONNX Runtime in Python (skipped where onnxruntime-node cannot load, except in CI).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { PageExplainer, PageExplainers, colourMap, coverage, featureTiles, igAlphas, igInputs, igMap, mapScale,
         occlusionBatch, occlusionMap, rowContributions, windows } from "../explain.js";
import { openModel } from "../runtime.js";
import { ort, why } from "./ort_node.mjs";

const REPO = new URL("../../../", import.meta.url);
const V = JSON.parse(readFileSync(new URL("./vectors/explain.json", import.meta.url), "utf-8"));
const { settings } = V;
const PIXELS = 784;
// float32 arithmetic done in the same order as NumPy's: equal but for a last-bit difference at most.
const FLOAT32 = 1e-6;

function float32s(base64) {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const sha256 = (floats) => createHash("sha256").update(Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength)).digest("hex");

function assertClose(actual, expected, tolerance, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  assert.ok(worst <= tolerance, `${what}: max |JS - Python| = ${worst} > ${tolerance}`);
  return worst;
}

const x = float32s(V.x_f32_b64);

test("the occlusion patches, their coverage and the batch are explain.py's", () => {
  assert.deepEqual(settings.occlusion, { window: 4, stride: 2 }); // models.json's, as explain.py says
  assert.equal(windows(settings.occlusion).length, 13 * 13);
  assert.deepEqual(Array.from(coverage(settings.occlusion)), V.coverage);
  assert.ok(Math.min(...V.coverage) >= 1, "every pixel is covered");
  const { batch, windows: inked } = occlusionBatch(x, settings.occlusion);
  assert.deepEqual(inked, V.windows, "only the patches that touch ink, in explain.py's order");
  assert.ok(inked.length > 0 && inked.length < 13 * 13);
  assert.equal(batch.length, (inked.length + 1) * PIXELS);
  assert.deepEqual(batch.subarray(0, PIXELS), x, "the drawing itself first (its own score), in the same batch");
  assert.equal(sha256(batch.subarray(PIXELS)), V.occlusion_batch_sha256, "the patched copies, bit for bit");
  assert.equal(occlusionBatch(new Float32Array(PIXELS), settings.occlusion).windows.length, 0, "a blank pad: no patch");
});

test("the occlusion map is the mean fall over all the patches covering each pixel", () => {
  const { score, occluded_f32_b64: occluded, map_f32_b64: expected } = V.occlusion;
  const map = occlusionMap(score, float32s(occluded), V.windows, settings.occlusion);
  assert.ok(map instanceof Float32Array);
  assertClose(map, float32s(expected), FLOAT32, "occlusion map");
});

test("integrated gradients: the alphas, the scaled drawings and the map", () => {
  assert.equal(settings.ig_steps, V.ig.alphas.length);
  assert.deepEqual(Array.from(igAlphas(settings.ig_steps)), V.ig.alphas);
  assert.deepEqual(V.ig.alphas.slice(0, 2), [0.5 / 16, 1.5 / 16]);
  assert.equal(sha256(igInputs(x, settings.ig_steps)), V.ig.inputs_sha256, "the 16 inputs, bit for bit");
  assertClose(igMap(float32s(V.ig.products_f32_b64), settings.ig_steps), float32s(V.ig.map_f32_b64), FLOAT32, "IG map");
});

test("row contributions: the belief in the digit after each row, less the one before (1 in 10 at first)", () => {
  const probs = float32s(V.rows.step_probs_f32_b64);
  const beliefs = Array.from({ length: 28 }, (_, r) => Array.from(probs.subarray(r * 10, r * 10 + 10)));
  const moved = rowContributions(beliefs, V.rows.digit);
  assertClose(moved, float32s(V.rows.contributions_f32_b64), FLOAT32, "row contributions");
  const total = moved.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - (beliefs[27][V.rows.digit] - 0.1)) < 1e-5, "they add up to the last belief less the prior");
});

test("the palette gives explain.colour_map's colours, ties rounded to even", () => {
  assert.deepEqual(settings.palette, { against: [33, 102, 172], neutral: [247, 247, 247], supports: [178, 24, 43] });
  for (const [i, { map_b64: map, scale, rgb_b64: rgb }] of V.colours.entries()) {
    const attr = float32s(map);
    const rgba = colourMap(attr, settings.palette, scale ?? undefined);
    assert.equal(rgba.length, PIXELS * 4);
    const mine = Array.from(rgba).filter((_, k) => k % 4 !== 3);
    assert.deepEqual(mine, Array.from(Buffer.from(rgb, "base64")), `colour map ${i}`);
    assert.ok(Array.from(rgba).every((v, k) => k % 4 !== 3 || v === 255), "opaque");
  }
  assert.equal(mapScale(Float32Array.of(0.5, -2, 1)), 2);
});

test("feature tiles: each channel stretched from its own minimum to its maximum", () => {
  const data = Float32Array.of(0, 1, 2, 3, /* channel 2 */ 5, 5, 5, 5, /* channel 3 */ -1, 0, 0, 1);
  const tiles = featureTiles(data, [3, 2, 2], 2);
  assert.equal(tiles.length, 2);
  assert.deepEqual(Array.from(tiles[0]).filter((_, k) => k % 4 === 0), [0, 85, 170, 255]);
  assert.deepEqual(Array.from(tiles[1]).filter((_, k) => k % 4 === 0), [0, 0, 0, 0], "a flat channel is black");
});

// ---- The shipped files, run by onnxruntime-node ----

const onCpu = () => ({ InferenceSession: { create: (bytes) => ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] }) } });
const opened = [];
const openFile = async (file, sha) => {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url) => new Response(readFileSync(new URL(url, REPO)));
  try {
    const model = await openModel(onCpu(), { file, sha256: sha });
    opened.push(model.session);
    return model.session;
  } finally {
    globalThis.fetch = realFetch;
  }
};
after(async () => { for (const session of opened) await session.release(); });

const io = (names) => names.map((name) => ({ name }));
const cnnEntry = {
  model: V.model.model, file: V.model.file, sha256: V.model.sha256, inputs: io(["image"]), outputs: io(["logits"]),
  classes: [..."0123456789"], belief_by_row: false,
  explain: { file: V.model.explain_file, sha256: V.model.explain_sha256, inputs: io(["image", "target"]),
             outputs: io(["logits", "input_x_gradient", ...V.model.block_shapes.map((_, i) => `block${i + 1}`)]),
             blocks: V.model.block_shapes.map((shape, i) => ({ output: `block${i + 1}`, label: `block ${i + 1}`, shape })) },
};
let explainer = null;
before(async () => {
  if (!ort) return;
  const classifier = { entry: cnnEntry, session: await openFile(cnnEntry.file, cnnEntry.sha256) };
  const open = async (entry) => ({ entry, session: await openFile(entry.file, entry.sha256) });
  explainer = await new PageExplainers(ort, settings, new Map([[cnnEntry.model, classifier]]), open).for(cnnEntry.model);
});

test("the shipped explainer's maps are ONNX Runtime's in Python, for the answer and for why not", { skip: !ort && why }, async () => {
  assert.ok(explainer instanceof PageExplainer && explainer.explainer);
  assert.equal(Object.keys(V.model.maps_f32_b64).length, 6);
  for (const [key, expected] of Object.entries(V.model.maps_f32_b64)) {
    const [method, target] = key.split("|");
    const want = float32s(expected), scale = mapScale(want);
    assert.ok(scale > 0, `${key}: the Python map is not blank`);
    const map = await explainer.attribution(x, Number(target), method);
    assert.equal(map.length, PIXELS);
    let worst = 0;
    for (let i = 0; i < PIXELS; i++) worst = Math.max(worst, Math.abs(map[i] - want[i]));
    assert.ok(worst <= V.model.tolerance * Math.max(1, scale), `${key}: max |Node - Python| = ${worst} (scale ${scale})`);
  }
  const blocks = await explainer.blocks(x);
  assert.deepEqual(blocks.map((b) => b.shape), V.model.block_shapes);
  blocks.forEach((b, i) => {
    const sum = b.data.reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(sum - V.model.block_sums[i]) <= 1e-3 * Math.max(1, Math.abs(V.model.block_sums[i])), `block ${i + 1} sum ${sum}`);
  });
});

test("the shipped LSTM's row contributions are Python's", { skip: !ort && why }, async () => {
  const { rows_model: lstm } = V;
  const entry = { model: lstm.model, file: lstm.file, sha256: lstm.sha256, inputs: io(["image"]),
                  outputs: io(["logits", "step_logits"]), classes: [..."0123456789"], belief_by_row: true, explain: null };
  const rows = new PageExplainer(ort, settings, { entry, session: await openFile(lstm.file, lstm.sha256) }, null);
  const moved = rowContributions(await rows.beliefs(x), lstm.answer);
  assertClose(moved, float32s(lstm.contributions_f32_b64), lstm.tolerance, "LSTM row contributions");
});
