// digest.js's SHA-256 (the page's own, for plain http:// pages where crypto.subtle is missing):
// the FIPS 180-4 / NIST examples, random buffers of every length around the block boundaries and
// a 2 MB one against node:crypto, a shipped ONNX file against the manifest's sha256, and
// runtime.js's fetchVerified with crypto.subtle taken away (as on a class's LAN).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { sha256, toHex } from "../digest.js";
import { RefusedFile, digestHex, fetchVerified } from "../runtime.js";

const REPO = new URL("../../../", import.meta.url);
const hex = (data) => toHex(sha256(data));
const nodeHex = (data) => createHash("sha256").update(data).digest("hex");
const text = (s) => new TextEncoder().encode(s);

test("the NIST examples", () => {
  assert.equal(hex(text("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(hex(text("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(hex(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  assert.equal(hex(text("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  assert.equal(hex(new Uint8Array(1_000_000).fill(0x61)), // one million "a"
               "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
});

test("random buffers of 0..300 bytes hash as node:crypto does", () => {
  for (let n = 0; n <= 300; n++) {
    const data = randomBytes(n);
    assert.equal(hex(data), nodeHex(data), `${n} bytes`);
  }
});

test("any ArrayBuffer view or ArrayBuffer is hashed over its own bytes only", () => {
  const whole = randomBytes(200);
  const part = new Uint8Array(whole.buffer, whole.byteOffset + 3, 130);
  const expected = nodeHex(part);
  assert.equal(hex(part), expected);
  assert.equal(hex(new DataView(part.buffer, part.byteOffset, part.byteLength)), expected);
  assert.equal(hex(part.slice().buffer), expected);
  assert.throws(() => sha256("abc"), TypeError);
  assert.equal(toHex(new Uint8Array([0, 1, 15, 16, 255])), "00010f10ff");
});

test("a 2 MB buffer, timed (and a 14 MB one, the size of the largest model files)", () => {
  for (const size of [2 * 1024 * 1024, 14 * 1024 * 1024]) {
    const data = randomBytes(size);
    const start = performance.now();
    const got = hex(data);
    const ms = performance.now() - start;
    assert.equal(got, nodeHex(data));
    console.log(`digest.js sha256 of ${(size / 1024 / 1024).toFixed(0)} MB: ${ms.toFixed(1)} ms ` +
                `(${(size / 1024 / 1024 / (ms / 1000)).toFixed(0)} MB/s)`);
  }
});

test("a shipped ONNX file hashes to its sha256 in the manifest", () => {
  const manifest = JSON.parse(readFileSync(new URL("hub/pretrained/exports/manifest.json", REPO), "utf-8"));
  const artifact = manifest.models.mnist_cnn.artifacts.find((a) => a.file === "mnist_cnn/mnist_cnn.onnx");
  const bytes = readFileSync(new URL(`hub/pretrained/exports/${artifact.file}`, REPO));
  assert.equal(bytes.length, artifact.bytes);
  assert.equal(hex(bytes), artifact.sha256);
});

// globalThis.crypto as on an http:// page (getRandomValues, no subtle) while `run` runs, then restored.
async function withoutSubtle(run) {
  const real = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  const plain = { getRandomValues: (bytes) => real.get.call(globalThis).getRandomValues(bytes) };
  Object.defineProperty(globalThis, "crypto", { value: plain, configurable: true, enumerable: true, writable: true });
  try {
    assert.equal(globalThis.crypto.subtle, undefined);
    return await run();
  } finally {
    Object.defineProperty(globalThis, "crypto", real);
  }
}

test("digestHex gives the same hex with crypto.subtle and without it", async () => {
  const data = randomBytes(5000);
  const withSubtle = await digestHex("SHA-256", data);
  assert.equal(withSubtle, nodeHex(data));
  assert.equal(await withoutSubtle(() => digestHex("SHA-256", data.buffer.slice(data.byteOffset, data.byteOffset + 5000))),
               withSubtle);
  await withoutSubtle(() => assert.rejects(digestHex("SHA-384", data), /SHA-384 needs crypto\.subtle/));
  assert.ok(globalThis.crypto.subtle); // restored
});

test("fetchVerified checks files without crypto.subtle (a plain http:// page)", async () => {
  const bytes = readFileSync(new URL("hub/pretrained/exports/mnist_cnn/mnist_cnn.onnx", REPO));
  const sha = nodeHex(bytes);
  const changed = Uint8Array.from(bytes);
  changed[1000] ^= 1;
  const files = new Map([["models/a.onnx", bytes], ["models/b.onnx", changed]]);
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url) => (files.has(url) ? new Response(files.get(url)) : new Response("missing", { status: 404 }));
  try {
    await withoutSubtle(async () => {
      assert.deepEqual(await fetchVerified("models/a.onnx", sha), new Uint8Array(bytes));
      await assert.rejects(fetchVerified("models/b.onnx", sha), (error) => {
        assert.ok(error instanceof RefusedFile);
        assert.match(error.message, /^Refused models\/b\.onnx: its sha256 is [0-9a-f]{12}…, models\.json expects /);
        return true;
      });
      await assert.rejects(fetchVerified("models/gone.onnx", sha), RefusedFile);
    });
  } finally {
    globalThis.fetch = realFetch;
  }
});
