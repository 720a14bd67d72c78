// The Draw page, the same in the static site and the hub: the pad (with Clear, Undo, Redo and an
// upload), the answers of the two picked classifiers or of all of them, the 28x28 the models read,
// one verdict, the belief row by row, who answered and how fast.
//
// DOM only. A drawing becomes a 28x28 here (sketch.js) and a Reading (reader.js) either in the page
// (`reader`) or from the server (`askServer`, the hub's path when the models cannot run here); both
// are shown by the same code. The mounted element carries the page's state in data-* attributes
// (path, shown, answers, last-up-ms, up-answer-ms, first-answer-ms; why.js adds why, why-ms...): what
// tests and the browser benchmark read, so no global joins anything. Under the answers, the 28x28 and
// the picks, "Why?" (why.js) explains the picked pair's answers once each drawing's answer is shown.

import { attachPad } from "./pad.js";
import { readingFromServer } from "./reader.js";
import { PageExplainers } from "./explain.js";
import { WorkerPool } from "./pool.js";
import { paintBelief, paintDigit } from "./render.js";
import { EmptySketch, SketchError, preprocess } from "./sketch.js";
import { mountWhy } from "./why.js";

const TEMPLATE = `
<div class="dz-pad-column">
  <div class="dz-buttons"><button type="button" data-do="clear">Clear</button><button type="button" data-do="undo">Undo</button><button type="button" data-do="redo">Redo</button>
    <label class="dz-upload">…or upload a picture of a digit <input type="file" accept="image/png,image/jpeg,image/webp"></label></div>
  <canvas class="dz-pad" aria-label="Draw a digit here"></canvas>
</div>
<div class="dz-result-column">
  <div class="dz-answers"></div>
  <table class="dz-all" hidden><thead><tr><th>model</th><th>reads</th><th>confidence %</th><th>runner-up</th></tr></thead><tbody></tbody></table>
  <p class="dz-verdict" role="status"></p>
  <div class="dz-seen-row">
    <figure><canvas class="dz-seen dz-pixelated" width="28" height="28"></canvas><figcaption>What the models saw (28x28)</figcaption></figure>
    <p class="dz-timing" role="status"></p>
  </div>
  <div class="dz-picks">
    <label><input type="radio" name="dz-view" value="two" checked> two side by side</label>
    <label><input type="radio" name="dz-view" value="all"> all classifiers</label>
    <label>Left <select data-side="left"></select></label>
    <label>Right <select data-side="right"></select></label>
  </div>
  <section class="dz-why" aria-label="Why this digit?"></section>
  <figure><canvas class="dz-belief" width="600" height="200"></canvas><figcaption class="dz-belief-caption"></figcaption></figure>
</div>`;

