// The static site's page: Draw, Latent space and GAN, every model run here with onnxruntime-web.
//
// One direction of data: models.json (written by `digitzoo web build` from the manifest) says which
// files to open and how to call them -> runtime.js checks and opens them -> the tabs below read the
// pad / sliders / seed, run a model, and draw its answer. Nothing is sent anywhere.

import { attachPad } from "./pad.js";
import { EmptySketch, SketchError, preprocess } from "./sketch.js";
import { RefusedFile, fetchVerified, loadRuntime, mulberry32, normals, openModel, softmax, throttled as throttledBy } from "./runtime.js";

const $ = (selector) => document.querySelector(selector);
const DRAW_PROMPT = "Draw a digit (0-9) on the pad.";
const GAN_GRID = 16;       // digits per GAN sample, shown 4x4
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

const models = { ort: null, draw: [], detector: null, decoder: null, generator: null };
// Read by the tests and shown on the page: when the draw models were ready and first answered.
const timings = (window.digitzoo = { readyMs: null, firstAnswerMs: null });

function problem(message) {
  const line = document.createElement("p");
  line.textContent = message;
  $("#problems").append(line);
}

// The page's throttled work: an error is shown in the problems box.
const throttled = (work) => throttledBy(work, (error) => problem(error.message || String(error)));

// A 28x28 float image in [0, 1] (white ink on black) into a canvas at `x`, `y`.
function paintDigit(canvas, pixels, x = 0, y = 0) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.min(Math.max(pixels[i], 0), 1) * 255);
    image.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(image, x, y);
}

// ---- Tabs ---------------------------------------------------------------------------------------

function setupTabs() {
  for (const button of document.querySelectorAll("nav [role=tab]")) {
    button.addEventListener("click", () => {
      for (const other of document.querySelectorAll("nav [role=tab]")) other.setAttribute("aria-selected", other === button);
      for (const section of document.querySelectorAll(".tab")) section.hidden = section.dataset.tab !== button.dataset.tab;
    });
  }
}

// ---- Draw ---------------------------------------------------------------------------------------

let drawPad = null; // pad.js's pad on #pad, attached once models.json says its size and pen
let notADigitAbove = null; // the detector's threshold, from models.json (the server's number: one copy)

function setupPad(settings) {
  notADigitAbove = settings.not_a_digit_above;
  drawPad = attachPad($("#pad"), { size: settings.size, penWidth: settings.pen_width }, (strokes) => {
    if (strokes.empty) showNoAnswer(DRAW_PROMPT);
    else requestClassify();
  });
  $("#clear").addEventListener("click", drawPad.clear);
  $("#undo").addEventListener("click", drawPad.undo);
  $("#redo").addEventListener("click", drawPad.redo);
}

function answerPanels(entries) {
  $("#answers").replaceChildren(...entries.map((entry) => {
    const panel = document.createElement("div");
    panel.className = "answer";
    panel.dataset.label = entry.label;
    panel.innerHTML = `<h2></h2><div class="top-digit"></div><ol></ol>`;
    panel.querySelector("h2").textContent = `${entry.label} reads`;
    return panel;
  }));
  const charted = entries.filter((e) => e.belief_by_row).map((e) => e.label);
  $("#belief-caption").textContent = `${charted.join(" / ") || "Model"} belief row by row (rows of the 28x28 read so far, top to bottom)`;
}

function showAnswer(panel, probs, classes, doubt) {
  const ranked = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
  // The detector thinks the drawing is not a digit: say so, and what it looks most like.
  panel.querySelector(".top-digit").textContent = doubt ? `not sure: looks most like ${classes[ranked[0][1]]}` : classes[ranked[0][1]];
  panel.classList.toggle("doubt", Boolean(doubt));
  panel.querySelector("ol").replaceChildren(...ranked.map(([p, i]) => {
    const item = document.createElement("li");
    item.innerHTML = `<span class="digit"></span><span class="bar"></span><span class="p"></span>`;
    item.querySelector(".digit").textContent = classes[i];
    item.querySelector(".bar").style.width = `${Math.round(p * 80)}px`;
    item.querySelector(".p").textContent = `${(p * 100).toFixed(1)}%`;
    return item;
  }));
}

function showNoAnswer(message) {
  for (const panel of document.querySelectorAll(".answer:not(.refused)")) {
    panel.querySelector(".top-digit").textContent = "";
    panel.querySelector("ol").replaceChildren();
  }
  $("#seen").getContext("2d").clearRect(0, 0, 28, 28);
  $("#belief").getContext("2d").clearRect(0, 0, $("#belief").width, $("#belief").height);
  $("#draw-timing").textContent = message;
}

