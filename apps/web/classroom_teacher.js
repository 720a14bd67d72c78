// The classroom's teacher page (classroom_teacher.html, at /digitzoo/classroom/): start a class, then
// a dashboard for the projector: the join code, its QR and link, how many students and drawings, how
// each model reads the class's handwriting against its MNIST accuracy, the confusion matrix of the
// picked model (a cell opens its drawings), the drawings read wrong and those the detector doubts,
// the hardest digit; delete a drawing, close or delete the class, export it.
//
// The teacher key is in the address's fragment (#key=...: never sent to the server, so never in its
// logs) and in sessionStorage; it goes to the API in the X-Teacher-Key header. The dashboard is asked
// for every second; the page says how long ago its numbers are.

import { paintDigit } from "../../pages/render.js";
import { ApiError, api, clockTime, keyFromHash, percent, pixelsFromBase64, svgDataUrl, updatedAgo } from "./classroom.js";

const KEY_STORE = "digitzoo-classroom/teacher-key";
const POLL_MS = 1000;
const $ = (selector) => document.querySelector(selector);
const say = (text) => { $("#teacher-status").textContent = text; };

let key = "";
let chosen = null; // the model picked for the confusion matrix (null: the server's first)
let last = null; // the last dashboard answer
let updatedAt = 0; // when it came (performance.now())
let timer = null, polling = false, generation = 0;
let notUpdated = false; // the status line says the last question failed

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) ?? "";
  } catch {
    return "";
  }
}

function keep(value) {
  try {
    if (value) sessionStorage.setItem(KEY_STORE, value);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    // storage refused: the address still holds the key
  }
}

// ---- Without a key: start a class ----

function showStart(sentence = "") {
  stopPolling();
  key = "";
  keep("");
  if (keyFromHash(location.hash)) history.replaceState(null, "", location.pathname + location.search);
  $("#class-view").hidden = $("#class-actions").hidden = true;
  $("#start-view").hidden = false;
  $("#updated").textContent = "";
  say(sentence);
}

$("#start-view").addEventListener("submit", async (event) => {
  event.preventDefault();
  const hours = Number($("#hours").value);
  if (!(hours > 0)) { say("Say how many hours to keep the drawings, e.g. 4."); return; }
  $("#start").disabled = true;
  say("Starting…");
  try {
    // Not asked again without an answer: a second start would open a second class.
    const started = await api("start", { hours }, null, { networkRetries: 0, tooFastRetries: 0 });
    history.replaceState(null, "", `${location.pathname}${location.search}#key=${encodeURIComponent(started.teacher_key)}`);
    showClass(started.teacher_key, started);
    say("");
  } catch (error) {
    say(error.message);
  } finally {
    $("#start").disabled = false;
  }
});

// ---- With a key: the dashboard ----

function showClass(teacherKey, known = null) {
  key = teacherKey;
  keep(key);
  last = null;
  chosen = null;
  $("#start-view").hidden = true;
  $("#class-view").hidden = $("#class-actions").hidden = false;
  if (known) showJoin(known);
  startPolling();
}

function stopPolling() {
  generation++;
  clearTimeout(timer);
  timer = null;
  polling = false;
}

function startPolling() {
  stopPolling();
  poll(generation);
}

// One dashboard question; the next one a second after this one began (never two at once).
async function poll(mine) {
  if (mine !== generation || polling) return;
  polling = true;
  const began = performance.now();
  try {
    const asked = chosen;
    const query = asked ? `?model=${encodeURIComponent(asked)}` : "";
    const answer = await api(`dashboard${query}`, undefined, key, { networkRetries: 0, busyRetries: 0 });
    if (mine !== generation) return;
    if (chosen === asked) chosen = answer.model; // the server's choice when none (or an unknown one) was asked for
    show(answer);
    if (notUpdated) { notUpdated = false; say(""); }
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && (error.status === 404 || error.status === 403 || error.status === 401)) {
      showStart(error.message);
      return;
    }
    say(`Not updated: ${error.message}`); // the next question may get through; "updated N s ago" tells how old
    notUpdated = true;
  } finally {
    if (mine === generation) {
      polling = false;
      timer = setTimeout(() => poll(mine), Math.max(0, POLL_MS - (performance.now() - began)));
    }
  }
}

// Ask now (after a change the teacher made), not at the next second.
function pollNow() {
  if (polling) return; // the one under way comes back soon
  clearTimeout(timer);
  poll(generation);
}

setInterval(() => {
  if (updatedAt) $("#updated").textContent = updatedAgo(performance.now() - updatedAt);
}, 250);

