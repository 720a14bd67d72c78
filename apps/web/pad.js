// The drawing pad: the drawing kept as strokes (points with times), undo / redo / clear, drawn on a canvas.
//
// The model is kept apart from the DOM (as tfjs-examples/mnist keeps index.js apart from ui.js):
// `Strokes` is the drawing as data, what undo, redo and clear change and what a page can keep or send,
// and it runs in node (test/pad.test.mjs). `attachPad` binds it to a canvas: pointer events (mouse,
// pen and touch alike) add points, and the canvas is redrawn from the strokes, so an undone stroke
// leaves the pixels too. The pad's size and brush come from the page's config (models.json's "pad",
// written from hub/serving/sketch.py), the same numbers the server's pad uses.

// The drawing: its strokes, and the history undo walks back (a stroke drawn, or a Clear) and redo forward.
export class Strokes {
  constructor() {
    this.done = []; // the strokes on the pad, oldest first
    this.history = []; // what was done, latest last: { stroke } or { cleared: the strokes a Clear took }
    this.future = []; // what was undone, latest last: redo does it again
    this.current = null; // the stroke being drawn
  }

  get empty() {
    return this.done.length === 0;
  }

  // A stroke starts at point [x, y] at time t (ms); a new stroke forgets what was undone.
  begin(x, y, t) {
    this.current = [[x, y, t]];
    this.done.push(this.current);
    this.history.push({ stroke: this.current });
    this.future = [];
  }

  extend(x, y, t) {
    if (this.current !== null) this.current.push([x, y, t]);
  }

  end() {
    this.current = null;
  }

  // Each returns whether the drawing changed.
  undo() {
    const step = this.history.pop();
    if (step === undefined) return false;
    this.current = null;
    if (step.stroke) this.done.pop();
    else this.done = step.cleared;
    this.future.push(step);
    return true;
  }

  redo() {
    const step = this.future.pop();
    if (step === undefined) return false;
    if (step.stroke) this.done.push(step.stroke);
    else this.done = [];
    this.history.push(step);
    return true;
  }

  // Clear is a step like a stroke: Undo brings the drawing back.
  clear() {
    if (this.empty) return false;
    this.history.push({ cleared: this.done });
    this.done = [];
    this.current = null;
    this.future = [];
    return true;
  }

  // The strokes as plain data: [[[x, y, t], ...], ...] in pad pixels and milliseconds.
  toJSON() {
    return this.done.map((stroke) => stroke.map((point) => [...point]));
  }
}

// Draw `strokes` on a 2D context as the pen does: round caps and joins, black, `penWidth` wide.
export function paintStrokes(ctx, strokes, penWidth) {
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.lineWidth = penWidth;
  ctx.strokeStyle = "#000";
  for (const stroke of strokes) {
    ctx.beginPath();
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    // A tap is a stroke of one point: a line of length 0 with round caps leaves a dot.
    for (const [x, y] of stroke.length > 1 ? stroke.slice(1) : stroke) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

// Bind a pad to `canvas`: { strokes, undo(), redo(), clear(), context }. `onChange(strokes, how)` is
// called after every change the drawing sees (a point, undo, redo, clear): `how.lifted` when a stroke
// ends (the pixels as they were) or undo, redo or clear redrew it (`how.redrawn`).
export function attachPad(canvas, { size, penWidth }, onChange = () => {}) {
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const strokes = new Strokes();
  const redraw = () => {
    context.clearRect(0, 0, size, size);
    paintStrokes(context, strokes.done, penWidth);
  };
  // A pointer position in pad pixels, whatever size the canvas is shown at.
  const at = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * (size / rect.width), (event.clientY - rect.top) * (size / rect.height)];
  };
  let drawing = false;
  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    strokes.begin(...at(event), event.timeStamp);
    paintStrokes(context, [strokes.current], penWidth);
    onChange(strokes);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const from = strokes.current[strokes.current.length - 1];
    strokes.extend(...at(event), event.timeStamp);
    paintStrokes(context, [[from, strokes.current[strokes.current.length - 1]]], penWidth); // just the new piece
    onChange(strokes);
  });
  const lift = () => {
    if (!drawing) return;
    drawing = false;
    strokes.end();
    onChange(strokes, { lifted: true }); // the stroke is whole: a page that reads at stroke ends reads now
  };
  canvas.addEventListener("pointerup", lift);
  canvas.addEventListener("pointercancel", lift);
  const change = (changed) => {
    if (!changed) return;
    drawing = false;
    redraw();
    onChange(strokes, { lifted: true, redrawn: true });
  };
  return {
    strokes,
    context,
    undo: () => change(strokes.undo()),
    redo: () => change(strokes.redo()),
    clear: () => change(strokes.clear()),
  };
}
