// The classroom pages' shared code (classroom.js): the API client's retries, the drawing a student's
// page sends (as hub/classroom/drawing.py checks it), the prompts, what a device keeps, the dashboard's
// thumbnails and formats. The pages' DOM is driven by the hub's browser tests.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, PromptWalk, api, backoff, drawingPayload, forgetDevice, keyFromHash, loadDevice, newId,
         normalizeCode, percent, pixelsFromBase64, saveDevice, strokesToSend, svgDataUrl, updatedAgo } from "../classroom.js";

// A stand-in for fetch answering from `answers` in turn (an Error is thrown: no answer at all);
// the requests it saw are in `.seen`.
function server(...answers) {
  const seen = [];
  const fetch = async (url, init) => {
    seen.push({ url, ...init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    const [status, body, headers = {}] = next;
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
  };
  fetch.seen = seen;
  return fetch;
}

const noWait = () => {
  const waits = [];
  const sleep = async (ms) => { waits.push(ms); };
  sleep.waits = waits;
  return sleep;
};

test("a POST sends JSON, the teacher's key in its header, and resolves to the answer", async () => {
  const fetch = server([200, { saved: 3, duplicate: false }]);
  assert.deepEqual(await api("delete-drawing", { id: 3 }, "k3y", { fetch }), { saved: 3, duplicate: false });
  const [request] = fetch.seen;
  assert.equal(request.url, "/digitzoo/classroom/api/delete-drawing");
  assert.equal(request.method, "POST");
  assert.deepEqual(request.body, { id: 3 });
  assert.equal(request.headers["X-Teacher-Key"], "k3y");
  assert.equal(request.headers["Content-Type"], "application/json");
});

test("a GET has no body and no key header without a key", async () => {
  const fetch = server([200, { drawings: [] }]);
  await api("cell?model=mnist_cnn&label=1&read=7", undefined, null, { fetch });
  assert.equal(fetch.seen[0].method, "GET");
  assert.equal(fetch.seen[0].body, undefined);
  assert.equal("X-Teacher-Key" in fetch.seen[0].headers, false);
});

test("a refusal rejects with the server's sentence and status, and is not asked again", async () => {
  const fetch = server([404, { error: "There is no class with this code: check it on the projector." }]);
  const error = await api("join", { code: "ABC234" }, null, { fetch, sleep: noWait() }).catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 404);
  assert.equal(error.message, "There is no class with this code: check it on the projector.");
  assert.equal(fetch.seen.length, 1);
});

test("busy (503) is asked again with growing waits, then said", async () => {
  const sleep = noWait(), told = [];
  const fetch = server([503, { error: "busy" }], [503, { error: "busy" }], [200, { ok: 1 }]);
  assert.deepEqual(await api("dashboard", undefined, "k", { fetch, sleep, random: () => 0, onRetry: (r) => told.push(r) }), { ok: 1 });
  assert.deepEqual(sleep.waits, [500, 1000]);
  assert.deepEqual(told.map((r) => [r.why, r.attempt]), [["busy", 1], ["busy", 2]]);
  const giveUp = server([503, { error: "The server is busy." }], [503, { error: "The server is busy." }]);
  const error = await api("dashboard", undefined, "k", { fetch: giveUp, sleep: noWait(), busyRetries: 1 }).catch((e) => e);
  assert.equal(error.status, 503);
  assert.equal(error.message, "The server is busy.");
});

test("a drawing whose answer was lost is sent again, the same drawing (the same id)", async () => {
  const sleep = noWait();
  const fetch = server(new TypeError("Failed to fetch"), new TypeError("Failed to fetch"), [200, { saved: 9, duplicate: true }]);
  const body = { code: "ABC234", token: "t", drawing: { id: "a1b2c3d4-e5f6", label: 3 } };
  const told = [];
  assert.deepEqual(await api("drawings", body, null, { fetch, sleep, networkRetries: Infinity, onRetry: (r) => told.push(r.why) }),
                   { saved: 9, duplicate: true });
  assert.equal(fetch.seen.length, 3);
  assert.deepEqual(new Set(fetch.seen.map((r) => r.body.drawing.id)), new Set(["a1b2c3d4-e5f6"]));
  assert.deepEqual(told, ["network", "network"]);
  const offline = await api("start", { hours: 4 }, null, { fetch: server(new TypeError("offline")), networkRetries: 0 }).catch((e) => e);
  assert.equal(offline.status, 0);
  assert.match(offline.message, /could not be reached/);
});

test("429 'one drawing a second' waits (Retry-After, else a second) and sends again", async () => {
  const sleep = noWait();
  const fetch = server([429, { error: "One drawing a second at most." }, { "Retry-After": "2" }],
                       [429, { error: "One drawing a second at most." }], [200, { saved: 1, duplicate: false }]);
  assert.deepEqual(await api("drawings", {}, null, { fetch, sleep }), { saved: 1, duplicate: false });
  assert.deepEqual(sleep.waits, [2000, 1100]);
  const refused = await api("join", {}, null, { fetch: server([429, { error: "Too many wrong codes." }]), tooFastRetries: 0 })
    .catch((e) => e);
  assert.equal(refused.message, "Too many wrong codes.");
});

test("an error page that is not JSON is said by its status", async () => {
  const fetch = async () => new Response("<html>oops</html>", { status: 500 });
  const error = await api("dashboard", undefined, "k", { fetch }).catch((e) => e);
  assert.equal(error.message, "The server answered HTTP 500.");
});

test("raw answers the Response itself (the export's zip)", async () => {
  const fetch = async () => new Response(new Uint8Array([80, 75, 3, 4]), { status: 200 });
  const response = await api("export", undefined, "k", { fetch, raw: true });
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), new Uint8Array([80, 75, 3, 4]));
});

