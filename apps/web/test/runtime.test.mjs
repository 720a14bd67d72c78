// runtime.js's pure parts and its checks, with fetch (and requestAnimationFrame) stood in for:
// the sha256 check of model files, the loading of onnxruntime-web's module and WebAssembly binary
// (their failures as RuntimeMissing sentences), softmax and the throttle. Node has WebCrypto
// (globalThis.crypto.subtle) as the browser does.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { afterEach, beforeEach, test } from "node:test";

import { RefusedFile, RuntimeMissing, fetchVerified, importPinned, loadRuntime, openModel, softmax } from "../runtime.js";

const BYTES = new TextEncoder().encode("pretend these are the bytes of an ONNX file");
const SHA256 = createHash("sha256").update(BYTES).digest("hex");

// fetch answers from `files` (url -> bytes); anything else is a 404. Each call is recorded.
let files, calls;
const realFetch = globalThis.fetch;
beforeEach(() => {
  files = new Map();
  calls = [];
  globalThis.fetch = async (url, options) => {
    calls.push({ url, options });
    return files.has(url) ? new Response(files.get(url)) : new Response("missing", { status: 404 });
  };
});
afterEach(() => { globalThis.fetch = realFetch; });

test("fetchVerified returns the bytes whose sha256 matches", async () => {
  files.set("models/a.onnx", BYTES);
  const bytes = await fetchVerified("models/a.onnx", SHA256);
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(bytes, BYTES);
});

test("fetchVerified refuses a file whose bytes do not match, saying which", async () => {
  const changed = BYTES.slice();
  changed[0] ^= 1;
  files.set("models/a.onnx", changed);
  await assert.rejects(fetchVerified("models/a.onnx", SHA256), (error) => {
    assert.ok(error instanceof RefusedFile);
    assert.match(error.message, /^Refused models\/a\.onnx: its sha256 is [0-9a-f]{12}…, models\.json expects /);
    assert.ok(error.message.includes(`${SHA256.slice(0, 12)}…`) && error.message.includes("rebuild the site"));
    return true;
  });
});

test("fetchVerified refuses a file it cannot read (HTTP status)", async () => {
  await assert.rejects(fetchVerified("models/gone.onnx", SHA256),
                       (error) => error instanceof RefusedFile && /could not be read \(HTTP 404\)/.test(error.message));
});

test("openModel opens a session only on checked bytes, with the wasm backend", async () => {
  files.set("models/a.onnx", BYTES);
  const created = [];
  const ort = { InferenceSession: { create: async (bytes, options) => { created.push({ bytes, options }); return "session"; } } };
  const entry = { file: "models/a.onnx", sha256: SHA256, label: "A" };
  assert.deepEqual(await openModel(ort, entry), { entry, session: "session" });
  assert.deepEqual(created, [{ bytes: BYTES, options: { executionProviders: ["wasm"] } }]);
  await assert.rejects(openModel(ort, { ...entry, sha256: "0".repeat(64) }), RefusedFile);
  assert.equal(created.length, 1); // the refused file never reached onnxruntime
});

const RUNTIME = { module: "vendor/ort.mjs", wasm: "vendor/ort.wasm", wasm_integrity: "sha384-pinned",
                  missing_hint: "Rebuild the site." };

test("loadRuntime: the module, then its WebAssembly fetched with its sha384, single-threaded", async () => {
  files.set(RUNTIME.wasm, BYTES);
  const ort = { env: { wasm: { numThreads: 4, proxy: true } } };
  assert.equal(await loadRuntime(RUNTIME, async () => ort), ort);
  assert.deepEqual(calls, [{ url: RUNTIME.wasm, options: { integrity: "sha384-pinned" } }]);
  assert.equal(ort.env.wasm.numThreads, 1);
  assert.equal(ort.env.wasm.proxy, false);
  assert.deepEqual(new Uint8Array(ort.env.wasm.wasmBinary), BYTES);
});

test("loadRuntime: a module or binary that cannot load is RuntimeMissing, with the hint", async () => {
  await assert.rejects(loadRuntime(RUNTIME, async () => { throw new Error("blocked"); }), (error) =>
    error instanceof RuntimeMissing && error.message.includes("from vendor/ort.mjs (blocked)") &&
    error.message.endsWith("Rebuild the site."));
  assert.equal(calls.length, 0);
  await assert.rejects(loadRuntime(RUNTIME, async () => ({ env: { wasm: {} } })), (error) =>
    error instanceof RuntimeMissing && error.message.includes("from vendor/ort.wasm (HTTP 404)") &&
    error.message.endsWith("Rebuild the site."));
  globalThis.fetch = async () => { throw new TypeError("integrity mismatch"); };
  await assert.rejects(loadRuntime(RUNTIME, async () => ({ env: { wasm: {} } })),
                       (error) => error instanceof RuntimeMissing && error.message.includes("(integrity mismatch)"));
});

test("importPinned fetches the module with its sha384 and stops at an HTTP error", async () => {
  await assert.rejects(importPinned({ module: "cdn/ort.mjs", module_integrity: "sha384-x" }), /HTTP 404/);
  assert.deepEqual(calls, [{ url: "cdn/ort.mjs", options: { integrity: "sha384-x" } }]);
  // Importing the fetched bytes goes through a blob: URL, which only a browser imports (the browser tests).
});

test("softmax: probabilities of one row, stable for large scores", () => {
  const p = softmax([1, 2, 3]);
  const e = [1, 2, 3].map((v) => Math.exp(v));
  const total = e.reduce((a, b) => a + b);
  e.forEach((v, i) => assert.ok(Math.abs(p[i] - v / total) < 1e-15));
  assert.deepEqual(softmax(Float32Array.from([9, 9, 1000, 1001, 9]), 2, 2).map((v) => v.toFixed(6)),
                   ["0.268941", "0.731059"]);
  assert.ok(Math.abs(softmax(Float32Array.from([0, 0, 0, 0])).reduce((a, b) => a + b) - 1) < 1e-15);
});
