"use strict";
// Decode under the mouse: a latent map drawn with WebGL, and the model's decoder run in this browser
// by onnxruntime-web (its WebAssembly backend, one thread), so that every pointer move is decoded at once,
// with no server round trip. Speaks Streamlit's component protocol (components v1) directly: no framework
// needed.
//
// Arguments (app/components/mouse_decoder/__init__.py, aae_core/browser_map.py): model_key, size, onnx (bytes), points (N·2 map
// coordinates), labels (N), images (bytes, N·784), extent [x0, x1, y0, y1], axes [x, y], d, k,
// linear (JSON text of {mean: d, basis: [d, d]}: the map's point → code: the 2-D plane itself, or a PCA's inverse)
// or codes (N·d: decode at the nearest test code), y_source "none" | "pick" | "nearest", ys (N·k).

const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf"];
const $ = (id) => document.getElementById(id);
const SCALE = 7; // 28 px images shown at 196 px

function toParent(type, data) {
  window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type }, data), "*");
}

function floats(v) { // little-endian float32 bytes (or a plain list) → Float32Array
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return Float32Array.from(v);
  const b = bytesOf(v);
  return new Float32Array(b.slice().buffer); // a copy: aligned to 4 bytes
}

function bytesOf(v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (v && v.buffer instanceof ArrayBuffer) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === "string") return Uint8Array.from(atob(v), (c) => c.charCodeAt(0));
  throw new Error("expected bytes");
}

const state = { key: null, args: null, session: null, digit: 0, target: null, busy: false, nearest: -1,
                decoded: 0, latencies: [], frameTimes: [], lastPixels: null, error: null };

function fitFrame() { // the iframe as tall as what it shows (the side column can outgrow the map)
  toParent("streamlit:setFrameHeight", { height: Math.ceil(document.getElementById("wrap").getBoundingClientRect().height) + 16 });
}
new ResizeObserver(fitFrame).observe(document.body);

function showError(err) {
  state.error = String(err && err.message ? err.message : err);
  $("status").textContent = "The in-browser decoder could not run: " + state.error;
  fitFrame();
}

// -- the map --------------------------------------------------------------------------------------
function toPixel(x, y) {
  const [x0, x1, y0, y1] = state.args.extent, s = state.args.size;
  return [((x - x0) / (x1 - x0)) * s, (1 - (y - y0) / (y1 - y0)) * s];
}

function toData(px, py) {
  const [x0, x1, y0, y1] = state.args.extent, s = state.args.size;
  return [x0 + (px / s) * (x1 - x0), y0 + (1 - py / s) * (y1 - y0)];
}

function hexRgb(h) {
  return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
}

function drawPoints() {
  const a = state.args, canvas = $("map"), dpr = window.devicePixelRatio || 1;
  canvas.width = canvas.height = Math.round(a.size * dpr);
  canvas.style.width = canvas.style.height = a.size + "px";
  const gl = canvas.getContext("webgl2", { antialias: true, premultipliedAlpha: false }) ||
             canvas.getContext("webgl", { antialias: true, premultipliedAlpha: false });
  if (!gl) throw new Error("this browser has no WebGL");
  const vs = `attribute vec2 p; attribute vec3 c; uniform vec4 ext; uniform float size; varying vec3 vc;
    void main() { vec2 q = vec2((p.x - ext.x) / (ext.y - ext.x), (p.y - ext.z) / (ext.w - ext.z));
                  gl_Position = vec4(q * 2.0 - 1.0, 0.0, 1.0); gl_PointSize = size; vc = c; }`;
  const fs = `precision mediump float; varying vec3 vc;
    void main() { vec2 d = gl_PointCoord - 0.5; if (dot(d, d) > 0.25) discard; gl_FragColor = vec4(vc, 0.55); }`;
  const prog = gl.createProgram();
  for (const [type, src] of [[gl.VERTEX_SHADER, vs], [gl.FRAGMENT_SHADER, fs]]) {
    const sh = gl.createShader(type);
    gl.shaderSource(sh, src);
    gl.compileShader(sh);
    if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(sh));
    gl.attachShader(prog, sh);
  }
  gl.linkProgram(prog);
  gl.useProgram(prog);
  const n = a.labels.length, colours = new Float32Array(n * 3);  // a.labels: Uint8Array
  const rgb = TAB10.map(hexRgb);
  for (let i = 0; i < n; i++) colours.set(rgb[a.labels[i] % 10], i * 3);
  for (const [name, data, width] of [["p", a.points, 2], ["c", colours, 3]]) {
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, name);
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, width, gl.FLOAT, false, 0, 0);
  }
  gl.uniform4f(gl.getUniformLocation(prog, "ext"), ...a.extent);
  gl.uniform1f(gl.getUniformLocation(prog, "size"), 4 * dpr);
  gl.viewport(0, 0, canvas.width, canvas.height);
  gl.clearColor(1, 1, 1, 1);
  gl.clear(gl.COLOR_BUFFER_BIT);
  gl.enable(gl.BLEND);
  gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
  gl.drawArrays(gl.POINTS, 0, n);
}