test("backoff doubles to a cap, with at most a quarter more at random", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map((a) => backoff(a, { random: () => 0 })), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  assert.equal(backoff(0, { random: () => 0.999999 }), 625);
});

test("join codes are read as typed and refused when they cannot be one", () => {
  assert.equal(normalizeCode(" abc 234 "), "ABC234");
  assert.equal(normalizeCode("abc-234"), "ABC234");
  assert.equal(normalizeCode("ABC23"), "");
  assert.equal(normalizeCode("ABC1O4"), ""); // 1 and O are not in the codes' alphabet
  assert.equal(normalizeCode(null), "");
});

test("drawing ids are UUIDs with or without crypto.randomUUID (plain http pages lack it)", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(newId(), uuid);
  const fallback = newId({ getRandomValues: (bytes) => globalThis.crypto.getRandomValues(bytes) });
  assert.match(fallback, uuid);
  assert.notEqual(newId({ getRandomValues: (b) => crypto.getRandomValues(b) }), fallback);
  assert.match(fallback, /^[A-Za-z0-9_-]{8,64}$/); // hub/classroom/drawing.py's DRAWING_ID
});

test("strokes go as the server keeps them: on the pad, times from the first point", () => {
  const strokes = [[[10.123, 20.16, 5000.4], [-3, 600, 5016.6]], [[100, 100, 5400]]];
  assert.deepEqual(strokesToSend(strokes, 560), [[[10.1, 20.2, 0], [0, 560, 16]], [[100, 100, 400]]]);
  assert.deepEqual(strokesToSend([], 560), []);
});

test("the drawing's payload has exactly the fields the server accepts, in range", () => {
  const seen = new Float32Array(784).map((_, i) => (i % 7) / 6.0001);
  seen[0] = 1.0000001; // float rounding above 1 is brought back
  const reading = { seen, probs: { mnist_cnn: [0.9, 0.1, 0, 0, 0, 0, 0, 0, 0, 1e-9], mnist_mlp: new Array(10).fill(0.1) },
                    doubt: 0.12345678 };
  const payload = drawingPayload({ id: "1234abcd-0000", label: 7, prompted: true, size: 560, reading,
                                   strokes: [[[1, 2, 100], [3, 4, 120]]] });
  assert.deepEqual(Object.keys(payload).sort(), ["answers", "id", "label", "not_digit", "pixels", "prompted", "strokes"]);
  assert.equal(payload.pixels.length, 784);
  assert.ok(payload.pixels.every((v) => typeof v === "number" && v >= 0 && v <= 1));
  assert.equal(payload.pixels[0], 1);
  assert.deepEqual(Object.keys(payload.answers), ["mnist_cnn", "mnist_mlp"]);
  assert.ok(Array.isArray(payload.answers.mnist_cnn) && payload.answers.mnist_cnn.length === 10);
  assert.equal(payload.answers.mnist_cnn[9], 0);
  assert.equal(payload.not_digit, 0.123457);
  assert.deepEqual(payload.strokes, [[[1, 2, 0], [3, 4, 20]]]);
  assert.equal(payload.prompted, true);
  const JSONable = JSON.parse(JSON.stringify(payload)); // typed arrays would become objects
  assert.deepEqual(JSONable, payload);
  const noDetector = drawingPayload({ id: "x2345678", label: 0, prompted: false, size: 560, strokes: [[[0, 0, 0]]],
                                      reading: { ...reading, doubt: null } });
  assert.equal(noDetector.not_digit, 0);
  assert.throws(() => drawingPayload({ id: "x", label: 0, size: 560, strokes: [], reading: { seen: new Float32Array(10), probs: {} } }));
});

