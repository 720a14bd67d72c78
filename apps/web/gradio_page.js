// What the hub's in-page modules share (gradio_draw.js, gradio_latent.js): config.json and
// onnxruntime-web, each loaded once per page whichever tab asks first; and two helpers for
// Gradio's DOM. (The static site has its own page, index.html + main.js.)

import { RefusedFile, importPinned, loadRuntime } from "./runtime.js";

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

// Why a tab's models cannot run in this page, or null when they can. `off`: "Decoding in the page
// is off"; `part`: "the decoder".
export function whyNotHere(off, part) {
  if (new URLSearchParams(location.search).get("inpage") === "0") return `${off} (?inpage=0 in the address)`;
  if (typeof WebAssembly !== "object") return `This browser has no WebAssembly, so ${part} cannot run in the page`;
  return null;
}

// The sentence for a start that failed: a file whose sha256 differs, or what went wrong.
export function failedStart(off, error) {
  return error instanceof RefusedFile  // "Refused URL: its sha256 is …" (runtime.js speaks of the static site)
    ? `${off}: ${error.message.split(": ")[0]}, whose sha256 differs from the manifest's`
    : `${off}: ${error.message}`;
}

// A status line under a block (its id): which side answered, or why the page does not.
export function noteUnder(blockId, noteId, text) {
  let line = document.getElementById(noteId);
  const block = document.getElementById(blockId);
  if (!line && block) {
    line = document.createElement("p");
    line.id = noteId;
    line.setAttribute("role", "status");
    line.style.cssText = "font-size: 13px; margin: 4px 0; color: var(--body-text-color-subdued, #555);";
    block.after(line);
  }
  if (line) line.textContent = text;
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

// A canvas of `width` x `height` laid over a gr.Image block's picture (the block's id), shown with
// crisp pixels where the server's picture is drawn (object-fit: contain), else where it will show:
// under the block's label, as large as fits. It is placed again whenever the block's picture
// arrives, changes or resizes. Returns its 2D context to paint; hidden by `hide`.
export function overImage(blockId, canvasId, width, height) {
  const block = document.getElementById(blockId);
  if (!block) return null;
  let canvas = document.getElementById(canvasId);
  if (!canvas) {
    canvas = document.createElement("canvas");
    canvas.id = canvasId;
    block.style.position = "relative";
    block.append(canvas);
    // After the layout the change brings, and again when the new picture has loaded.
    const again = () => requestAnimationFrame(() => { if (!canvas.hidden) place(block, canvas); });
    new ResizeObserver(again).observe(block);
    new MutationObserver(again).observe(block, { childList: true, subtree: true, attributes: true, attributeFilter: ["src"] });
    block.addEventListener("load", again, true); // an <img>'s load reaches its ancestors in the capture phase
  }
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  canvas.hidden = false;
  place(block, canvas);
  return canvas.getContext("2d");
}

function place(block, canvas) {
  const box = block.getBoundingClientRect();
  const picture = block.querySelector("img")?.getBoundingClientRect();
  let area;
  if (picture?.height) {
    area = { left: picture.left - box.left, top: picture.top - box.top, width: picture.width, height: picture.height };
  } else {
    const label = block.querySelector("label")?.getBoundingClientRect();
    const top = label ? label.bottom - box.top : 26;
    area = { left: 0, top, width: box.width, height: Math.max(28, box.height - top) };
  }
  // Absolute positions start inside the block's border.
  area.left -= block.clientLeft;
  area.top -= block.clientTop;
  const scale = Math.min(area.width / canvas.width, area.height / canvas.height);
  const style = { position: "absolute", zIndex: 5, imageRendering: "pixelated", pointerEvents: "none",
    left: `${area.left + (area.width - canvas.width * scale) / 2}px`,
    top: `${area.top + (area.height - canvas.height * scale) / 2}px`,
    width: `${canvas.width * scale}px`, height: `${canvas.height * scale}px` };
  // Only a real move is written: the MutationObserver must not see its own writes as changes.
  if (Object.entries(style).some(([key, value]) => canvas.style[key] !== String(value))) Object.assign(canvas.style, style);
}

export function hide(canvasId) {
  const canvas = document.getElementById(canvasId);
  if (canvas) canvas.hidden = true;
}

// Model images (N x 28 x 28 values in [0, 1], white on black) painted at (x, y) per image.
export function paintDigits(ctx, images, places) {
  places.forEach(([x, y], i) => {
    const image = ctx.createImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const v = Math.round(Math.min(Math.max(images[i * 784 + p], 0), 1) * 255);
      image.data.set([v, v, v, 255], 4 * p);
    }
    ctx.putImageData(image, x, y);
  });
}

// One 28x28 image over a gr.Image block's picture; hidden when `pixels` is null.
export function showOverImage(blockId, canvasId, pixels) {
  if (!pixels) { hide(canvasId); return; }
  const ctx = overImage(blockId, canvasId, 28, 28);
  if (ctx) paintDigits(ctx, pixels, [[0, 0]]);
}
