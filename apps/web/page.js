// Starting the pages, shared by the static site (main.js) and the hub (hub.js): models.json, then
// onnxruntime-web and each model file, checked, then the Draw, Latent space and GAN pages mounted on
// what could be opened. What runs where is said in one line above each page (`.dz-note`).
//
// One direction of data: models.json -> runtime.js (checks, sessions) -> reader.js (readings) ->
// draw.js / latent.js / gan.js (the DOM). A page whose models cannot run here is given `askServer`
// (the hub) or shows why (the static site).

import { mountDraw } from "./draw.js";
import { mountGan } from "./gan.js";
import { mountLatent } from "./latent.js";
import { PageReader, classifierOf } from "./reader.js";
import { mountYours } from "./yours_page.js";
import { RefusedFile, fetchVerified, loadRuntime, openModel } from "./runtime.js";

export const SITE_FORMAT = "digitzoo-web/2";

// models.json at `url`, or an Error with a sentence.
export async function readSite(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${url} could not be read (HTTP ${response.status}).`);
  const site = await response.json();
  if (site.format !== SITE_FORMAT) throw new Error(`${url} is ${site.format}, this page reads ${SITE_FORMAT}: build it again.`);
  return site;
}

// Why no model can run in this page at all, or "".
function whyNotHere() {
  if (new URLSearchParams(location.search).get("inpage") === "0") return "Running the models in the page is off (?inpage=0 in the address).";
  if (typeof WebAssembly !== "object") return "This browser has no WebAssembly, so the models cannot run in the page.";
  return "";
}

// { ort: onnxruntime-web (its module and WebAssembly checked against models.json's sha384), why: "" },
// or { ort: null, why: the sentence saying why the models cannot run in this page }.
export async function startRuntime(site) {
  const why = whyNotHere();
  if (why) return { ort: null, why };
  try {
    return { ort: await loadRuntime(site.runtime), why: "" };
  } catch (error) {
    return { ort: null, why: error.message };
  }
}

// Each file is opened once per page, whoever asks first (the hub's tabs share one page).
const opening = new Map(); // file URL -> promise of { entry, session }, or of the Error that stopped it
const openOnce = (ort, entry) => {
  if (!opening.has(entry.file)) opening.set(entry.file, openModel(ort, entry).catch((error) => error));
  return opening.get(entry.file);
};

// `entry` opened ({ entry, session }), or null with the reason added to `refused`. (The classroom's
// student page opens the Draw page's models with it too.)
export async function open(ort, entry, refused) {
  const opened = await openOnce(ort, entry);
  if (!(opened instanceof Error)) return opened;
  refused.push(opened instanceof RefusedFile ? opened.message : `${entry.file} could not be opened: ${opened.message}`);
  return null;
}

// A visitor's own models (the "Your model" page) announced to the Draw page: one per page, the
// hub's tabs share it. Each event's detail: { entry, own } (yours.js OwnModel).
const ownModels = new EventTarget();

const OTHERS_AFTER_MS = 1000;

// The root split into the note line and the page's own element.
function frame(root) {
  root.innerHTML = `<p class="dz-note" role="status"></p><div></div>`;
  return [root.firstElementChild, root.lastElementChild];
}

// `how` (or a promise of it, while onnxruntime-web loads): { ort (or null), why (a sentence when ort
// is null), askServer (or null) }. The pad is there at once; the answers once the models are open.
export async function startDraw(root, site, onDrawing, how) {
  const [note, body] = frame(root);
  const shown = mountDraw(body, { site, onDrawing });
  note.textContent = site.sentences.loading;
  how = await how;
  const refused = [];
  let reader = null;
  if (how.ort) {
    // The detector and the picked pair first: the first answer waits for nothing else.
    const [detector, ...first] = await Promise.all([site.detector && open(how.ort, site.detector, refused),
                                                   ...site.draw.slice(0, 2).map((e) => open(how.ort, e, refused))]);
    const classifiers = new Map(first.filter(Boolean).map((opened) => [opened.entry.model, opened]));
    // The others (for the pickers and "all classifiers") open below, or when a reading asks for one:
    // opened at once, their builds ran ahead of the first reading's runs (hub, 2 cores, drawing as soon
    // as the pad showed: that reading took 118 ms instead of about 25).
    for (const entry of site.draw.slice(2)) classifiers.set(entry.model, () => open(how.ort, entry, refused));
    reader = new PageReader(how.ort, classifiers, detector, site.pad.not_a_digit_above);
  }
  const fallBack = refused.length > 0 && how.askServer; // the hub: a refused file means the server answers
  const say = () => {
    const why = refused.join(" ") || how.why;
    note.textContent = reader && !fallBack ? `The models run in your browser (wasm), each file checked (sha256). ${why}`
      : how.askServer ? `The server answers. ${why}` : why;
    return why;
  };
  shown.answerWith({ reader: fallBack ? null : reader, askServer: how.askServer, why: say() });
  if (reader && !fallBack) {
    ownModels.addEventListener("model", ({ detail }) => {
      reader.classifiers.set(detail.entry.model, detail);
      shown.addModel(detail.entry);
    });
  }
  body.dataset.readyMs = performance.now().toFixed(1);
  if (reader && !fallBack) {
    // The others open after the first answer, or after a second without one (a visitor still
    // reading the page): the static site starts its other tabs only then (main.js).
    await Promise.race([shown.answered, new Promise((resolve) => setTimeout(resolve, OTHERS_AFTER_MS))]);
    await Promise.all([...reader.classifiers.keys()].map((model) => classifierOf(reader.classifiers, model)));
    say(); // a refusal among the others is said too
  }
}

export async function startLatent(root, site, how) {
  const [note, body] = frame(root);
  const refused = [];
  let points, decoder = null, encoder = null;
  try {
    points = JSON.parse(new TextDecoder().decode(await fetchVerified(site.latent.points.file, site.latent.points.sha256)));
  } catch (error) {
    note.textContent = error.message;
    return;
  }
  if (how.ort) [decoder, encoder] = await Promise.all([open(how.ort, site.latent.decoder, refused),
                                                       open(how.ort, site.latent.encoder, refused)]);
  const inPage = decoder && encoder;
  const run = async ({ entry, session }, data, shape) => {
    const outputs = await session.run({ [entry.inputs[0].name]: new how.ort.Tensor("float32", data, shape) });
    return outputs[entry.outputs[0].name].data;
  };
  const why = refused.join(" ") || how.why;
  mountLatent(body, {
    latent: site.latent, points, pad: site.pad, askServer: how.askServer, why,
    decode: inPage ? (codes) => run(decoder, Float32Array.from(codes.flat()), [codes.length, 3]) : null,
    encode: inPage ? async (x) => Array.from(await run(encoder, x, [1, 1, 28, 28])) : null,
  });
  note.textContent = inPage ? `The ${site.latent.label} runs in your browser (wasm), checked (sha256).`
    : how.askServer ? `The server decodes. ${why}` : why;
}

export async function startGan(root, site, how) {
  const [note, body] = frame(root);
  const refused = [];
  const generator = how.ort ? await open(how.ort, site.gan.generator, refused) : null;
  const why = refused.join(" ") || how.why;
  const generate = generator && (async (noise, labels) => {
    const { entry, session } = generator;
    const outputs = await session.run({
      [entry.inputs[0].name]: new how.ort.Tensor("float32", noise, [labels.length, site.gan.z_dim]),
      [entry.inputs[1].name]: new how.ort.Tensor("int64", BigInt64Array.from(labels, BigInt), [labels.length]),
    });
    return outputs[entry.outputs[0].name].data;
  });
  mountGan(body, { gan: site.gan, generate, askServer: how.askServer, why });
  note.textContent = generator ? `The ${site.gan.label} generator runs in your browser (wasm), checked (sha256).`
    : how.askServer ? `The server draws the digits. ${why}` : why;
}

export function startYours(root, site, how) {
  const [note, body] = frame(root);
  mountYours(body, { site, ort: how.ort, why: how.why,
                     onModel: (own, entry) => ownModels.dispatchEvent(new CustomEvent("model", { detail: { entry, own } })) });
  note.textContent = how.ort ? "Your model runs in your browser (wasm): the file is not sent anywhere." : "";
}