function drawOverlay(px, py) {
  const a = state.args, c = $("overlay"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  g.strokeStyle = "#888";
  g.strokeRect(0.5, 0.5, a.size - 1, a.size - 1);
  g.fillStyle = "#333";
  g.font = "13px sans-serif";
  const [x0, x1, y0, y1] = a.extent, f = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
  g.fillText(f(x0), 4, a.size - 6);
  g.textAlign = "right";
  g.fillText(`${f(x1)}  ${a.axes[0]} →`, a.size - 4, a.size - 6);
  g.textAlign = "left";
  g.fillText(`↑ ${a.axes[1]}  ${f(y1)}`, 4, 16);
  if (px === undefined) return;
  g.strokeStyle = "rgba(0,0,0,0.45)";
  g.beginPath();
  g.moveTo(px, 0); g.lineTo(px, a.size); g.moveTo(0, py); g.lineTo(a.size, py);
  g.stroke();
  if (state.nearest >= 0) {
    const [qx, qy] = toPixel(a.points[2 * state.nearest], a.points[2 * state.nearest + 1]);
    g.strokeStyle = "#000";
    g.lineWidth = 2;
    g.beginPath();
    g.arc(qx, qy, 7, 0, 2 * Math.PI);
    g.stroke();
    g.lineWidth = 1;
  }
}

function nearestTo(x, y) {
  const p = state.args.points, n = p.length / 2;
  let best = -1, bestD = Infinity;
  for (let i = 0; i < n; i++) {
    const dx = p[2 * i] - x, dy = p[2 * i + 1] - y, d = dx * dx + dy * dy;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}

function showImage(canvasId, grey) { // grey: 784 values in [0, 255]
  const c = $(canvasId), g = c.getContext("2d"), im = g.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = grey[i];
    im.data[4 * i] = im.data[4 * i + 1] = im.data[4 * i + 2] = v;
    im.data[4 * i + 3] = 255;
  }
  g.putImageData(im, 0, 0);
}

// -- the decoder ----------------------------------------------------------------------------------
// The runtime's WebAssembly ships gzip-compressed (build.mjs): fetched and inflated once per page, by the
// browser's own DecompressionStream, and handed to onnxruntime-web. One thread: a decode takes well under a
// millisecond (make bench-mouse), and a single thread needs no cross-origin isolation from the page.
let runtime = null;
function loadRuntime() {
  runtime = runtime || (async () => {
    const res = await fetch("ort-wasm-simd-threaded.wasm.gz");
    if (!res.ok) throw new Error(`its runtime is missing (HTTP ${res.status}): run \`npm ci && npm run build\` ` +
                                 "in app/components/mouse_decoder/frontend");
    let bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) { // still gzip (a proxy may have inflated it already)
      if (typeof DecompressionStream === "undefined") throw new Error("this browser is too old to unpack its runtime " +
                                                                      "(no DecompressionStream): use a current one");
      bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
    }
    ort.env.wasm.wasmBinary = bytes;
    ort.env.wasm.numThreads = 1;
  })();
  runtime.catch(() => { runtime = null; }); // a failed load is tried again on the next model
  return runtime;
}

function inputsAt(x, y, nearest, digit) { // the decoder's feeds for map point (x, y)
  const a = state.args, z = new Float32Array(a.d);
  if (a.linear) {
    for (let j = 0; j < a.d; j++) z[j] = a.linear.mean[j] + x * a.linear.basis[0][j] + y * a.linear.basis[1][j];
  } else {
    z.set(a.codes.slice(nearest * a.d, (nearest + 1) * a.d));
  }
  const feeds = { z: new ort.Tensor("float32", z, [1, a.d]) };
  if (a.k) {
    const yv = new Float32Array(a.k);
    if (a.y_source === "pick") yv[digit] = 1;
    else yv.set(a.ys.slice(nearest * a.k, (nearest + 1) * a.k));
    feeds.y = new ort.Tensor("float32", yv, [1, a.k]);
  }
  return feeds;
}

async function decodeAt(x, y, digit) { // → 784 intensities in [0, 1]
  const out = await state.session.run(inputsAt(x, y, nearestTo(x, y), digit === undefined ? state.digit : digit));
  return out.pixels.data;
}

