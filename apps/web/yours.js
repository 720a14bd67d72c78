// Your own MNIST classifier, one .onnx file: checked before it runs, its pixel convention found, scored
// on the site's test digits. Model code only, no DOM (yours_page.js shows it). The rules, the
// sentences and the digits are those of `digitzoo eval --onnx` (hub/serving/own_model.py): the
// sentences and limits come from models.json's `yours` block, so both say the same words and agree on
// the figures.

import { fetchVerified, softmax } from "./runtime.js";

// A file the page will not run, with the one sentence that says why.
export class Refused extends Error {}
export class Cancelled extends Error {}

// Per image, without the batch: the layouts an MNIST classifier takes (own_model.LAYOUTS).
export const LAYOUTS = { nchw: [1, 28, 28], nhwc: [28, 28, 1], rows: [28, 28], flat: [784] };
const MNIST_MEAN = 0.1307, MNIST_STD = 0.3081;
// p (0-255, ink 255) -> what the model wants; tried in this order (own_model.CONVENTIONS).
const CONVERT = {
  white01: (p) => p / 255,
  white255: (p) => p,
  mnist_norm: (p) => (p / 255 - MNIST_MEAN) / MNIST_STD,
  black01: (p) => 1 - p / 255,
};

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));
const dims = (shape) => shape.map((d) => (typeof d === "number" && d >= 0 ? String(d) : "N")).join("x") || "a scalar";
const same = (a, b) => a.length === b.length && a.every((d, i) => d === b[i]);

// --- External data: the same scan as hub/serving/filechecks.py (field numbers from onnx.proto) ---
const CHILDREN = {
  model: { 7: "graph", 20: "training", 25: "function" },
  graph: { 1: "node", 5: "tensor", 15: "sparse" },
  node: { 5: "attribute" },
  attribute: { 5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse" },
  sparse: { 1: "tensor", 2: "tensor" },
  function: { 7: "node", 11: "attribute" },
  training: { 1: "graph", 2: "graph" },
  tensor: {},
};

function varint(bytes, pos, end) {
  let value = 0, scale = 1;
  for (;;) {
    if (pos >= end || scale > 2 ** 63) throw new Error("truncated varint");
    const byte = bytes[pos++];
    value += (byte & 0x7f) * scale; // arithmetic, not bit operations: lengths may pass 2^31
    scale *= 128;
    if (!(byte & 0x80)) return [value, pos];
  }
}

// True when a tensor of the serialized ModelProto lives in an external file; an Error when the bytes
// are not a complete protobuf message.
export function usesExternalData(bytes) {
  const stack = [["model", 0, bytes.length]];
  while (stack.length) {
    let [kind, pos, end] = stack.pop(), tag, value;
    while (pos < end) {
      [tag, pos] = varint(bytes, pos, end);
      const field = Math.floor(tag / 8), wire = tag % 8;
      if (kind === "tensor" && (field === 13 || (field === 14 && wire !== 0))) return true;
      if (wire === 0) {
        [value, pos] = varint(bytes, pos, end);
        if (kind === "tensor" && field === 14 && value === 1) return true;
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        [value, pos] = varint(bytes, pos, end);
        if (pos + value > end) throw new Error("a field runs past the end of its message");
        if (CHILDREN[kind][field]) stack.push([CHILDREN[kind][field], pos, pos + value]);
        pos += value;
      } else throw new Error(`wire type ${wire} is not used by ONNX`);
      if (pos > end) throw new Error("a field runs past the end of its message");
    }
  }
  return false;
}

// The model's interface from onnxruntime-web's metadata, or Refused (own_model.check_io's rules).
export function checkInterface(inputs, outputs, sentences) {
  const refuse = (key, values = {}) => new Refused(fill(sentences[key], values));
  if (inputs.length !== 1) throw refuse("inputs", { count: inputs.length });
  const [input] = inputs;
  if (input.isTensor === false || input.type !== "float32") throw refuse("input_type", { dtype: input.type ?? "not a tensor" });
  const shape = input.shape ?? [];
  const perImage = shape.slice(1);
  const layout = shape.length ? Object.keys(LAYOUTS).find((k) => same(perImage, LAYOUTS[k])) : undefined;
  if (!layout) throw refuse("input_shape", { shape: dims(perImage) });
  const batch = typeof shape[0] === "number" && shape[0] > 0 ? shape[0] : null;
  if (batch !== null && batch !== 1) throw refuse("batch", { batch });
  if (outputs.length !== 1) throw refuse("outputs", { count: outputs.length });
  const [output] = outputs;
  if (output.isTensor === false || output.type !== "float32") throw refuse("output_type", { dtype: output.type ?? "not a tensor" });
  const outShape = output.shape ?? [];
  if (outShape.length && (outShape.length !== 2 || (typeof outShape[1] === "number" && outShape[1] !== 10 && outShape[1] >= 0))) {
    throw refuse("output_shape", { shape: dims(outShape.slice(1)) });
  }
  return { inputName: input.name, outputName: output.name, layout, batch };
}

// An accepted file: checked in the order the CLI checks it, before anything runs.
export async function openOwnModel(ort, bytes, yours) {
  const { sentences } = yours;
  if (bytes.length > yours.max_bytes) {
    throw new Refused(fill(sentences.too_big, { mb: (bytes.length / 1e6).toFixed(1), max_mb: yours.max_bytes / 1e6 }));
  }
  let external;
  try {
    external = usesExternalData(bytes);
  } catch (error) {
    throw new Refused(fill(sentences.not_onnx, { why: error.message }));
  }
  if (external) throw new Refused(sentences.external);
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  } catch (error) {
    const why = String(error.message ?? error).split("\n").find((line) => line.trim()) ?? "no reason given";
    throw new Refused(fill(sentences.cannot_run, { why: why.trim().slice(0, 200) }));
  }
  const face = checkInterface(session.inputMetadata, session.outputMetadata, sentences);
  return new OwnModel(ort, session, face, sentences);
}

