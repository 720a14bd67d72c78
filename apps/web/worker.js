// One of pool.js's Web Workers: its own onnxruntime-web (loaded and checked by runtime.js, as the
// page loads it) running the rows of a batch it is sent. Messages:
//   { kind: "start", runtime }                      models.json's runtime, URLs absolute
//   { kind: "run", id, entry, batch, dims }         -> { id, outputs: [{ data, dims }] } or { id, error }
// Runs go one at a time, in the order they came (onnxruntime-web's wasm session runs one at a time).

import { loadRuntime, openModel } from "./runtime.js";

let ort = null, queue = Promise.resolve();
const sessions = new Map(); // file URL -> { entry, session } (or the error that refused it)

async function run({ entry, batch, dims }) {
  const runtime = await ort;
  if (!sessions.has(entry.file)) sessions.set(entry.file, openModel(runtime, entry).catch((error) => error));
  const opened = await sessions.get(entry.file);
  if (opened instanceof Error) throw opened;
  const results = await opened.session.run({ [entry.inputs[0].name]: new runtime.Tensor("float32", batch, dims) });
  return entry.outputs.map(({ name }) => ({ data: results[name].data, dims: results[name].dims }));
}

self.addEventListener("message", ({ data: message }) => {
  if (message.kind === "start") {
    ort = loadRuntime(message.runtime);
    ort.catch(() => {}); // said to each run that needs it
    return;
  }
  queue = queue.then(async () => {
    try {
      const outputs = await run(message);
      self.postMessage({ id: message.id, outputs }, [...new Set(outputs.map((o) => o.data.buffer))]);
    } catch (error) {
      self.postMessage({ id: message.id, error: error.message });
    }
  });
});