// The belief after each row as a heat map: one line per digit, one column per row read.
function paintBelief(rows, classes) {
  const canvas = $("#belief");
  const ctx = canvas.getContext("2d");
  const left = 24, cellW = (canvas.width - left) / rows.length, cellH = canvas.height / classes.length;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "12px system-ui";
  ctx.textBaseline = "middle";
  classes.forEach((name, d) => {
    ctx.fillStyle = "#333";
    ctx.fillText(name, 6, (d + 0.5) * cellH);
    rows.forEach((probs, r) => {
      ctx.fillStyle = `rgba(63, 81, 181, ${probs[d].toFixed(3)})`;
      ctx.fillRect(left + r * cellW, d * cellH, cellW - 1, cellH - 1);
    });
  });
}

async function classifyPad() {
  if (drawPad === null || drawPad.strokes.empty) return;
  const began = performance.now();
  const { width, height } = drawPad.context.canvas;
  const { data } = drawPad.context.getImageData(0, 0, width, height);
  let x;
  try {
    x = preprocess(data, width, height);
  } catch (error) {
    if (!(error instanceof SketchError)) throw error;
    showNoAnswer(error instanceof EmptySketch ? DRAW_PROMPT : error.message);
    return;
  }
  paintDigit($("#seen"), x);
  const ready = models.draw.filter(Boolean);
  if (!ready.length) {
    $("#draw-timing").textContent = models.ort ? "No draw model could be opened (see above)." : "Loading the models…";
    return;
  }
  const input = new models.ort.Tensor("float32", x, [1, 1, 28, 28]);
  const ran = performance.now();
  let doubt = 0; // the detector's confidence that this is not a digit; over the threshold the panels say "not sure"
  if (models.detector) {
    const { entry, session } = models.detector;
    doubt = softmax((await session.run({ [entry.inputs[0].name]: input }))[entry.outputs[0].name].data)[1];
  }
  for (const { entry, session } of ready) {
    const outputs = await session.run({ [entry.inputs[0].name]: input });
    const panel = document.querySelector(`.answer[data-label="${entry.label}"]`);
    showAnswer(panel, softmax(outputs[entry.outputs[0].name].data), entry.classes, doubt > notADigitAbove);
    if (entry.belief_by_row && entry.outputs.length > 1) {
      const steps = outputs[entry.outputs[1].name].data; // (1, rows, classes): the belief after each row
      const count = entry.classes.length;
      paintBelief(Array.from({ length: steps.length / count }, (_, r) => softmax(steps, r * count, count)), entry.classes);
    }
  }
  const done = performance.now();
  $("#draw-timing").textContent = (doubt > notADigitAbove ? `Not sure this is a digit (${(doubt * 100).toFixed(0)}% it is a letter, ` +
    "a shape or a scribble): draw one digit, 0-9. " : "") + `in your browser (wasm): ${(done - ran).toFixed(1)} ms ` +
    `(${ready.map(({ entry }) => entry.label).join(" + ")}; preprocessing ${(ran - began).toFixed(1)} ms)`;
  if (timings.firstAnswerMs === null) timings.firstAnswerMs = done;
}
const requestClassify = throttled(classifyPad);

// ---- Latent space -------------------------------------------------------------------------------

function setupLatent(latent, points) {
  const lo = points.p01, hi = points.p99;
  const mean = [0, 1, 2].map((i) => points.codes.reduce((s, c) => s + c[i], 0) / points.codes.length);
  const sliders = ["x", "y", "z"].map((axis, i) => {
    const pad = (hi[i] - lo[i]) * 0.25;
    const label = document.createElement("label");
    label.innerHTML = `${axis} <output></output><input type="range" step="0.01">`;
    const slider = label.querySelector("input");
    Object.assign(slider, { min: lo[i] - pad, max: hi[i] + pad, value: mean[i], id: `latent-${axis}` });
    $("#sliders").append(label);
    return slider;
  });
  const decode = throttled(async () => {
    const code = sliders.map((s) => Number(s.value));
    sliders.forEach((s, i) => { s.previousElementSibling.textContent = code[i].toFixed(2); });
    paintScatter(points, code);
    if (!models.decoder) return;
    const { entry, session } = models.decoder;
    const began = performance.now();
    const outputs = await session.run({ [entry.inputs[0].name]: new models.ort.Tensor("float32", Float32Array.from(code), [1, 3]) });
    paintDigit($("#decoded"), outputs[entry.outputs[0].name].data);
    $("#latent-timing").textContent = `${latent.label} decoder in your browser (wasm): ${(performance.now() - began).toFixed(1)} ms`;
  });
  for (const slider of sliders) slider.addEventListener("input", decode);
  return decode;
}

