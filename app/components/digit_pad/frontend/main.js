"use strict";
// Draw a digit (app/components/digit_pad/__init__.py): white round strokes on a black square; after
// each stroke, Undo or Clear, the drawing goes to the server as PNG bytes (null when the pad is empty).
// Speaks Streamlit's component protocol (components v1) directly: no framework, no build step.

const $ = (id) => document.getElementById(id);
const pad = $("pad"), g = pad.getContext("2d");
const state = { size: 0, stroke: 20, strokes: [], current: null };

function toParent(type, data) {
  window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type }, data), "*");
}

function fitFrame() {
  toParent("streamlit:setFrameHeight", { height: Math.ceil($("wrap").getBoundingClientRect().height) + 4 });
}

function paint() { // every stroke, from a black square
  g.fillStyle = "#000";
  g.fillRect(0, 0, state.size, state.size);
  g.strokeStyle = g.fillStyle = "#fff";
  g.lineWidth = state.stroke;
  g.lineCap = g.lineJoin = "round";
  for (const s of state.strokes.concat(state.current ? [state.current] : [])) {
    if (s.length === 1) { // a dot
      g.beginPath(); g.arc(s[0][0], s[0][1], state.stroke / 2, 0, 2 * Math.PI); g.fill();
      continue;
    }
    g.beginPath();
    g.moveTo(s[0][0], s[0][1]);
    for (const [x, y] of s.slice(1)) g.lineTo(x, y);
    g.stroke();
  }
  $("undo").disabled = $("clear").disabled = !state.strokes.length;
  $("hint").textContent = state.strokes.length ? "" : "Draw one digit";
}

function send() { // the drawing as PNG bytes, or null for an empty pad
  if (!state.strokes.length) {
    toParent("streamlit:setComponentValue", { value: null, dataType: "json" });
    return;
  }
  pad.toBlob(async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    toParent("streamlit:setComponentValue", { value: bytes, dataType: "bytes" });
  }, "image/png");
}

function at(event) { // pointer position in the pad's own pixels
  const r = pad.getBoundingClientRect();
  return [(event.clientX - r.left) * state.size / r.width, (event.clientY - r.top) * state.size / r.height];
}

pad.addEventListener("pointerdown", (e) => {
  pad.setPointerCapture(e.pointerId);
  state.current = [at(e)];
  paint();
});
pad.addEventListener("pointermove", (e) => {
  if (!state.current) return;
  state.current.push(at(e));
  paint();
});
function endStroke() {
  if (!state.current) return;
  state.strokes.push(state.current);
  state.current = null;
  paint();
  send();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
$("undo").onclick = () => { state.strokes.pop(); paint(); send(); };
$("clear").onclick = () => { state.strokes = []; paint(); send(); };

window.addEventListener("message", (event) => {
  const d = event.data;
  if (!d || d.type !== "streamlit:render") return;
  const size = Number(d.args.size) || 280, stroke = Number(d.args.stroke) || 20;
  if (size !== state.size || stroke !== state.stroke) {
    if (state.size) { // a new size (presentation mode): the strokes drawn so far, scaled to it
      const f = size / state.size;
      state.strokes = state.strokes.map((s) => s.map(([x, y]) => [x * f, y * f]));
    }
    state.size = pad.width = pad.height = size;
    pad.style.width = pad.style.height = size + "px";
    $("bar").style.fontSize = Math.round(14 * size / 280) + "px"; // larger buttons with a larger pad
    state.stroke = stroke;
    paint();
    fitFrame();
  }
});
toParent("streamlit:componentReady", { apiVersion: 1 });
