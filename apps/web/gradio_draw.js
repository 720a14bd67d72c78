// The Gradio hub's Draw tab, answered as soon as a stroke moves: the draw tab's classifiers and the
// not-a-digit detector run in the page with onnxruntime-web (the static site's runtime.js and
// sketch.js), on the files the manifest lists, each checked against its sha256 before use.
//
// Gradio's Sketchpad draws with WebGL, whose pixels a page cannot reliably read back, so this
// module watches the pointer on the pad and replays every stroke into a 2D canvas of the pad's
// size (560x560) with the pad's brush (28 px), and reads that. Answers are shown while the stroke
// is drawn (at most once per animation frame) in a panel laid over the server's two answers.
//
// When the models cannot run here (no WebAssembly, onnxruntime-web not loaded, a file whose sha256
// differs, or ?inpage=0 in the URL), the page says so once and asks the server instead, with the
// same copy of the drawing (a small PNG, one request at a time, at once when a stroke ends) at
// POST /digitzoo/inpage/classify: the server's answer shows in the same panel, "Answered by the
// server". The pad's own change event
// still runs on every change (the 28x28 view, the chart, API callers); it first waits for the
// browser to export the WebGL canvas, about a second in software rendering. Its answers land in the
// Labels under the panel, and show only when the page cannot reach the server's endpoint at all.

import { EmptySketch, SketchError, preprocess } from "./sketch.js";
import { openModel, softmax, throttled } from "./runtime.js";
import { failedStart, hubConfig, hubRuntime, showOverImage, waitFor, whyNotHere } from "./gradio_page.js";

const BASE = new URL(".", import.meta.url);
const BUSY_RETRY_MS = 1000;
const PAD_SIZE = 560;  // the Sketchpad's canvas_size
const PEN_WIDTH = 28;  // its brush, in pad pixels
const DRAW_PROMPT = "Draw a digit (0-9) on the pad.";
const OFF = "In-page answers are off";

// Read by the tests and the benchmark (performance.now() times). path: "loading", then "inpage"
// (the models run here), "server" (the page asks the server) or "gradio" (the pad's own event).
const state = (window.digitzooDraw = {
  path: "loading", why: null, readyMs: null, firstAnswerMs: null, answers: 0,
  lastUpMs: null, upAnswerMs: null, serverShownMs: null, shown: null,
});

const shadow = document.createElement("canvas");
shadow.width = shadow.height = PAD_SIZE;
const ink = shadow.getContext("2d", { willReadFrequently: true });
let strokes = []; // every stroke on the pad ({ points, erase }): replayed after an undo
let undone = [];  // strokes taken back by Undo, for Redo
let current = null;
let models = null; // in-page: { ort, config, sessions: Map(model -> Promise), detector }
let asking = false; // the server answers, through this page
let panel = null;

// ---- The shadow of the pad ----------------------------------------------------------------------

// The pad's zoom ("68%" in its toolbar): how many screen pixels a pad pixel takes.
function padZoom() {
  for (const span of document.querySelectorAll("#draw-pad span")) {
    const match = span.children.length === 0 && span.textContent.trim().match(/^(\d+(?:\.\d+)?)%$/);
    if (match) return Number(match[1]) / 100;
  }
  return null;
}

// A pointer position -> pad pixels. The pad's 560x560 image is shown at its zoom, centred in its canvas.
function padPoint(canvas, event, zoom) {
  const rect = canvas.getBoundingClientRect();
  const side = zoom ? PAD_SIZE * zoom : Math.min(rect.width, rect.height);
  const scale = PAD_SIZE / side;
  return [(event.clientX - rect.left - (rect.width - side) / 2) * scale,
          (event.clientY - rect.top - (rect.height - side) / 2) * scale];
}

function paint(points, erase = false) {
  // The eraser is mirrored with the brush's width (the pad's eraser size is not read).
  ink.globalCompositeOperation = erase ? "destination-out" : "source-over";
  ink.lineCap = ink.lineJoin = "round";
  ink.lineWidth = PEN_WIDTH;
  ink.strokeStyle = "#000";
  ink.beginPath();
  ink.moveTo(...points[0]);
  for (const point of points.length > 1 ? points.slice(1) : points) ink.lineTo(...point);
  ink.stroke();
}

