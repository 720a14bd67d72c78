// Where the page's bytes come from, and the checks they pass before anything runs them.
//
// models.json (written by `digitzoo web build` from the manifest) lists every model file with its
// sha256: a file is read whole, hashed (digestHex: crypto.subtle, or digest.js where the page is not
// a secure context), and only a match becomes an onnxruntime-web session. onnxruntime-web itself is
// pinned by sha384 (Subresource Integrity, checked by the browser's fetch, secure context or not):
// the JavaScript through the import map in index.html, the WebAssembly binary here.

import { sha256 as sha256Of, toHex } from "./digest.js";

export class RefusedFile extends Error {}
export class RuntimeMissing extends Error {}

// The digest of `bytes` (ArrayBuffer or typed array) as lowercase hex. crypto.subtle exists only in
// secure contexts (https://, http://localhost): a class's phones reach the teacher's hub over plain
// http on the LAN (http://192.168.x.y:7860/...), where it is undefined. There SHA-256 is computed
// by digest.js instead, the same digest, so the check below is the same on every page.
export async function digestHex(algorithm, bytes) {
  if (globalThis.crypto?.subtle) return toHex(await crypto.subtle.digest(algorithm, bytes));
  if (algorithm !== "SHA-256") throw new Error(`${algorithm} needs crypto.subtle (https://, or localhost)`);
  return toHex(sha256Of(bytes));
}

// The bytes of `url`, or RefusedFile when they do not hash to `sha256` (hex, as in the manifest).
export async function fetchVerified(url, sha256) {
  const response = await fetch(url);
  if (!response.ok) throw new RefusedFile(`${url} could not be read (HTTP ${response.status}).`);
  const bytes = await response.arrayBuffer();
  const actual = await digestHex("SHA-256", bytes);
  if (actual !== sha256) {
    throw new RefusedFile(`Refused ${url}: its sha256 is ${actual.slice(0, 12)}…, models.json expects ` +
                          `${sha256.slice(0, 12)}…. The file was changed or damaged; rebuild the site.`);
  }
  return new Uint8Array(bytes);
}

// onnxruntime-web's wasm build, single-threaded: no SharedArrayBuffer, so no COOP/COEP headers and
// any static host works. Fails with RuntimeMissing (a sentence for the page) when it cannot load.
// `importModule` loads the module: by default `importPinned` (its bytes checked by their sha384;
// the tests pass a stand-in).
export async function loadRuntime(runtime, importModule = () => importPinned(runtime)) {
  let ort;
  try {
    ort = await importModule();
  } catch (error) {
    throw new RuntimeMissing(`onnxruntime-web could not be loaded from ${runtime.module} (${error.message}). ` +
                             runtime.missing_hint);
  }
  let wasm;
  try {
    const response = await fetch(runtime.wasm, { integrity: runtime.wasm_integrity });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    wasm = await response.arrayBuffer();
  } catch (error) {
    throw new RuntimeMissing(`The onnxruntime-web WebAssembly file could not be loaded from ${runtime.wasm} ` +
                             `(${error.message}). ${runtime.missing_hint}`);
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = wasm; // checked above: onnxruntime-web must not fetch its own, unchecked
  return ort;
}

// The module at runtime.module, fetched with its sha384 checked (Subresource Integrity) and imported
// from those bytes: for a page without an import map.
export async function importPinned(runtime) {
  const response = await fetch(runtime.module, { integrity: runtime.module_integrity });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const url = URL.createObjectURL(new Blob([await response.arrayBuffer()], { type: "text/javascript" }));
  try {
    return await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

// One model file of models.json -> { entry, session } after its checksum matched.
export async function openModel(ort, entry) {
  const bytes = await fetchVerified(entry.file, entry.sha256);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  return { entry, session };
}

// Probabilities from `count` scores starting at `offset` (one row of a (rows, classes) output).
export function softmax(logits, offset = 0, count = logits.length) {
  let top = -Infinity;
  for (let i = 0; i < count; i++) top = Math.max(top, logits[offset + i]);
  const e = Array.from({ length: count }, (_, i) => Math.exp(logits[offset + i] - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

// mulberry32: a small seeded generator, so one seed always gives the same digits, in every browser
// and from the hub's API (apps/gan.py draws the same numbers in Python).
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Standard normal noise by Box-Muller on mulberry32(seed).
export function normals(seed, count) {
  const uniform = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform())), angle = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = r * Math.sin(angle);
  }
  return out;
}
