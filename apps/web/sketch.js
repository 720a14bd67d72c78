// The browser's copy of digitzoo/hub/serving/sketch.py: a drawing (RGBA pixels) -> the 28x28 input the
// models were trained on. Same steps, same order, same numbers:
//   find the ink (opacity on a transparent layer, else the grey level against the border's paper),
//   crop it, normalise the stroke width at 80x80, fit the longest side to 20 px, put the centre of
//   mass in the middle of 28x28.
// Where Python computes in float32 (numpy arrays, Pillow's "F" images) this file stores into
// Float32Array or rounds with Math.fround, and the resizes follow Pillow's resampling (separable,
// horizontal pass first, double accumulators), so the two agree to float rounding; tests/test_web.py
// measures the difference on rendered drawings.

const WORK_SIZE = 80;       // the ink is normalised at 4x the 20 px box
const TARGET_STROKE = 10.0; // MNIST strokes are ~2.5 px of the 20 px box, i.e. ~10 px at WORK_SIZE
const MIN_INK_SIDE = 4;     // a smaller mark is a dot, not a digit
const f32 = Math.fround;

export class SketchError extends Error {}
export class EmptySketch extends SketchError {}

// Python's round(): halves go to the even neighbour (round(2.5) == 2).
function roundHalfEven(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

// An image of float32 pixels, row-major: what numpy's float32 arrays and Pillow's "F" images hold.
class Plane {
  constructor(width, height, data) {
    this.width = width;
    this.height = height;
    this.data = data || new Float32Array(width * height);
  }
  max() {
    let m = -Infinity;
    for (const v of this.data) if (v > m) m = v;
    return m;
  }
  divideBy(value) {
    const d = f32(value);
    for (let i = 0; i < this.data.length; i++) this.data[i] = this.data[i] / d;
  }
  crop(top, bottom, left, right) {
    const out = new Plane(right - left, bottom - top);
    for (let y = top; y < bottom; y++) {
      out.data.set(this.data.subarray(y * this.width + left, y * this.width + right), (y - top) * out.width);
    }
    return out;
  }
}

// Pillow's uint8 RGB(A) -> L conversion: ITU-R 601-2 luma in 16-bit fixed point.
function luma(r, g, b) {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

function median(values) {
  const sorted = Uint8Array.from(values).sort();
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

// Lookup table grey value -> ink in [0, 1], given the grey values of the border (sketch._paper_to_ink_table).
function paperToInkTable(border) {
  const background = median(border) / 255.0;
  const paper = background > 0.5 ? 1.0 - background : background;
  const scale = f32(Math.max(1.0 - paper, 1e-6));
  const table = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const level = f32(i / 255.0);
    const ink = background > 0.5 ? f32(1.0 - level) : level; // dark-on-light canvases are inverted
    table[i] = Math.min(Math.max(f32(f32(ink - f32(paper)) / scale), 0.0), 1.0);
  }
  return table;
}

// RGBA bytes -> (uint8 level per pixel, 256-entry ink table): sketch.ink_levels for RGBA input.
export function inkLevels(rgba, width, height) {
  if (width < 8 || height < 8) throw new SketchError(`The image is too small (${width}x${height}); use at least 8x8 pixels.`);
  const n = width * height;
  const levels = new Uint8Array(n);
  let minAlpha = 255;
  for (let i = 0; i < n; i++) minAlpha = Math.min(minAlpha, rgba[4 * i + 3]);
  if (minAlpha < 253) {
    // Strokes on a transparent layer: opacity is the ink, whatever the stroke colour.
    for (let i = 0; i < n; i++) levels[i] = rgba[4 * i + 3];
    const table = new Float32Array(256);
    for (let i = 0; i < 256; i++) table[i] = i / 255.0;
    return { levels, table };
  }
  for (let i = 0; i < n; i++) levels[i] = luma(rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]);
  const border = [];
  for (let x = 0; x < width; x++) border.push(levels[x], levels[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) border.push(levels[y * width], levels[y * width + width - 1]);
  return { levels, table: paperToInkTable(border) };
}

// (top, bottom, left, right) of the pixels where inside(i) holds, or null when there are none.
function box(width, height, inside) {
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (inside(y * width + x)) {
        if (y < top) top = y;
        bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  return bottom < 0 ? null : { top, bottom: bottom + 1, left, right: right + 1 };
}

// Pillow's resampling filters (Resample.c) and its coefficient table for one axis.
const BOX = { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) };
const BILINEAR = { support: 1.0, weight: (x) => { x = Math.abs(x); return x < 1.0 ? 1.0 - x : 0.0; } };

function coefficients(inSize, outSize, filter) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = filter.support * filterScale;
  const taps = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const last = Math.min(Math.trunc(center + support + 0.5), inSize);
    const weights = [];
    let total = 0.0;
    for (let x = first; x < last; x++) {
      const w = filter.weight((x - center + 0.5) / filterScale);
      weights.push(w);
      total += w;
    }
    if (total !== 0.0) for (let i = 0; i < weights.length; i++) weights[i] /= total;
    taps.push({ first, weights });
  }
  return taps;
}