function replay() {
  ink.clearRect(0, 0, PAD_SIZE, PAD_SIZE);
  for (const stroke of strokes) paint(stroke.points, stroke.erase);
}

function clearShadow() {
  strokes = [];
  undone = [];
  current = null;
  ink.clearRect(0, 0, PAD_SIZE, PAD_SIZE);
  showNothing(DRAW_PROMPT);
}

function watchPad() {
  const onPad = (event) => event.target instanceof HTMLCanvasElement && event.target.closest("#draw-pad");
  let canvas = null, zoom = null;
  window.addEventListener("pointerdown", (event) => {
    if (!onPad(event) || event.button > 0) return;
    // Only the brush and the eraser draw: a drag with the Pan tool moves the view, not the ink.
    const tool = document.querySelector("#draw-pad button.highlight")?.getAttribute("aria-label");
    if (tool !== "Brush" && tool !== "Erase") return;
    zoom = padZoom();
    const start = padPoint(event.target, event, zoom);
    // A stroke that starts off the pad's image leaves no ink on the pad (seen with a finger on a
    // phone, where the canvas is taller than the image): the copy ignores it too.
    if (start.some((v) => v < 0 || v > PAD_SIZE)) return;
    canvas = event.target;
    current = { points: [start], erase: tool === "Erase" };
    strokes.push(current);
    undone = [];
    paint(current.points, current.erase); // a tap leaves a dot
    request();
  }, true);
  window.addEventListener("pointermove", (event) => {
    if (!current) return;
    const points = (event.getCoalescedEvents?.() || []).length ? event.getCoalescedEvents() : [event];
    const line = current.points;
    const from = line[line.length - 1];
    for (const e of points) line.push(padPoint(canvas, e, zoom));
    paint([from, ...line.slice(-points.length)], current.erase);
    request();
  }, true);
  const lift = () => {
    if (!current) return;
    current = null;
    state.lastUpMs = performance.now();
    state.upAnswerMs = null;
    // The answer to the whole drawing, timed from here. The server is asked at once: the next
    // frame can be hundreds of ms away while the Sketchpad exports its canvas.
    if (asking) { inFlight?.abort(); request.now(); }
    else request();
  };
  window.addEventListener("pointerup", lift, true);
  window.addEventListener("pointercancel", lift, true);
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("#draw-clear, #draw-pad button");
    if (!button) return;
    const name = button.id === "draw-clear" ? "Clear" : button.getAttribute("aria-label") || "";
    // Clear also presses the pad's own "Clear canvas": in Gradio 6.31 the ClearButton alone can
    // leave the old strokes on the WebGL pad (seen after a few digits), and the page's copy must match it.
    if (name === "Clear") document.querySelector("#draw-pad button[aria-label='Clear canvas']")?.click();
    if (name === "Clear" || name === "Clear canvas") clearShadow();
    else if (name === "Undo" && strokes.length) { undone.push(strokes.pop()); replay(); request(); }
    else if (name === "Redo" && undone.length) { strokes.push(undone.pop()); replay(); request(); }
  }, true);
}

// ---- The panel over the server's answers --------------------------------------------------------

const STYLE = `
#draw-inpage { position: absolute !important; inset: 0; z-index: 20; display: flex !important; flex-direction: column !important;
  gap: 6px; background: var(--background-fill-primary, #fff); padding: 0; margin: 0 !important; overflow: hidden; }
#draw-inpage .pair { display: flex !important; flex-direction: row !important; gap: 8px; flex: 1 1 auto; min-height: 0; }
#draw-inpage .answer { flex: 1 1 0; border: 1px solid var(--block-border-color, #ddd); border-radius: 8px; padding: 6px 10px;
  min-width: 0; overflow: hidden; }
#draw-inpage .name { font-size: 13px; color: var(--block-label-text-color, #555); }
#draw-inpage .top { font-size: 26px; font-weight: 600; line-height: 32px; min-height: 32px; }
#draw-inpage .answer.doubt .top { font-size: 17px; color: #b45309; }
#draw-inpage li { display: flex; gap: 6px; align-items: center; font-size: 13px; list-style: none; }
#draw-inpage ol { margin: 0; padding: 0; }
#draw-inpage .bar { height: 8px; background: var(--color-accent, #f97316); border-radius: 4px; flex: none; }
#draw-inpage .how { font-size: 13px; color: var(--body-text-color-subdued, #555); }
#draw-inpage-note { font-size: 13px; color: #b45309; margin: 4px 0; }
`;

