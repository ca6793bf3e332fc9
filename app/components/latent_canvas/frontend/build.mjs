// The component's build, into public/ (what the app serves; it ships in the repository):
// - index.html: src/index.html with the hand-written src/map.js and src/main.js inlined, so that the frame
//   needs one request, not three, before it can draw (a fresh page's map appears sooner);
// - onnxruntime-web's WebAssembly runtime, copied from the pinned package: its script and loader, and its
//   11.9 MB WebAssembly gzip-compressed (3.1 MB; zlib level 9, no timestamp, so the same bytes on every
//   build), which main.js inflates with the browser's own DecompressionStream and hands to onnxruntime-web
//   (env.wasm.wasmBinary) — the repository stays small (a GPU machine takes ≤ 64 MiB).
// `npm ci && npm run build` reproduces it (tests/test_latent_canvas.py checks index.html is up to date).
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

let html = readFileSync("src/index.html", "utf8");
for (const name of ["map.js", "main.js"]) {
  const tag = `<script src="${name}"></script>`, code = readFileSync("src/" + name, "utf8");
  if (!html.includes(tag) || code.includes("</script")) throw new Error(`cannot inline src/${name}`);
  html = html.replace(tag, () => `<script>\n${code}</script>`);
}
writeFileSync("public/index.html", html);
const dist = "node_modules/onnxruntime-web/dist/";
for (const f of ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs"]) copyFileSync(dist + f, "public/" + f);
writeFileSync("public/ort-wasm-simd-threaded.wasm.gz", gzipSync(readFileSync(dist + "ort-wasm-simd-threaded.wasm"), { level: 9 }));
for (const old of ["ort-wasm-simd-threaded.wasm", "ort.webgl.min.js", "map.js", "main.js"]) rmSync("public/" + old, { force: true });
console.log("public/: index.html (src/index.html, map.js and main.js inlined); ort.wasm.min.js, " +
            "ort-wasm-simd-threaded.mjs, ort-wasm-simd-threaded.wasm.gz (onnxruntime-web 1.23.2)");
