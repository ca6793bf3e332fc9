"use strict";
// A model's latent map (map.js) in one of two modes, speaking Streamlit's component protocol (components
// v1) directly, no framework:
// - "select" (the Latent map page): click a dot or empty space, drag a box or a lasso; the map marks it at
//   once, in this browser, and sends the server what was picked (its value), which decodes it. Hovering names
//   the dot under the pointer. Without tools (the Clusters page's map), only hovering.
// - "decode" (Decode under the mouse): the model's decoder runs in this browser, by onnxruntime-web (its
//   WebAssembly backend, one thread), on the code under the pointer at every move, with no server round trip.
//
// Arguments (app/components/latent_canvas/__init__.py, aae_core/browser_map.py): mode, model_key, size,
// points (N·2 map coordinates, float32 bytes), labels (N, uint8 bytes), extent [x0, x1, y0, y1], axes [x, y],
// names (10 class names or null), outlines (JSON text or null), faint (N uint8 bytes or null: background
// points), first_index. "select" adds spots (whether empty space decodes), tools and restore (JSON text of the last
// value, redrawn by a fresh frame). "decode" adds onnx (bytes), images (N·784 bytes), d, k, linear (JSON text
// of {mean: d, basis: [d, d]}: map point → code: the 2-D plane itself, or a PCA's inverse) or codes (N·d:
// decode at the nearest test code), y_source "none" | "pick" | "nearest", ys (N·k).

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
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (v && v.buffer instanceof ArrayBuffer) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === "string") return Uint8Array.from(atob(v), (c) => c.charCodeAt(0));
  throw new Error("expected bytes");
}

const timing = { script: performance.timeOrigin + performance.now() }; // epoch ms: when this frame's script ran, got its data, drew
const state = { key: null, args: null, session: null, digit: 0, target: null, busy: false, nearest: -1, pointer: null,
                decoded: 0, latencies: [], frameTimes: [], lastPixels: null, error: null, seq: 0, sent: null };

function fitFrame() { // the iframe as tall as what it shows
  toParent("streamlit:setFrameHeight", { height: Math.ceil(document.body.getBoundingClientRect().height) + 8 });
}
new ResizeObserver(fitFrame).observe(document.body);

