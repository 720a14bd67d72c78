// The static site's page: tabs over the Draw, Latent space, GAN and Your model pages (page.js), every model run
// here with onnxruntime-web. Nothing is sent anywhere: there is no server to ask.

import { readSite, startDraw, startGan, startLatent, startRuntime, startYours } from "./page.js";

const $ = (selector) => document.querySelector(selector);

for (const button of document.querySelectorAll("nav [role=tab]")) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll("nav [role=tab]")) other.setAttribute("aria-selected", other === button);
    for (const section of document.querySelectorAll(".tab")) section.hidden = section.dataset.tab !== button.dataset.tab;
  });
}

async function start() {
  let site;
  try {
    site = await readSite("models.json");
  } catch (error) {
    $("#status").textContent = `${error.message} Build the site with \`digitzoo web build DIR\` and serve DIR.`;
    return;
  }
  const runtime = startRuntime(site).then(({ ort, why }) => {
    $("#status").textContent = ort ? "Every model runs here, in your browser: nothing you draw leaves the page." : why;
    return { ort, why, askServer: null };
  });
  await startDraw($("#tab-draw"), site, () => {}, runtime); // the pad at once; the tab a visitor sees first answers first
  const how = await runtime;
  startYours($("#tab-yours"), site, how);
  await Promise.all([site.latent && startLatent($("#tab-latent"), site, how), site.gan && startGan($("#tab-gan"), site, how)]);
}

start();