function pairRow() {
  return document.querySelector("#draw-left")?.parentElement;
}

let panelAdded = null;
function addPanel() { // once, whoever asks first
  panelAdded ??= addPanelOnce();
  return panelAdded;
}

async function addPanelOnce() {
  await waitFor("#draw-left");
  const row = pairRow();
  const style = document.createElement("style");
  style.textContent = STYLE;
  document.head.append(style);
  row.style.position = "relative";
  row.style.minHeight = "150px"; // about what the two Labels take once they show three digits
  panel = document.createElement("div");
  panel.id = "draw-inpage";
  panel.setAttribute("aria-live", "polite");
  panel.innerHTML = `<div class="pair"></div><div class="how"></div>`;
  row.append(panel);
  showNothing(DRAW_PROMPT);
}

function showNothing(message) {
  showSeen(null);
  if (!panel) return;
  panel.querySelector(".pair").replaceChildren();
  panel.querySelector(".how").textContent = message;
  state.shown = null;
}

function render(answers, doubt, how) {
  const boxes = answers.map(({ entry, probs }) => {
    const ranked = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    const box = document.createElement("div");
    box.className = "answer" + (doubt > 0.5 ? " doubt" : "");
    box.dataset.model = entry.model;
    box.innerHTML = `<div class="name"></div><div class="top"></div><ol></ol>`;
    box.querySelector(".name").textContent = `${entry.label} reads`;
    const first = entry.classes[ranked[0][1]];
    box.querySelector(".top").textContent = doubt > 0.5 ? `not sure: looks most like ${first}` : first;
    box.querySelector("ol").replaceChildren(...ranked.map(([p, i]) => {
      const item = document.createElement("li");
      item.innerHTML = `<span class="digit"></span><span class="bar"></span><span class="p"></span>`;
      item.querySelector(".digit").textContent = entry.classes[i];
      item.querySelector(".bar").style.width = `${Math.round(p * 55)}%`;
      item.querySelector(".p").textContent = `${(p * 100).toFixed(1)}%`;
      return item;
    }));
    return box;
  });
  panel.querySelector(".pair").replaceChildren(...boxes);
  const verdict = doubt > 0.5 ? `Not sure this is a digit (${(doubt * 100).toFixed(0)}% it is a letter, a shape or a ` +
    "scribble): draw one digit, 0-9. " : "";
  panel.querySelector(".how").textContent = verdict + how;
  state.shown = boxes.map((box) => box.querySelector(".top").textContent);
}

// ---- The models ---------------------------------------------------------------------------------

// The models picked in the Left/Right dropdowns ("CNN (mnist_cnn)" -> "mnist_cnn"; null if unread).
function pickedNames() {
  return ["#pick-left", "#pick-right"].map((selector) => {
    const value = document.querySelector(`${selector} input`)?.value || "";
    return (value.match(/\(([^()]+)\)\s*$/) || [])[1] || null;
  });
}

// Their entries in config.json, else the first two.
function pickedPair() {
  const draw = models.config.draw;
  return pickedNames().map((name, i) => draw.find((entry) => entry.model === name) || draw[Math.min(i, draw.length - 1)]);
}

function session(entry) {
  if (!models.sessions.has(entry.model)) models.sessions.set(entry.model, openModel(models.ort, entry));
  return models.sessions.get(entry.model);
}

async function classify() {
  if (!panel || !strokes.length) return;
  if (models) await classifyHere();
  else if (asking) await classifyOnServer();
}