function showError(err) {
  state.error = String(err && err.message ? err.message : err);
  $("status").textContent = (state.args && state.args.mode === "decode" ? "The in-browser decoder could not run: "
                                                                        : "The map could not be drawn: ") + state.error;
  fitFrame();
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

const fmt = (v) => v.toFixed(2);
function className(i) {
  const l = state.args.labels[i];
  return state.args.names ? state.args.names[l] : `digit ${l}`;
}

// -- select mode ---------------------------------------------------------------------------------------
function send(value) { // the server reruns the page with this value (the widget's state)
  state.sent = value;
  toParent("streamlit:setComponentValue", { value: Object.assign({ seq: ++state.seq }, value), dataType: "json" });
}

function tip(px, py, text) {
  const t = $("tip");
  if (!text) { t.style.display = "none"; return; }
  t.textContent = text;
  t.style.display = "block";
  const right = px + 14 + t.offsetWidth > $("mapbox").offsetWidth;
  t.style.left = (right ? px - 14 - t.offsetWidth : px + 14) + "px";
  t.style.top = Math.max(0, py - 30) + "px";
}

const selectHandlers = {
  move(px, py) {
    if (!inPlot(px, py)) return tip();
    const i = nearestPixel(px, py), a = state.args, [x, y] = toData(px, py);
    if (i >= 0) {
      tip(px, py, `${className(i)} · test image #${(a.first_index || 0) + i} · ${a.axes[0]} = ${fmt(a.points[2 * i])}, ` +
                  `${a.axes[1]} = ${fmt(a.points[2 * i + 1])}`);
    } else {
      tip(px, py, a.spots ? `click to decode ${a.axes[0]} = ${fmt(x)}, ${a.axes[1]} = ${fmt(y)}` : "");
    }
  },
  leave() { tip(); },
  click(px, py) {
    if (!inPlot(px, py)) return;
    const i = nearestPixel(px, py), [x, y] = toData(px, py);
    if (i < 0 && !state.args.spots) return; // no plane to decode here: only dots can be picked
    plot.shape = null;
    plot.mark = { x, y, index: i };
    selectWhere((j) => j === i);
    draw();
    send({ kind: "click", x, y, index: i });
  },
  shape(sh) {
    plot.mark = null;
    showCount(selectShape(sh));
    draw();
    send(sh.kind === "box" ? { kind: "box", box: sh.box } : { kind: "lasso", path: sh.path });
  },
  clear() {
    clearSelection();
    $("hint").textContent = "scroll to zoom";
    send({ kind: "clear" });
  },
};

function showCount(count) {
  $("hint").textContent = `${count.toLocaleString()} test digit(s) inside`;
}

function restore(text) { // a fresh frame (the page's layout changed) redraws the selection the server holds
  let v = null;
  try { v = text ? JSON.parse(text) : null; } catch (err) { v = null; }
  if (!v || typeof v !== "object") return;
  if (v.kind === "click" && Number.isFinite(v.x) && Number.isFinite(v.y)) {
    const i = Number.isInteger(v.index) && v.index >= 0 && v.index < plot.n ? v.index : -1;
    plot.mark = { x: v.x, y: v.y, index: i };
    selectWhere((j) => j === i);
  } else if (v.kind === "box" && Array.isArray(v.box) && v.box.length === 4) {
    plot.shape = { kind: "box", box: v.box };
    showCount(selectShape(plot.shape));
  } else if (v.kind === "lasso" && Array.isArray(v.path) && v.path.length >= 6) {
    plot.shape = { kind: "lasso", path: v.path };
    showCount(selectShape(plot.shape));
  }
}

// -- decode mode -----------------------------------------------------------------------------------------
// The runtime's WebAssembly ships gzip-compressed (build.mjs): fetched and inflated once per page, by the
// browser's own DecompressionStream, and handed to onnxruntime-web. One thread: a decode takes well under a
// millisecond (make bench-mouse), and a single thread needs no cross-origin isolation from the page.
let runtime = null;
function loadRuntime() {
  runtime = runtime || (async () => {
    if (typeof ort === "undefined") {
      await new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = "ort.wasm.min.js";
        s.onload = resolve;
        s.onerror = () => reject(new Error("its runtime script is missing: run `npm ci && npm run build` in " +
                                           "app/components/latent_canvas/frontend"));
        document.head.appendChild(s);
      });
    }
    const res = await fetch("ort-wasm-simd-threaded.wasm.gz");
    if (!res.ok) throw new Error(`its runtime is missing (HTTP ${res.status}): run \`npm ci && npm run build\` ` +
                                 "in app/components/latent_canvas/frontend");
    let bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) { // still gzip (a proxy may have inflated it already)
      if (typeof DecompressionStream === "undefined") throw new Error("this browser is too old to unpack its runtime " +
                                                                      "(no DecompressionStream): use a current one");
      bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
    }
    ort.env.logLevel = "error";
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

async function decodeAt(x, y, digit, nearest) { // → 784 intensities in [0, 1] (nearest: the test digit nearest (x, y), if known)
  const i = nearest === undefined ? nearestData(x, y) : nearest;
  const out = await state.session.run(inputsAt(x, y, i, digit === undefined ? state.digit : digit));
  return out.pixels.data;
}

async function pump() {
  if (state.busy || !state.target || !state.session) return;
  const t = state.target;
  state.target = null;
  state.busy = true;
  try {
    const pixels = await decodeAt(t.x, t.y, undefined, t.nearest);
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
    $("where").textContent = a.linear ? `${a.axes[0]} = ${fmt(t.x)}, ${a.axes[1]} = ${fmt(t.y)}` +
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

function crosshair(g) { // decode mode's overlay: the pointer's lines and a ring on the nearest test digit
  if (!state.pointer) return;
  const [px, py] = state.pointer, s = plot.side;
  g.strokeStyle = "rgba(0,0,0,0.45)";
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(px, MARGIN.top); g.lineTo(px, MARGIN.top + s); g.moveTo(MARGIN.left, py); g.lineTo(MARGIN.left + s, py);
  g.stroke();
  if (state.nearest >= 0) {
    const [qx, qy] = toPixel(plot.points[2 * state.nearest], plot.points[2 * state.nearest + 1]);
    g.strokeStyle = "#000";
    g.lineWidth = 2;
    g.beginPath();
    g.arc(qx, qy, 7, 0, 2 * Math.PI);
    g.stroke();
  }
}

const decodeHandlers = {
  move(px, py, event) {
    if (!inPlot(px, py)) return;
    const [x, y] = toData(px, py), a = state.args;
    state.nearest = nearestData(x, y);
    const i = state.nearest;
    showImage("hovered", a.images.subarray(i * 784, (i + 1) * 784));
    const [qx, qy] = toPixel(a.points[2 * i], a.points[2 * i + 1]);
    const under = Math.hypot(qx - px, qy - py) <= 6;
    $("hoverinfo").textContent = `test digit #${(a.first_index || 0) + i}, a ${a.labels[i]}` +
      (under ? " (under the pointer)" : " (the nearest)");
    state.pointer = [px, py];
    drawOverlay();
    state.lastXY = { x, y };
    state.target = { x, y, nearest: i, t: event.timeStamp || performance.now() }; // its nearest found once, above
    pump(); // at once: the decode (well under a millisecond) lands in this frame
  },
};

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

// -- the protocol ------------------------------------------------------------------------------------------
function sideFor(args) { // the frame's width (up to size); decode mode keeps room for its panel beside the map
  const panel = args.mode === "decode" ? 24 + 250 : 0;
  return Math.min(args.size, window.innerWidth - MARGIN.left - MARGIN.right - panel - 4);
}

async function render(args) {
  if (args.model_key === state.key) return; // the same map: keep what the student did with it
  timing.args = performance.timeOrigin + performance.now();
  args.points = floats(args.points);
  args.labels = bytesOf(args.labels);
  args.faint = bytesOf(args.faint);
  args.outlines = args.outlines ? JSON.parse(args.outlines) : [];
  args.names = args.names ? Array.from(args.names) : null;
  state.args = args;
  state.key = args.model_key;
  state.session = null;
  $("status").textContent = "";
  const decode = args.mode === "decode";
  $("tools").hidden = decode || !args.tools;
  $("side").hidden = !decode;
  layout(sideFor(args));
  setData({ points: args.points, labels: args.labels, extent: args.extent, axes: args.axes, outlines: args.outlines,
            faint: args.faint, names: args.names });
  plot.on = decode ? decodeHandlers : selectHandlers;
  plot.extra = decode ? crosshair : null;
  setTool(decode || !args.tools ? "hover" : "point");
  $("overlay").style.touchAction = decode || args.tools ? "none" : "auto"; // a map only to look at lets a finger scroll the page
  if (!decode) {
    restore(args.restore);
    draw();
    timing.drawn = performance.timeOrigin + performance.now();
    document.body.dataset.drawn = "1"; // for tests and benchmarks: the map is on screen
    fitFrame();
    return;
  }
  draw();
  document.body.dataset.drawn = "1";
  args.codes = floats(args.codes);
  args.ys = floats(args.ys);
  args.images = bytesOf(args.images);
  args.linear = args.linear ? JSON.parse(args.linear) : null;  // sent as JSON text (see browser_map.payload)
  for (const id of ["decoded", "hovered"]) $(id).style.width = $(id).style.height = 28 * SCALE + "px";
  digitButtons();
  fitFrame();
  await loadRuntime();
  state.session = await ort.InferenceSession.create(bytesOf(args.onnx), { executionProviders: ["wasm"] });
  document.body.dataset.ready = "1"; // for tests: the decoder is loaded
}

window.addEventListener("resize", () => { // the column's width changed: the map follows it
  if (!state.args) return;
  const side = Math.floor(sideFor(state.args));
  if (side !== plot.side) { layout(side); draw(); fitFrame(); }
});

window.aaeMap = { // for tests: what the map shows and would send
  selectedCount: () => (plot.selected ? plot.selected.reduce((s, v) => s + v, 0) : 0),
  sent: () => state.sent,
  view: () => plot.view.slice(),
  axes: () => plot.axes.slice(),
  timing: () => Object.assign({}, timing),
  toPage: (x, y) => toPixel(x, y),
};

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