// Image.resize on an "F" image: the horizontal pass, then the vertical one, each summing in double.
function resize(plane, width, height, filter) {
  const across = coefficients(plane.width, width, filter);
  const wide = new Plane(width, plane.height);
  for (let y = 0; y < plane.height; y++) {
    const row = y * plane.width;
    for (let x = 0; x < width; x++) {
      const { first, weights } = across[x];
      let sum = 0.0;
      for (let i = 0; i < weights.length; i++) sum += plane.data[row + first + i] * weights[i];
      wide.data[y * width + x] = sum;
    }
  }
  const down = coefficients(plane.height, height, filter);
  const out = new Plane(width, height);
  for (let y = 0; y < height; y++) {
    const { first, weights } = down[y];
    for (let x = 0; x < width; x++) {
      let sum = 0.0;
      for (let i = 0; i < weights.length; i++) sum += wide.data[(first + i) * width + x] * weights[i];
      out.data[y * width + x] = sum;
    }
  }
  return out;
}

// Longest side to `side` pixels, aspect kept: box filter when shrinking, bilinear when enlarging.
function fit(plane, side) {
  const scale = side / Math.max(plane.width, plane.height);
  const width = Math.max(1, roundHalfEven(plane.width * scale));
  const height = Math.max(1, roundHalfEven(plane.height * scale));
  const shrinking = width < plane.width || height < plane.height;
  return resize(plane, width, height, shrinking ? BOX : BILINEAR);
}

// Mean stroke width in pixels: for a stroke of width w and length L, area / (edge / 2) = w.
function strokeWidth(plane) {
  const { width, height, data } = plane;
  const solid = (y, x) => y >= 0 && y < height && x >= 0 && x < width && data[y * width + x] > 0.5;
  let area = 0, edge = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!solid(y, x)) continue;
      area++;
      if (!(solid(y - 1, x) && solid(y + 1, x) && solid(y, x - 1) && solid(y, x + 1))) edge++;
    }
  }
  return (2.0 * area) / Math.max(edge, 1);
}

// Pillow's MaxFilter / MinFilter(size): the extreme over a size x size window, the edges replicated
// (which equals the window clipped to the image). Separable: rows first, then columns.
function rankFilter(plane, size, pick) {
  const { width, height } = plane;
  const r = (size - 1) / 2;
  const rows = new Plane(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = plane.data[y * width + x];
      for (let k = Math.max(0, x - r); k <= Math.min(width - 1, x + r); k++) v = pick(v, plane.data[y * width + k]);
      rows.data[y * width + x] = v;
    }
  }
  const out = new Plane(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = rows.data[y * width + x];
      for (let k = Math.max(0, y - r); k <= Math.min(height - 1, y + r); k++) v = pick(v, rows.data[k * width + x]);
      out.data[y * width + x] = v;
    }
  }
  return out;
}

// RGBA bytes of a drawing -> Float32Array(784), 28x28 row-major, white ink (1) on black (0).
// Throws SketchError (EmptySketch for a blank canvas) with a sentence a person can act on.
export function preprocess(rgba, width, height) {
  const { levels, table } = inkLevels(rgba, width, height);
  let lo = 255, hi = 0;
  for (const v of levels) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const peak = Math.max(table[lo], table[hi]); // the table is monotonic
  if (peak < 0.15) throw new EmptySketch("The canvas is empty: draw a digit first.");
  let inked = 0;
  for (const v of levels) if (table[v] > 0.5 * peak) inked++;
  if (inked > 0.6 * levels.length) throw new SketchError("Most of the canvas is ink: clear it and draw a single digit.");
  const found = box(width, height, (i) => table[levels[i]] > 0.3 * peak);
  if (Math.max(found.bottom - found.top, found.right - found.left) < MIN_INK_SIDE) {
    throw new SketchError("The drawing is too small to read: draw the digit larger.");
  }
  const ink = new Plane(found.right - found.left, found.bottom - found.top);
  const peak32 = f32(peak);
  for (let y = found.top; y < found.bottom; y++) {
    for (let x = found.left; x < found.right; x++) {
      ink.data[(y - found.top) * ink.width + (x - found.left)] = table[levels[y * width + x]] / peak32;
    }
  }

  // Normalise the stroke width at 4x the final resolution, where widths are measurable.
  let work = fit(ink, WORK_SIZE);
  work.divideBy(Math.max(work.max(), 1e-6));
  const stroke = strokeWidth(work);
  if (stroke < 0.7 * TARGET_STROKE) {
    work = rankFilter(work, roundHalfEven(TARGET_STROKE - stroke) | 1, Math.max);
  } else if (stroke > 1.6 * TARGET_STROKE) {
    const thinner = rankFilter(work, Math.min(roundHalfEven(stroke - TARGET_STROKE) | 1, 15), Math.min);
    if (thinner.max() > 0.5) work = thinner; // never erase the drawing
  }
  const kept = box(work.width, work.height, (i) => work.data[i] > 0.3);
  const digit = fit(work.crop(kept.top, kept.bottom, kept.left, kept.right), 20); // longest side 20 px
  digit.divideBy(Math.max(digit.max(), 1e-6));

  // Centre of mass to the middle of the 28x28 frame (MNIST), clamped so nothing is cut off.
  let mass = 0.0, sumY = 0.0, sumX = 0.0;
  for (let y = 0; y < digit.height; y++) {
    for (let x = 0; x < digit.width; x++) {
      const v = digit.data[y * digit.width + x];
      mass += v; sumY += y * v; sumX += x * v;
    }
  }
  const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const y0 = clamp(roundHalfEven(14 - sumY / mass), 0, 28 - digit.height);
  const x0 = clamp(roundHalfEven(14 - sumX / mass), 0, 28 - digit.width);
  const out = new Float32Array(28 * 28);
  for (let y = 0; y < digit.height; y++) {
    for (let x = 0; x < digit.width; x++) {
      out[(y0 + y) * 28 + x0 + x] = clamp(digit.data[y * digit.width + x], 0.0, 1.0);
    }
  }
  return out;
}