export class OwnModel {
  constructor(ort, session, face, sentences) {
    Object.assign(this, { ort, session, face, sentences, convention: "white01", output: "logits" });
  }

  // `count` digits from `images` (uint8, 784 each, ink 255) from `start`, as this model's input.
  tensor(images, start, count, convention = this.convention) {
    const convert = CONVERT[convention], data = new Float32Array(count * 784);
    const from = images.subarray(start * 784, (start + count) * 784);
    for (let i = 0; i < data.length; i++) data[i] = convert(from[i]);
    return new this.ort.Tensor("float32", data, [count, ...LAYOUTS[this.face.layout]]);
  }

  // (count, 10) scores, flat.
  async scores(tensor, count) {
    const outputs = await this.session.run({ [this.face.inputName]: tensor });
    const data = outputs[this.face.outputName].data;
    if (data.length !== count * 10) throw new Refused(fill(this.sentences.output_shape, { shape: String(data.length / count) }));
    return data;
  }

  // Scores of a float 28x28 in [0, 1] (the Draw page's reading) as probabilities.
  async probabilities(seen) {
    const convert = CONVERT[this.convention], data = new Float32Array(784);
    for (let i = 0; i < 784; i++) data[i] = convert(seen[i] * 255);
    const scores = await this.scores(new this.ort.Tensor("float32", data, [1, ...LAYOUTS[this.face.layout]]), 1);
    return toProbabilities(scores, this.output);
  }

  // Scores of digits [start, start + count), in batches the model takes.
  async run(images, start, count, convention = this.convention) {
    const step = this.face.batch ?? count, out = new Float32Array(count * 10);
    for (let i = 0; i < count; i += step) {
      const n = Math.min(step, count - i);
      out.set(await this.scores(this.tensor(images, start + i, n, convention), n), i * 10);
    }
    return out;
  }
}

export function argmax(scores, row) {
  let best = 0;
  for (let k = 1; k < 10; k++) if (scores[row * 10 + k] > scores[row * 10 + best]) best = k;
  return best; // the first of equals, as numpy's argmax
}

// "probabilities", "log-probabilities" or "logits" (own_model.output_kind).
export function outputKind(scores) {
  const rows = scores.length / 10;
  let probabilities = true, logProbabilities = true;
  for (let r = 0; r < rows; r++) {
    let sum = 0, expSum = 0;
    for (let k = 0; k < 10; k++) {
      const v = scores[r * 10 + k];
      if (v < 0) probabilities = false;
      if (v > 0) logProbabilities = false;
      sum += v;
      expSum += Math.exp(v);
    }
    if (Math.abs(sum - 1) > 1e-3) probabilities = false;
    if (Math.abs(expSum - 1) > 1e-3) logProbabilities = false;
  }
  return probabilities ? "probabilities" : logProbabilities ? "log-probabilities" : "logits";
}

