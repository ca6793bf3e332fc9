// The component's build: onnxruntime-web's WebAssembly runtime copied from the pinned package into
// public/, beside the hand-written index.html, map.js and main.js; public/ is what the app serves, and it ships
// in the repository. `npm ci && npm run build` reproduces it.
// The runtime's WebAssembly (11.9 MB) ships gzip-compressed (3.1 MB; zlib level 9, no timestamp, so the
// same bytes on every build): main.js inflates it with the browser's own DecompressionStream and hands it
// to onnxruntime-web (env.wasm.wasmBinary), which keeps the repository small (a GPU machine takes ≤ 64 MiB).
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const dist = "node_modules/onnxruntime-web/dist/";
for (const f of ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs"]) copyFileSync(dist + f, "public/" + f);
writeFileSync("public/ort-wasm-simd-threaded.wasm.gz", gzipSync(readFileSync(dist + "ort-wasm-simd-threaded.wasm"), { level: 9 }));
rmSync("public/ort-wasm-simd-threaded.wasm", { force: true });
rmSync("public/ort.webgl.min.js", { force: true }); // the WebGL runtime of earlier builds
console.log("public/: index.html, map.js, main.js (sources); ort.wasm.min.js, ort-wasm-simd-threaded.mjs, " +
            "ort-wasm-simd-threaded.wasm.gz (onnxruntime-web 1.23.2)");
