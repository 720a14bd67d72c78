// onnxruntime-node for the tests that run the shipped model files, one copy for all of them:
// `ort` (null where it cannot load on this machine) and `why` (the reason, for the skip message).
// Where CI requires every check (DIGITZOO_REQUIRE_BROWSER), a runtime that cannot load is an error.

export let ort = null, why = "";
try {
  ort = (await import("onnxruntime-node")).default;
} catch (error) {
  if (process.env.DIGITZOO_REQUIRE_BROWSER) throw error;
  why = `onnxruntime-node cannot load here (${error.message.split("\n")[0]})`;
}
