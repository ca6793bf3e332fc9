"use strict";
// The latent map: test digits as points drawn with WebGL, under a 2-D overlay (axes with round ticks, the
// prior's outlines, the pointer's marks, a selection's box or lasso); zoom with the wheel, pan, and the
// selection tools (click, box, lasso). main.js gives it its data and handles its
// events (plot.on); nothing here talks to Streamlit.

const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf"];
const MARGIN = { left: 50, right: 12, top: 8, bottom: 38 };  // px round the square plot: ticks and axis titles
const HIT_PX = 8;  // a click or hover this close to a dot is on that dot
const $ = (id) => document.getElementById(id);

const plot = {
  n: 0, points: null, labels: null,        // N·2 map coordinates (Float32Array), N labels (Uint8Array)
  faint: null,                             // N: 1 where a point is only background (drawn grey), or null
  selected: null,                          // N: 1 where selected, or null (nothing selected)
  home: [0, 1, 0, 1], view: [0, 1, 0, 1],  // x0, x1, y0, y1: the data's frame and what is shown now
  side: 400, axes: ["z₁", "z₂"], outlines: [], names: null,
  shape: null,   // {kind: "box", box: [x0, x1, y0, y1]} | {kind: "lasso", path: [x, y, …]} in data coordinates
  mark: null,    // {x, y, index}: the last click (index -1: empty space)
  tool: "point", // point | box | lasso | pan | hover (no tools: every move is main.js's, no drag, no zoom)
  extra: null,   // (g) => more overlay drawing (the decoder's crosshair)
  on: {},        // move(px, py, event), click(px, py), shape(shape), clear(), view()
  gl: null, weights: null,
};

function niceTicks(lo, hi, target = 6) { // round values inside [lo, hi], steps of 1, 2 or 5 × 10^k
  const raw = (hi - lo) / target, base = 10 ** Math.floor(Math.log10(raw));
  const step = base * ([1, 2, 5, 10].find((m) => m * base >= raw) || 10), out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push(Math.abs(t) < 1e-9 * step ? 0 : t);
  return out;
}

const tickText = (t) => String(+t.toPrecision(6));

function toPixel(x, y) {
  const [x0, x1, y0, y1] = plot.view;
  return [MARGIN.left + ((x - x0) / (x1 - x0)) * plot.side, MARGIN.top + (1 - (y - y0) / (y1 - y0)) * plot.side];
}

function toData(px, py) {
  const [x0, x1, y0, y1] = plot.view;
  return [x0 + ((px - MARGIN.left) / plot.side) * (x1 - x0), y0 + (1 - (py - MARGIN.top) / plot.side) * (y1 - y0)];
}

function inPlot(px, py) {
  return px >= MARGIN.left && px <= MARGIN.left + plot.side && py >= MARGIN.top && py <= MARGIN.top + plot.side;
}

function hexRgb(h) {
  return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
}

// -- WebGL: the points -----------------------------------------------------------------------------
// One draw per layer, so that what matters is on top: background points (grey), the others, the selected.
const VS = `attribute vec2 p; attribute vec3 c; attribute float w;
  uniform vec4 ext; uniform float size; uniform float layer; uniform float dim; varying vec4 vc;
  void main() {
    vec2 q = vec2((p.x - ext.x) / (ext.y - ext.x), (p.y - ext.z) / (ext.w - ext.z));
    gl_Position = vec4(q * 2.0 - 1.0, 0.0, 1.0); gl_PointSize = size; vc = vec4(c, 0.6);
    if (abs(w - layer) > 0.5) gl_Position = vec4(2.0, 2.0, 2.0, 1.0);         // not this layer: clipped
    else if (w < 0.5) { vc = vec4(0.6, 0.6, 0.6, 0.3); gl_PointSize = size * 0.75; } // background
    else if (w > 1.5) { vc = vec4(c, 1.0); gl_PointSize = size * 1.5; }             // selected
    else if (dim > 0.5) vc.a = 0.22;                                                  // the rest, while a selection shows
  }`;
