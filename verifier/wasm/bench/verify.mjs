// The browser verifier's .wasm in Node: N verifications of the credential test vector `valid`,
// through the exports the verify page's script calls for a text (src/http/web/verify.js). The
// native baseline is `examples/native_verifications.rs` (docs/benchmarks.md, "Browser verifier").
// Run: node verifier/wasm/bench/verify.mjs path/to/sagat_verify_wasm.wasm 2000
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const [wasmPath, count] = process.argv.slice(2);
const n = Number(count || 2000);
const dir = join(dirname(fileURLToPath(import.meta.url)), "../../testdata/credentials");
const read = (f) => readFileSync(join(dir, f));
const kase = JSON.parse(read("valid.json"));
const request = new TextEncoder().encode(JSON.stringify({
  qr: kase.qr,
  trust: read("trust.json").toString("utf8"),
  status: read("status.cwt").toString("base64"),
  root: read("root.vkey").toString("utf8"),
  now: kase.now,
}));
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const k = instance.exports;
let valid = 0;
for (let i = 0; i < n; i++) {
  const at = k.sagat_input(request.length);
  new Uint8Array(k.memory.buffer, at, request.length).set(request);
  const len = k.sagat_verify();
  const answer = new TextDecoder().decode(new Uint8Array(k.memory.buffer, k.sagat_output(), len));
  if (answer.startsWith('{"verdict":"VALID"')) valid++;
}
if (valid !== n) throw new Error(`only ${valid} of ${n} VALID`);
console.log(`${n} verifications, all VALID`);
