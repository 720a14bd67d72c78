// Drawing the models' outputs on canvases, the same on every page: a 28x28 digit, a grid of them,
// the belief row by row, the test digits' codes. DOM only; the numbers come from the models.

const WINNER = "#d62728", OTHER = "#b0b0b0"; // as the /classify API's chart (apps/charts.py)
export const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                        "#bcbd22", "#17becf"];

// A 28x28 float image in [0, 1] (white ink on black) into `canvas` at `x`, `y`.
export function paintDigit(canvas, pixels, x = 0, y = 0) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.min(Math.max(pixels[i], 0), 1) * 255);
    image.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(image, x, y);
}

// `count` digits of 784 pixels each from `images`, in `columns` columns with 2 px gaps (0.15 grey,
// as the server's /sample grid): the canvas is sized to fit them.
export function paintGrid(canvas, images, count, columns) {
  const rows = Math.ceil(count / columns);
  canvas.width = columns * 30;
  canvas.height = rows * 30;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "rgb(38, 38, 38)";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < count; i++) {
    paintDigit(canvas, images.subarray(i * 784, (i + 1) * 784), (i % columns) * 30 + 1, Math.floor(i / columns) * 30 + 1);
  }
}

// The belief after each row read, one line per digit: the digit believed after the last row thick
// and red, the others grey, each named at its end if it is anywhere near; nothing for `rows` null.
// The canvas says which digit leads in data-top (read by the tests).
export function paintBelief(canvas, rows, classes) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.top = "";
  if (!rows) return;
  const k = canvas.width / (canvas.getBoundingClientRect().width || canvas.width); // text as large on a phone
  const left = 34 * k, right = 24 * k, top = 8 * k, bottom = 22 * k;
  const w = canvas.width - left - right, h = canvas.height - top - bottom;
  const px = (r) => left + (r / Math.max(rows.length - 1, 1)) * w;
  const py = (p) => top + (1 - p) * h;
  ctx.font = `${Math.round(12 * k)}px system-ui, sans-serif`;
  ctx.strokeStyle = "#ddd";
  ctx.fillStyle = "#555";
  ctx.lineWidth = k;
  for (const p of [0, 0.5, 1]) {
    ctx.beginPath();
    ctx.moveTo(left, py(p));
    ctx.lineTo(left + w, py(p));
    ctx.stroke();
    ctx.fillText(p.toFixed(1), 2 * k, py(p) + 4 * k);
  }
  ctx.fillText("row 1", left, canvas.height - 5 * k);
  ctx.fillText(`row ${rows.length}`, left + w - 42 * k, canvas.height - 5 * k);
  const last = rows[rows.length - 1];
  const lead = last.indexOf(Math.max(...last));
  const order = [...classes.keys()].filter((d) => d !== lead).concat([lead]); // the answer drawn last, on top
  for (const d of order) {
    ctx.strokeStyle = ctx.fillStyle = d === lead ? WINNER : OTHER;
    ctx.lineWidth = (d === lead ? 4 : 1.5) * k;
    ctx.beginPath();
    rows.forEach((probs, r) => (r ? ctx.lineTo(px(r), py(probs[d])) : ctx.moveTo(px(r), py(probs[d]))));
    ctx.stroke();
    if (d === lead || last[d] > 0.05) ctx.fillText(classes[d], left + w + 6 * k, py(last[d]) + 4 * k);
  }
  canvas.dataset.top = classes[lead];
}
