// "Why this digit?": attribution maps of one drawing, the page's copy of hub/serving/explain.py.
//
// Model code only, no DOM (why.js shows the maps). The arithmetic is Python's, step for step and in
// float32 (Math.fround after each operation NumPy does in float32), so the golden vectors that
// tests/js_vectors.py writes from explain.py hold here too (test/explain.test.mjs). The numbers
// (patch size and stride, IG steps, palette) come from models.json's `explain` (apps/web_build.py
// explain_settings), never from this file.
//
// - occlusion: blacken each `window`x`window` patch (stride `stride`) that touches ink; a pixel gets
//   the mean fall of the target's score over every patch covering it (a fixed count per pixel:
//   patches without ink fell by 0 and are not run). The drawing itself and all its patched copies
//   are ONE batch of the classifier.
// - integrated_gradients: the explainer's input x gradient at `steps` scaled drawings a_k x,
//   a_k = (k + 0.5) / steps, in one batch; the map is mean_k(output_k / a_k).
// - gradient_x_input: the explainer's input x gradient at the drawing, one call.
// `PageExplainer` runs these on onnxruntime sessions (runtime.js openModel) of one draw model.

import { openModel, softmax } from "./runtime.js";
import { classifierOf } from "./reader.js";

const SIDE = 28, PIXELS = SIDE * SIDE;
const f32 = Math.fround;

// The top-left corners [row, column] of every occlusion patch, row by row.
export function windows({ window, stride }) {
  const starts = [];
  for (let s = 0; s <= SIDE - window; s += stride) starts.push(s);
  return starts.flatMap((r) => starts.map((c) => [r, c]));
}

// (784) how many patches cover each pixel.
export function coverage(occlusion) {
  const count = new Float32Array(PIXELS);
  for (const [r, c] of windows(occlusion)) eachPixel(r, c, occlusion.window, (p) => { count[p] += 1; });
  return count;
}

function eachPixel(r, c, window, visit) {
  for (let i = r; i < r + window; i++) for (let j = c; j < c + window; j++) visit(i * SIDE + j);
}

// The classifier's one batch for `x` (784 floats): the drawing itself first (its own score), then a
// copy per patch that covers some ink, that patch set to 0. { batch: Float32Array((1 + N) * 784),
// windows: the N patches' corners }.
export function occlusionBatch(x, occlusion) {
  const { window } = occlusion;
  const inked = windows(occlusion).filter(([r, c]) => {
    let ink = false;
    eachPixel(r, c, window, (p) => { ink ||= x[p] !== 0; });
    return ink;
  });
  const batch = new Float32Array((1 + inked.length) * PIXELS);
  for (let i = 0; i <= inked.length; i++) batch.set(x, i * PIXELS);
  inked.forEach(([r, c], i) => eachPixel(r, c, window, (p) => { batch[(i + 1) * PIXELS + p] = 0; }));
  return { batch, windows: inked };
}

// (784) each pixel's mean fall of `score` over the patches covering it: `occluded[i]` is the score
// with `windows[i]` blackened.
export function occlusionMap(score, occluded, inked, occlusion) {
  const total = new Float32Array(PIXELS); // a Float32Array stores each sum rounded to float32, as NumPy adds
  inked.forEach(([r, c], i) => {
    const fall = f32(score - occluded[i]);
    eachPixel(r, c, occlusion.window, (p) => { total[p] += fall; });
  });
  const count = coverage(occlusion);
  return total.map((v, p) => v / count[p]);
}

// The path's points: a_k = (k + 0.5) / steps, k = 0 .. steps - 1.
export function igAlphas(steps) {
  return Float32Array.from({ length: steps }, (_, k) => (k + 0.5) / steps);
}

// (steps * 784) the drawing scaled by each a_k: the explainer's one batch.
export function igInputs(x, steps) {
  const alphas = igAlphas(steps), batch = new Float32Array(steps * PIXELS);
  alphas.forEach((a, k) => { for (let p = 0; p < PIXELS; p++) batch[k * PIXELS + p] = a * x[p]; });
  return batch;
}

// (784) from the explainer's input x gradient at each a_k x, (a_k x) * g_k: mean_k of it / a_k = x * g_k.
export function igMap(products, steps) {
  const alphas = igAlphas(steps), sum = new Float32Array(PIXELS);
  alphas.forEach((a, k) => { for (let p = 0; p < PIXELS; p++) sum[p] += f32(products[k * PIXELS + p] / a); });
  return sum.map((v) => v / steps);
}

