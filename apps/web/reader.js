// Reading a drawing: 28x28 input -> the not-a-digit detector -> the classifiers -> per-row beliefs.
//
// Model code only, no DOM (draw.js shows a reading): a `Reading` is the same whether the page's own
// models made it (`PageReader`, onnxruntime-web) or the server did (`readingFromServer`, the answer
// of apps/pages.py's POST .../ask/classify), so every page draws both the same way.

import { softmax } from "./runtime.js";

// What the models made of one drawing.
export class Reading {
  // seen: the 28x28 read (784 numbers, row by row); probs: model -> 10 probabilities; doubt: the
  // detector's probability that this is no digit (null without a detector); beliefs: the belief
  // after each row (rows x 10) of the first model asked that charts one, or null; by: who answered.
  constructor({ seen, probs, doubt = null, beliefs = null, by = "" }, notADigitAbove) {
    Object.assign(this, { seen, probs, doubt, beliefs, by });
    this.notSure = doubt !== null && doubt > notADigitAbove;
  }

  // [[digit index, probability], ...] of `model`, best first.
  ranked(model, count = 3) {
    return this.probs[model].map((p, i) => [i, p]).sort((a, b) => b[1] - a[1]).slice(0, count);
  }
}

// The server's answer (apps/draw.py classify_for_page) as a Reading.
export function readingFromServer(answer, notADigitAbove) {
  return new Reading({ seen: Float32Array.from(answer.seen), probs: answer.probs, doubt: answer.doubt,
                       beliefs: answer.beliefs, by: `on the server (${answer.answered_by})` }, notADigitAbove);
}

// The classifier `model` of a reader's map: an opened one, a promise of one, or an opener not yet
// called (a function, started by the first reading or "Why?" that asks for it).
export function classifierOf(classifiers, model) {
  let opened = classifiers.get(model);
  if (typeof opened === "function") classifiers.set(model, opened = opened());
  return opened;
}

// The draw models and the detector, opened in the page; reads a 28x28 with those asked.
export class PageReader {
  // ort: onnxruntime-web; classifiers: model name -> { entry, session } (runtime.js openModel), or a
  // promise of one while it opens (null: refused), or its opener (classifierOf), or { entry, own }
  // (a visitor's model, yours.js);
  // detector: { entry, session } or null.
  constructor(ort, classifiers, detector, notADigitAbove) {
    Object.assign(this, { ort, classifiers, detector, notADigitAbove });
  }

  async read(seen, models) {
    const input = new this.ort.Tensor("float32", seen, [1, 1, 28, 28]);
    const run = async ({ entry, session }) => session.run({ [entry.inputs[0].name]: input });
    const began = performance.now();
    let doubt = null;
    if (this.detector) doubt = softmax((await run(this.detector))[this.detector.entry.outputs[0].name].data)[1];
    const probs = {}, names = [];
    let beliefs = null;
    for (const model of new Set(models)) {
      const opened = await classifierOf(this.classifiers, model); // one still opening is waited for
      if (!opened) continue; // refused at start (its sha256 differed): the page said so then
      if (opened.own) { // a visitor's own model (yours.js): its own pixel convention and outputs
        probs[model] = await opened.own.probabilities(seen);
        names.push(opened.entry.label);
        continue;
      }
      const outputs = await run(opened);
      const { entry } = opened;
      probs[model] = softmax(outputs[entry.outputs[0].name].data);
      names.push(entry.label);
      if (beliefs === null && entry.belief_by_row && entry.outputs.length > 1) {
        const steps = outputs[entry.outputs[1].name].data; // (1, rows, classes): the belief after each row
        const count = entry.classes.length;
        beliefs = Array.from({ length: steps.length / count }, (_, r) => softmax(steps, r * count, count));
      }
    }
    const ms = performance.now() - began;
    return new Reading({ seen, probs, doubt, beliefs,
                         by: `in your browser (wasm): ${ms.toFixed(1)} ms (${names.join(" + ")})` }, this.notADigitAbove);
  }
}
