// Camera frame to verdict with the browser verifier's .wasm in Node: N times, the QR code read
// from a 1280 x 720 RGBA frame (`sagat_read_qr`) and the text verified (`sagat_verify`), the two
// calls the verify page's script makes for a camera frame (src/http/web/verify.js). The frame
// and the native baseline are `examples/native_frames.rs` (docs/benchmarks.md, "Browser
// verifier"). Run:
//   cargo run --release -p sagat-verify-wasm --example native_frames -- --write /tmp/frame.rgba
//   node verifier/wasm/bench/frames.mjs path/to/sagat_verify_wasm.wasm /tmp/frame.rgba 20
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const [wasmPath, framePath, count] = process.argv.slice(2);
const n = Number(count || 20);
const [width, height] = [1280, 720];
const frame = readFileSync(framePath);
if (frame.length !== width * height * 4) throw new Error("not a 1280 x 720 RGBA frame");
const dir = join(dirname(fileURLToPath(import.meta.url)), "../../testdata/credentials");
const read = (f) => readFileSync(join(dir, f));
const kase = JSON.parse(read("valid.json"));
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const k = instance.exports;
const input = (bytes) => {
  const at = k.sagat_input(bytes.length);
  new Uint8Array(k.memory.buffer, at, bytes.length).set(bytes);
};
const output = (len) => new TextDecoder().decode(new Uint8Array(k.memory.buffer, k.sagat_output(), len));
let valid = 0;
for (let i = 0; i < n; i++) {
  input(frame);
  const len = k.sagat_read_qr(width, height);
  if (!len) throw new Error("no QR code read from the frame");
  const qr = output(len);
  input(new TextEncoder().encode(JSON.stringify({
    qr,
    trust: read("trust.json").toString("utf8"),
    status: read("status.cwt").toString("base64"),
    root: read("root.vkey").toString("utf8"),
    now: kase.now,
  })));
  if (output(k.sagat_verify()).startsWith('{"verdict":"VALID"')) valid++;
}
if (valid !== n) throw new Error(`only ${valid} of ${n} VALID`);
console.log(`${n} frames, all VALID`);