export function toProbabilities(scores, kind) {
  if (kind === "probabilities") return Array.from(scores);
  if (kind === "log-probabilities") return Array.from(scores, Math.exp);
  return softmax(scores);
}

// The page's turn between chunks of work: a click or a repaint waits at most about PACE_MS.
const PACE_MS = 40;
const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

// Scores of digits [0, count) of `images` in chunks sized to take about PACE_MS each (measured as it
// goes), with the page given its turn between them: yields { start, n, scores }.
async function* chunked(model, images, count, convention, signal) {
  let size = 25;
  for (let start = 0, n; start < count; start += n) {
    if (signal?.aborted) throw new Cancelled("Cancelled.");
    n = Math.min(size, count - start);
    const began = performance.now();
    const scores = await model.run(images, start, n, convention);
    const took = performance.now() - began;
    yield { start, n, scores, took };
    size = Math.max(1, Math.min(500, Math.round((PACE_MS * n) / Math.max(took, 1))));
    await yieldToPage();
  }
}

// The first listed convention whose accuracy on the first `yours.detect_on` digits is within
// `yours.detect_slack` digits of the best (as own_model.detect_convention, which says why), and what
// its outputs are; both kept on the model. `correct` is each convention's count, for the page to show.
export async function detect(model, set, yours, signal = null) {
  const count = Math.min(yours.detect_on, set.count);
  const correct = {}, scoresOf = {};
  for (const convention of yours.conventions.map((c) => c.name)) {
    const scores = new Float32Array(count * 10);
    let right = 0;
    for await (const chunk of chunked(model, set.images, count, convention, signal)) {
      scores.set(chunk.scores, chunk.start * 10);
      for (let i = chunk.start; i < chunk.start + chunk.n; i++) right += argmax(scores, i) === set.labels[i];
    }
    [correct[convention], scoresOf[convention]] = [right, scores];
  }
  const best = Math.max(...Object.values(correct));
  model.convention = Object.keys(correct).find((c) => correct[c] >= best - yours.detect_slack);
  model.output = outputKind(scoresOf[model.convention]);
  return { convention: model.convention, output: model.output, correct };
}

// What detection saw, in one sentence (own_model.tried_sentence): the chosen convention's count, then the others'.
export function triedSentence(yours, convention, correct) {
  const says = Object.fromEntries(yours.conventions.map((c) => [c.name, c.says]));
  const others = Object.entries(correct).filter(([c]) => c !== convention)
    .map(([c, n]) => yours.sentences.tried_one.replace("{right}", n).replace("{convention}", says[c])).join("; ");
  return yours.sentences.tried.replace("{count}", yours.detect_on).replace("{right}", correct[convention]).replace("{tried}", others);
}

// Accuracy (percent, 2 decimals), the 10x10 confusion (rows: the truth), the misread digits ([index,
// what it read]) and ms per image, on every digit of `set`, the page given its turn between chunks;
// `onProgress(done, count)`; Cancelled when `signal` aborts.
export async function score(model, set, { onProgress = () => {}, signal = null } = {}) {
  const confusion = Array.from({ length: 10 }, () => new Array(10).fill(0)), wrong = [];
  let correct = 0, busy = 0;
  for await (const { start, n, scores, took } of chunked(model, set.images, set.count, model.convention, signal)) {
    busy += took;
    for (let i = 0; i < n; i++) {
      const truth = set.labels[start + i], guess = argmax(scores, i);
      confusion[truth][guess]++;
      if (guess === truth) correct++;
      else wrong.push([start + i, guess]);
    }
    onProgress(start + n, set.count);
  }
  return { count: set.count, correct, accuracy: Math.round((10000 * correct) / Math.max(1, set.count)) / 100,
           confusion, wrong, ms_per_image: busy / Math.max(1, set.count) };
}

// A digit set of models.json (N*784 pixels then N labels, gzip), its sha256 checked.
export async function loadDigitSet(listed) {
  const packed = await fetchVerified(listed.file, listed.sha256);
  const raw = new Uint8Array(await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
  if (raw.length !== listed.count * 785) throw new Refused(`${listed.file} holds ${raw.length} bytes, not ${listed.count} digits.`);
  return { ...listed, images: raw.subarray(0, listed.count * 784), labels: raw.subarray(listed.count * 784) };
}