const FS = `precision mediump float; varying vec4 vc;
  void main() { vec2 d = gl_PointCoord - 0.5; float r = dot(d, d); if (r > 0.25) discard;
                gl_FragColor = (vc.a > 0.99 && r > 0.16) ? vec4(0.15, 0.15, 0.15, 1.0) : vc; }`;

function setupGL() {
  const canvas = $("map");
  const gl = canvas.getContext("webgl", { antialias: true, premultipliedAlpha: false });
  if (!gl) throw new Error("this browser has no WebGL");
  const prog = gl.createProgram();
  for (const [type, src] of [[gl.VERTEX_SHADER, VS], [gl.FRAGMENT_SHADER, FS]]) {
    const sh = gl.createShader(type);
    gl.shaderSource(sh, src);
    gl.compileShader(sh);
    if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(sh));
    gl.attachShader(prog, sh);
  }
  gl.linkProgram(prog);
  gl.useProgram(prog);
  const attrs = {};
  for (const [name, width] of [["p", 2], ["c", 3], ["w", 1]]) {
    attrs[name] = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, attrs[name]);
    const loc = gl.getAttribLocation(prog, name);
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, width, gl.FLOAT, false, 0, 0);
  }
  const uni = Object.fromEntries(["ext", "size", "layer", "dim"].map((u) => [u, gl.getUniformLocation(prog, u)]));
  plot.gl = { gl, attrs, uni };
}

function upload(name, data) {
  const { gl, attrs } = plot.gl;
  gl.bindBuffer(gl.ARRAY_BUFFER, attrs[name]);
  gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
}

function uploadWeights() { // 0 background, 1 a point, 2 selected
  const w = plot.weights;
  for (let i = 0; i < plot.n; i++) w[i] = plot.selected && plot.selected[i] ? 2 : plot.faint && plot.faint[i] ? 0 : 1;
  upload("w", w);
}

function drawPoints() {
  const { gl, uni } = plot.gl, dpr = window.devicePixelRatio || 1, canvas = $("map");
  const x = Math.round(MARGIN.left * dpr), y = Math.round(MARGIN.bottom * dpr), s = Math.round(plot.side * dpr);
  gl.viewport(x, y, s, s);
  gl.enable(gl.SCISSOR_TEST);
  gl.scissor(0, 0, canvas.width, canvas.height);
  gl.clearColor(1, 1, 1, 0);
  gl.clear(gl.COLOR_BUFFER_BIT);
  gl.scissor(x, y, s, s);  // points near the edge are cut at the frame
  gl.clearColor(1, 1, 1, 1);
  gl.clear(gl.COLOR_BUFFER_BIT);
  gl.enable(gl.BLEND);
  gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
  gl.uniform4f(uni.ext, ...plot.view);
  gl.uniform1f(uni.size, 4 * dpr);
  gl.uniform1f(uni.dim, plot.selected && plot.dimOthers ? 1 : 0);
  for (const layer of [0, 1, 2]) {
    gl.uniform1f(uni.layer, layer);
    gl.drawArrays(gl.POINTS, 0, plot.n);
  }
}

