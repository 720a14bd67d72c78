// The classroom's student page (classroom_student.html, at /digitzoo/classroom/join): a phone joins
// the teacher's class with its code, agrees to the one consent sentence, draws the digits it is
// asked for (or any digit, labelled with the picker) and sends each drawing: its strokes, the 28x28
// the page read and every model's answer. The models run here, in the page (onnxruntime-web, each
// file checked against models.json's sha256): the server keeps the drawings and does no inference.
//
// The page modules are the Draw page's own (served under /digitzoo/pages/): the pad (pad.js), the
// 28x28 (sketch.js), opening and running the models (page.js, runtime.js, reader.js). "Saved" is said
// only once the server answered 200; a drawing whose answer was lost is sent again with the same id
// (the server keeps it once). The device's token, prompts and place in them are kept in localStorage
// per code, so a reload is the same device.

import { attachPad } from "../../pages/pad.js";
import { open as openForPage, readSite, startRuntime } from "../../pages/page.js";
import { PageReader } from "../../pages/reader.js";
import { SketchError, preprocess } from "../../pages/sketch.js";
import { ApiError, PromptWalk, api, drawingPayload, forgetDevice, loadDevice, newId, normalizeCode,
         saveDevice } from "./classroom.js";

const MODELS_JSON = new URL("../../pages/models.json", import.meta.url);
const LAST_CODE = "digitzoo-classroom/last";
const $ = (selector) => document.querySelector(selector);
const say = (text) => { $("#status").textContent = text; };
const steps = ["#join-step", "#consent-step", "#draw-step"];
const showStep = (step) => { for (const s of steps) $(s).hidden = s !== step; };

let code = "", device = null, walk = null;
let picked = null; // the digit picked in free mode

// ---- The models: opened while the student types the code and reads the consent ----

// models.json, read at once: the pad's size and brush, the models' files.
const siteRead = readSite(MODELS_JSON);

// { reader, why }: `reader` null when the models cannot run in this browser (`why` says why).
const models = siteRead.then(async (site) => {
  // (On a plain http:// address, the class's LAN, crypto.subtle is missing: runtime.js checks each
  // file with its own SHA-256, digest.js, there.)
  const { ort, why } = await startRuntime(site);
  if (!ort) return { reader: null, why };
  const refused = [];
  const open = (entry) => openForPage(ort, entry, refused);
  const detector = site.detector ? open(site.detector) : null;
  // Every classifier of the Draw page: the dashboard compares them on the class's drawings. A reading
  // waits for those still opening (PageReader).
  const classifiers = new Map(site.draw.map((entry) => [entry.model, open(entry)]));
  const reader = new PageReader(ort, classifiers, await detector, site.pad.not_a_digit_above);
  const opened = (await Promise.all(classifiers.values())).filter(Boolean);
  if (!opened.length) return { reader: null, why: refused.join(" ") || "No model could be opened." };
  return { reader, why: "", note: `The models run on this phone (${opened.length} of ${site.draw.length}, each file checked). ${refused.join(" ")}` };
}, (error) => ({ reader: null, why: error.message }));

let cannotRead = false; // no model runs here: nothing can be sent (the server keeps the models' answers)
$("#models-note").textContent = "Loading the models…";
models.then(({ reader, why, note }) => {
  $("#models-note").textContent = reader ? note : why;
  cannotRead = !reader;
  $("#send").disabled ||= cannotRead;
});

// ---- Joining ----

function remember() {
  saveDevice(localStorage, code, device);
}

