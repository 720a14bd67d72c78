// The latent space page, the same in the static site and the hub: the autoencoder's 3-D codes of
// test digits as a scatter you turn by dragging, three sliders for a point and what the decoder
// makes of it, a click on a dot to decode that digit's code, a drawing placed by the encoder, and a
// walk from one digit's mean code to another's.
//
// `code(picture)`/`decode(points)` run the autoencoder in the page (onnxruntime-web) or are null;
// `askServer` asks the hub when the page cannot. The root's data-* attributes carry the state the
// tests read (path, point, decodes, probe: where one dot is on screen and its code).

import { attachPad } from "./pad.js";
import { COLOURS, paintDigit, paintGrid } from "./render.js";
import { SketchError, preprocess } from "./sketch.js";

const TEMPLATE = `
<div class="dz-latent-main">
  <figure class="dz-scatter-figure"><canvas class="dz-scatter" width="520" height="520" aria-label="test digits in the latent space"></canvas>
    <figcaption>Each dot is a test digit placed by the encoder. Drag to turn, click a dot to decode it; the black diamond is the sliders' point.</figcaption></figure>
  <div class="dz-latent-side">
    <div class="dz-sliders"></div>
    <canvas class="dz-decoded dz-pixelated" width="28" height="28" aria-label="the decoded point"></canvas>
    <p class="dz-latent-timing" role="status"></p>
  </div>
</div>
<div class="dz-latent-more">
  <div class="dz-place"><h3>Draw a digit to place it</h3>
    <div class="dz-buttons"><button type="button" data-do="clear">Clear</button></div>
    <canvas class="dz-pad dz-small-pad" aria-label="Draw a digit to place it"></canvas>
    <p class="dz-code" role="status"></p></div>
  <div class="dz-walk"><h3>From one digit to another</h3>
    <div class="dz-controls"><label>from digit <select data-in="start"></select></label>
      <label>to digit <select data-in="end"></select></label></div>
    <canvas class="dz-latent-walk dz-pixelated" width="240" height="30" aria-label="decoded steps between two digits"></canvas></div>
</div>`;

const STEPS = 8;
const DRAG_TURN = 0.01; // radians per pixel dragged
const CLICK_PX = 5; // a press that moved less than this is a click
const PICK_PX = 10; // a click this close to a dot picks it

// The scatter's view: codes -> screen [x, y, depth], turned by yaw (about the vertical axis) and
// pitch; `spans` ([lo, hi] per axis, e.g. the test codes' 1st-99th percentiles) fill the view.
export function projector(spans, size, yaw, pitch) {
  const mid = spans.map(([lo, hi]) => (lo + hi) / 2);
  const scale = (0.4 * size) / Math.max(...spans.map(([lo, hi]) => (hi - lo) / 2));
  return ([x, y, z]) => {
    const [a, b, c] = [x - mid[0], y - mid[1], z - mid[2]];
    const across = Math.cos(yaw) * a - Math.sin(yaw) * b, depth = Math.sin(yaw) * a + Math.cos(yaw) * b;
    const up = Math.cos(pitch) * c - Math.sin(pitch) * depth;
    return [size / 2 + across * scale, size / 2 - up * scale, (Math.sin(pitch) * c + Math.cos(pitch) * depth) * scale];
  };
}

