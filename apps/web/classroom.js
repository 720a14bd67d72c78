// The classroom pages' shared code (classroom_student.js, classroom_teacher.js): talking to the
// server (apps/classroom.py), the drawing a student's page sends, the prompts it walks, what a
// device keeps in localStorage, and the small formats the dashboard shows. No DOM: it runs in node
// (test/classroom.test.mjs); `fetch`, the clock, sleeping and storage are parameters.

export const API = "/digitzoo/classroom/api/";
export const SIDE = 28;
export const PIXELS = SIDE * SIDE;
// A join code: 6 of the 31 characters that cannot be confused on a projector (hub/classroom/store.py).
export const CODE = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/;
const TEACHER_HEADER = "X-Teacher-Key";

// A refusal or failure with the sentence to show; `status` is the HTTP status (0: no answer at all).
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// How long to wait before try number `attempt` + 1 (0-based): doubling from `base`, at most `cap`,
// with up to a quarter more at random so that a class of phones does not come back at once.
export function backoff(attempt, { base = 500, cap = 8000, random = Math.random } = {}) {
  const wait = Math.min(cap, base * 2 ** attempt);
  return Math.round(wait * (1 + random() / 4));
}

const sleeping = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One call to the classroom's API: GET `path` when `body` is undefined, else POST it as JSON; the
// teacher's `key` goes in a header (never in the URL). Resolves to the answer's JSON (or, with
// `raw`, the Response); rejects with an ApiError carrying the server's sentence.
// Asked again, with the same body, after: no answer at all (a phone losing its network; up to
// `networkRetries`: Infinity for a drawing, whose id makes a resend harmless), 503 "busy" or a
// gateway's 502/504 (up to `busyRetries`), 429 "one drawing a second" (after Retry-After or a second,
// up to `tooFastRetries`). Before each wait `onRetry({ why: "network" | "busy" | "too fast", attempt,
// wait, message })` is told, so the page can say so.
export async function api(path, body, key, {
  fetch = globalThis.fetch, sleep = sleeping, base = API, raw = false, onRetry = () => {},
  networkRetries = 3, busyRetries = 4, tooFastRetries = 5, random = Math.random,
} = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers[TEACHER_HEADER] = key;
  const init = body === undefined ? { method: "GET", headers, cache: "no-store" }
    : { method: "POST", headers, body: JSON.stringify(body), cache: "no-store" };
  const tries = { network: 0, busy: 0, "too fast": 0 };
  const limits = { network: networkRetries, busy: busyRetries, "too fast": tooFastRetries };
  for (let attempt = 0; ; attempt++) {
    let response = null, why, message, wait;
    try {
      response = await fetch(base + path, init);
    } catch (error) {
      why = "network";
      message = `The server could not be reached (${error.message}).`;
    }
    if (response) {
      if (response.ok) return raw ? response : response.json();
      message = await sentence(response);
      if (response.status === 503 || response.status === 502 || response.status === 504) why = "busy";
      else if (response.status === 429) {
        why = "too fast";
        const after = Number(response.headers?.get?.("Retry-After"));
        wait = Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 1100;
      } else throw new ApiError(message, response.status);
    }
    if (tries[why] >= limits[why]) throw new ApiError(message, response ? response.status : 0);
    wait ??= backoff(tries[why], { random });
    tries[why]++;
    onRetry({ why, attempt: tries[why], wait, message });
    await sleep(wait);
  }
}

// The sentence of an error answer: its JSON's "error", else what HTTP says.
async function sentence(response) {
  try {
    const answer = await response.json();
    if (answer && typeof answer.error === "string" && answer.error) return answer.error;
  } catch {
    // not JSON (a proxy's page): the status says it
  }
  return response.status === 503 ? "The server is busy: trying again." : `The server answered HTTP ${response.status}.`;
}

// A join code as typed ("abc 234", "ABC-234") in the server's form, or "" when it cannot be one.
export function normalizeCode(text) {
  const code = String(text ?? "").toUpperCase().replace(/[\s-]/g, "");
  return CODE.test(code) ? code : "";
}