async function join(typed) {
  const wanted = normalizeCode(typed);
  if (!wanted) {
    say("A class code is six letters and digits, as on the projector.");
    $("#code").focus();
    return;
  }
  code = wanted;
  try {
    localStorage.setItem(LAST_CODE, code);
  } catch {
    // no storage: the code is typed again after a reload
  }
  device = loadDevice(localStorage, code);
  if (!device) {
    $("#join").disabled = true;
    say("Joining…");
    try {
      const joined = await api("join", { code }, null, {
        tooFastRetries: 0, onRetry: ({ message }) => say(`${message} Trying again…`) });
      device = { token: joined.token, prompts: joined.prompts, expires_at: joined.expires_at, consent: joined.consent,
                 agreed: false, done: 0, mode: "prompted" };
      remember();
    } catch (error) {
      say(error.message);
      return;
    } finally {
      $("#join").disabled = false;
    }
  }
  history.replaceState(null, "", `?code=${code}`); // a reload (or a shared screen) keeps the class
  say("");
  if (device.agreed) startDrawing();
  else {
    $("#consent").textContent = device.consent;
    showStep("#consent-step");
    $("#agree").focus();
  }
}

// The device is no longer in the class (deleted, or past its time): back to the code.
function leave(sentence) {
  forgetDevice(localStorage, code);
  device = null;
  showStep("#join-step");
  say(sentence);
}

$("#join-step").addEventListener("submit", (event) => {
  event.preventDefault();
  join($("#code").value);
});
$("#agree").addEventListener("click", () => {
  device.agreed = true;
  remember();
  startDrawing();
});

// ---- Drawing ----

let pad = null, settings = null;
let version = 0; // the pad's drawing: +1 at each change
let reading = null; // { version, promise of { reading } or { error } }
let readings = Promise.resolve(); // one reading at a time (the wasm sessions run one after another)

const article = (digit) => (digit === 8 ? "an" : "a"); // "Draw an 8"
const mode = () => document.querySelector("input[name=mode]:checked").value;
const label = () => (mode() === "prompted" ? walk.current : picked);

function showTask() {
  const prompted = mode() === "prompted";
  $("#prompt").hidden = !prompted;
  $("#picker").hidden = prompted;
  $("#prompt-digit").textContent = String(walk.current);
  $("#prompt-article").textContent = article(walk.current);
  $("#prompt-progress").textContent = `(${walk.progress})`;
  for (const button of $("#picker").children) button.setAttribute("aria-pressed", String(Number(button.value) === picked));
  const digit = label();
  $("#send").textContent = digit === null ? "Send" : `Send as ${digit}`;
}

// The drawing on the pad read by the models: each reading is kept for the drawing it read.
function readPad() {
  if (reading?.version === version) return reading.promise;
  const at = version;
  const promise = readings.then(async () => {
    const { reader, why } = await models;
    if (!reader) return { error: why };
    if (pad.strokes.empty) return { error: "Draw the digit first." };
    try {
      const seen = preprocess(pad.context.getImageData(0, 0, settings.size, settings.size).data, settings.size, settings.size);
      return { reading: await reader.read(seen, [...reader.classifiers.keys()]) };
    } catch (error) {
      if (error instanceof SketchError) return { error: error.message };
      return { error: `The models could not read it: ${error.message}` };
    }
  });
  readings = promise;
  reading = { version: at, promise };
  promise.then((result) => { if (at === version) showReading(result); });
  return promise;
}

// What the models read, in one line: the answer most models gave, or "not sure" from the detector.
function showReading({ reading: read, error }) {
  const line = $("#reading");
  line.classList.toggle("cr-doubt", Boolean(read?.notSure));
  if (!read) { line.textContent = pad.strokes.empty ? "" : error; return; }
  const votes = new Array(10).fill(0);
  for (const model of Object.keys(read.probs)) votes[read.ranked(model, 1)[0][0]]++;
  const top = votes.indexOf(Math.max(...votes)), count = Object.keys(read.probs).length;
  line.textContent = read.notSure
    ? `Not sure this is a digit (${Math.round(100 * read.doubt)}%): you can still send it.`
    : `The models read ${top} (${votes[top]} of ${count}).`;
}

function resetPad() {
  pad.clear();
  // A sent drawing is not brought back by Undo: the next drawing starts a new history.
  pad.strokes.history = [];
  pad.strokes.future = [];
  $("#reading").textContent = "";
}