function showJoin({ code, join_url: url, qr_svg: svg }) {
  if ($("#join-code").textContent !== code) $("#join-code").textContent = code;
  const link = $("#join-url");
  if (link.textContent !== url) {
    link.textContent = url;
    link.href = url;
  }
  if (svg && $("#qr").dataset.svg !== svg) { // the server's SVG, as a picture (never the page's markup)
    $("#qr").src = svgDataUrl(svg);
    $("#qr").dataset.svg = svg;
  }
}

function show(answer) {
  updatedAt = performance.now();
  $("#updated").textContent = updatedAgo(0);
  showJoin(answer);
  $("#students").textContent = String(answer.students);
  $("#students-word").textContent = answer.students === 1 ? "student" : "students";
  $("#drawings").textContent = String(answer.drawings);
  $("#drawings-word").textContent = answer.drawings === 1 ? "drawing" : "drawings";
  $("#close-class").disabled = Boolean(answer.closed);
  $("#session-state").textContent = `${answer.closed ? "Closed: no more drawings. " : ""}` +
    `Deleted with its drawings at ${clockTime(answer.expires_at)} (export to keep them).`;
  showModels(answer);
  showConfusion(answer);
  showHardest(answer);
  thumbnails($("#wrong"), answer.wrong, (d) => `drew ${d.label}, read ${d.read}`, "None yet.");
  thumbnails($("#not-digits"), answer.not_digits, (d) => `drew ${d.label}, ${Math.round(100 * d.not_digit)}% not a digit`,
             `None above ${Math.round(100 * answer.threshold)}% yet.`);
  last = answer;
}

function showModels(answer) {
  const names = answer.models.map((m) => m.model).join(",");
  const select = $("#model");
  if (select.dataset.names !== names) {
    select.replaceChildren(...answer.models.map((m) => new Option(m.title, m.model)));
    select.dataset.names = names;
  }
  if (document.activeElement !== select) select.value = chosen;
  $("#models tbody").replaceChildren(...answer.models.map((m) => {
    const row = document.createElement("tr");
    row.classList.toggle("cr-chosen", m.model === answer.model);
    for (const text of [m.title, percent(m.class_accuracy), String(m.read), percent(m.mnist_accuracy)]) {
      row.insertCell().textContent = text;
    }
    return row;
  }));
}

// The 10x10 table is made once; each second only its numbers and shades change.
function confusionTable() {
  const table = $("#confusion");
  if (table.rows.length) return table;
  const head = table.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.innerHTML = "<span>read →</span><span>drew ↓</span>";
  corner.className = "cr-corner";
  head.append(corner);
  for (let read = 0; read < 10; read++) head.append(Object.assign(document.createElement("th"), { scope: "col", textContent: String(read) }));
  const body = table.createTBody();
  for (let label = 0; label < 10; label++) {
    const row = body.insertRow();
    row.append(Object.assign(document.createElement("th"), { scope: "row", textContent: String(label) }));
    for (let read = 0; read < 10; read++) {
      const cell = row.insertCell();
      const button = Object.assign(document.createElement("button"), { type: "button", className: "cr-cell" });
      button.id = `cell-${label}-${read}`;
      Object.assign(button.dataset, { label: String(label), read: String(read) });
      button.addEventListener("click", () => openCell(label, read));
      cell.append(button);
      if (label === read) cell.classList.add("cr-diagonal");
    }
  }
  return table;
}

function showConfusion(answer) {
  confusionTable();
  answer.confusion.forEach((counts, label) => {
    const total = counts.reduce((a, b) => a + b, 0);
    counts.forEach((count, read) => {
      const button = $(`#cell-${label}-${read}`);
      const text = count ? String(count) : "";
      if (button.textContent !== text) button.textContent = text;
      button.disabled = count === 0;
      button.setAttribute("aria-label", `drew ${label}, read ${read}: ${count}`);
      const share = total ? count / total : 0; // how much of the row: green on the diagonal, red off it
      button.style.backgroundColor = count === 0 ? "" : label === read ? `rgb(46 125 50 / ${0.15 + 0.6 * share})`
        : `rgb(198 40 40 / ${0.15 + 0.7 * share})`;
    });
  });
}

function showHardest({ hardest, per_digit: perDigit }) {
  $("#hardest").textContent = hardest
    ? `Hardest digit: ${hardest.digit}, read right ${percent(hardest.accuracy)} of the time (${hardest.drawings} drawings, all models).`
    : "Hardest digit: not known yet (three drawings of a digit first).";
  const table = $("#per-digit");
  const rows = [["digit", ...perDigit.map((p) => String(p.digit))],
                ["drawings", ...perDigit.map((p) => String(p.drawings))],
                ["read right", ...perDigit.map((p) => (p.accuracy === null ? "–" : `${Math.round(100 * p.accuracy)}%`))]];
  if (!table.rows.length) {
    for (const cells of rows) {
      const row = table.insertRow();
      row.append(Object.assign(document.createElement("th"), { scope: "row" }));
      for (let i = 1; i < cells.length; i++) row.insertCell();
    }
  }
  rows.forEach((cells, r) => cells.forEach((text, c) => {
    const cell = table.rows[r].cells[c];
    if (cell.textContent !== text) cell.textContent = text;
  }));
}