async function classifyHere() {
  const began = performance.now();
  const { data } = ink.getImageData(0, 0, PAD_SIZE, PAD_SIZE);
  let x;
  try {
    x = preprocess(data, PAD_SIZE, PAD_SIZE);
  } catch (error) {
    if (!(error instanceof SketchError)) throw error;
    showNothing(error instanceof EmptySketch ? DRAW_PROMPT : error.message);
    return;
  }
  const pair = pickedPair();
  const opened = await Promise.all(pair.map(session));
  const input = new models.ort.Tensor("float32", x, [1, 1, 28, 28]);
  const ran = performance.now();
  let doubt = 0;
  if (models.detector) {
    const { entry, session: detector } = models.detector;
    doubt = softmax((await detector.run({ [entry.inputs[0].name]: input }))[entry.outputs[0].name].data)[1];
  }
  const answers = [];
  let rows = null; // the belief after each row, of the first model of the pair that charts one (as the server's chart)
  for (const { entry, session: reader } of opened) {
    const outputs = await reader.run({ [entry.inputs[0].name]: input });
    answers.push({ entry: pair.find((e) => e.model === entry.model) || entry, probs: softmax(outputs[entry.outputs[0].name].data) });
    if (!rows && entry.belief_by_row && entry.outputs.length > 1) {
      const steps = outputs[entry.outputs[1].name].data; // (1, rows, classes)
      const count = entry.classes.length;
      rows = Array.from({ length: steps.length / count }, (_, r) => softmax(steps, r * count, count));
    }
  }
  if (!strokes.length) return; // cleared meanwhile
  const ms = performance.now() - ran;
  showSeen(x);
  if (rows) showBelief(rows);
  render(answers, doubt, `Answered in your browser (wasm): ${ms.toFixed(1)} ms ` +
    `(${answers.map(({ entry }) => entry.label).join(" + ")}${models.detector ? " + detector" : ""}; ` +
    `preprocessing ${(ran - began).toFixed(1)} ms)`);
  answered(began);
}

// ---- The 28x28 view and the belief chart, in step with the answers ------------------------------
// The pad's own event fills both about a second after a change. The page draws the 28x28 it read
// over the server's picture at once, and moves the lines of the server's belief chart while the
// stroke is drawn (once a chart is on the page: after Clear, the server's first answer brings it).

function showSeen(x) {
  showOverImage("draw-seen", "draw-inpage-seen", x);
}

let beliefShownAt = 0, beliefLater = null;
function showBelief(rows) {
  // At most every 150 ms (redrawing the chart takes tens of ms), the newest rows last.
  clearTimeout(beliefLater);
  const wait = beliefShownAt + 150 - performance.now();
  if (wait > 0) { beliefLater = setTimeout(() => showBelief(rows), wait); return; }
  beliefShownAt = performance.now();
  const gd = document.querySelector("#lstm-belief .js-plotly-plot");
  if (!rows || !gd || !window.Plotly || !gd.data || gd.data.length !== rows[0].length) return;
  // The server's styles: the answer's line is the widest; the others share the thinnest.
  const lines = gd.data.map((trace) => trace.line || {});
  const widest = lines.reduce((a, b) => ((b.width || 0) > (a.width || 0) ? b : a));
  const thinnest = lines.reduce((a, b) => ((b.width || 0) < (a.width || 0) ? b : a));
  const last = rows[rows.length - 1];
  const final = last.indexOf(Math.max(...last));
  window.Plotly.restyle(gd, {
    y: gd.data.map((_, d) => rows.map((probs) => probs[d])),
    "line.width": gd.data.map((_, d) => (d === final ? widest : thinnest).width),
    "line.color": gd.data.map((_, d) => (d === final ? widest : thinnest).color),
  });
}

function answered(began) {
  const done = performance.now();
  state.answers += 1;
  if (state.firstAnswerMs === null) state.firstAnswerMs = done;
  if (state.lastUpMs !== null && began >= state.lastUpMs && state.upAnswerMs === null) state.upAnswerMs = done;
}

// ---- The server, asked by this page -------------------------------------------------------------

class Refused extends Error {}  // the server read the request and said why not (a sentence to show)
class Busy extends Error {}

// One POST to the hub's page route (apps/draw_inpage.py): JSON answer, or {"error": sentence}.
// A request still out when a stroke ends is aborted (inFlight): the newer drawing is sent at once
// instead of after it.
let inFlight = null;
async function askServer(request) {
  const asked = (inFlight = new AbortController());
  let response, answer;
  try {
    response = await fetch(new URL("classify", BASE), { method: "POST", signal: asked.signal,
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) });
    answer = await response.json().catch((error) => { if (error.name === "AbortError") throw error; return {}; });
  } finally {
    if (inFlight === asked) inFlight = null;
  }
  if (response.ok) return answer;
  if (response.status === 503) throw new Busy(answer.error || "busy");
  if (response.status < 500 && answer.error) throw new Refused(answer.error);
  throw new Error(`the server answered HTTP ${response.status}`);
}

