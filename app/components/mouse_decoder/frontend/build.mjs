// The component's build: onnxruntime-web's WebGL runtime (one 450 KB script, no WebAssembly) copied
// from the pinned package into public/, beside the hand-written index.html and main.js; public/ is what
// the app serves, and it ships in the repository. `npm ci && npm run build` reproduces it.
import { copyFileSync } from "node:fs";

copyFileSync("node_modules/onnxruntime-web/dist/ort.webgl.min.js", "public/ort.webgl.min.js");
console.log("public/: index.html, main.js (sources), ort.webgl.min.js (onnxruntime-web 1.23.2)");
