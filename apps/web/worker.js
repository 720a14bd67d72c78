// One of pool.js's Web Workers: its own onnxruntime-web (loaded and checked by runtime.js, as the
// page loads it) running the rows of a batch it is sent. Each message is answered { id, outputs } or
// { id, error }, one at a time in the order they came (onnxruntime-web's wasm session runs one at a time):
//   { kind: "start", id, runtime }                  models.json's runtime, URLs absolute -> outputs []
//   { kind: "open", id, entry }                     a model file opened (sha256 checked) -> outputs []
//   { kind: "run", id, entry, batch, dims }         -> outputs [{ data, dims }] in entry.outputs' order

import { loadRuntime, openModel } from "./runtime.js";

let ort = null, queue = Promise.resolve();
const sessions = new Map(); // file URL -> { entry, session } (or the error that refused it)

async function open(entry) {
  const runtime = await ort;
  if (!sessions.has(entry.file)) sessions.set(entry.file, openModel(runtime, entry).catch((error) => error));
  const opened = await sessions.get(entry.file);
  if (opened instanceof Error) throw opened;
  return { runtime, session: opened.session };
}

const DO = {
  async start({ runtime }) {
    ort = loadRuntime(runtime);
    await ort;
    return [];
  },
  async open({ entry }) {
    await open(entry);
    return [];
  },
  async run({ entry, batch, dims }) {
    const { runtime, session } = await open(entry);
    const results = await session.run({ [entry.inputs[0].name]: new runtime.Tensor("float32", batch, dims) });
    return entry.outputs.map(({ name }) => ({ data: results[name].data, dims: results[name].dims }));
  },
};

self.addEventListener("message", ({ data: message }) => {
  queue = queue.then(async () => {
    try {
      const outputs = await DO[message.kind](message);
      self.postMessage({ id: message.id, outputs }, [...new Set(outputs.map((o) => o.data.buffer))]);
    } catch (error) {
      self.postMessage({ id: message.id, error: error.message });
    }
  });
});