// The LSTM's belief after each row ((rows * classes) step logits, its classifier's 2nd output) as rows of probabilities.
export function beliefsFromStepLogits(stepLogits, classes) {
  return Array.from({ length: stepLogits.length / classes }, (_, r) => softmax(stepLogits, r * classes, classes));
}

// (rows) how much reading each row moved the belief in `digit`; before the first row every digit is 1 in 10.
export function rowContributions(beliefs, digit) {
  let before = f32(0.1);
  return Float32Array.from(beliefs, (row) => {
    const now = f32(row[digit]), moved = f32(now - before);
    before = now;
    return moved;
  });
}

// NumPy's rint: halves to the even neighbour.
function rint(v) {
  const below = Math.floor(v), rest = v - below;
  return rest > 0.5 || (rest === 0.5 && below % 2 !== 0) ? below + 1 : below;
}

// The largest |value|: the scale a map is drawn on (full red or full blue).
export function mapScale(attr) {
  let top = 0;
  for (const v of attr) top = Math.max(top, Math.abs(v));
  return top;
}

// (784 * 4) RGBA bytes of `attr` on the diverging palette ({ against, neutral, supports }: RGB
// triples): against blue, 0 near-white, supports red, symmetric around 0; `scale` (default: the
// largest |value|) is drawn full red or full blue.
export function colourMap(attr, palette, scale = mapScale(attr)) {
  scale = f32(scale);
  const out = new Uint8ClampedArray(attr.length * 4);
  const { neutral } = palette;
  for (let p = 0; p < attr.length; p++) {
    const t = scale > 0 ? Math.min(Math.max(f32(attr[p] / scale), -1), 1) : 0;
    const towards = t >= 0 ? palette.supports : palette.against, size = Math.abs(t);
    for (let k = 0; k < 3; k++) out[4 * p + k] = rint(f32(neutral[k] + f32(size * (towards[k] - neutral[k]))));
    out[4 * p + 3] = 255;
  }
  return out;
}

// A feature map's first `count` channels ((C, H, W) floats, one image of the batch) as grayscale RGBA
// tiles, each channel stretched from its own minimum (black) to its maximum (white); a flat channel is black.
export function featureTiles(data, [channels, height, width], count = channels) {
  const size = height * width;
  return Array.from({ length: Math.min(count, channels) }, (_, c) => {
    const values = data.subarray(c * size, (c + 1) * size);
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const tile = new Uint8ClampedArray(size * 4);
    values.forEach((v, p) => {
      const g = hi > lo ? Math.round((255 * (v - lo)) / (hi - lo)) : 0;
      tile.set([g, g, g, 255], 4 * p);
    });
    return tile;
  });
}

// ---- Running the methods on one draw model's files ----------------------------------------------

// One draw model's classifier and explainer, opened: the three methods, its feature maps, its belief by row.
export class PageExplainer {
  // ort: onnxruntime; settings: models.json's `explain`; classifier: { entry, session } (the Draw
  // page's own, runtime.js openModel); explainer: { entry, session } of entry.explain, or null;
  // pool: pool.js's WorkerPool for the big batches (occlusion's), or null; occluded: drawing ->
  // (classifier file -> its occlusion scores), kept by PageExplainers for every model of a page.
  constructor(ort, settings, classifier, explainer, { pool = null, occluded = new WeakMap() } = {}) {
    Object.assign(this, { ort, settings, classifier, explainer, pool, occluded });
  }

