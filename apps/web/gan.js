// The GAN sampler page, the same in the static site and the hub: pick a digit (or any), a seed and a
// grid size for a grid of generated digits, and walk between two seeds' noise for one digit.
//
// The noise is mulberry32 + Box-Muller (runtime.js), the labels for "any" come from mulberry32(seed + 1):
// the hub's /sample API (apps/gan.py) draws the same numbers, so a seed gives the same digits in the
// page, on the server and in every browser. `generate(noise, labels, count)` -> images runs the
// generator in the page; `askServer` asks the hub when the page cannot.

import { mulberry32, normals } from "./runtime.js";
import { paintGrid } from "./render.js";

const TEMPLATE = `
<div class="dz-controls">
  <label>digit <select data-in="digit"><option value="any">any</option></select></label>
  <label>seed <input data-in="seed" type="number" min="0" step="1" value="0"></label>
  <button type="button" data-do="new-seed">New seed</button>
  <label>grid <input data-in="grid" type="number" min="1" step="1" value="16"></label>
</div>
<canvas class="dz-gan-grid dz-pixelated" width="120" height="120" aria-label="generated digits"></canvas>
<p class="dz-gan-timing" role="status"></p>
<h3>A walk between two seeds' noise, one digit</h3>
<div class="dz-controls">
  <label>from seed <input data-in="walk-a" type="number" min="0" step="1" value="0"></label>
  <label>to seed <input data-in="walk-b" type="number" min="0" step="1" value="1"></label>
</div>
<canvas class="dz-gan-walk dz-pixelated" width="240" height="30" aria-label="a walk between two seeds"></canvas>
<p class="dz-gan-walk-timing" role="status"></p>`;

const WALK_STEPS = 8;

// A whole number in [lo, hi] from a box, or a sentence saying what to type.
function whole(input, name, lo, hi) {
  const value = Number(input.value);
  if (input.value.trim() === "" || !Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${name} must be a whole number from ${lo} to ${hi} (got "${input.value}").`);
  }
  return value;
}

// The labels a grid of `count` draws: the digit asked, or for "any" mulberry32(seed + 1)'s picks.
export function ganLabels(digit, classes, count, seed) {
  if (digit !== "any") return Array(count).fill(classes.indexOf(digit));
  const pick = mulberry32(seed + 1);
  return Array.from({ length: count }, () => Math.floor(pick() * classes.length));
}

// The walk's noise: from seed a's to seed b's, in `steps` even steps.
export function walkNoise(a, b, zDim, steps) {
  const from = normals(a, zDim), to = normals(b, zDim), out = new Float32Array(steps * zDim);
  for (let s = 0; s < steps; s++) {
    const t = steps > 1 ? s / (steps - 1) : 0;
    for (let i = 0; i < zDim; i++) out[s * zDim + i] = (1 - t) * from[i] + t * to[i];
  }
  return out;
}

// `gan`: models.json's gan block (label, classes, max_grid, max_seed, generator's z size);
// `generate(noise, labels)` -> Float32Array of images, or null; `askServer(body)` -> JSON, or null.
export function mountGan(root, { gan, generate = null, askServer = null, why = "" }) {
  root.classList.add("dz-gan");
  root.innerHTML = TEMPLATE;
  const $ = (selector) => root.querySelector(selector);
  const box = (name) => $(`[data-in=${name}]`);
  for (const name of gan.classes) box("digit").append(new Option(name, name));
  box("grid").max = gan.max_grid;
  root.dataset.path = generate ? "inpage" : askServer ? "server" : "none";
  root.dataset.grids = root.dataset.walks = "0";
  const where = generate ? "in your browser (wasm)" : "on the server";

  // Images for `labels`, from the page's generator or the server's.
  async function images(noise, labels, body) {
    if (generate) return generate(noise, labels);
    const answer = await askServer(body);
    if (answer.error) throw new RangeError(answer.error);
    return Float32Array.from(answer.images);
  }

  let latest = 0;
  async function sample() {
    const ticket = ++latest;
    let seed, count;
    try {
      seed = whole(box("seed"), "seed", 0, gan.max_seed);
      count = whole(box("grid"), "grid size", 1, gan.max_grid);
    } catch (error) { // the last grid stays, with the sentence under it
      $(".dz-gan-timing").textContent = `Not sampled: ${error.message}`;
      return;
    }
    const digit = box("digit").value;
    const labels = ganLabels(digit, gan.classes, count, seed);
    const began = performance.now();
    const drawn = await images(normals(seed, count * gan.z_dim), labels, { kind: "sample", digit, seed, grid: count });
    if (ticket !== latest) return;
    const ms = performance.now() - began;
    paintGrid($(".dz-gan-grid"), drawn, count, Math.ceil(Math.sqrt(count)));
    const which = digit === "any" ? ` (${labels.map((i) => gan.classes[i]).join(" ")})` : "";
    $(".dz-gan-timing").textContent = `seed ${seed}: ${count} digit${count === 1 ? "" : "s"}${which} in ${ms.toFixed(1)} ms ` +
      `by the ${gan.label} ${where}`;
    Object.assign(root.dataset, { seed, digits: labels.map((i) => gan.classes[i]).join(" "),
                                  grids: Number(root.dataset.grids) + 1 });
  }

  async function walk() {
    let a, b;
    try {
      a = whole(box("walk-a"), "from seed", 0, gan.max_seed);
      b = whole(box("walk-b"), "to seed", 0, gan.max_seed);
    } catch (error) {
      $(".dz-gan-walk-timing").textContent = `Not walked: ${error.message}`;
      return;
    }
    const digit = box("digit").value;
    const labels = Array(WALK_STEPS).fill(ganLabels(digit, gan.classes, 1, a)[0]); // one digit along the walk
    const began = performance.now();
    const drawn = await images(walkNoise(a, b, gan.z_dim, WALK_STEPS), labels, { kind: "walk", digit, seed_a: a, seed_b: b });
    paintGrid($(".dz-gan-walk"), drawn, WALK_STEPS, WALK_STEPS);
    $(".dz-gan-walk-timing").textContent = `${gan.classes[labels[0]]} from seed ${a} to seed ${b}: ${WALK_STEPS} steps in ` +
      `${(performance.now() - began).toFixed(1)} ms ${where}`;
    root.dataset.walks = Number(root.dataset.walks) + 1;
  }

  const safely = (work, line) => () => work().catch((error) => { $(line).textContent = `Not drawn: ${error.message}`; });
  const resample = safely(sample, ".dz-gan-timing"), rewalk = safely(walk, ".dz-gan-walk-timing");
  if (!generate && !askServer) {
    $(".dz-gan-timing").textContent = why;
    return;
  }
  box("digit").addEventListener("change", () => { resample(); rewalk(); });
  for (const name of ["seed", "grid"]) box(name).addEventListener("input", resample);
  for (const name of ["walk-a", "walk-b"]) box(name).addEventListener("input", rewalk);
  $("[data-do=new-seed]").addEventListener("click", () => {
    box("seed").value = Math.floor(Math.random() * gan.max_seed);
    resample();
  });
  resample();
  rewalk();
}
