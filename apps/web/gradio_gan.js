// The Gradio hub's GAN sampler, drawn in the page: the generator runs here with onnxruntime-web
// (its file checked against the manifest's sha256), so a new digit, seed or grid size shows its
// grid at once. The page and the server draw the same digits: both take the noise and the "any"
// digits from mulberry32 + Box-Muller (runtime.js, apps/gan.py), and when the seed is -1 the page
// picks it and hands it to the server's event (apps/gan.py's `js=` hooks call sample() / walk()
// below and pass on what they return). The grid is laid over the server's picture, which the
// server's answer (it stays: the info line, the API, a page without this module) replaces a moment
// later with the same digits. A line under it says which answered; when anything fails, it says
// so once and the server's pictures show alone.

import { mulberry32, normals, openModel, throttled } from "./runtime.js";
import { failedStart, hide, hubConfig, hubRuntime, noteUnder, overImage, paintDigits, waitFor, whyNotHere } from "./gradio_page.js";

const MAX_SEED = 2 ** 31 - 1, MAX_GRID = 64, WALK_STEPS = 8;
const OFF = "Drawing in the page is off";
const note = (text) => noteUnder("gan-grid", "gan-inpage-note", text);

// Read by the tests.
const state = (window.digitzooGanPage = { path: "loading", why: null, grids: 0, walks: 0, seed: null, digits: null });

let ort = null, generator = null, wantGrid = null, wantWalk = null;

// A whole number in [lo, hi], or null (the server then answers with its sentence).
function whole(value, lo, hi) {
  const x = Number(value);
  return Number.isInteger(x) && x >= lo && x <= hi ? x : null;
}

// -1 (or empty): a fresh seed, chosen here so that the server draws the same one.
function chosenSeed(value) {
  return value === null || value === "" || Number(value) === -1 ? Math.floor(Math.random() * MAX_SEED) : value;
}

async function generate(noise, labels) {
  const { entry, session } = generator;
  const count = labels.length;
  const outputs = await session.run({
    [entry.inputs[0].name]: new ort.Tensor("float32", noise, [count, noise.length / count]),
    [entry.inputs[1].name]: new ort.Tensor("int64", BigInt64Array.from(labels, BigInt), [count]),
  });
  return outputs[entry.outputs[0].name].data;
}

function zDim() {
  return generator.entry.inputs[0].shape[1];
}

async function drawGrid() {
  if (!generator || !wantGrid) return;
  const { digit, seed, count } = wantGrid;
  wantGrid = null;
  const pick = mulberry32(seed + 1);
  const labels = Array.from({ length: count }, () => (digit === "any" ? Math.floor(pick() * 10) : Number(digit)));
  const began = performance.now();
  const images = await generate(normals(seed, count * zDim()), labels);
  const ms = performance.now() - began;
  // As apps/gan.py's grid: ceil(sqrt(n)) columns of 30 px cells, 0.15 grey between the digits.
  const cols = Math.ceil(Math.sqrt(count)), rows = Math.ceil(count / cols);
  const ctx = overImage("gan-grid", "gan-inpage-grid", cols * 30, rows * 30);
  if (!ctx) return;
  ctx.fillStyle = "rgb(38, 38, 38)";
  ctx.fillRect(0, 0, cols * 30, rows * 30);
  paintDigits(ctx, images, labels.map((_, i) => [(i % cols) * 30 + 1, Math.floor(i / cols) * 30 + 1]));
  state.grids += 1;
  state.seed = seed;
  state.digits = labels;
  note(`seed ${seed}: ${count} digit${count === 1 ? "" : "s"}${digit === "any" ? ` (${labels.join(" ")})` : ""} ` +
       `drawn in your browser (wasm): ${ms.toFixed(1)} ms`);
}

async function drawWalk() {
  if (!generator || !wantWalk) return;
  const { digit, seedA, seedB } = wantWalk;
  wantWalk = null;
  const a = normals(seedA, zDim()), b = normals(seedB, zDim());
  const noise = new Float32Array(WALK_STEPS * zDim());
  for (let s = 0; s < WALK_STEPS; s++) {
    const t = Math.fround(s / (WALK_STEPS - 1));
    for (let i = 0; i < zDim(); i++) noise[s * zDim() + i] = (1 - t) * a[i] + t * b[i];
  }
  const labels = Array(WALK_STEPS).fill(Number(digit));
  const images = await generate(noise, labels);
  const ctx = overImage("gan-walk", "gan-inpage-walk", WALK_STEPS * 28, 28);
  if (!ctx) return;
  paintDigits(ctx, images, labels.map((_, i) => [i * 28, 0]));
  state.walks += 1;
}

const fail = (error) => stop(`Drawing in the page stopped (${error.message || error})`);
const requestGrid = throttled(drawGrid, fail);
const requestWalk = throttled(drawWalk, fail);

function stop(message) {
  if (state.why) return;
  state.path = "server";
  state.why = message;
  generator = null;
  hide("gan-inpage-grid");
  hide("gan-inpage-walk");
  note(`${message}. The server draws the digits (onnxruntime-cpu).`);
}

// Called by the events' js hooks with the controls' values; returns what the server's event gets.
window.digitzooGan = {
  sample(digit, seed, grid) {
    const picked = chosenSeed(seed);
    const s = whole(picked, 0, MAX_SEED), count = whole(grid, 1, MAX_GRID);
    const known = digit === "any" || whole(digit, 0, 9) !== null;
    if (generator && s !== null && count !== null && known) { wantGrid = { digit, seed: s, count }; requestGrid(); }
    return [digit, picked, grid];
  },
  walk(digit, seedA, seedB) {
    const a = chosenSeed(seedA), b = chosenSeed(seedB);
    const sa = whole(a, 0, MAX_SEED), sb = whole(b, 0, MAX_SEED);
    if (generator && sa !== null && sb !== null && whole(digit, 0, 9) !== null) {
      wantWalk = { digit, seedA: sa, seedB: sb };
      requestWalk();
    }
    return [digit, a, b];
  },
};

async function start() {
  await waitFor("#gan-grid");
  const why = whyNotHere(OFF, "the generator");
  if (why) { stop(why); return; }
  try {
    const config = await hubConfig();
    if (!config.gan) { state.path = "server"; return; } // exports without a GAN
    ort = await hubRuntime();
    generator = await openModel(ort, config.gan);
    state.path = "inpage";
  } catch (error) {
    stop(failedStart(OFF, error));
  }
}

start();
