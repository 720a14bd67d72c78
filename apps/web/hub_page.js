// What the hub's in-page modules share (hub_draw.js, hub_latent.js): config.json and
// onnxruntime-web, each loaded once per page whichever tab asks first; and two helpers for
// Gradio's DOM. (The static site has its own page, index.html + main.js.)

import { importPinned, loadRuntime } from "./runtime.js";

const BASE = new URL(".", import.meta.url);
let config = null, runtime = null;

// config.json (apps/draw_inpage.py): the models' URLs, sha256 and names, and where onnxruntime-web comes from.
export function hubConfig() {
  config ??= fetch(new URL("config.json", BASE)).then((response) => {
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    return response.json();
  });
  return config;
}

// onnxruntime-web, its module and WebAssembly binary checked (sha384), loaded once.
export function hubRuntime() {
  runtime ??= hubConfig().then((settings) => loadRuntime(settings.runtime, () => importPinned(settings.runtime)));
  return runtime;
}

// The element `selector` once Gradio has rendered it.
export function waitFor(selector) {
  return new Promise((resolve) => {
    const found = document.querySelector(selector);
    if (found) { resolve(found); return; }
    const observer = new MutationObserver(() => {
      const element = document.querySelector(selector);
      if (element) { observer.disconnect(); resolve(element); }
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
  });
}

// A 28x28 canvas laid over a gr.Image block's picture (its id), painted with `pixels` (784 values in
// [0, 1], white on black) with crisp pixels; hidden when `pixels` is null. Over the server's picture
// where it shows, else where it will show: the square under the block's label.
export function showOverImage(blockId, canvasId, pixels) {
  const block = document.getElementById(blockId);
  if (!block) return;
  let canvas = document.getElementById(canvasId);
  if (!canvas) {
    canvas = document.createElement("canvas");
    canvas.id = canvasId;
    canvas.width = canvas.height = 28;
    block.style.position = "relative";
    block.append(canvas);
  }
  if (!pixels) { canvas.hidden = true; return; }
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.min(Math.max(pixels[i], 0), 1) * 255);
    image.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
  const box = block.getBoundingClientRect();
  const picture = block.querySelector("img")?.getBoundingClientRect();
  const label = block.querySelector("label")?.getBoundingClientRect();
  const top = picture?.height ? picture.top - box.top : (label ? label.bottom - box.top : 26);
  const side = picture?.height ? Math.min(picture.width, picture.height) : Math.max(28, box.height - top);
  const left = picture?.height ? picture.left - box.left + (picture.width - side) / 2 : (box.width - side) / 2;
  Object.assign(canvas.style, { position: "absolute", zIndex: 5, top: `${top}px`, left: `${left}px`,
    width: `${side}px`, height: `${side}px`, imageRendering: "pixelated", pointerEvents: "none" });
  canvas.hidden = false;
}