// Test digits' codes on the x, y axes, coloured by digit, and a ring where the sliders point.
function paintScatter(points, code) {
  const canvas = $("#scatter");
  const ctx = canvas.getContext("2d");
  const lo = points.p01, hi = points.p99;
  const px = (v) => ((v - lo[0]) / (hi[0] - lo[0])) * canvas.width * 0.8 + canvas.width * 0.1;
  const py = (v) => canvas.height * 0.9 - ((v - lo[1]) / (hi[1] - lo[1])) * canvas.height * 0.8;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  points.codes.forEach((c, i) => {
    ctx.fillStyle = COLOURS[points.labels[i] % COLOURS.length];
    ctx.fillRect(px(c[0]) - 1.5, py(c[1]) - 1.5, 3, 3);
  });
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(px(code[0]), py(code[1]), 8, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.font = "13px system-ui";
  COLOURS.forEach((colour, d) => { ctx.fillStyle = colour; ctx.fillText(String(d), 8 + d * 18, 16); });
}

// ---- GAN ----------------------------------------------------------------------------------------

function setupGan(gan) {
  const digit = $("#gan-digit"), seed = $("#gan-seed");
  for (const name of gan.classes) digit.append(new Option(name, name));
  const sample = throttled(async () => {
    if (!models.generator) return;
    const { entry, session } = models.generator;
    const s = Math.max(0, Math.floor(Number(seed.value) || 0));
    const zDim = entry.inputs[0].shape[1];
    const pick = mulberry32(s + 1);
    const labels = Array.from({ length: GAN_GRID }, () =>
      digit.value === "any" ? Math.floor(pick() * gan.classes.length) : gan.classes.indexOf(digit.value));
    const began = performance.now();
    const outputs = await session.run({
      [entry.inputs[0].name]: new models.ort.Tensor("float32", normals(s, GAN_GRID * zDim), [GAN_GRID, zDim]),
      [entry.inputs[1].name]: new models.ort.Tensor("int64", BigInt64Array.from(labels, BigInt), [GAN_GRID]),
    });
    const ms = performance.now() - began;
    const images = outputs[entry.outputs[0].name].data;
    const canvas = $("#gan-grid");
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "rgb(38, 38, 38)"; // the gaps: 0.15 grey, as in the Gradio app's grid
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < GAN_GRID; i++) {
      paintDigit(canvas, images.subarray(i * 784, (i + 1) * 784), (i % 4) * 30 + 1, Math.floor(i / 4) * 30 + 1);
    }
    $("#gan-timing").textContent = `seed ${s}: ${GAN_GRID} digits by the ${gan.label} in your browser (wasm): ${ms.toFixed(1)} ms`;
  });
  digit.addEventListener("change", sample);
  seed.addEventListener("input", sample);
  $("#gan-new-seed").addEventListener("click", () => { seed.value = Math.floor(Math.random() * 2 ** 31); sample(); });
  return sample;
}

// ---- Start --------------------------------------------------------------------------------------

async function open(entry, panel) {
  try {
    return await openModel(models.ort, entry);
  } catch (error) {
    problem(error instanceof RefusedFile ? error.message : `${entry.file} could not be opened: ${error.message}`);
    if (panel) {
      panel.classList.add("refused");
      panel.querySelector(".top-digit").textContent = "refused";
    }
    return null;
  }
}

async function start() {
  setupTabs();
  let site;
  try {
    const response = await fetch("models.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    site = await response.json();
  } catch (error) {
    problem(`models.json could not be read (${error.message}): build the site with \`digitzoo web build DIR\` and serve DIR.`);
    $("#status").textContent = "No models.";
    return;
  }
  setupPad(site.pad);
  answerPanels(site.draw);
  try {
    models.ort = await loadRuntime(site.runtime);
  } catch (error) {
    problem(error.message);
    $("#status").textContent = "The models cannot run in this browser: see the message above.";
    return;
  }
  // The draw models first: the tab a visitor sees first answers first.
  [models.detector, ...models.draw] = await Promise.all([site.detector ? open(site.detector) : null,
    ...site.draw.map((entry) => open(entry, document.querySelector(`.answer[data-label="${entry.label}"]`)))]);
  timings.readyMs = performance.now();
  requestClassify(); // anything drawn while the models loaded
  let points = null; // the test digits' codes shipped beside the autoencoder, checked like the models
  if (site.latent) {
    try {
      points = JSON.parse(new TextDecoder().decode(await fetchVerified(site.latent.points.file, site.latent.points.sha256)));
    } catch (error) {
      problem(error.message);
    }
  }
  const decode = points ? setupLatent(site.latent, points) : null;
  const sample = site.gan ? setupGan(site.gan) : null;
  const [decoder, generator] = await Promise.all([
    site.latent ? open(site.latent.decoder) : null,
    site.gan ? open(site.gan.generator) : null,
  ]);
  Object.assign(models, { decoder, generator });
  if (decode) decode();
  if (sample) sample();
  const running = [...models.draw, models.detector, decoder, generator].filter(Boolean).map(({ entry }) => entry.label);
  $("#status").textContent = `${running.join(", ")}: checked (sha256) and running in your browser (wasm); ` +
    `the draw models were ready after ${timings.readyMs.toFixed(0)} ms.`;
}

start();
