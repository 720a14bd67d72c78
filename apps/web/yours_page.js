// The "Your model" page, the same in the static site and the hub's Models tab: a visitor picks or
// drops their own MNIST classifier (.onnx), the page checks it (yours.js), finds how it wants its
// pixels, scores it on every test digit of the site (accuracy, confusion, the digits it gets wrong,
// time per image) and ranks it in the zoo's leaderboard. The file never leaves the page.
//
// DOM only. The page's state is in data-* attributes of the mounted element (state, refused,
// convention, output, accuracy-<set>, scored-ms-<set>): what tests and the benchmark read.

import { paintDigit } from "./render.js";
import { Cancelled, Refused, detect, loadDigitSet, openOwnModel, score, triedSentence } from "./yours.js";

const TEMPLATE = `
<p class="dz-yours-intro">Bring your own MNIST classifier, one <code>.onnx</code> file: it is checked, scored on
every test digit and ranked beside the zoo's models here, in your browser. Nothing is uploaded.</p>
<label class="dz-drop">Drop an .onnx file here, or pick one: <input type="file" accept=".onnx,application/octet-stream"></label>
<p class="dz-yours-status" role="status"></p>
<p class="dz-yours-tried"></p>
<div class="dz-progress" hidden><progress max="1" value="0"></progress> <span></span>
  <button type="button" data-do="cancel">Cancel</button></div>
<div class="dz-yours-results" hidden>
  <table class="dz-yours-sets"><thead><tr><th>digits</th><th>accuracy %</th><th>correct</th><th>ms per image</th></tr></thead><tbody></tbody></table>
  <h3>Leaderboard</h3>
  <div class="dz-scroll"><table class="dz-leaderboard"><thead><tr></tr></thead><tbody></tbody></table></div>
  <div class="dz-yours-more">
    <figure><figcaption></figcaption><table class="dz-confusion"></table></figure>
    <figure><figcaption></figcaption><div class="dz-wrong"></div></figure>
  </div>
</div>`;

const WRONG_SHOWN = 40;