// A list of drawings as 28x28 thumbnails, each with its caption and a delete button; made again only
// when the list changed.
function thumbnails(root, drawings, caption, empty) {
  const signature = drawings.map((d) => `${d.id}:${d.read ?? ""}`).join(",") || "-";
  if (root.dataset.signature === signature) return;
  root.dataset.signature = signature;
  if (!drawings.length) {
    root.replaceChildren(Object.assign(document.createElement("p"), { className: "cr-hint", textContent: empty }));
    return;
  }
  root.replaceChildren(...drawings.map((d) => {
    const figure = document.createElement("figure");
    figure.className = "cr-thumb";
    figure.dataset.id = String(d.id);
    const canvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28, className: "dz-pixelated" });
    paintDigit(canvas, pixelsFromBase64(d.pixels));
    const text = Object.assign(document.createElement("figcaption"), { textContent: caption(d) });
    const remove = Object.assign(document.createElement("button"), { type: "button", className: "cr-delete", textContent: "×",
                                                                     title: "Delete this drawing" });
    remove.setAttribute("aria-label", `Delete drawing ${d.id}`);
    remove.addEventListener("click", () => deleteDrawing(d.id));
    figure.append(canvas, text, remove);
    return figure;
  }));
}

let openedCell = null; // [label, read] shown under the matrix

async function openCell(label, read) {
  openedCell = [label, read];
  const model = chosen;
  const title = last?.models.find((m) => m.model === model)?.title ?? model;
  $("#cell-view").hidden = false;
  $("#cell-title").textContent = `Drew ${label}, ${title} read ${read}`;
  try {
    const query = new URLSearchParams({ model, label: String(label), read: String(read) });
    const { drawings } = await api(`cell?${query}`, undefined, key, { networkRetries: 1 });
    if (openedCell?.[0] !== label || openedCell?.[1] !== read) return; // another cell was clicked meanwhile
    $("#cell-drawings").dataset.signature = "";
    thumbnails($("#cell-drawings"), drawings, (d) => `drew ${d.label}, read ${d.read}`, "None now.");
    $("#cell-view").scrollIntoView({ behavior: "smooth", block: "nearest" });
  } catch (error) {
    say(error.message);
  }
}

$("#cell-close").addEventListener("click", () => {
  openedCell = null;
  $("#cell-view").hidden = true;
});

async function deleteDrawing(id) {
  try {
    await api("delete-drawing", { id }, key, { tooFastRetries: 0 });
    for (const figure of document.querySelectorAll(`.cr-thumb[data-id="${id}"]`)) figure.remove();
    say(`Drawing ${id} deleted.`);
    pollNow();
  } catch (error) {
    say(error.message);
  }
}

$("#model").addEventListener("change", () => {
  chosen = $("#model").value;
  $("#cell-view").hidden = true;
  openedCell = null;
  pollNow();
});

$("#close-class").addEventListener("click", async () => {
  if (!confirm("Close the class? Students can no longer join or send drawings; the dashboard and the export stay.")) return;
  try {
    await api("close", {}, key, { tooFastRetries: 0 });
    say("The class is closed: no more drawings.");
    pollNow();
  } catch (error) {
    say(error.message);
  }
});

$("#delete-class").addEventListener("click", async () => {
  const count = last ? ` and its ${last.drawings} drawings` : "";
  if (!confirm(`Delete this class${count} now? This cannot be undone: export first to keep the drawings.`)) return;
  try {
    await api("delete", {}, key, { tooFastRetries: 0 });
    showStart("The class and its drawings were deleted.");
  } catch (error) {
    say(error.message);
  }
});

$("#export").addEventListener("click", async () => {
  $("#export").disabled = true;
  say("Preparing the export…");
  try {
    const response = await api("export", undefined, key, { raw: true });
    const named = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") ?? "");
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), {
      href: url, download: named ? named[1] : `digitzoo-classroom-${last?.code ?? "export"}.zip` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say("Exported: the zip is in your downloads.");
  } catch (error) {
    say(`Not exported: ${error.message}`);
  } finally {
    $("#export").disabled = false;
  }
});

// The key: the address's (#key=...), else this tab's own from before (restored into the address).
function fromAddress() {
  const inHash = keyFromHash(location.hash);
  const teacherKey = inHash || storedKey();
  if (!teacherKey) { showStart(); return; }
  if (!inHash) history.replaceState(null, "", `${location.pathname}${location.search}#key=${encodeURIComponent(teacherKey)}`);
  if (teacherKey !== key) showClass(teacherKey);
}

window.addEventListener("hashchange", fromAddress);
fromAddress();