// A new drawing id: a UUID. crypto.randomUUID exists only on https:// (and localhost); a class on a
// LAN address gets the same from getRandomValues, which every context has.
export function newId(crypto = globalThis.crypto) {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10
  const hex = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const rounded = (v, places) => Math.round(v * 10 ** places) / 10 ** places;

// The pad's strokes (pad.js Strokes.toJSON: pad pixels, the pointer events' timestamps) as the server
// keeps them: points on the pad (a finger that slid off it is put back on its edge), x and y to 0.1 px,
// times in whole milliseconds since the drawing's first point.
export function strokesToSend(strokes, size) {
  const t0 = strokes[0]?.[0]?.[2] ?? 0;
  return strokes.map((stroke) => stroke.map(([x, y, t]) => [
    rounded(clamp(x, 0, size), 1), rounded(clamp(y, 0, size), 1), Math.max(0, Math.round(t - t0))]));
}

// The body of POST drawings: `strokes` as the pad keeps them, `size` the pad's side, `reading` the
// models' Reading of the drawing (reader.js: its `seen` 28x28 and `probs` per model, `doubt` the
// detector's; a page without the detector sends 0). Numbers are rounded to what the server keeps.
export function drawingPayload({ id, label, prompted, strokes, size, reading }) {
  if (reading.seen.length !== PIXELS) throw new Error(`A reading of ${reading.seen.length} pixels, not ${PIXELS}.`);
  const answers = {};
  for (const [model, probs] of Object.entries(reading.probs)) answers[model] = Array.from(probs, (p) => rounded(clamp(p, 0, 1), 6));
  return {
    id, label, prompted: Boolean(prompted),
    strokes: strokesToSend(strokes, size),
    pixels: Array.from(reading.seen, (v) => rounded(clamp(v, 0, 1), 4)),
    answers,
    not_digit: rounded(clamp(reading.doubt ?? 0, 0, 1), 6),
  };
}

// The dashboard's pixels (base64 of 784 bytes, 0-255) as the 28x28 render.js paints ([0, 1] floats).
export function pixelsFromBase64(text) {
  const binary = atob(text);
  if (binary.length !== PIXELS) throw new Error(`A thumbnail of ${binary.length} bytes, not ${PIXELS}.`);
  const out = new Float32Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) out[i] = binary.charCodeAt(i) / 255;
  return out;
}

// The server's QR code (SVG text) as an <img>'s data: URL: shown as a picture, never as the page's markup.
// An image's SVG is read as XML, where the root needs its namespace; SVG written for inlining into
// HTML (segno's svg_inline) leaves it out, so it is added when missing.
export function svgDataUrl(svg) {
  svg = svg.replace(/^\s*<svg(?![^>]*\sxmlns=)/, '<svg xmlns="http://www.w3.org/2000/svg"');
  const bytes = new TextEncoder().encode(svg);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

// The prompts a device walks ("Draw a 7"): the server's list, in order; after the last, from the start again.
export class PromptWalk {
  constructor(prompts, done = 0) {
    if (!Array.isArray(prompts) || prompts.length === 0) throw new Error("No prompts to walk.");
    this.prompts = prompts;
    this.done = done; // prompted drawings saved so far
  }

  get current() {
    return this.prompts[this.done % this.prompts.length];
  }

  // The next digit, once the current one was saved.
  advance() {
    this.done++;
    return this.current;
  }

  // "3 of 100"
  get progress() {
    return `${(this.done % this.prompts.length) + 1} of ${this.prompts.length}`;
  }
}

// What a device keeps per join code in localStorage (a reload keeps the same device, its token and
// place in the prompts): { token, prompts, expires_at, consent, agreed, done }, or null.
const deviceKey = (code) => `digitzoo-classroom/${code}`;

export function loadDevice(storage, code, now = Date.now()) {
  let kept;
  try {
    kept = JSON.parse(storage.getItem(deviceKey(code)) ?? "null");
  } catch {
    return null; // not this page's JSON
  }
  if (!kept || typeof kept.token !== "string" || !Array.isArray(kept.prompts)) return null;
  if (typeof kept.expires_at === "number" && kept.expires_at * 1000 <= now) {
    forgetDevice(storage, code);
    return null;
  }
  return kept;
}

export function saveDevice(storage, code, device) {
  try {
    storage.setItem(deviceKey(code), JSON.stringify(device));
  } catch {
    // storage full or refused (a private window): the device is kept until the page reloads
  }
}

export function forgetDevice(storage, code) {
  try {
    storage.removeItem(deviceKey(code));
  } catch {
    // as above
  }
}

// The teacher's key from the dashboard's address fragment ("#key=..."), or "".
export function keyFromHash(hash) {
  return new URLSearchParams(String(hash ?? "").replace(/^#/, "")).get("key") ?? "";
}

// 0.9731 -> "97.3%"; null (no drawing read yet) -> "–".
export function percent(fraction) {
  return typeof fraction === "number" && Number.isFinite(fraction) ? `${(100 * fraction).toFixed(1)}%` : "–";
}

// "updated 3 s ago"
export function updatedAgo(ms) {
  return `updated ${Math.max(0, Math.floor(ms / 1000))} s ago`;
}

// A session's end as the teacher reads it: "deleted at 16:40" (local time) from epoch seconds.
export function clockTime(epochSeconds) {
  const date = new Date(epochSeconds * 1000);
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}