// `site`: models.json (its `yours` block); `ort`: onnxruntime-web, or null with `why`; `onModel(own, entry)`:
// a checked model, for the Draw page to offer.
export function mountYours(root, { site, ort, why = "", onModel = () => {} }) {
  const yours = site.yours;
  root.classList.add("dz-yours");
  root.innerHTML = TEMPLATE;
  const $ = (selector) => root.querySelector(selector);
  const state = root.dataset;
  const say = (text) => { $(".dz-yours-status").textContent = text; };
  state.state = "idle";
  let sets = null; // the digit sets, fetched (and checked) once, at the first file
  let cancel = null;

  const input = $(".dz-drop input");
  if (!ort) {
    input.disabled = true;
    say(`Your model would run in this page, and cannot here: ${why}`);
    return;
  }
  say(`Up to ${yours.max_bytes / 1e6} MB; one float32 input of 1x28x28, 28x28x1, 28x28 or 784 numbers per image; 10 scores out.`);
  $("[data-do=cancel]").addEventListener("click", () => cancel?.abort());

  async function take(file) {
    if (!file || state.state === "checking" || state.state === "scoring") return;
    cancel = new AbortController();
    $(".dz-yours-results").hidden = true;
    $(".dz-yours-tried").textContent = "";
    for (const key of Object.keys(state)) if (key !== "state") delete state[key];
    state.state = "checking";
    try {
      if (file.size > yours.max_bytes) { // said before a byte is read
        throw new Refused(yours.sentences.too_big.replace("{mb}", (file.size / 1e6).toFixed(1)).replace("{max_mb}", yours.max_bytes / 1e6));
      }
      say(`Checking ${file.name}…`);
      const own = await openOwnModel(ort, new Uint8Array(await file.arrayBuffer()), yours);
      sets ??= await Promise.all(yours.sets.map(loadDigitSet));
      const found = await detect(own, sets[0], yours, cancel.signal);
      Object.assign(state, { convention: found.convention, output: found.output });
      const says = yours.conventions.find((c) => c.name === found.convention).says;
      say(yours.sentences.reads.replace("{convention}", says).replace("{output}", found.output));
      $(".dz-yours-tried").textContent = triedSentence(yours, found.convention, found.correct);
      const entry = { model: `yours:${file.name}`, label: `yours: ${file.name}`, classes: [..."0123456789"], belief_by_row: false };
      onModel(own, entry);
      state.state = "scoring";
      $(".dz-progress").hidden = false;
      const figures = [];
      for (const set of sets) {
        const began = performance.now();
        const result = await score(own, set, { signal: cancel.signal, onProgress: (done, count) => {
          $(".dz-progress progress").value = done / count;
          $(".dz-progress span").textContent = `${set.label}: ${done.toLocaleString("en")} of ${count.toLocaleString("en")}`;
        } });
        state[`scoredMs_${set.name}`] = (performance.now() - began).toFixed(0);
        state[`accuracy_${set.name}`] = result.accuracy.toFixed(2);
        figures.push({ set, result });
      }
      show(file, figures);
      state.state = "done";
      $(".dz-yours-status").textContent += ` Scored on ${figures.map((f) => f.set.count.toLocaleString("en")).join(" + ")} digits; ` +
        "pick it on the Draw page to draw with it.";
    } catch (error) {
      state.state = error instanceof Cancelled ? "cancelled" : "refused";
      if (error instanceof Refused) state.refused = error.message;
      say(error instanceof Cancelled ? "Cancelled: pick the file again to score it."
        : error instanceof Refused ? `Refused ${file.name}: ${error.message}` : `${file.name} could not be scored: ${error.message}`);
    } finally {
      $(".dz-progress").hidden = true;
      cancel = null;
    }
  }

  function show(file, figures) {
    $(".dz-yours-sets tbody").replaceChildren(...figures.map(({ set, result }) => row([set.label, result.accuracy.toFixed(2),
      `${result.correct.toLocaleString("en")} / ${result.count.toLocaleString("en")}`, result.ms_per_image.toFixed(3)])));
    leaderboard(file, figures);
    const [{ set, result }] = figures; // the confusion and the misread digits of the MNIST test set
    confusion(result.confusion, set.label);
    $(".dz-yours-more figure:last-child figcaption").textContent =
      `The first ${Math.min(WRONG_SHOWN, result.wrong.length)} of the ${result.wrong.length.toLocaleString("en")} ${set.label} it gets wrong (truth → read)`;
    $(".dz-wrong").replaceChildren(...result.wrong.slice(0, WRONG_SHOWN).map(([index, guess]) => {
      const figure = document.createElement("figure");
      figure.innerHTML = `<canvas class="dz-pixelated" width="28" height="28"></canvas><figcaption></figcaption>`;
      paintDigit(figure.firstChild, Float32Array.from(set.images.subarray(index * 784, (index + 1) * 784), (p) => p / 255));
      figure.lastChild.textContent = `${set.labels[index]} → ${guess}`;
      return figure;
    }));
    $(".dz-yours-results").hidden = false;
  }

  function leaderboard(file, figures) {
    const { columns, rows, yours: mark } = yours.leaderboard;
    const accuracy = (name) => figures.find((f) => f.set.name === name)?.result.accuracy ?? null;
    const mine = { model: file.name + mark, test_accuracy: accuracy("mnist_test"), sketch_accuracy: accuracy("redrawn_test"),
                   onnx_mb: Math.round(file.size / 1e4) / 100, mine: true };
    const ranked = [...rows, mine].sort((a, b) => (b.test_accuracy ?? 0) - (a.test_accuracy ?? 0));
    $(".dz-leaderboard thead tr").replaceChildren(...columns.map((c) => Object.assign(document.createElement("th"), { textContent: c.header })));
    $(".dz-leaderboard tbody").replaceChildren(...ranked.map((r) => {
      const tr = row(columns.map((c) => cell(c.key, r[c.key])));
      tr.classList.toggle("dz-mine", Boolean(r.mine));
      return tr;
    }));
  }

  function confusion(matrix, label) {
    $(".dz-yours-more figure figcaption").textContent = `Confusion on the ${label} (rows: the truth; columns: what it read)`;
    const most = Math.max(...matrix.flatMap((r, i) => r.filter((_, j) => j !== i)), 1);
    const table = $(".dz-confusion");
    table.replaceChildren(row(["", ..."0123456789"], "th"), ...matrix.map((counts, truth) => {
      const tr = row([String(truth), ...counts.map(String)]);
      tr.firstChild.outerHTML = `<th>${truth}</th>`;
      counts.forEach((n, read) => {
        const cell = tr.children[read + 1];
        if (read !== truth && n) cell.style.background = `rgba(214, 39, 40, ${0.15 + 0.6 * (n / most)})`;
        if (read === truth) cell.classList.add("dz-diagonal");
      });
      return tr;
    }));
  }

  input.addEventListener("change", () => { take(input.files[0]); input.value = ""; });
  const drop = $(".dz-drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("dz-over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("dz-over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dz-over");
    take(event.dataTransfer.files[0]);
  });
}

// A leaderboard cell as the CLI prints it (hub/serving/leaderboard.py _cell).
const DECIMALS = { test_accuracy: 2, sketch_accuracy: 2, onnx_mb: 2, latency_ms: 3, train_min: 1 };
function cell(key, value) {
  if (value === null || value === undefined) return "-";
  if (key === "parameters") return value.toLocaleString("en");
  return key in DECIMALS ? value.toFixed(DECIMALS[key]) : String(value);
}

function row(cells, tag = "td") {
  const tr = document.createElement("tr");
  for (const text of cells) tr.append(Object.assign(document.createElement(tag), { textContent: text }));
  return tr;
}