async function pump() {
  if (state.busy || !state.target || !state.session) return;
  const t = state.target;
  state.target = null;
  state.busy = true;
  try {
    const pixels = await decodeAt(t.x, t.y);
    const grey = new Uint8ClampedArray(784);
    for (let i = 0; i < 784; i++) grey[i] = Math.round(pixels[i] * 255);
    showImage("decoded", grey);
    state.lastPixels = Array.from(pixels);
    const now = performance.now();
    state.decoded += 1;
    state.latencies.push(now - t.t);
    state.frameTimes.push(now);
    if (state.latencies.length > 6000) { state.latencies.shift(); state.frameTimes.shift(); }
    const a = state.args;
    $("where").textContent = a.linear ? `${a.axes[0]} = ${t.x.toFixed(2)}, ${a.axes[1]} = ${t.y.toFixed(2)}` +
      (a.linear.label ? ` (${a.linear.label})` : "") : "decoded at the nearest test digit's own code";
    const s = window.aaeDecoder.stats();
    $("rate").textContent = `${s.fps.toFixed(0)} decodes/s, ${s.latency_ms.toFixed(1)} ms pointer → image`;
  } catch (err) {
    showError(err);
  } finally {
    state.busy = false;
    if (state.target) requestAnimationFrame(pump);
  }
}

function onPointer(event) {
  const rect = $("overlay").getBoundingClientRect();
  const px = event.clientX - rect.left, py = event.clientY - rect.top;
  const [x, y] = toData(px, py);
  const a = state.args;
  state.nearest = nearestTo(x, y);
  const i = state.nearest;
  showImage("hovered", a.images.subarray(i * 784, (i + 1) * 784));
  const [qx, qy] = toPixel(a.points[2 * i], a.points[2 * i + 1]);
  const under = Math.hypot(qx - px, qy - py) <= 6;
  $("hoverinfo").textContent = `test digit #${(a.first_index || 0) + i}, a ${a.labels[i]}` +
    (under ? " (under the pointer)" : " (the nearest)");
  drawOverlay(px, py);
  state.lastXY = { x, y };
  state.target = { x, y, t: event.timeStamp || performance.now() };
  pump(); // at once: the decode (well under a millisecond) lands in this frame
}

function digitButtons() {
  const a = state.args, box = $("digitbtns");
  $("digits").hidden = a.y_source !== "pick";
  box.textContent = "";
  if (a.y_source !== "pick") return;
  for (let k = 0; k < a.k; k++) {
    const b = document.createElement("button");
    b.textContent = String(k);
    b.className = k === state.digit ? "on" : "";
    b.onclick = () => { state.digit = k; digitButtons(); if (state.lastXY) { state.target = { ...state.lastXY, t: performance.now() }; pump(); } };
    box.appendChild(b);
  }
}

async function render(args) {
  const key = args.model_key;
  if (key === state.key) return;
  args.points = floats(args.points);
  args.codes = floats(args.codes);
  args.ys = floats(args.ys);
  args.labels = bytesOf(args.labels);
  args.images = bytesOf(args.images);
  args.linear = args.linear ? JSON.parse(args.linear) : null;  // sent as JSON text (see browser_map.payload)
  state.args = args;
  state.key = key;
  state.session = null;
  $("status").textContent = "";
  const size = args.size;
  $("mapbox").style.width = $("mapbox").style.height = size + "px";
  const ov = $("overlay");
  ov.width = ov.height = size;
  for (const id of ["decoded", "hovered"]) $(id).style.width = $(id).style.height = 28 * SCALE + "px";
  drawPoints();
  drawOverlay();
  $("legend").innerHTML = "colour: the test digit's label" + TAB10.map((c, k) => `<span style="background:${c}"></span>${k}`).join("");
  digitButtons();
  fitFrame();
  ov.onpointermove = onPointer;
  ort.env.logLevel = "error";
  await loadRuntime();
  state.session = await ort.InferenceSession.create(bytesOf(args.onnx), { executionProviders: ["wasm"] });
  document.body.dataset.ready = "1"; // for tests: the decoder is loaded
}

window.aaeDecoder = {
  decodeAt: async (x, y, digit) => Array.from(await decodeAt(x, y, digit)),
  stats: () => {
    const t = state.frameTimes, n = t.length, lat = state.latencies.slice(-120);
    const recent = t.filter((v) => v > (t[n - 1] || 0) - 1000);
    return { decoded: state.decoded, fps: recent.length, latency_ms: lat.length ? lat.reduce((s, v) => s + v, 0) / lat.length : 0,
             latencies: state.latencies.slice(), last: state.lastPixels, error: state.error, ready: !!state.session };
  },
};

window.addEventListener("message", (event) => {
  const d = event.data;
  if (d && d.type === "streamlit:render") render(d.args).catch(showError);
});
toParent("streamlit:componentReady", { apiVersion: 1 });