  // The classifier's outputs ([{ data, dims }] in entry.outputs' order) for `count` drawings in `batch`.
  async #classify(batch, count) {
    const { entry, session } = this.classifier;
    const outputs = await session.run({ [entry.inputs[0].name]: new this.ort.Tensor("float32", batch, [count, 1, SIDE, SIDE]) });
    return entry.outputs.map((o) => outputs[o.name]);
  }

  // The same, by the workers once they are ready (until then this thread runs it and they start); a
  // pool that cannot run it (a worker that did not start, a refused file) leaves it to this thread.
  async #classifyMany(batch, count) {
    if (this.pool?.ready) {
      try {
        return await this.pool.run(this.classifier.entry, batch, count, SIDE);
      } catch (error) {
        console.warn(`"Why?" runs on the page's own thread: ${error.message}`);
      }
    } else {
      this.pool?.prepare(this.classifier.entry);
    }
    return this.#classify(batch, count);
  }

  async #explain(batch, count, target) {
    const { entry, session } = this.explainer;
    const [image, digit] = entry.inputs.map((i) => i.name);
    return session.run({ [image]: new this.ort.Tensor("float32", batch, [count, 1, SIDE, SIDE]),
                         [digit]: new this.ort.Tensor("int64", new BigInt64Array(count).fill(BigInt(target)), [count]) });
  }

  // The classifier's logits for `x` and each of its occluded copies, { inked: the patches, logits: (1 + N, classes) }:
  // every digit's occlusion map comes from the same batch, so "why not 9?" after "why 7" runs nothing.
  #occlusionScores(x) {
    if (!this.occluded.has(x)) this.occluded.set(x, new Map());
    const byFile = this.occluded.get(x), file = this.classifier.entry.file;
    if (!byFile.has(file)) {
      byFile.set(file, (async () => {
        const { batch, windows: inked } = occlusionBatch(x, this.settings.occlusion);
        return { inked, logits: inked.length ? (await this.#classifyMany(batch, inked.length + 1))[0] : null };
      })().catch((error) => { byFile.delete(file); throw error; }));
    }
    return byFile.get(file);
  }

  // (784) the attribution of `x` (784 floats in [0, 1], MNIST layout) for digit `target` by `method`.
  async attribution(x, target, method) {
    if (method === "occlusion") {
      const { inked, logits } = await this.#occlusionScores(x);
      if (!inked.length) return new Float32Array(PIXELS); // a blank pad: nothing to blacken
      const classes = logits.dims[1], scores = Float32Array.from({ length: inked.length + 1 }, (_, i) => logits.data[i * classes + target]);
      return occlusionMap(scores[0], scores.subarray(1), inked, this.settings.occlusion);
    }
    if (!this.explainer) throw new Error(`${this.classifier.entry.model} has no explainer`);
    const gradient = this.explainer.entry.outputs[1].name; // input_x_gradient
    if (method === "integrated_gradients") {
      const steps = this.settings.ig_steps;
      return igMap((await this.#explain(igInputs(x, steps), steps, target))[gradient].data, steps);
    }
    if (method === "gradient_x_input") return Float32Array.from((await this.#explain(x, 1, target))[gradient].data);
    throw new Error(`unknown method ${method}`);
  }

  // The explainer's feature maps of `x`: [{ label, shape: [C, H, W], data }] per block of entry.explain.blocks.
  async blocks(x) {
    const { blocks = [] } = this.classifier.entry.explain ?? {};
    if (!this.explainer || !blocks.length) return [];
    const outputs = await this.#explain(x, 1, 0);
    return blocks.map(({ output, label, shape }) => ({ label, shape, data: outputs[output].data }));
  }

  // The belief after each row of a model that reads row by row (its classifier's second output), or null.
  async beliefs(x) {
    const { entry } = this.classifier;
    if (!entry.belief_by_row || entry.outputs.length < 2) return null;
    const [, steps] = await this.#classify(x, 1);
    return beliefsFromStepLogits(steps.data, entry.classes.length);
  }
}

// The Draw page's explainers, each explainer file opened (sha256 checked) the first time it is asked for.
export class PageExplainers {
  // ort; settings: models.json's `explain`; classifiers: PageReader's map (shared: the classifier files
  // are opened once); open: entry -> { entry, session }.
  // pool: a WorkerPool (pool.js) for occlusion's batches, or null: everything on the page's thread.
  constructor(ort, settings, classifiers, open = (entry) => openModel(ort, entry), pool = null) {
    Object.assign(this, { ort, settings, classifiers, open, pool, opening: new Map(), occluded: new WeakMap() });
  }

  // Whether the big batches run off the page's thread (so the answer paints meanwhile anyway).
  get offThread() {
    return Boolean(this.pool?.ready);
  }

  // A PageExplainer for `model`; null when it cannot be explained here (a visitor's own model, a
  // refused file); throws the file's refusal when its explainer could not be opened.
  async for(model) {
    const classifier = await classifierOf(this.classifiers, model);
    if (!classifier || classifier.own) return null;
    const { explain } = classifier.entry;
    const shared = { pool: this.pool, occluded: this.occluded };
    if (!explain) return new PageExplainer(this.ort, this.settings, classifier, null, shared);
    if (!this.opening.has(explain.file)) this.opening.set(explain.file, this.open(explain).catch((error) => error));
    const explainer = await this.opening.get(explain.file);
    if (explainer instanceof Error) throw explainer;
    return new PageExplainer(this.ort, this.settings, classifier, explainer, shared);
  }
}
