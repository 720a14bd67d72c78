// A model run too big for one thread, split across Web Workers: the "Why?" maps' occlusion runs the
// classifier on ~50-90 patched copies of the drawing per model (~45 ms for the CNN in wasm on one
// thread). onnxruntime-web's own threads need SharedArrayBuffer, so cross-origin isolation headers
// that a static host or the hub's page cannot promise; workers need nothing. Each worker
// (worker.js) loads onnxruntime-web with runtime.js's checks (module and WebAssembly pinned by
// sha384) and opens model files with their sha256 checked, as the page does; a batch's rows are
// dealt out in contiguous parts and the outputs put back in order. While they run, the page's own
// thread is free to paint the answer and take the next stroke.
//
// Model code only, no DOM. Refusals are errors: the caller runs the batch itself then.

// [start, end) rows of `count` in `parts` contiguous parts as equal as can be (none empty).
export function splitRows(count, parts) {
  const n = Math.max(1, Math.min(parts, count)), base = Math.floor(count / n), extra = count % n;
  const spans = [];
  for (let i = 0, start = 0; i < n; i++) {
    const end = start + base + (i < extra ? 1 : 0);
    spans.push([start, end]);
    start = end;
  }
  return spans;
}

// Outputs of the parts ([[{ data, dims }] per output] in row order) joined along the batch axis.
export function joinRows(parts) {
  return parts[0].map((_, o) => {
    const pieces = parts.map((outputs) => outputs[o]);
    const data = new Float32Array(pieces.reduce((sum, p) => sum + p.data.length, 0));
    let at = 0;
    for (const p of pieces) { data.set(p.data, at); at += p.data.length; }
    return { data, dims: [pieces.reduce((sum, p) => sum + p.dims[0], 0), ...pieces[0].dims.slice(1)] };
  });
}

// Absolute URLs for what a worker fetches: models.json's may be relative to the page, and a worker
// resolves against its own script's address.
const absolute = (url, base) => new URL(url, base).href;

export class WorkerPool {
  // runtime: models.json's `runtime`; size: workers (two: the most a 2-core machine gains from,
  // memory kept small on phones); makeWorker: () => a Worker-like object (the tests pass stand-ins).
  constructor(runtime, { size = 2, base = globalThis.document?.baseURI,
                         makeWorker = () => new Worker(new URL("./worker.js", import.meta.url), { type: "module" }) } = {}) {
    Object.assign(this, { size, base, makeWorker, workers: null, pending: new Map(), next: 0, broken: null, started: false });
    this.runtime = { ...runtime, module: absolute(runtime.module, base), wasm: absolute(runtime.wasm, base) };
  }

  // Whether every worker has its onnxruntime-web loaded (and none failed): until then a caller
  // that cannot wait runs its batch itself (the first drawing's maps: the workers' start, each
  // compiling the 14 MB WebAssembly, made them ~0.4 s later on 2 cores).
  get ready() {
    return this.started && !this.broken;
  }

  // The workers, started on first use, off the page's thread.
  #start() {
    if (this.workers) return this.workers;
    this.workers = Array.from({ length: this.size }, () => {
      const worker = this.makeWorker();
      worker.addEventListener("message", ({ data }) => this.#answer(data));
      // A worker whose script could not load: nothing it was asked will be answered.
      worker.addEventListener("error", (event) => this.#fail(new Error(`a worker failed: ${event.message ?? "could not start"}`)));
      return worker;
    });
    Promise.all(this.workers.map((worker) => this.#ask(worker, { kind: "start", runtime: this.runtime })))
      .then(() => { this.started = true; }, (error) => this.#fail(error));
    return this.workers;
  }

  // Starts the workers and has each open `entry`'s file (its sha256 checked), ahead of the runs.
  prepare(entry) {
    if (this.broken) return;
    const file = { ...entry, file: absolute(entry.file, this.base) };
    for (const worker of this.#start()) this.#ask(worker, { kind: "open", entry: file }).catch((error) => this.#fail(error));
  }

  #answer({ id, outputs, error }) {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    if (error) waiting.reject(new Error(error));
    else waiting.resolve(outputs);
  }

  #fail(error) {
    this.broken ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  #ask(worker, message, transfer) {
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  // `entry`'s outputs ([{ data: Float32Array, dims }] in entry.outputs' order) for `count` inputs of
  // `side`x`side` in `batch` (one input, float32), the rows run in parallel by the workers. Rejects,
  // and keeps rejecting, once a worker could not start or open the file.
  async run(entry, batch, count, side = 28) {
    if (this.broken) throw this.broken;
    const workers = this.#start(), pixels = side * side;
    const file = { ...entry, file: absolute(entry.file, this.base) };
    const parts = await Promise.all(splitRows(count, workers.length).map(([start, end], i) => {
      const rows = batch.slice(start * pixels, end * pixels); // a copy of its own, moved to the worker
      return this.#ask(workers[i], { kind: "run", entry: file, batch: rows, dims: [end - start, 1, side, side] }, [rows.buffer]);
    })).catch((error) => { this.#fail(error); throw error; });
    return joinRows(parts);
  }
}
