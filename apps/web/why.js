// "Why this digit?" on the Draw page: for each model of the picked pair, a 28x28 map of which ink
// pushed it toward its answer (red) or away (blue), by one of models.json's explain methods; digit
// buttons to ask "why not 9?"; inside the network, the first feature maps of each block (a tile
// opens larger) or, for a model that reads row by row, what each row did to its belief.
//
// DOM only: the arithmetic and the sessions are explain.js's (PageExplainers). draw.js mounts this
// under the answers and calls `explain` once a drawing's answer is shown (the pen lifted, a picture
// read, the pair changed): the maps are computed one model at a time, after the answer is on screen
// or, where occlusion's batches go to Web Workers (pool.js), while the page's thread paints it; a
// newer drawing drops what an older one was computing. The Draw root's data-* carry the state:
// why (off, empty, working, shown, stale, error), why-ms (from the pen lifted, or the click, to the
// maps painted), why-method, why-count (maps painted so far).

import { colourMap, featureTiles, mapScale, rowContributions } from "./explain.js";

const TILES = 8; // channels shown per feature block
const SAYS = {
  empty: "Draw a digit: the maps show which ink pushed each model toward its answer (red) or away from it (blue).",
  off: "The “Why?” maps are computed by the models in your browser, which are not running here.",
};

const TEMPLATE = `
<div class="dz-why-head"><h3>Why?</h3><div class="dz-why-methods" role="radiogroup" aria-label="method"></div></div>
<p class="dz-why-say" role="status"></p>
<div class="dz-why-panels"></div>
<dialog class="dz-why-zoom"><figure><canvas class="dz-pixelated"></canvas><figcaption></figcaption></figure>
  <button type="button" class="dz-why-close">Close</button></dialog>`;

const PANEL = `
<figure class="dz-why-figure">
  <figcaption class="dz-why-caption"></figcaption>
  <canvas class="dz-why-map dz-pixelated" width="28" height="28"></canvas>
  <div class="dz-why-legend"><div class="dz-why-bar"></div>
    <div class="dz-why-ticks"><span class="dz-why-low"></span><span>0</span><span class="dz-why-high"></span></div>
    <div class="dz-why-ends"><span class="dz-why-away"></span><span class="dz-why-toward"></span></div></div>
  <p class="dz-why-faith"></p>
</figure>
<div class="dz-why-digits" role="group"></div>
<p class="dz-why-note"></p>
<div class="dz-why-inside"></div>`;

const rgb = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;
const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
// Lets waiting input in (scheduler.yield where the browser has it: it resumes ahead of other tasks).
const nextTask = () => globalThis.scheduler?.yield?.() ?? new Promise((resolve) => setTimeout(resolve, 0));
const argmax = (values) => values.indexOf(Math.max(...values));
const signed = (v) => `${v > 0 ? "+" : v < 0 ? "−" : ""}${Math.abs(v).toPrecision(2)}`;