// `latent`: models.json's latent block (label, ranges, the test digits' codes, labels and class means);
// `decode(codes)` -> Float32Array of images and `encode(x)` -> [x, y, z], or null; `askServer(body)`.
export function mountLatent(root, { latent, points, pad, decode = null, encode = null, askServer = null, why = "" }) {
  root.classList.add("dz-latent");
  root.innerHTML = TEMPLATE;
  const $ = (selector) => root.querySelector(selector);
  const state = root.dataset;
  state.path = decode ? "inpage" : askServer ? "server" : "none";
  state.decodes = "0";
  const where = decode ? "in your browser (wasm)" : "on the server";
  const ranges = latent.ranges;

  async function decoded(codes) {
    if (decode) return decode(codes);
    const answer = await askServer({ kind: "decode", codes });
    if (answer.error) throw new RangeError(answer.error);
    return Float32Array.from(answer.images);
  }

  // ---- The sliders and the decoded point ----
  const mean = [0, 1, 2].map((i) => points.codes.reduce((s, c) => s + c[i], 0) / points.codes.length);
  const sliders = ["x", "y", "z"].map((axis, i) => {
    const [lo, hi] = ranges[i];
    const row = document.createElement("label");
    row.innerHTML = `<span>${axis}</span><input type="range" step="0.01"><input type="number" step="0.01">`;
    for (const input of row.querySelectorAll("input")) Object.assign(input, { min: lo, max: hi, value: mean[i].toFixed(2) });
    row.querySelector("[type=number]").dataset.axis = axis;
    $(".dz-sliders").append(row);
    return row.querySelectorAll("input");
  });
  let latest = 0;
  async function show(notes = []) {
    const ticket = ++latest;
    const point = sliders.map(([range]) => Number(range.value));
    paintScatter();
    const began = performance.now();
    const image = await decoded([point]);
    if (ticket !== latest) return;
    paintDigit($(".dz-decoded"), image);
    $(".dz-latent-timing").textContent = [...notes, `Point (${point.map((v) => v.toFixed(2)).join(", ")}). Decoded by the ` +
      `${latent.label} decoder ${where}: ${(performance.now() - began).toFixed(1)} ms`].join(" ");
    state.point = point.map((v) => v.toFixed(2)).join(",");
    state.decodes = Number(state.decodes) + 1;
  }
  const shown = (notes) => show(notes).catch((error) => { $(".dz-latent-timing").textContent = `Not decoded: ${error.message}`; });
  // Move the sliders to `code` (within their range) and decode it.
  function moveTo(code) {
    code.forEach((v, i) => {
      const [range, box] = sliders[i];
      range.value = box.value = Math.min(Math.max(v, ranges[i][0]), ranges[i][1]).toFixed(2);
    });
    shown();
  }
  sliders.forEach(([range, box], i) => {
    range.addEventListener("input", () => { box.value = range.value; shown(); });
    // A typed number outside the slider decodes the nearest point it can show, and says so.
    box.addEventListener("input", () => {
      const typed = Number(box.value);
      if (box.value.trim() === "" || !Number.isFinite(typed)) return; // half typed ("-"): the last image stays
      const [lo, hi] = ranges[i], kept = Math.min(Math.max(typed, lo), hi);
      range.value = kept;
      shown(kept === typed ? [] : [`${"xyz"[i]} = ${typed} is outside the slider (${lo.toFixed(2)} to ${hi.toFixed(2)}): ` +
                                    `decoded at ${"xyz"[i]} = ${kept.toFixed(2)}.`]);
    });
    box.addEventListener("change", () => { box.value = range.value; }); // on leaving the box, it shows the point decoded
  });

  // ---- The scatter: drag to turn, click a dot to decode it ----
  const scatter = $(".dz-scatter");
  let yaw = 0.6, pitch = 0.35, dots = [];
  new ResizeObserver(() => paintScatter()).observe(scatter); // a tab shown later: the probe's position is known then
  // The whole scatter on screen under whatever the page puts above it (a projector's 720 px), as
  // draw.js keeps its pad, but never narrower than 280 px.
  const fitScatter = () => {
    const top = scatter.getBoundingClientRect().top + window.scrollY;
    scatter.style.maxWidth = `${Math.max(280, window.innerHeight - top - 12)}px`;
  };
  new ResizeObserver(fitScatter).observe(root);
  window.addEventListener("resize", fitScatter);
  function paintScatter() {
    const ctx = scatter.getContext("2d"), size = scatter.width;
    const project = projector(points.p01.map((lo, i) => [lo, points.p99[i]]), size, yaw, pitch);
    dots = points.codes.map((code, i) => [...project(code), i]).sort((a, b) => a[2] - b[2]); // far ones first
    ctx.clearRect(0, 0, size, size);
    ctx.lineWidth = 1;
    ["x", "y", "z"].forEach((axis, i) => { // the axes through the origin, from each range's low to high end
      const from = [0, 0, 0], to = [0, 0, 0];
      from[i] = ranges[i][0];
      to[i] = ranges[i][1];
      const [a, b] = [project(from), project(to)];
      ctx.strokeStyle = ctx.fillStyle = "#999";
      ctx.beginPath();
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
      ctx.stroke();
      ctx.font = "14px system-ui, sans-serif";
      ctx.fillText(axis, b[0] + 4, b[1]);
    });
    for (const [sx, sy, , i] of dots) {
      ctx.fillStyle = COLOURS[points.labels[i] % COLOURS.length];
      ctx.fillRect(sx - 2, sy - 2, 4, 4);
    }
    const [mx, my] = project(sliders.map(([range]) => Number(range.value)));
    ctx.fillStyle = "#000";
    ctx.beginPath();
    ctx.moveTo(mx, my - 9);
    ctx.lineTo(mx + 7, my);
    ctx.lineTo(mx, my + 9);
    ctx.lineTo(mx - 7, my);
    ctx.fill();
    ctx.font = "13px system-ui, sans-serif";
    COLOURS.forEach((colour, d) => { ctx.fillStyle = colour; ctx.fillText(String(d), 8 + d * 18, 16); });
    const front = dots[dots.length - 1]; // a dot nothing hides: where a test clicks
    const rect = scatter.getBoundingClientRect(), k = rect.width / size;
    state.probe = JSON.stringify({ x: front[0] * k, y: front[1] * k, code: points.codes[front[3]] });
  }
  const at = (event) => {
    const rect = scatter.getBoundingClientRect();
    return [(event.clientX - rect.left) * (scatter.width / rect.width), (event.clientY - rect.top) * (scatter.height / rect.height)];
  };
  let press = null;
  scatter.addEventListener("pointerdown", (event) => {
    scatter.setPointerCapture(event.pointerId);
    press = { start: at(event), last: at(event), moved: 0 };
  });
  scatter.addEventListener("pointermove", (event) => {
    if (!press) return;
    const now = at(event);
    yaw -= (now[0] - press.last[0]) * DRAG_TURN;
    pitch = Math.min(Math.max(pitch + (now[1] - press.last[1]) * DRAG_TURN, -1.5), 1.5);
    press.moved = Math.max(press.moved, Math.hypot(now[0] - press.start[0], now[1] - press.start[1]));
    press.last = now;
    paintScatter();
  });
  scatter.addEventListener("pointerup", (event) => {
    const [x, y] = at(event), clicked = press && press.moved < CLICK_PX;
    press = null;
    if (!clicked) return;
    let best = null, bestD = PICK_PX;
    for (const [sx, sy, , i] of dots) { // the nearest dot on top wins: later dots are nearer the viewer
      const d = Math.hypot(sx - x, sy - y);
      if (d <= bestD) [best, bestD] = [i, d];
    }
    if (best !== null) moveTo(points.codes[best]);
  });

  // ---- A drawing, placed by the encoder ----
  const small = $(".dz-small-pad");
  const placePad = attachPad(small, { size: pad.size, penWidth: pad.pen_width }, async (strokes, how = {}) => {
    if (!how.lifted || strokes.empty) return;
    try {
      let code;
      if (encode) {
        code = await encode(preprocess(placePad.context.getImageData(0, 0, small.width, small.height).data, small.width, small.height));
      } else {
        const answer = await askServer({ kind: "encode", image: small.toDataURL("image/png") });
        if (answer.error) throw new SketchError(answer.error);
        code = answer.code;
      }
      $(".dz-code").textContent = `Your drawing's code: (${code.map((v) => v.toFixed(2)).join(", ")})`;
      moveTo(code);
    } catch (error) {
      $(".dz-code").textContent = error instanceof SketchError ? error.message : `Not placed: ${error.message}`;
    }
  });
  $("[data-do=clear]").addEventListener("click", placePad.clear);

  // ---- From one digit's mean code to another's ----
  const [start, end] = ["start", "end"].map((name) => $(`[data-in=${name}]`));
  for (const select of [start, end]) for (let d = 0; d < 10; d++) select.append(new Option(String(d), String(d)));
  start.value = "1";
  end.value = "7";
  async function walk() {
    const a = points.class_means[Number(start.value)], b = points.class_means[Number(end.value)];
    const codes = Array.from({ length: STEPS }, (_, s) => a.map((v, i) => v + ((b[i] - v) * s) / (STEPS - 1)));
    paintGrid($(".dz-latent-walk"), await decoded(codes), STEPS, STEPS);
  }
  for (const select of [start, end]) select.addEventListener("change", walk);

  if (!decode && !askServer) {
    paintScatter();
    $(".dz-latent-timing").textContent = why;
    return;
  }
  shown();
  walk().catch((error) => { $(".dz-latent-timing").textContent = `Not decoded: ${error.message}`; });
}
