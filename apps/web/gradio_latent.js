// The Gradio hub's Latent space tab, decoded in the page: the autoencoder's decoder runs here with
// onnxruntime-web (its file checked against the manifest's sha256), so a dragged slider shows its
// point at every move, not at the server's pace. The sliders' change event calls
// window.digitzooLatentDecode(x, y, z) (apps/latent.py); the point is clamped to the sliders' range
// as the server clamps it, and the 28x28 decoded is laid over the server's picture, which the
// server's own decode (it stays: the API, the info line, a page without this module) replaces a
// moment later with the same digit. A line under the picture says which answered; when anything
// fails, it says so once and the server's pictures show alone.

import { openModel, throttled } from "./runtime.js";
import { failedStart, hubConfig, hubRuntime, noteUnder, showOverImage, waitFor, whyNotHere } from "./gradio_page.js";

const AXES = ["x", "y", "z"];
const OFF = "Decoding in the page is off";
const note = (text) => noteUnder("latent-decoded", "latent-inpage-note", text);

// Read by the tests (performance.now() times).
const state = (window.digitzooLatentPage = { path: "loading", why: null, decodes: 0, point: null, ms: null });

let ort = null, decoder = null, want = null;

// The sliders' range, from their number boxes (the server clamps to the same).
function clamped(point) {
  return point.map((v, i) => {
    const box = document.querySelector(`#latent-${AXES[i]} input[type=number]`);
    return box ? Math.min(Math.max(v, Number(box.min)), Number(box.max)) : v;
  });
}

async function decode() {
  if (!decoder || !want) return;
  const point = want;
  const { entry, session } = decoder;
  const began = performance.now();
  const outputs = await session.run({ [entry.inputs[0].name]: new ort.Tensor("float32", Float32Array.from(point), [1, 3]) });
  const ms = performance.now() - began;
  showOverImage("latent-decoded", "latent-inpage-decoded", outputs[entry.outputs[0].name].data);
  state.decodes += 1;
  state.point = point;
  state.ms = ms;
  note(`(${point.map((v) => v.toFixed(2)).join(", ")}) decoded in your browser (wasm): ${ms.toFixed(1)} ms`);
}

function stop(message) {
  if (state.why) return;
  state.path = "server";
  state.why = message;
  decoder = null;
  showOverImage("latent-decoded", "latent-inpage-decoded", null);
  note(`${message}. The server decodes (onnxruntime-cpu).`);
}

const request = throttled(decode, (error) => stop(`Decoding in the page stopped (${error.message || error})`));

window.digitzooLatentDecode = (x, y, z) => {
  const point = [x, y, z].map(Number);
  if (point.some((v) => !Number.isFinite(v))) return; // a box half typed: the last picture stays
  want = clamped(point);
  request();
};

async function start() {
  await waitFor("#latent-decoded");
  const why = whyNotHere(OFF, "the decoder");
  if (why) { stop(why); return; }
  try {
    const config = await hubConfig();
    if (!config.latent) { state.path = "server"; return; } // exports without an autoencoder: nothing to run
    ort = await hubRuntime();
    decoder = await openModel(ort, config.latent);
    state.path = "inpage";
    // The point the sliders show now (drawn by the server at load; the page takes over from here).
    const boxes = AXES.map((axis) => document.querySelector(`#latent-${axis} input[type=number]`));
    if (!want && boxes.every(Boolean)) want = clamped(boxes.map((box) => Number(box.value)));
    request();
  } catch (error) {
    stop(failedStart(OFF, error));
  }
}

start();