// `root`: the section under the answers; `site`: models.json; `entries`: model -> its draw entry
// (draw.js's, with a visitor's models); `state`: the Draw root's dataset.
export function mountWhy(root, { site, entries, state }) {
  const settings = site.explain;
  root.classList.add("dz-why");
  root.hidden = !settings; // a models.json from before the explainers
  if (!settings) return { clear() {}, stale() {}, explain() {}, use() {} };
  root.innerHTML = TEMPLATE;
  const $ = (selector) => root.querySelector(selector);
  const says = new Map(settings.methods.map((m) => [m.name, m.says]));
  let method = settings.default, explainers = null, offWhy = site.sentences?.loading ?? "";
  state.whyMethod = method;
  state.whyCount = "0";

  for (const { name, says: sentence } of settings.methods) {
    const label = document.createElement("label");
    label.title = sentence;
    label.innerHTML = `<input type="radio" name="dz-why-method"> <span></span>`;
    label.querySelector("span").textContent = sentence.split(":")[0];
    const input = label.querySelector("input");
    Object.assign(input, { value: name, checked: name === method });
    input.addEventListener("change", () => {
      method = state.whyMethod = name;
      if (last) request({ ...last, since: performance.now(), afterPaint: false });
    });
    $(".dz-why-methods").append(label);
  }

  // ---- The zoomed feature map ----
  const zoom = $(".dz-why-zoom");
  $(".dz-why-close").addEventListener("click", () => zoom.close());
  zoom.addEventListener("click", (event) => { if (event.target === zoom) zoom.close(); }); // a click beside it
  function enlarge(tile, [height, width], caption) {
    const canvas = zoom.querySelector("canvas");
    Object.assign(canvas, { width, height });
    canvas.getContext("2d").putImageData(new ImageData(tile, width, height), 0, 0);
    zoom.querySelector("figcaption").textContent = caption;
    zoom.showModal();
  }

  // ---- The panels, one per side of the picked pair ----
  let panels = [];
  function panelsFor(pair) {
    if (panels.map((p) => p.dataset.model).join() !== pair.join()) {
      panels = pair.map((model, i) => {
        const panel = document.createElement("div");
        panel.className = "dz-why-panel";
        Object.assign(panel.dataset, { model, side: i ? "right" : "left" });
        panel.innerHTML = PANEL;
        const bar = panel.querySelector(".dz-why-bar"), { against, neutral, supports } = settings.palette;
        bar.style.background = `linear-gradient(to right, ${rgb(against)}, ${rgb(neutral)}, ${rgb(supports)})`;
        const digits = panel.querySelector(".dz-why-digits");
        digits.setAttribute("aria-label", `why not… (${entries.get(model)?.label ?? model})`);
        for (const [d, name] of (entries.get(model)?.classes ?? []).entries()) {
          const button = Object.assign(document.createElement("button"), { type: "button", textContent: name, title: `why not ${name}?` });
          button.dataset.digit = String(d);
          button.addEventListener("click", () => {
            panel.dataset.target = String(d);
            if (last) request({ ...last, since: performance.now(), afterPaint: false });
          });
          digits.append(button);
        }
        return panel;
      });
      $(".dz-why-panels").replaceChildren(...panels);
    }
    return panels;
  }

  function say(text) {
    $(".dz-why-say").textContent = text;
    $(".dz-why-panels").hidden = Boolean(text);
  }

  // ---- Computing: one job at a time; a newer request makes the older one stop at its next step ----
  let ticket = 0, queue = Promise.resolve(), last = null, cache = null;
  function request(job) {
    const mine = ++ticket;
    queue = queue.then(() => mine === ticket && run(job, mine)).catch((error) => {
      if (mine !== ticket) return;
      state.why = "error";
      say(`The maps could not be computed: ${error.message}`);
    });
  }

  // Per drawing (a reading's 28x28): maps by model, method and digit; feature maps and beliefs by model.
  const cached = (kind, key, make) => {
    if (!cache[kind].has(key)) cache[kind].set(key, make());
    return cache[kind].get(key);
  };

  async function run({ reading, pair, since, afterPaint: wait }, mine) {
    const stale = () => mine !== ticket;
    // The answer on screen first; maps computed by workers leave the page's thread free to paint it meanwhile.
    if (wait && !explainers.offThread) await afterPaint();
    if (stale()) return;
    if (cache?.seen !== reading.seen) cache = { seen: reading.seen, maps: new Map(), blocks: new Map(), beliefs: new Map() };
    state.why = "working";
    say("");
    const shown = [];
    for (const [i, panel] of panelsFor(pair).entries()) {
      const { model } = panel.dataset, entry = entries.get(model), label = entry?.label ?? model;
      const note = (text) => {
        panel.querySelector(".dz-why-note").textContent = text;
        panel.classList.remove("dz-why-stale");
      };
      const probs = reading.probs[model];
      panel.classList.toggle("dz-why-none", !probs || !entry?.explain);
      if (!probs) { note(`${label} did not answer this drawing.`); continue; }
      if (!entry.explain) { note(`no explainer exported for ${label}`); continue; }
      let explainer;
      try {
        explainer = await explainers.for(model);
      } catch (error) {
        note(`${label}: ${error.message}`);
        panel.classList.add("dz-why-none");
        continue;
      }
      if (stale()) return;
      if (!explainer) { note(`no explainer for ${label} in this page`); panel.classList.add("dz-why-none"); continue; }
      const answer = argmax(probs);
      panel.dataset.answer = String(answer);
      panel.dataset.target ??= String(answer);
      const target = Number(panel.dataset.target);
      if (i) await nextTask(); // a pointer event waiting gets in between the models
      if (stale()) return;
      const began = performance.now();
      const map = await cached("maps", `${model}|${method}|${target}`, () => explainer.attribution(reading.seen, target, method));
      if (stale()) return;
      paintMap(panel, map, { reading, entry, target, answer });
      note("");
      panel.dataset.ms = (performance.now() - began).toFixed(1); // this model's map alone (0 when cached)
      shown.push([panel, explainer, target]);
    }
    if (shown.length) {
      state.whyMs = (performance.now() - since).toFixed(1);
      state.whyCount = String(Number(state.whyCount) + 1);
    }
    state.why = "shown";
    // Inside the networks: after the maps are timed, from the same drawing (cached: a digit clicked reuses them).
    for (const [panel, explainer, target] of shown) {
      const { model } = panel.dataset, entry = entries.get(model);
      await nextTask();
      if (stale()) return;
      if (entry.belief_by_row) {
        const beliefs = await cached("beliefs", model, () => explainer.beliefs(reading.seen));
        if (stale()) return;
        if (beliefs) paintRows(panel, reading.seen, rowContributions(beliefs, target), entry.classes[target]);
      } else {
        const blocks = await cached("blocks", model, () => explainer.blocks(reading.seen));
        if (stale()) return;
        paintBlocks(panel, blocks);
      }
    }
  }

  function paintMap(panel, map, { reading, entry, target, answer }) {
    const digit = entry.classes[target], scale = mapScale(map);
    panel.querySelector(".dz-why-map").getContext("2d").putImageData(new ImageData(colourMap(map, settings.palette), 28, 28), 0, 0);
    const question = target !== answer ? `why not ${digit}` : reading.notSure ? `what ${entry.label} saw anyway` : `why ${digit}`;
    panel.querySelector(".dz-why-caption").textContent = `${entry.label} · ${says.get(method)} — ${question}`;
    panel.querySelector(".dz-why-low").textContent = signed(-scale);
    panel.querySelector(".dz-why-high").textContent = signed(scale);
    panel.querySelector(".dz-why-away").textContent = `pushed away from ${digit}`;
    panel.querySelector(".dz-why-toward").textContent = `pushed toward ${digit}`;
    const faith = entry.explain.faithfulness?.[method];
    panel.querySelector(".dz-why-faith").textContent = faith && faith.faithful === false
      ? settings.unfaithful.replace("{share}", (100 * faith.share).toFixed(0)).replace("{goal}", (100 * settings.share_goal).toFixed(0))
        .replace("{ratio}", faith.ratio === null ? "–" : Number(faith.ratio).toFixed(1)) : "";
    for (const button of panel.querySelectorAll(".dz-why-digits button")) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.digit) === target));
      button.classList.toggle("dz-why-answer", Number(button.dataset.digit) === answer);
    }
    Object.assign(panel.dataset, { method, scale: scale.toPrecision(4), shown: `${method}|${target}` });
  }

  // One strip per feature block: its first channels as tiles, a click opens one larger.
  function paintBlocks(panel, blocks) {
    const inside = panel.querySelector(".dz-why-inside");
    inside.replaceChildren(...blocks.filter((b) => b.shape.length === 3).map(({ label, shape, data }) => {
      const [channels, height, width] = shape;
      const strip = document.createElement("figure");
      strip.className = "dz-why-block";
      strip.innerHTML = `<figcaption></figcaption><div class="dz-why-tiles"></div>`;
      strip.querySelector("figcaption").textContent = `${label}: first ${Math.min(TILES, channels)} of ${channels} channels (${height}x${width})`;
      strip.querySelector(".dz-why-tiles").append(...featureTiles(data, shape, TILES).map((tile, c) => {
        const canvas = Object.assign(document.createElement("canvas"), { width, height, className: "dz-why-tile dz-pixelated",
                                                                          tabIndex: 0, title: `${label} · channel ${c + 1}: enlarge` });
        canvas.getContext("2d").putImageData(new ImageData(tile, width, height), 0, 0);
        const open = () => enlarge(tile, [height, width], `${label} · channel ${c + 1} of ${channels} (${height}x${width})`);
        canvas.addEventListener("click", open);
        canvas.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); } });
        return canvas;
      }));
      return strip;
    }));
  }

  // A model that reads row by row: the 28x28 beside a bar per row (how far reading it moved the belief
  // in the digit); the row that moved it most is outlined on the digit, or the one pointed at.
  function paintRows(panel, seen, moved, digit) {
    const inside = panel.querySelector(".dz-why-inside");
    let figure = inside.querySelector(".dz-why-rows");
    if (!figure) {
      figure = document.createElement("figure");
      figure.className = "dz-why-rows";
      figure.innerHTML = `<canvas width="600" height="280"></canvas><figcaption></figcaption>`;
      inside.replaceChildren(figure);
      const canvas = figure.querySelector("canvas");
      const rowAt = (event) => {
        const box = canvas.getBoundingClientRect();
        return Math.min(27, Math.max(0, Math.floor(((event.clientY - box.top) / box.height) * 28)));
      };
      canvas.addEventListener("pointermove", (event) => figure.draw(rowAt(event)));
      canvas.addEventListener("pointerleave", () => figure.draw(null));
      canvas.addEventListener("click", (event) => { figure.picked = rowAt(event); figure.draw(null); });
    }
    const top = argmax(Array.from(moved, Math.abs));
    figure.picked = null;
    figure.draw = (pointed) => {
      const row = pointed ?? figure.picked ?? top;
      drawRows(figure.querySelector("canvas"), seen, moved, row);
      figure.dataset.row = String(row + 1);
      figure.querySelector("figcaption").textContent =
        `What each row of the 28x28 did to the belief in ${digit} (red: toward, blue: away). Row ${row + 1}: ` +
        `${signed(100 * moved[row])} points${row === top ? ", the most" : ""}.`;
    };
    figure.dataset.top = String(top + 1);
    figure.draw(null);
  }

  function drawRows(canvas, seen, moved, row) {
    const ctx = canvas.getContext("2d"), cell = canvas.height / 28, left = canvas.height;
    const { against, supports } = settings.palette;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const image = ctx.createImageData(28, 28);
    seen.forEach((v, i) => { const g = Math.round(Math.min(Math.max(v, 0), 1) * 255); image.data.set([g, g, g, 255], 4 * i); });
    const digit = new OffscreenCanvas(28, 28);
    digit.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(digit, 0, 0, left, left);
    ctx.strokeStyle = "#ffb300";
    ctx.lineWidth = 3;
    ctx.strokeRect(1.5, row * cell + 1.5, left - 3, cell - 3 + 0);
    // The zero line where the bars' own range puts it: the width goes to the side the bars reach.
    const low = Math.min(0, ...moved), span = Math.max(0, ...moved) - low || 1, reach = canvas.width - left - 12;
    const middle = left + 6 + (-low / span) * reach;
    ctx.fillStyle = "#fff";
    ctx.fillRect(left, 0, canvas.width - left, canvas.height);
    moved.forEach((v, r) => {
      ctx.fillStyle = rgb(v >= 0 ? supports : against);
      ctx.globalAlpha = r === row ? 1 : 0.55;
      const w = (v / span) * reach;
      ctx.fillRect(Math.min(middle, middle + w), r * cell + 1, Math.max(Math.abs(w), 1), cell - 2);
    });
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#ffb300";
    ctx.strokeRect(left + 1.5, row * cell + 0.5, canvas.width - left - 3, cell - 1);
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(middle, 0);
    ctx.lineTo(middle, canvas.height);
    ctx.stroke();
  }

  // No drawing: no maps, one sentence.
  function clear() {
    ++ticket;
    last = cache = null;
    state.why = explainers ? "empty" : "off";
    say(explainers ? SAYS.empty : offWhy);
    panels = [];
    $(".dz-why-panels").replaceChildren();
  }

  return {
    clear,
    // Who computes: explain.js's PageExplainers (the models run in this page), or nothing (null).
    use(how) {
      [explainers, offWhy] = [how || null, SAYS.off];
      if (!last) clear();
      // The explainer files open on the first drawing, after its answer is painted. Opened ahead, while
      // the page looked idle, they delayed a visitor's first answer by ~0.4-0.5 s (digitzoo bench browser).
    },
    // The pen is down again: the maps shown are of an older drawing, and what is computing is dropped.
    stale() {
      if (!last) return;
      ++ticket;
      state.why = "stale";
      for (const panel of panels) panel.classList.add("dz-why-stale");
    },
    // A drawing's answer is on screen (`reading`, for `pair`); `since`: when it was asked for (the pen
    // lifted); `afterPaint`: wait until the answer was painted (it was shown in this task).
    explain(reading, pair, since, { afterPaint: wait = true } = {}) {
      if (!explainers) { state.why = "off"; say(offWhy); return; }
      if (reading.seen !== last?.reading.seen) for (const panel of panels) delete panel.dataset.target; // new drawing: each model's answer
      last = { reading, pair };
      request({ reading, pair, since, afterPaint: wait });
    },
  };
}