let sending = false;
function lock(locked) {
  sending = locked;
  for (const id of ["#clear", "#undo"]) $(id).disabled = locked;
  $("#send").disabled = locked || cannotRead;
  $("#pad").classList.toggle("cr-locked", locked);
}

async function send() {
  if (sending) return;
  if (pad.strokes.empty) { say("Draw the digit first."); return; }
  const digit = label();
  if (digit === null) { say("Pick the digit you drew, then send."); return; }
  const prompted = mode() === "prompted";
  lock(true);
  try {
    say("Reading…");
    const result = await readPad();
    if (!result.reading) { say(result.error); return; }
    const drawing = drawingPayload({ id: newId(), label: digit, prompted, strokes: pad.strokes.toJSON(),
                                     size: settings.size, reading: result.reading });
    say("Sending…");
    try {
      await api("drawings", { code, token: device.token, drawing }, null, {
        networkRetries: Infinity,
        onRetry: ({ why, wait, attempt }) => say(
          why === "network" ? `Not saved yet: no connection. Sending the same drawing again in ${Math.ceil(wait / 1000)} s (try ${attempt + 1})…`
            : why === "busy" ? `Not saved yet: the server is busy. Trying again in ${Math.ceil(wait / 1000)} s…`
              : "Not saved yet: one drawing a second. Sending again in a moment…"),
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) { leave(error.message); return; }
      say(`Not saved: ${error.message}`);
      return;
    }
    if (prompted) walk.advance();
    device.done = walk.done;
    device.saved = (device.saved ?? 0) + 1;
    remember();
    resetPad();
    showTask();
    say(`Saved ✓ (${device.saved} from this phone).${prompted ? ` Now draw ${article(walk.current)} ${walk.current}.` : ""}`);
  } finally {
    lock(false);
  }
}

async function startDrawing() {
  showStep("#draw-step");
  walk = new PromptWalk(device.prompts, device.done ?? 0);
  document.querySelector(`input[name=mode][value=${device.mode === "free" ? "free" : "prompted"}]`).checked = true;
  if (!pad) {
    let site;
    try {
      site = await siteRead;
    } catch (error) {
      say(error.message);
      return;
    }
    settings = site.pad;
    pad = attachPad($("#pad"), { size: settings.size, penWidth: settings.pen_width }, (strokes, how = {}) => {
      version++;
      if (!how.lifted && strokes.done.length === 1 && strokes.done[0].length === 1) say(""); // a new drawing: "Saved" was the last one's
      if (how.lifted && !strokes.empty) readPad(); // read at each stroke's end: "not sure" shows before Send
      if (strokes.empty) $("#reading").textContent = "";
    });
    $("#clear").addEventListener("click", () => pad.clear());
    $("#undo").addEventListener("click", () => pad.undo());
    $("#send").addEventListener("click", send);
  }
  showTask();
}

for (let digit = 0; digit < 10; digit++) {
  const button = Object.assign(document.createElement("button"), { type: "button", value: String(digit), textContent: String(digit) });
  button.addEventListener("click", () => { picked = digit; showTask(); });
  $("#picker").append(button);
}
for (const radio of document.querySelectorAll("input[name=mode]")) {
  radio.addEventListener("change", () => {
    if (device) { device.mode = mode(); remember(); }
    say("");
    showTask();
  });
}

// ---- Start: the code from the join link (?code=), else the last one typed here ----
const fromLink = normalizeCode(new URLSearchParams(location.search).get("code"));
let last;
try {
  last = normalizeCode(localStorage.getItem(LAST_CODE));
} catch {
  last = ""; // storage refused (a private window)
}
$("#code").value = fromLink || last;
showStep("#join-step");
if (fromLink && loadDevice(localStorage, fromLink)) join(fromLink); // a reload: the same device, straight back
else if (!$("#code").value) $("#code").focus();