// -- the overlay: frame, ticks, outlines, marks ------------------------------------------------------
function drawOverlay() {
  const c = $("overlay"), g = c.getContext("2d"), dpr = window.devicePixelRatio || 1, s = plot.side;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, c.width, c.height);
  g.save();
  g.beginPath();
  g.rect(MARGIN.left, MARGIN.top, s, s);
  g.clip();
  for (const o of plot.outlines) { // the prior's outlines: white under black, so that they read over the dots
    for (const [colour, width] of [["rgba(255,255,255,0.8)", o.width + 2], ["#111", o.width]]) {
      g.strokeStyle = colour;
      g.lineWidth = width;
      g.setLineDash(o.dash);
      g.beginPath();
      for (const line of o.lines) {
        for (let i = 0; i < line.length; i += 2) {
          const [px, py] = toPixel(line[i], line[i + 1]);
          if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
        }
      }
      g.stroke();
    }
  }
  g.setLineDash([]);
  drawShape(g);
  drawMark(g);
  if (plot.extra) plot.extra(g);
  g.restore();
  g.strokeStyle = "#999";
  g.lineWidth = 1;
  g.strokeRect(MARGIN.left + 0.5, MARGIN.top + 0.5, s - 1, s - 1);
  g.fillStyle = "#333";
  g.strokeStyle = "#666";
  g.font = "12px sans-serif";
  const [x0, x1, y0, y1] = plot.view;
  g.textAlign = "center";
  for (const t of niceTicks(x0, x1)) {
    const [px] = toPixel(t, 0);
    g.beginPath(); g.moveTo(px, MARGIN.top + s); g.lineTo(px, MARGIN.top + s + 4); g.stroke();
    g.fillText(tickText(t), px, MARGIN.top + s + 16);
  }
  g.textAlign = "right";
  for (const t of niceTicks(y0, y1)) {
    const [, py] = toPixel(0, t);
    g.beginPath(); g.moveTo(MARGIN.left - 4, py); g.lineTo(MARGIN.left, py); g.stroke();
    g.fillText(tickText(t), MARGIN.left - 6, py + 4);
  }
  g.font = "14px sans-serif";
  g.textAlign = "center";
  g.fillText(plot.axes[0], MARGIN.left + s / 2, MARGIN.top + s + 33);
  g.save();
  g.translate(13, MARGIN.top + s / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(plot.axes[1], 0, 0);
  g.restore();
}

function drawShape(g) {
  const sh = plot.shape;
  if (!sh) return;
  g.beginPath();
  if (sh.kind === "box") {
    const [a, b] = [toPixel(sh.box[0], sh.box[3]), toPixel(sh.box[1], sh.box[2])];
    g.rect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
  } else {
    for (let i = 0; i < sh.path.length; i += 2) {
      const [px, py] = toPixel(sh.path[i], sh.path[i + 1]);
      if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
    }
    g.closePath();
  }
  g.fillStyle = "rgba(38,39,48,0.06)";
  g.fill();
  g.strokeStyle = "rgba(255,255,255,0.9)";  // a white halo under the dashes: readable over the dots
  g.lineWidth = 4;
  g.stroke();
  g.strokeStyle = "#262730";
  g.lineWidth = 1.5;
  g.setLineDash([6, 3]);
  g.stroke();
  g.setLineDash([]);
}

function drawMark(g) { // the last click: a ring on the dot, or a cross on the empty spot decoded
  const m = plot.mark;
  if (!m) return;
  const [px, py] = m.index >= 0 ? toPixel(plot.points[2 * m.index], plot.points[2 * m.index + 1]) : toPixel(m.x, m.y);
  for (const [colour, width] of [["#fff", 5], ["#000", 2]]) {
    g.strokeStyle = colour;
    g.lineWidth = width;
    g.beginPath();
    if (m.index >= 0) g.arc(px, py, 9, 0, 2 * Math.PI);
    else { g.moveTo(px - 9, py); g.lineTo(px + 9, py); g.moveTo(px, py - 9); g.lineTo(px, py + 9); }
    g.stroke();
  }
}

function draw() {
  drawPoints();
  drawOverlay();
}

// -- data, layout, legend ----------------------------------------------------------------------------
function setData(d) { // points, labels, extent, axes, outlines ([{dash, width, lines: [[x, y, …]]}]), faint, names
  if (!plot.gl) setupGL();
  plot.points = d.points;
  plot.labels = d.labels;
  plot.n = d.labels.length;
  plot.faint = d.faint || null;
  plot.selected = null;
  plot.shape = plot.mark = null;
  plot.home = d.extent.slice();
  plot.view = d.extent.slice();
  plot.axes = d.axes;
  plot.outlines = d.outlines || [];
  plot.names = d.names || null;
  const colours = new Float32Array(plot.n * 3), rgb = TAB10.map(hexRgb);
  for (let i = 0; i < plot.n; i++) colours.set(rgb[plot.labels[i] % 10], i * 3);
  upload("p", plot.points);
  upload("c", colours);
  plot.weights = new Float32Array(plot.n);
  uploadWeights();
  legend();
}