// `site`: models.json (pad settings, sentences, the draw models); `onDrawing(strokes, canvas)`:
// after each stroke (the hub keeps the drawing as its component's value). The pad takes strokes at
// once; the answers come once `answerWith` says who reads: `reader` (a PageReader) or null,
// `askServer(body)` (the server's reading as JSON) or null (the static site has no server), and
// `why`, the sentence saying why the page does not answer itself.
export function mountDraw(root, { site, onDrawing = () => {} }) {
  root.classList.add("dz-draw");
  root.innerHTML = TEMPLATE;
  const $ = (selector) => root.querySelector(selector);
  const { pad: settings, sentences } = site;
  const entries = new Map(site.draw.map((entry) => [entry.model, entry]));
  const state = root.dataset;
  let reader = null, askServer = null, why = site.sentences.loading;
  state.path = "loading";
  state.answers = "0";
  state.shown = "";

  // The picked pair and the view. Left and right start as the first two draw models (CNN, LSTM).
  const [first, second = first] = site.draw.map((entry) => entry.model);
  for (const select of root.querySelectorAll("select")) {
    for (const entry of site.draw) select.append(new Option(`${entry.label} (${entry.model})`, entry.model));
    select.value = select.dataset.side === "left" ? first : second;
  }
  const view = () => root.querySelector("input[name=dz-view]:checked").value;
  const pair = () => [$("select[data-side=left]").value, $("select[data-side=right]").value];
  const asked = () => (view() === "all" ? [...pair(), ...entries.keys()] : pair());
  const charted = site.draw.filter((e) => e.belief_by_row).map((e) => e.label);
  const whyView = mountWhy($(".dz-why"), { site, entries, state });
  $(".dz-belief-caption").textContent = `${charted.join(" / ") || "Model"} belief row by row (after each row of the 28x28, top to bottom)`;

  function panels() {
    $(".dz-answers").hidden = view() === "all";
    $(".dz-all").hidden = view() !== "all";
    $(".dz-answers").replaceChildren(...pair().map((model, i) => {
      const panel = document.createElement("div");
      panel.className = "dz-answer";
      panel.dataset.model = model;
      panel.dataset.side = i ? "right" : "left";
      panel.innerHTML = `<h3></h3><div class="dz-top"></div><ol></ol>`;
      panel.querySelector("h3").textContent = `${entries.get(model).label} reads`;
      return panel;
    }));
  }

  function clearAnswers(message) {
    panels();
    $(".dz-all tbody").replaceChildren();
    $(".dz-seen").getContext("2d").clearRect(0, 0, 28, 28);
    paintBelief($(".dz-belief"), null, []);
    $(".dz-verdict").textContent = "";
    $(".dz-timing").textContent = message;
    state.shown = "";
    whyView.clear();
  }

  function headline(reading, model) {
    const [[digit]] = reading.ranked(model, 1);
    const name = entries.get(model).classes[digit];
    return reading.notSure ? sentences.looks_like.replace("{digit}", name) : name;
  }

  let shownReading = null;
  function show(reading, took) {
    shownReading = reading;
    panels();
    for (const panel of root.querySelectorAll(".dz-answer")) {
      const model = panel.dataset.model, classes = entries.get(model).classes;
      if (!reading.probs[model]) { panel.querySelector(".dz-top").textContent = "refused"; continue; }
      panel.classList.toggle("dz-doubt", reading.notSure);
      panel.querySelector(".dz-top").textContent = headline(reading, model);
      panel.querySelector("ol").replaceChildren(...reading.ranked(model).map(([i, p]) => {
        const item = document.createElement("li");
        item.innerHTML = `<span class="dz-digit"></span><span class="dz-bar"></span><span class="dz-p"></span>`;
        item.querySelector(".dz-digit").textContent = classes[i];
        item.querySelector(".dz-bar").style.width = `${Math.round(p * 80)}px`;
        item.querySelector(".dz-p").textContent = `${(p * 100).toFixed(1)}%`;
        return item;
      }));
    }
    $(".dz-all tbody").replaceChildren(...[...entries.keys()].filter((m) => reading.probs[m]).map((model) => {
      const [[a, p], [b]] = reading.ranked(model, 2), classes = entries.get(model).classes;
      const row = document.createElement("tr");
      for (const cell of [entries.get(model).label, reading.notSure ? `not sure: ${classes[a]}?` : classes[a],
                          (100 * p).toFixed(1), classes[b]]) row.insertCell().textContent = cell;
      return row;
    }));
    paintDigit($(".dz-seen"), reading.seen);
    const beliefModel = asked().find((m) => entries.get(m).belief_by_row && reading.probs[m]);
    paintBelief($(".dz-belief"), reading.beliefs, beliefModel ? entries.get(beliefModel).classes : []);
    $(".dz-verdict").textContent = reading.notSure
      ? sentences.not_sure.replace("{percent}", (100 * reading.doubt).toFixed(0)) : "";
    $(".dz-timing").textContent = `Answered ${reading.by}${took}`;
    state.shown = reading.probs[pair()[0]] ? headline(reading, pair()[0]) : "refused"; // as the left panel shows it
    state.answers = String(Number(state.answers) + 1);
    const now = performance.now();
    state.firstAnswerMs ??= now.toFixed(1);
    answeredOnce();
  }

  let answeredOnce;
  const answered = new Promise((resolve) => { answeredOnce = resolve; });

  // The drawing, or an uploaded picture, read and shown; a later request wins over an earlier one.
  let latest = 0;
  let drawn = 0, drawingAtUp = null, shownDrawing = null; // versions of the pad's pixels: each point, undo, redo, clear
  let changedAt = 0; // when the pixels last changed
  async function readAndShow(source) {
    const ticket = ++latest;
    const began = performance.now();
    const version = source.version?.(), since = changedAt;
    let seen = null; // the server path sends the picture and is told what it read
    try {
      if (reader) seen = await source.pixels();
    } catch (error) {
      if (!(error instanceof SketchError)) throw error;
      if (ticket === latest) clearAnswers(error instanceof EmptySketch ? settings.prompt : error.message);
      return;
    }
    let reading;
    if (reader) {
      reading = await reader.read(seen, asked());
    } else if (askServer) {
      $(".dz-timing").textContent = "Asking the server…";
      const answer = await askServer({ image: await source.png(), left: pair()[0], right: pair()[1],
                                       models: view() === "all" ? [...entries.keys()] : null });
      if (ticket !== latest) return;
      if (answer.error) { // a picture the server refuses, or busy: the last answers stay
        $(".dz-verdict").textContent = `Not read: ${answer.error}`;
        return;
      }
      reading = readingFromServer(answer, settings.not_a_digit_above);
    } else {
      if (ticket === latest) clearAnswers(why);
      return;
    }
    if (ticket !== latest) return;
    show(reading, source.what ?? `; preprocessing and all ${(performance.now() - began).toFixed(1)} ms`);
    shownDrawing = version;
    // From the drawing's latest change (a point drawn) to its answer on screen: the wait while drawing.
    if (version !== undefined && version === drawn) state.changeAnswerMs = (performance.now() - since).toFixed(1);
    // The answer to the drawing as the pen left it (a reading begun before the pointer went up reads
    // the same pixels): what a person waits for after lifting the pen.
    const final = version === undefined ? began >= Number(state.lastUpMs ?? Infinity) : version === drawingAtUp;
    if (final && !state.upAnswerMs) state.upAnswerMs = performance.now().toFixed(1);
    // The maps once this answer is on screen: for the drawing as the pen left it, a picture, a new pair.
    if (final || version === undefined) whyView.explain(reading, pair(), Math.max(began, Number(state.lastUpMs ?? 0)));
    else whyView.stale();
  }

  // ---- The pad ----
  const padCanvas = $(".dz-pad");
  const fromPad = {
    pixels: () => {
      const { width, height } = padCanvas;
      return preprocess(pad.context.getImageData(0, 0, width, height).data, width, height);
    },
    png: () => padCanvas.toDataURL("image/png"),
    version: () => drawn,
  };
  let busy = false, again = false; // one reading at a time; strokes meanwhile are read after it
  const readPad = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      if (pad.strokes.empty) clearAnswers(settings.prompt);
      else await readAndShow(fromPad);
    } catch (error) {
      $(".dz-timing").textContent = `Not read: ${error.message}`;
    } finally {
      busy = false;
      if (again) { again = false; requestAnimationFrame(readPad); }
    }
  };
  const pad = attachPad(padCanvas, { size: settings.size, penWidth: settings.pen_width }, (strokes, how = {}) => {
    if (!how.lifted || how.redrawn) [drawn, changedAt] = [drawn + 1, performance.now()];
    if (how.lifted) {
      state.lastUpMs = performance.now().toFixed(1);
      state.answersAtUp = state.answers; // how many answers came while the pen was down (the benchmark counts them)
      delete state.upAnswerMs;
      drawingAtUp = drawn;
      onDrawing(strokes.toJSON(), padCanvas);
      if (reader && shownDrawing === drawn) { // already answered as the pen left it: nothing to wait for
        state.upAnswerMs = state.lastUpMs;
        whyView.explain(shownReading, pair(), Number(state.lastUpMs), { afterPaint: false });
        return;
      }
    }
    if (reader || how.lifted) readPad(); // the page reads while the pen moves; the server at each stroke's end
  });
  for (const button of root.querySelectorAll("[data-do]")) button.addEventListener("click", () => {
    pad[button.dataset.do]();
    if (button.dataset.do === "clear" && pad.strokes.empty && state.shown) readPad(); // an uploaded picture's answers go too
  });
  // The whole pad on screen under whatever the page puts above it (a projector's 720 px), but never
  // narrower than 280 px: CSS alone cannot know how far down the page the pad starts.
  const fitPad = () => {
    const top = padCanvas.getBoundingClientRect().top + window.scrollY;
    padCanvas.style.maxWidth = `${Math.max(280, window.innerHeight - top - 12)}px`;
  };
  new ResizeObserver(fitPad).observe(root);
  window.addEventListener("resize", fitPad);

  // ---- An uploaded picture: the same reading, in the page or on the server ----
  const upload = $(".dz-upload input");
  upload.addEventListener("change", async () => {
    const [file] = upload.files;
    upload.value = "";
    if (!file) return;
    if (file.size > settings.max_image_bytes) {
      $(".dz-verdict").textContent = `Not read: ${file.name} is larger than ${settings.max_image_bytes / 2 ** 20} MB.`;
      return;
    }
    const picture = {
      what: ` (your picture, ${file.name})`,
      pixels: async () => {
        let bitmap;
        try {
          bitmap = await createImageBitmap(file);
        } catch {
          throw new SketchError(`${file.name} is not a picture this page can open: ${settings.formats_hint}.`);
        }
        const scale = Math.min(1, 1024 / Math.max(bitmap.width, bitmap.height)); // a photo need not be read at full size
        const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale) || 1, Math.round(bitmap.height * scale) || 1);
        const ctx = canvas.getContext("2d");
        ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return preprocess(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
      },
      png: () => new Promise((resolve) => {
        const fileReader = new FileReader();
        fileReader.onload = () => resolve(fileReader.result);
        fileReader.readAsDataURL(file);
      }),
    };
    let seen = null;
    try {
      if (reader) seen = await picture.pixels(); // a file that is no picture: said, and the last answers stay
    } catch (error) {
      $(".dz-verdict").textContent = `Not read: ${error.message}`;
      return;
    }
    pad.clear();
    await readAndShow({ ...picture, pixels: async () => seen });
  });

  for (const control of root.querySelectorAll(".dz-picks input, .dz-picks select")) {
    control.addEventListener("change", () => readPad());
  }
  clearAnswers(why);
  return {
    answered, // resolved once the first answer is on screen
    // A visitor's own model (the "Your model" page): offered in both pickers, and shown on the right.
    addModel(entry) {
      const fresh = !entries.has(entry.model);
      entries.set(entry.model, entry);
      for (const select of root.querySelectorAll("select")) {
        if (fresh) select.append(new Option(entry.label, entry.model));
        if (select.dataset.side === "right") select.value = entry.model;
      }
      readPad();
    },
    answerWith(how) {
      ({ reader, askServer, why } = how);
      state.path = reader ? "inpage" : askServer ? "server" : "none";
      // The maps' big batches go to two workers where the browser has module workers: 15-25% sooner on 2
      // cores shared with Chromium (digitzoo bench browser), more where there are more cores.
      const pool = reader && site.explain && typeof Worker === "function" ? new WorkerPool(site.runtime) : null;
      whyView.use(reader && site.explain && new PageExplainers(reader.ort, site.explain, reader.classifiers, undefined, pool));
      if (pad.strokes.empty) clearAnswers(reader || askServer ? settings.prompt : why);
      else readPad(); // what was drawn while the models loaded
    },
  };
}