test("the dashboard's base64 thumbnails become [0, 1] pixels", () => {
  const bytes = new Uint8Array(784).map((_, i) => i % 256);
  const pixels = pixelsFromBase64(Buffer.from(bytes).toString("base64"));
  assert.equal(pixels.length, 784);
  assert.equal(pixels[0], 0);
  assert.equal(pixels[255], 1);
  assert.ok(Math.abs(pixels[300] - 44 / 255) < 1e-6);
  assert.throws(() => pixelsFromBase64(Buffer.from([1, 2, 3]).toString("base64")), /784/);
});

test("the QR's SVG becomes an image's data: URL, bytes intact", () => {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><title>é</title><path d="M0 0h1v1H0z"/></svg>`;
  const url = svgDataUrl(svg);
  assert.ok(url.startsWith("data:image/svg+xml;base64,"));
  assert.equal(Buffer.from(url.split(",")[1], "base64").toString("utf-8"), svg);
  // SVG made for inlining in HTML (segno's svg_inline) has no namespace, without which no image shows.
  const inline = `<svg width="296" height="296" class="segno"><path d="M2 2.5h7"/></svg>`;
  assert.equal(Buffer.from(svgDataUrl(inline).split(",")[1], "base64").toString("utf-8"),
               `<svg xmlns="http://www.w3.org/2000/svg" width="296" height="296" class="segno"><path d="M2 2.5h7"/></svg>`);
});

test("the prompts are walked in order, and again from the start after the last", () => {
  const walk = new PromptWalk([3, 1, 2]);
  assert.equal(walk.current, 3);
  assert.equal(walk.progress, "1 of 3");
  assert.equal(walk.advance(), 1);
  assert.equal(walk.advance(), 2);
  assert.equal(walk.progress, "3 of 3");
  assert.equal(walk.advance(), 3);
  assert.equal(walk.done, 3);
  assert.equal(new PromptWalk([3, 1, 2], 4).current, 1); // a reload resumes where the device was
  assert.throws(() => new PromptWalk([]));
});

test("a device is kept per code until its class expires", () => {
  const items = new Map();
  const storage = { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, v), removeItem: (k) => items.delete(k) };
  const device = { token: "tok", prompts: [1, 2], expires_at: 2000, consent: "ok", agreed: true, done: 1 };
  saveDevice(storage, "ABC234", device);
  assert.deepEqual(loadDevice(storage, "ABC234", 1_000_000), device);
  assert.equal(loadDevice(storage, "XYZ789", 1_000_000), null);
  assert.equal(loadDevice(storage, "ABC234", 2_000_000), null); // expired: forgotten
  assert.equal(items.size, 0);
  items.set("digitzoo-classroom/ABC234", "{not json");
  assert.equal(loadDevice(storage, "ABC234"), null);
  saveDevice(storage, "ABC234", device);
  forgetDevice(storage, "ABC234");
  assert.equal(loadDevice(storage, "ABC234", 0), null);
  const refusing = { getItem: () => { throw new Error("denied"); }, setItem: () => { throw new Error("full"); }, removeItem: () => {} };
  assert.doesNotThrow(() => saveDevice(refusing, "ABC234", device));
});

test("the teacher's key comes from the address's fragment", () => {
  assert.equal(keyFromHash("#key=abc_DEF-123"), "abc_DEF-123");
  assert.equal(keyFromHash("key=abc"), "abc");
  assert.equal(keyFromHash(""), "");
  assert.equal(keyFromHash("#other=1"), "");
});

test("the dashboard's small formats", () => {
  assert.equal(percent(0.97312), "97.3%");
  assert.equal(percent(null), "–");
  assert.equal(updatedAgo(2900), "updated 2 s ago");
  assert.equal(updatedAgo(-5), "updated 0 s ago");
});