function layout(side) { // the plot's square side in px: canvases sized for this screen's pixels
  plot.side = Math.max(160, Math.floor(side));
  const dpr = window.devicePixelRatio || 1, w = MARGIN.left + plot.side + MARGIN.right, h = MARGIN.top + plot.side + MARGIN.bottom;
  for (const id of ["map", "overlay"]) {
    const c = $(id);
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = w + "px";
    c.style.height = h + "px";
  }
  $("mapbox").style.width = w + "px";
  $("mapbox").style.height = h + "px";
}

function legend() {
  const names = plot.names || [...Array(10).keys()].map(String);
  let html = (plot.names ? "class" : "digit") + names.map((t, k) =>
    `<span class="dot" style="background:${TAB10[k]}"></span>${escapeHtml(t)}`).join("");
  if (plot.outlines.length) {
    html += "<br>p(z), the prior:" + plot.outlines.map((o) =>
      `<span class="line" style="border-top: ${Math.max(1.5, o.width)}px ${o.dash.length ? (o.dash[0] > 2 ? "dashed" : "dotted") : "solid"} #222"></span>${escapeHtml(o.name)}`).join("");
  }
  if (plot.faint) html += `<span class="dot" style="background:#aaa"></span>the other test digits`;
  $("legend").innerHTML = html;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// -- hit tests and selections ------------------------------------------------------------------------
function nearestPixel(px, py, radius = HIT_PX) { // the dot under (px, py), or -1
  const p = plot.points;
  let best = -1, bestD = radius * radius;
  for (let i = 0; i < plot.n; i++) {
    const [qx, qy] = toPixel(p[2 * i], p[2 * i + 1]), d = (qx - px) ** 2 + (qy - py) ** 2;
    if (d <= bestD) { bestD = d; best = i; }
  }
  return best;
}

function nearestData(x, y) { // the dot nearest to map point (x, y), however far
  const p = plot.points;
  let best = -1, bestD = Infinity;
  for (let i = 0; i < plot.n; i++) {
    const d = (p[2 * i] - x) ** 2 + (p[2 * i + 1] - y) ** 2;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}

function insideShape(x, y, sh) { // the server's rule too (aae_core/map_select.py): edges count as inside a box
  if (sh.kind === "box") return x >= sh.box[0] && x <= sh.box[1] && y >= sh.box[2] && y <= sh.box[3];
  const q = sh.path;  // even-odd rule: count the crossings of a ray to +x
  let inside = false;
  for (let i = 0, j = q.length - 2; i < q.length; j = i, i += 2) {
    const [xi, yi, xj, yj] = [q[i], q[i + 1], q[j], q[j + 1]];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function selectWhere(test) { // mark the points for which test(i) holds; the count
  const sel = new Uint8Array(plot.n);
  let count = 0;
  for (let i = 0; i < plot.n; i++) if (test(i)) { sel[i] = 1; count++; }
  plot.selected = count ? sel : null;
  plot.dimOthers = count > 1; // a box or a lasso fades the rest; one clicked dot is ringed, the map left as it is
  uploadWeights();
  return count;
}

function selectShape(sh) {
  const p = plot.points;
  return selectWhere((i) => insideShape(p[2 * i], p[2 * i + 1], sh));
}

function clearSelection() {
  plot.selected = null;
  plot.shape = plot.mark = null;
  uploadWeights();
  draw();
}

// -- zoom and pan --------------------------------------------------------------------------------------
function zoom(factor, px, py) { // about the map point under (px, py)
  const [x, y] = toData(px, py), [x0, x1, y0, y1] = plot.view;
  const span = (x1 - x0) * factor, home = plot.home[1] - plot.home[0];
  if (span < home * 1e-3 || span > home * 20) return;
  plot.view = [x + (x0 - x) * factor, x + (x1 - x) * factor, y + (y0 - y) * factor, y + (y1 - y) * factor];
  draw();
  if (plot.on.view) plot.on.view();
}

function pan(dpx, dpy) {
  const [x0, x1, y0, y1] = plot.view, dx = (dpx / plot.side) * (x1 - x0), dy = (dpy / plot.side) * (y1 - y0);
  plot.view = [x0 - dx, x1 - dx, y0 + dy, y1 + dy];
  draw();
}

function resetView() {
  plot.view = plot.home.slice();
  draw();
  if (plot.on.view) plot.on.view();
}

// -- the pointer -------------------------------------------------------------------------------------------
function local(event) {
  const r = $("overlay").getBoundingClientRect();
  return [event.clientX - r.left, event.clientY - r.top];
}

let drag = null;

function onDown(event) {
  const [px, py] = local(event);
  if (plot.tool === "hover" || !inPlot(px, py) || event.button !== 0) return;
  $("overlay").setPointerCapture(event.pointerId);
  drag = { px, py, last: [px, py], path: [...toData(px, py)] };
}

function onMove(event) {
  const [px, py] = local(event);
  if (!drag) {
    if (plot.on.move) plot.on.move(px, py, event);
    return;
  }
  if (plot.tool === "pan") {
    pan(px - drag.last[0], py - drag.last[1]);
  } else if (plot.tool === "box") {
    const [a, b] = [toData(drag.px, drag.py), toData(px, py)];
    plot.shape = { kind: "box", box: [Math.min(a[0], b[0]), Math.max(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[1], b[1])] };
    drawOverlay();
  } else if (plot.tool === "lasso" && Math.hypot(px - drag.last[0], py - drag.last[1]) >= 3) {
    drag.path.push(...toData(px, py));
    plot.shape = { kind: "lasso", path: drag.path.slice() };
    drawOverlay();
  } else {
    return;
  }
  if (plot.tool !== "lasso" || Math.hypot(px - drag.last[0], py - drag.last[1]) >= 3) drag.last = [px, py];
}

function onUp(event) {
  if (!drag) return;
  const [px, py] = local(event), d = drag, moved = Math.hypot(px - d.px, py - d.py) > 4;
  drag = null;
  if (plot.tool === "pan") return;
  if (!moved || plot.tool === "point") {
    if (plot.on.click) plot.on.click(d.px, d.py);
  } else if (plot.shape && (plot.tool === "box" || d.path.length >= 6) && plot.on.shape) {
    if (plot.shape.kind === "lasso") plot.shape.path = thin(plot.shape.path);
    plot.on.shape(plot.shape);
  }
}

const MAX_VERTICES = 4000; // a lasso sent to the server (aae_core/map_select.py takes up to 5,000)

function thin(path) { // every k-th vertex of a very long lasso, so that the browser and the server select alike
  const n = path.length / 2, k = Math.ceil(n / MAX_VERTICES);
  if (k <= 1) return path;
  const out = [];
  for (let i = 0; i < n; i += k) out.push(path[2 * i], path[2 * i + 1]);
  return out;
}

function setTool(tool) {
  plot.tool = tool;
  $("overlay").classList.toggle("pan", tool === "pan");
  for (const b of document.querySelectorAll("#tools [data-tool]")) b.classList.toggle("on", b.dataset.tool === tool);
}

function listen() {
  const ov = $("overlay");
  ov.addEventListener("pointerdown", onDown);
  ov.addEventListener("pointermove", onMove);
  ov.addEventListener("pointerup", onUp);
  ov.addEventListener("pointerleave", () => { if (!drag && plot.on.leave) plot.on.leave(); });
  ov.addEventListener("wheel", (e) => {
    const [px, py] = local(e);
    if (plot.tool === "hover" || !inPlot(px, py)) return; // a map without tools lets the page scroll
    e.preventDefault();
    zoom(Math.exp(Math.max(-100, Math.min(100, e.deltaY)) * 0.002), px, py);
  }, { passive: false });
  ov.addEventListener("keydown", (e) => { if (e.key === "Escape" && plot.on.clear) plot.on.clear(); });
  for (const b of document.querySelectorAll("#tools [data-tool]")) b.onclick = () => setTool(b.dataset.tool);
  $("reset").onclick = resetView;
  $("clear").onclick = () => { if (plot.on.clear) plot.on.clear(); };
}
listen();
