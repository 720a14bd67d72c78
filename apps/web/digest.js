// SHA-256 in plain JavaScript (FIPS 180-4), for pages where crypto.subtle does not exist.
//
// Browsers give crypto.subtle only to secure contexts (https://, or http://localhost). A class's
// phones open the teacher's hub over plain http on the LAN (`digitzoo serve --host 0.0.0.0`,
// http://192.168.x.y:7860/...): there runtime.js's digestHex hashes each model file with this instead,
// so every file is still checked against models.json's sha256 before it runs. Pure functions, no
// dependency; 32-bit integer arithmetic only (a few MB hash in tens of milliseconds in V8:
// test/digest.test.mjs prints the time).
//
// Only SHA-256 is here: onnxruntime-web's sha384 pins (its module and wasm) are Subresource Integrity,
// checked by the browser's fetch itself (`fetch(url, {integrity})`), which needs no secure context.

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// The first 32 bits of the fractional parts of the square roots of the first 8 primes.
const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// Runs the compression function over the 64-byte blocks of bytes[start, end) (end - start a multiple
// of 64), updating `state` (Int32Array(8)); `w` is the message schedule (Int32Array(64)), reused.
function blocks(state, w, bytes, start, end) {
  let h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3];
  let h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7];
  for (let p = start; p < end; p += 64) {
    for (let i = 0; i < 16; i++) {
      const q = p + 4 * i;
      w[i] = (bytes[q] << 24) | (bytes[q + 1] << 16) | (bytes[q + 2] << 8) | bytes[q + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15], y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (((s0 + s1) | 0) + ((w[i - 7] + w[i - 16]) | 0)) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (((h + S1) | 0) + ((ch + K[i]) | 0) + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
  }
  state[0] = h0; state[1] = h1; state[2] = h2; state[3] = h3;
  state[4] = h4; state[5] = h5; state[6] = h6; state[7] = h7;
}

// The bytes of an ArrayBuffer or any ArrayBuffer view (Uint8Array, DataView, ...), not copied.
function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError("sha256 hashes an ArrayBuffer or a typed array");
}

// The SHA-256 digest (32 bytes) of an ArrayBuffer or typed array.
export function sha256(data) {
  const bytes = asBytes(data);
  const n = bytes.length;
  const state = Int32Array.from(INITIAL);
  const w = new Int32Array(64);
  const whole = n - (n % 64);
  blocks(state, w, bytes, 0, whole);
  // The tail, then 0x80, zeros, and the length in bits (64-bit big-endian): one block or two.
  const last = new Uint8Array(n - whole < 56 ? 64 : 128);
  last.set(bytes.subarray(whole));
  last[n - whole] = 0x80;
  const tail = new DataView(last.buffer);
  tail.setUint32(last.length - 8, Math.floor(n / 0x20000000)); // n * 8 / 2**32
  tail.setUint32(last.length - 4, (n << 3) >>> 0); // the lower 32 bits of n * 8
  blocks(state, w, last, 0, last.length);
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setInt32(4 * i, state[i]);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

// Lowercase hex of an ArrayBuffer or typed array (as the manifest writes a sha256).
export function toHex(data) {
  let out = "";
  for (const b of asBytes(data)) out += HEX[b];
  return out;
}