async function classifyOnServer() {
  const began = performance.now();
  const image = shadow.toDataURL("image/png"); // black strokes on transparent: a few kB
  const [left, right] = pickedNames();
  let answer;
  try {
    answer = await askServer({ image, left, right });
  } catch (error) {
    if (error.name === "AbortError") return; // a newer drawing is being sent
    if (error instanceof Refused) { if (strokes.length) showNothing(error.message); return; }
    if (!(error instanceof Busy)) throw error;
    if (strokes.length) panel.querySelector(".how").textContent = "The server is busy: asking again in a moment.";
    setTimeout(request, BUSY_RETRY_MS);
    return;
  }
  if (!strokes.length) return; // cleared meanwhile
  const ms = performance.now() - began;
  if (answer.seen?.length === 784) showSeen(answer.seen);
  render(answer.answers.map((a) => ({ entry: a, probs: a.probs })), answer.doubt ?? 0,
    `Answered by the server (${answer.answered_by}): ${ms.toFixed(0)} ms in all`);
  answered(began);
}

const request = throttled(classify, (error) => (models
  ? fallBack(`In-page answers stopped (${error.message || error})`)
  : giveUp(`The server could not be asked from the page (${error.message || error})`)));

// Said once, in the page: the server answers from now on, in the same panel.
function fallBack(message) {
  if (state.why) return;
  state.path = "server";
  state.why = message;
  models = null;
  asking = true;
  say(`${message}. Answers come from the server (onnxruntime-cpu).`);
  (panel ? Promise.resolve() : addPanel()).then(request);
}

// The last resort: the panel goes, and the pad's own event fills the Labels under it.
function giveUp(message) {
  state.path = "gradio";
  state.why = message;
  asking = false;
  models = null;
  panel?.remove();
  panel = null;
  say(`${message}. The server's answers to the pad show below.`);
}

function say(text) {
  waitFor("#draw-left").then(() => {
    let note = document.getElementById("draw-inpage-note");
    if (!note) {
      note = document.createElement("p");
      note.id = "draw-inpage-note";
      note.setAttribute("role", "status");
      pairRow()?.before(note);
    }
    note.textContent = text;
  });
}

// When the server's answer shows in the left Label (for the benchmark's server path).
function watchServerAnswers() {
  waitFor("#draw-left").then((label) => {
    new MutationObserver(() => {
      const heading = label.querySelector("h2, .output-class");
      if (heading && heading.textContent.trim()) {
        if (state.serverShownMs === null || state.serverShownMs < state.lastUpMs) state.serverShownMs = performance.now();
      }
    }).observe(label, { childList: true, subtree: true, characterData: true });
  });
}

async function start() {
  await waitFor("#draw-pad");
  watchPad();
  watchServerAnswers();
  const why = whyNotHere(OFF, "the models");
  if (why) { fallBack(why); return; }
  try {
    const [config, ort] = await Promise.all([hubConfig(), hubRuntime()]);
    const loading = { ort, config, sessions: new Map(), detector: null };
    const [detector] = await Promise.all([
      config.detector ? openModel(ort, config.detector) : null,
      ...config.draw.slice(0, 2).map((entry) => { // the default pair now, others when picked
        loading.sessions.set(entry.model, openModel(ort, entry));
        return loading.sessions.get(entry.model);
      }),
    ]);
    loading.detector = detector;
    await addPanel();
    models = loading;
    state.path = "inpage";
    state.readyMs = performance.now();
    request(); // anything drawn while the models loaded
    // A new pick in the Left / Right lists re-reads the drawing (Gradio sets the inputs' values
    // without an event a page can rely on, so the pair is compared twice a second).
    let picked = pickedPair().map((entry) => entry.model).join();
    setInterval(() => {
      const now = models && pickedPair().map((entry) => entry.model).join();
      if (now && now !== picked) { picked = now; request(); }
    }, 500);
  } catch (error) {
    fallBack(failedStart(OFF, error));
  }
}

start();
