// The hub's side of the pages. The Draw, Latent space and GAN tabs are each a gr.HTML component
// (apps/pages.py) whose js_on_load calls `mount(kind, element, props, trigger)`: everything else is
// the static site's code (page.js). What the hub adds is a server: models.json and the model files
// come from it (apps/pages.py), and a page whose models cannot run here asks it, one POST per
// question, bounded there ("busy" is asked again a few times, then said).

import { readSite, startDraw, startGan, startLatent, startRuntime, startYours } from "./page.js";

const BASE = new URL(".", import.meta.url);
const BUSY_RETRIES = 3;
let started = null;

// models.json at once, and onnxruntime-web started: once per page, whichever tab mounts first.
function start() {
  started ??= (async () => {
    const style = Object.assign(document.createElement("link"), { rel: "stylesheet", href: new URL("pages.css", BASE) });
    document.head.append(style);
    const site = await readSite(new URL("models.json", BASE));
    return { site, runtime: startRuntime(site) };
  })();
  return started;
}

// One question to the server: POST ask/<kind> with JSON; the answer's JSON ({ error } for a refusal).
function askServer(kind) {
  return async (body) => {
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(new URL(`ask/${body.kind ?? kind}`, BASE), {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      } catch (error) {
        return { error: `the server could not be asked (${error.message}).` };
      }
      if (response.status !== 503 || attempt === BUSY_RETRIES) {
        return response.json().catch(() => ({ error: `the server answered HTTP ${response.status}.` }));
      }
      await new Promise((resolve) => setTimeout(resolve, 400 * 2 ** attempt)); // busy: ask again a little later
    }
  };
}

export async function mount(kind, element, props, trigger) {
  element.innerHTML = `<p class="dz-note">Loading the models…</p>`;
  let site, runtime;
  try {
    ({ site, runtime } = await start());
  } catch (error) {
    element.querySelector(".dz-note").textContent = error.message;
    return;
  }
  // The pad shows once onnxruntime-web is loaded: drawing while it loads (both on the main thread)
  // made the first answer later (1.8-2.0 s after navigation instead of 1.5 s, tab draw alone).
  const how = { ...await runtime, askServer: askServer("classify") };
  if (kind === "draw") {
    // The component's value is the drawing, strokes and picture: Python events read it.
    const onDrawing = (strokes, canvas) => {
      props.value = { strokes, png: strokes.length ? canvas.toDataURL("image/png") : null };
      trigger("change");
    };
    await startDraw(element, site, onDrawing, how);
  } else if (kind === "latent") {
    await startLatent(element, site, how);
  } else if (kind === "gan") {
    await startGan(element, site, how);
  } else if (kind === "yours") {
    startYours(element, site, how);
  }
}
