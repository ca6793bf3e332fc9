"""Load benchmark (numbers, not assertions): ``python -m app.bench_load`` or ``make bench-load``.

Real browsers (Debian's Chromium; one browser context = one Streamlit session) against the real
app and, in the same run, against a trivial one-slider Streamlit app: the floor that Streamlit,
the browser and this machine set. Everything on loopback; every server is started here and stopped
when the run ends (or is interrupted).

Three runs:

``ratio`` (default)
    For N concurrent sessions (5, 10, 20): each session opens a page and makes ten moves of its main
    interaction (``SLIDER_PAGES``: the first slider's → key on the interpolation and style pages, a
    click on the latent map, the next cluster on the clusters page). Printed: the time until the page is ready (slider shown, script
    finished) and each move's round trip (key press → the rerun it causes has finished), p50 / p95,
    the first move's worst case, errors on the page, and each as a multiple of the trivial app's.
``ready``
    Where a cold page's time goes (the server warm): fresh sessions open the latent map and the clusters
    page, beside the trivial app and two bare apps holding only a Plotly chart (2 points; 10k WebGL
    points with three contour outlines, what the latent map's Plotly figure was). Printed per page, p50:
    when Streamlit's page has booted (its websocket opens), when the script run has finished, when the
    map is drawn (ready: a Plotly chart's, or the latent map component's points), and, on more visits
    with Chromium's profiler on, where the browser's main thread spent the time.
``memory``
    The server's resident memory after one session has visited every page, then across 100 sessions
    opened and closed one after another (flat means nothing survives a session), and what holds it:
    the process after import, each model, the test set.
``soak``
    Mixed page visits by a few concurrent sessions for a number of minutes; every minute: visits,
    errors, p95 of page-ready and slider moves, and the server's memory.
``live``
    While N sessions train on the Train live page (``--trainers``; real browsers, or with ``--wire``
    sessions that speak Streamlit's protocol over the websocket with no browser: ``WireSession``), one
    more session, a real browser, moves the interpolation slider: its round trips, each trainer's
    epochs per minute, and each role's share of the machine's CPU (server, trainers' worker, browsers).
``mouse``
    The in-browser decoder (page "Decode under the mouse"), one session per model: the time until
    the decoder is loaded, decoded frames per second under continuous pointer motion (one move per
    animation frame, dispatched in the page for ``--seconds``), the pointer-to-image latency p50 / p95,
    one decode's own time (200 in a row), and the page's JavaScript heap (Chromium's own count); once
    with the browser at a 60 Hz display's frame rate, then with its frame rate unlocked (the page's own
    ceiling).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from app import page_table

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
TRIVIAL_APP = """import streamlit as st
value = st.slider("value", 0, 100, 0)
st.write(f"value: {value}")
"""
# Reference apps for the ``ready`` run: what one Plotly chart costs a fresh page on its own, tiny and
# as heavy as the latent map's (10k WebGL points in ten traces, three contour outlines of a density).
PLOT_APPS = {
    "one Plotly chart, 2 points": """import plotly.graph_objects as go
import streamlit as st
st.plotly_chart(go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="markers")))
""",
    "10k WebGL points + 3 outlines": """import numpy as np
import plotly.graph_objects as go
import streamlit as st
rng = np.random.default_rng(0)
z, y = rng.normal(size=(10000, 2)), rng.integers(0, 10, 10000)
fig = go.Figure([go.Scattergl(x=z[y == d, 0], y=z[y == d, 1], mode="markers", name=str(d)) for d in range(10)])
g = np.linspace(-4, 4, 140)
density = np.exp(-(g[None, :] ** 2 + g[:, None] ** 2) / 2)
for level in (0.5, 0.2, 0.05):
    fig.add_trace(go.Contour(x=g, y=g, z=density, showscale=False,
                             contours={"start": level, "end": level, "size": 1, "coloring": "none"}))
st.plotly_chart(fig)
"""}
# Pages measured by the ratio run: url path → the interaction one "move" is (the page's first slider
# one step right; a click on the latent map, a new place each time; the next cluster in the clusters
# page's list, picked with the keyboard).
SLIDER_PAGES = {"interpolation": "slider", "styles": "slider", "latent-map": "click", "clusters": "select"}
PLOT = ".js-plotly-plot .nsewdrag"
# The latent map component (app/components/latent_canvas): its frame, and its overlay once the map is drawn.
MAP_FRAME = 'iframe[title*="latent_canvas"]'
MAP = 'body[data-drawn="1"] #overlay'
CANVAS_PAGES = {"latent-map", "clusters"}  # pages whose map is the component (the others': a Plotly chart)
SELECT = '[data-testid="stSelectbox"]'
# Pages a soak visitor picks from (every page of the app).
ALL_PAGES = [row.url_path for row in page_table.PAGES]
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
SLIDER = '[data-testid="stSlider"] input[type="range"]'  # visually hidden, focusable


def map_target(page, path: str):
    """The locator of the map a page's readiness waits for (and a click lands on)."""
    name = path.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    return page.frame_locator(MAP_FRAME).locator(MAP) if name in CANVAS_PAGES else page.locator(PLOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, CPU seconds used: user + system, CPU seconds of its children that have ended) of a
    process, from /proc (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def cpu_by_role(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server process, by its child processes (the live trainers'
    worker), by every Chromium process on the machine (the benchmark's own browsers) and by the rest
    (the machine's busy time less those three: the benchmark's driver, anything else running)."""
    stats = {int(d.name): _stat(int(d.name)) for d in Path("/proc").iterdir() if d.name.isdigit()}
    stats = {pid: st for pid, st in stats.items() if st is not None}
    out = {"server": stats.get(server_pid, (0, 0.0, 0.0))[1], "trainer worker": 0.0, "browsers": 0.0}
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait, every core
    for pid, (ppid, cpu, ended) in stats.items():
        if ppid == server_pid:
            out["trainer worker"] += cpu
        else:
            try:  # a closed tab's renderer has ended: its time is in its parent's (a Chromium process's)
                if Path(f"/proc/{pid}/comm").read_text().strip().startswith(("chromium", "chrome")):
                    out["browsers"] += cpu + ended
            except OSError:
                pass
    out["anything else (the benchmark's driver too)"] = max(0.0, busy - sum(out.values()))
    return out


def cpu_shares(before: dict[str, float], after: dict[str, float], wall_s: float) -> str:
    """Each role's share of the machine's CPU time (all cores) between two ``cpu_by_role`` readings."""
    total = wall_s * (os.cpu_count() or 1)
    return ", ".join(f"{k} {100 * (after[k] - before[k]) / total:.0f} %" for k in before)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """``streamlit run SCRIPT`` on a free loopback port; stopped on exit, whatever happens."""

    def __init__(self, script: Path, threads: str | None = None, extra_env: dict[str, str] | None = None):
        self.script, self.port = script, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}  # as `make run` serves it
        if threads:
            env["AAE_TORCH_THREADS"] = threads
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def __enter__(self) -> "Server":
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        self.log.seek(0)
        raise SystemExit(f"the server for {self.script} did not start:\n" + self.log.read().decode(errors="replace")[-2000:])

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def rss(self) -> float:
        return rss_mb(self.proc.pid)


@dataclass
class Visit:
    """One session's numbers: page ready (ms), each move's round trip (ms), errors seen."""
    ready_ms: float = float("nan")
    moves_ms: list[float] = field(default_factory=list)
    errors: int = 0
    failure: str = ""


class Runs:
    """Counts the script runs the server reports finished to one page (a ForwardMsg ``script_finished``
    on the page's websocket, whole-page runs and fragment runs alike): a move's round trip ends when
    the run it caused has finished, whatever the page draws and however fast it ran."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        self._msg, self.finished, self._event = ForwardMsg, 0, asyncio.Event()
        done = ForwardMsg.ScriptFinishedStatus
        self._ok = {done.FINISHED_SUCCESSFULLY, done.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, bytes):
            return
        try:
            msg = self._msg.FromString(payload)
        except Exception:  # not a ForwardMsg: nothing to count
            return
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished in self._ok:
            self.finished += 1
            self._event.set()

    async def after(self, count: int, timeout_ms: float) -> None:
        """Wait until more than ``count`` runs have finished."""
        async def wait() -> None:
            while self.finished <= count:
                self._event.clear()
                await self._event.wait()
        await asyncio.wait_for(wait(), timeout_ms / 1000)


async def visit(browser, url: str, moves: int, timeout_ms: float = 180_000, together: asyncio.Barrier | None = None,
                settle_s: float = 0.0) -> Visit:
    """Open ``url`` in a new session, wait until ready, then make ``moves`` moves — the interaction
    SLIDER_PAGES gives the page (by default the first slider's → key) — each timed from the action to the
    end of the run it causes (``together``: once every session of the round is ready, so that the moves
    measure the moves, not the other sessions' page loads)."""
    kind = SLIDER_PAGES.get(url.rstrip("/").rsplit("/", 1)[-1].split("?")[0], "slider")
    out = Visit()
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        runs = Runs(page)
        t0 = time.perf_counter()
        await page.goto(url, wait_until="commit", timeout=timeout_ms)
        await runs.after(0, timeout_ms)
        if moves:
            if kind == "select":  # the page's own list (not the model picker above it)
                target = page.locator(SELECT).filter(has_text=re.compile(r"^Cluster")).locator("input").first
            else:
                target = page.locator(SLIDER).first if kind == "slider" else map_target(page, url).first
            await target.wait_for(state="attached", timeout=timeout_ms)
        out.ready_ms = (time.perf_counter() - t0) * 1000
        if together is not None:
            together_ = together
            together = None  # passed: a failure after this point must not wait for it again
            await together_.wait()
        if settle_s:  # let the browsers finish drawing what arrived before the first move
            await asyncio.sleep(settle_s)
        if moves and kind == "slider":
            await target.focus()
        box = await target.bounding_box() if moves and kind == "click" else None
        for i in range(moves):
            if kind == "select":  # open the list (no rerun), then the move: the next entry, Enter
                await open_list(page, target)
                await page.keyboard.press("ArrowDown")
            before = runs.finished
            t0 = time.perf_counter()
            if kind == "slider":
                await target.press("ArrowRight")
            elif kind == "click":  # a different spot each time, across the map
                await page.mouse.click(box["x"] + box["width"] * (0.2 + 0.06 * i), box["y"] + box["height"] * (0.35 + 0.03 * i))
            else:
                await page.keyboard.press("Enter")
            await runs.after(before, timeout_ms)
            out.moves_ms.append((time.perf_counter() - t0) * 1000)
        out.errors = await page.locator(ERRORS).count()
    except Exception as exc:  # a timeout or a crash is a result of the benchmark, not its end
        stage = f"move {len(out.moves_ms) + 1}" if out.ready_ms == out.ready_ms else "loading"
        out.failure = f"{type(exc).__name__} ({stage}): {(str(exc).splitlines() or [''])[0][:200]}"
        if together is not None:  # failed before the barrier: let the others go on
            await together.wait()
    finally:
        await context.close()
    return out


async def open_list(page, target, tries: int = 3) -> None:
    """Open a select box's list (not timed). A list opened while the page's layout still moves (a map's
    frame taking its height as it loads) can close again at once: then it is opened again."""
    listbox = page.locator('[role="listbox"]').first
    for attempt in range(tries):
        await target.click()
        try:
            await listbox.wait_for(state="visible", timeout=5_000)
            return
        except Exception:
            if attempt == tries - 1:
                raise


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank, NaNs left out (NaN when nothing is left)."""
    values = sorted(v for v in values if v == v)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]  # nearest rank


@dataclass
class Row:
    ready_p50: float
    ready_p95: float
    move_p50: float
    move_p95: float
    first_move_max: float
    errors: int
    failures: list[str]

    @classmethod
    def of(cls, visits: list[Visit]) -> "Row":
        ready = [v.ready_ms for v in visits]
        moves = [m for v in visits for m in v.moves_ms]
        first = [v.moves_ms[0] for v in visits if v.moves_ms]
        return cls(pct(ready, .5), pct(ready, .95), pct(moves, .5), pct(moves, .95), max(first, default=float("nan")),
                   sum(v.errors for v in visits), [v.failure for v in visits if v.failure])


async def sessions(browser, url: str, n: int, moves: int, together: bool, settle_s: float = 0.0) -> Row:
    """``n`` sessions at once, each opening ``url`` and moving its slider (``together``: all of them
    start moving once all are ready; otherwise each as soon as its own page is)."""
    barrier = asyncio.Barrier(n) if together else None
    return Row.of(await asyncio.gather(*(visit(browser, url, moves, together=barrier, settle_s=settle_s)
                                         for _ in range(n))))


@contextlib.asynccontextmanager
async def chromium(extra_args: tuple[str, ...] = ()):
    from playwright.async_api import async_playwright
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is needed (`apt-get install chromium`; `make install-test` does it)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            await browser.close()


MOUSE_MODELS = {"aae-gaussian-2d": "", "supervised-aae-2d": "", "semi-aae-100": "&view=pca", "aae-conv-2d": ""}
# Continuous pointer motion over the in-browser decoder's map for ``ms`` (one move per animation frame,
# dispatched in its frame), then what it decoded: moves, decodes, pointer → image p50 / p95 (ms). The
# browser test drives the page with the same script.
POINTER_MOTION = """async (ms) => {
  const ov = document.getElementById('overlay'), r = ov.getBoundingClientRect();
  const before = window.aaeDecoder.stats().decoded, t0 = performance.now(); let moves = 0;
  await new Promise(done => { function step() { moves++;
      ov.dispatchEvent(new PointerEvent('pointermove', {bubbles: true,
        clientX: r.left + r.width * (0.15 + 0.007 * (moves % 100)), clientY: r.top + r.height * (0.2 + 0.006 * ((3 * moves) % 100))}));
      if (performance.now() - t0 < ms) requestAnimationFrame(step); else done(); }
    requestAnimationFrame(step); });
  await new Promise(res => setTimeout(res, 300));
  const s = window.aaeDecoder.stats(), n = s.decoded - before, lat = s.latencies.slice(-n).sort((a, b) => a - b);
  return {moves, decoded: n, p50: lat[Math.floor(lat.length / 2)], p95: lat[Math.floor(0.95 * lat.length)]};
}"""
# One decode's own time (200 in a row) and the page's JavaScript heap.
DECODE_TIME = """async () => {
  const t1 = performance.now();
  for (let i = 0; i < 200; i++) await window.aaeDecoder.decodeAt(0.01 * i, -0.01 * i);
  return {decode_ms: (performance.now() - t1) / 200, heap_mb: performance.memory ? performance.memory.usedJSHeapSize / 1e6 : NaN};
}"""


# The browser's frame rate unlocked (no 60 Hz display clock): frames as fast as the page can make them,
# so the decoded frames per second measure the page's own ceiling rather than the display's.
UNLOCKED = ("--disable-frame-rate-limit", "--disable-gpu-vsync")


async def run_mouse(seconds: float) -> None:
    app_script = ROOT / "app" / "streamlit_app.py"
    print("| browser frames | model (map) | decoder loaded after | pointer moves → decoded | decoded frames/s "
          "| pointer → image p50 / p95 | one decode | page JS heap |\n|---|---|---|---|---|---|---|---|", flush=True)
    with Server(app_script) as app:
        for clock, extra_args in (("60 Hz display", ()), ("unlocked", UNLOCKED)):
            async with chromium(extra_args) as browser:
                for name, extra in MOUSE_MODELS.items():
                    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                    t0 = time.perf_counter()
                    await page.goto(f"{app.url}/mouse?model={name}{extra}")
                    await page.wait_for_selector("iframe", timeout=180_000)
                    frame = None
                    while frame is None:
                        frame = next((f for f in page.frames if "latent_canvas" in f.url), None)
                        await asyncio.sleep(0.05)
                    await frame.wait_for_function("window.aaeDecoder && window.aaeDecoder.stats().ready", timeout=180_000)
                    loaded = (time.perf_counter() - t0) * 1000
                    r = {**await frame.evaluate(POINTER_MOTION, seconds * 1000), **await frame.evaluate(DECODE_TIME)}
                    print(f"| {clock} | `{name}`{' (PCA)' if extra else ''} | {_fmt(loaded)} ms | {r['moves']} → "
                          f"{r['decoded']} | {r['decoded'] / seconds:.0f} | {r['p50']:.1f} / {r['p95']:.1f} ms | "
                          f"{r['decode_ms']:.2f} ms (≤ {1000 / r['decode_ms']:.0f}/s) | {r['heap_mb']:.0f} MB |", flush=True)
                    await page.close()


def _fmt(ms: float) -> str:
    return "—" if ms != ms else f"{ms:,.0f}"


async def run_ratio(counts: list[int], pages: list[str], moves: int, together: bool, threads: str | None,
                    settle_s: float = 0.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial_app.py"
        trivial.write_text(TRIVIAL_APP)
        async with chromium() as browser:
            with Server(trivial) as floor, Server(ROOT / "app" / "streamlit_app.py", threads) as app:
                for server, path in ((floor, ""), *((app, p) for p in pages)):  # warm-up: the first visitor's
                    cold = await visit(browser, f"{server.url}/{path}", 1)      # cost, once per server
                    print(f"cold first visit to /{path or ' (trivial)'}: ready {_fmt(cold.ready_ms)} ms, "
                          f"first move {_fmt(cold.moves_ms[0] if cold.moves_ms else float('nan'))} ms"
                          + (f" — {cold.failure}" if cold.failure else ""), flush=True)
                print("\n| sessions | page | ready p50 / p95 ms (× floor) | move p50 / p95 ms (× floor) "
                      "| worst first move ms | errors | server MB |")
                print("|---|---|---|---|---|---|---|")
                for n in counts:
                    base = await sessions(browser, floor.url, n, moves, together, settle_s)
                    rows = [("trivial app (floor)", base, floor.rss())]
                    for p in pages:
                        rows.append((p, await sessions(browser, f"{app.url}/{p}", n, moves, together, settle_s),
                                     app.rss()))
                    for label, r, mb in rows:
                        x = (lambda a, b: f"{a / b:.1f}×") if r is not base else (lambda a, b: "1×")
                        print(f"| {n} | {label} | {_fmt(r.ready_p50)} / {_fmt(r.ready_p95)} "
                              f"({x(r.ready_p50, base.ready_p50)} / {x(r.ready_p95, base.ready_p95)}) "
                              f"| {_fmt(r.move_p50)} / {_fmt(r.move_p95)} "
                              f"({x(r.move_p50, base.move_p50)} / {x(r.move_p95, base.move_p95)}) "
                              f"| {_fmt(r.first_move_max)} | {r.errors + len(r.failures)} | {mb:.0f} |", flush=True)
                        for f in r.failures[:3]:
                            print(f"|   | failure: {f} | | | | | |")


async def ready_timeline(browser, url: str, profile: bool = True) -> dict[str, float]:
    """One fresh session opening ``url``: ms from navigation to the websocket's opening (Streamlit's
    page booted), to the script run's end (the server's part), to its map drawn (the first Plotly chart,
    or the latent map component's points: ``map_target``); and
    where the browser's main thread spent that time (Chromium's sampling profiler: Plotly's script,
    native work — parsing, layout, software WebGL —, the rest of the page's scripts, idle; ``profile``:
    the profiler slows the page down, so the times are measured on visits without it)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        runs, marks, t0 = Runs(page), {}, time.perf_counter()
        page.on("websocket", lambda ws: marks.setdefault("socket", (time.perf_counter() - t0) * 1000))
        if profile:
            cdp = await context.new_cdp_session(page)
            await cdp.send("Profiler.enable")
            await cdp.send("Profiler.start")
        await page.goto(url, wait_until="commit")
        await runs.after(0, 180_000)
        marks["script"] = (time.perf_counter() - t0) * 1000
        await map_target(page, url).first.wait_for(state="attached", timeout=180_000)
        marks["plot"] = (time.perf_counter() - t0) * 1000
        if not profile:
            return marks
        samples = (await cdp.send("Profiler.stop"))["profile"]
    finally:
        await context.close()
    frames = {n["id"]: n["callFrame"] for n in samples["nodes"]}
    for node, us in zip(samples["samples"], samples["timeDeltas"]):
        f = frames[node]
        kind = ("plotly" if "Plotly" in f["url"] else "idle" if f["functionName"] == "(idle)" else
                "native" if not f["url"] else "page")
        marks[kind] = marks.get(kind, 0.0) + us / 1000
    return marks


async def run_ready(pages: list[str], visits: int) -> None:
    """Fresh visits (the server warm: one visit first, not counted) to each page, beside the trivial app
    and two bare apps that hold nothing but a Plotly chart: the floor a cold page with a chart sits on,
    in the same run. p50 as in the other tables (``pct``)."""
    with tempfile.TemporaryDirectory() as tmp:
        targets = []  # (label, script, url path, whether the page has a chart to wait for)
        for i, (label, text) in enumerate({"trivial app (no chart)": TRIVIAL_APP, **PLOT_APPS}.items()):
            (Path(tmp) / f"ref{i}.py").write_text(text)
            targets.append((label, Path(tmp) / f"ref{i}.py", "", text is not TRIVIAL_APP))
        targets += [(f"/{p}", ROOT / "app" / "streamlit_app.py", p, True) for p in pages]
        async with chromium() as browser:
            print(f"\n{visits} fresh sessions per page, the server warm (one visit first); p50 ms from navigation\n")
            print("| page | page booted | script finished | map drawn (ready) | main thread until drawn, on visits "
                  "with the profiler (slower): Plotly JS / native / page JS / idle |\n|---|---|---|---|---|")
            for label, script, path, chart in targets:
                with Server(script) as server:
                    url = f"{server.url}/{path}"
                    if not chart:  # nothing to draw: ready is the script's end, as in the ratio run
                        ready = [(await visit(browser, url, 0)).ready_ms for _ in range(visits + 1)][1:]
                        print(f"| {label} | | | {_fmt(pct(ready, .5))} (script finished) | |", flush=True)
                        continue
                    rows = [await ready_timeline(browser, url, profile=False) for _ in range(visits + 1)][1:]
                    profiled = [await ready_timeline(browser, url) for _ in range(visits)]
                    p50 = {k: pct([r.get(k, 0.0) for r in rows], .5) for k in ("socket", "script", "plot")}
                    p50.update({k: pct([r.get(k, 0.0) for r in profiled], .5) for k in ("plotly", "native", "page", "idle")})
                    print(f"| {label} | {_fmt(p50['socket'])} | {_fmt(p50['script'])} | **{_fmt(p50['plot'])}** | "
                          f"{_fmt(p50['plotly'])} / {_fmt(p50['native'])} / {_fmt(p50['page'])} / "
                          f"{_fmt(p50['idle'])} |", flush=True)


async def run_memory(n_sessions: int, trace: bool = False) -> None:
    """``trace``: the server runs Python's allocation tracer (``app.memory_probe``; slower) and the run
    ends with the traced total and the allocation sites that grew most across the sessions."""
    import json
    from app import memory_probe

    dump = Path(tempfile.mkdtemp(prefix="aae-trace-")) / "tracemalloc.json"
    env = {"AAE_TRACEMALLOC": str(dump), "AAE_TRACEMALLOC_EVERY": "2"} if trace else None

    async def traced() -> dict | None:
        if not trace:
            return None
        await asyncio.sleep(2.5)  # the writer's next dump
        return json.loads(dump.read_text()) if dump.exists() else None

    async with chromium() as browser:
        with Server(ROOT / "app" / "streamlit_app.py", extra_env=env) as app:
            print(f"server after start (no session yet): {app.rss():.0f} MB", flush=True)
            for p in ALL_PAGES:
                v = await visit(browser, f"{app.url}/{p}", 0)
                print(f"  after /{p}: {app.rss():.0f} MB" + (f" — {v.failure}" if v.failure else "")
                      + (f" — {v.errors} errors" if v.errors else ""), flush=True)
            after_all = app.rss()
            print(f"after every page once: {after_all:.0f} MB", flush=True)
            first = await traced()
            if first:
                print(f"  traced by Python's allocator: {first['total'] / 2**20:.0f} MB; {_malloc(first)}", flush=True)
            marks = []
            for i in range(n_sessions):
                await visit(browser, f"{app.url}/{ALL_PAGES[i % len(ALL_PAGES)]}", 1 if ALL_PAGES[i % len(ALL_PAGES)]
                            in SLIDER_PAGES else 0)
                if (i + 1) % 10 == 0:
                    await asyncio.sleep(2)  # let the server notice the closed sessions
                    marks.append(app.rss())
                    print(f"  after {i + 1} sessions opened and closed: {marks[-1]:.0f} MB", flush=True)
            if len(marks) >= 2:
                slope = (marks[-1] - marks[0]) / (10 * (len(marks) - 1))
                print(f"growth per session after the first 10: {slope * 1024:.0f} kB", flush=True)
            await settle(app)
            last = await traced()
            if first and last:
                print(f"traced by Python's allocator: {first['total'] / 2**20:.1f} MB after every page, "
                      f"{last['total'] / 2**20:.1f} MB now; {_malloc(last)}; the sites that grew most:", flush=True)
                for site, grown in memory_probe.growth(first, last):
                    print(f"  +{grown / 2**20:.2f} MB  {site.replace(str(ROOT) + '/', '')}", flush=True)


def _malloc(dump: dict) -> str:
    m = dump.get("malloc") or {}
    return (f"C allocator: {m['in_use'] / 2**20:.0f} MB in use, {m['free_kept'] / 2**20:.0f} MB freed but kept"
            if m else "C allocator: not measured here")


async def trainer(browser, url: str, stop: asyncio.Event, progress: list[float], started: list[int] | None = None
                  ) -> None:
    """A student on the live trainer: press Start (then append 1 to ``started``), keep the page open
    until ``stop``, then read how far the run got (epochs) into ``progress``."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        await page.goto(f"{url}/live", timeout=180_000)
        await page.get_by_role("button", name="Start").click(timeout=180_000)
        if started is not None:
            started.append(1)
        await stop.wait()
        text = await page.locator('[data-testid="stMetricValue"]').first.inner_text(timeout=30_000)
        progress.append(float(text.split()[0]))
    except Exception as exc:  # noqa: BLE001  (a trainer that failed is reported, not fatal)
        print(f"  a trainer failed: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
        progress.append(float("nan"))
    finally:
        await context.close()


class WireSession:
    """One Streamlit session driven over its websocket in Streamlit's own messages (BackMsg out,
    ForwardMsg in), with no browser: what a student's browser asks of the server — the page's runs, a
    button press, the timed reruns of the page's fragments, at the intervals the server sets — without
    the browser's own drawing landing on this machine's cores. In a classroom every browser runs on its
    student's computer; on this 2-core machine 20 headless Chromiums take most of the CPU themselves.
    Keeps the last value of each ``st.metric`` by label and the ids of the buttons by label."""

    def __init__(self, url: str, page: str):
        self.ws_url = url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.page, self.buttons, self.metrics, self.runs = page, {}, {}, 0
        self._fragments: dict[str, float] = {}  # fragment id → seconds between its timed reruns
        self._tasks: list[asyncio.Task] = []
        self._finished = asyncio.Event()
        self._fragment_run = False  # whether the last run asked for was a fragment's

    async def __aenter__(self) -> "WireSession":
        import websockets
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._timed_reruns())]
        await self._send()
        return self

    async def __aexit__(self, *exc) -> None:
        for task in self._tasks:
            task.cancel()
        await self.ws.close()

    async def _send(self, trigger: str | None = None, fragment: str | None = None) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        msg = BackMsg()
        msg.rerun_script.page_name = self.page
        if trigger:
            widget = msg.rerun_script.widget_states.widgets.add()
            widget.id, widget.trigger_value = trigger, True
        if fragment:
            msg.rerun_script.fragment_id, msg.rerun_script.is_auto_rerun = fragment, True
        self._fragment_run = fragment is not None
        await self.ws.send(msg.SerializeToString())

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        async for data in self.ws:
            msg = ForwardMsg.FromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session" and not self._fragment_run:  # a whole-page run: its fragments say their
                self._fragments.clear()  # timers again (a fragment's own run keeps them, as a browser does)
            elif kind == "auto_rerun":
                self._fragments[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fid in msg.stop_auto_rerun.fragment_ids:
                    self._fragments.pop(fid, None)
            elif kind == "script_finished":
                self.runs += 1
                self._finished.set()
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                if element.WhichOneof("type") == "button":
                    self.buttons[element.button.label] = element.button.id
                elif element.WhichOneof("type") == "metric":
                    self.metrics[element.metric.label] = element.metric.body

    async def _timed_reruns(self) -> None:
        due: dict[str, float] = {}
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            for fid, interval in list(self._fragments.items()):
                if now >= due.setdefault(fid, now + interval):
                    due[fid] = now + interval
                    await self._send(fragment=fid)

    async def press(self, label: str, timeout_s: float = 180.0) -> None:
        """Press the button labelled ``label`` once the page shows it."""
        deadline = time.monotonic() + timeout_s
        while label not in self.buttons:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no button {label!r} on the page")
            self._finished.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._finished.wait(), 1.0)
        await self._send(trigger=self.buttons[label])


async def wire_trainer(url: str, stop: asyncio.Event, progress: list[float], started: list[int]) -> None:
    """``trainer`` without a browser (``WireSession``)."""
    try:
        async with WireSession(url, "live") as session:
            await session.press("Start")
            started.append(1)
            await stop.wait()
            progress.append(float(session.metrics.get("epoch", "nan").split()[0]))
    except Exception as exc:  # noqa: BLE001  (a trainer that failed is reported, not fatal)
        print(f"  a trainer failed: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
        progress.append(float("nan"))


async def run_live(counts: list[int], moves: int, seconds: float, wire: bool = False) -> None:
    """While N sessions train on the live page for ``seconds``, one more session moves the
    interpolation slider: its round trips beside the same with nobody training, and each trainer's
    epochs per minute."""
    async with chromium() as browser:
        with Server(ROOT / "app" / "streamlit_app.py") as app:
            await visit(browser, f"{app.url}/interpolation", 1)  # warm-up
            print("\n| sessions training | their epochs per minute p50 (min–max) | interpolation move p50 / p95 ms "
                  "| errors | server MB | the machine's CPU during the probe |\n|---|---|---|---|---|---|", flush=True)
            for n in counts:
                stop, progress, started = asyncio.Event(), [], []
                tasks = [asyncio.create_task(wire_trainer(app.url, stop, progress, started) if wire else
                                             trainer(browser, app.url, stop, progress, started)) for _ in range(n)]
                t0 = time.perf_counter()
                while len(started) < n and time.perf_counter() - t0 < 300:  # every trainer is training: steady state
                    await asyncio.sleep(0.5)
                await asyncio.sleep(5 if n else 0)
                t_all = time.perf_counter() - t0
                cpu0, t1 = cpu_by_role(app.proc.pid), time.perf_counter()
                probe = await visit(browser, f"{app.url}/interpolation", moves)
                shares = cpu_shares(cpu0, cpu_by_role(app.proc.pid), time.perf_counter() - t1)
                await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - t0)))
                stop.set()
                await asyncio.gather(*tasks)
                minutes = (time.perf_counter() - t0) / 60
                rates = sorted(p / minutes for p in progress if p == p)
                spread = f"{pct(rates, .5):.1f} ({rates[0]:.1f}–{rates[-1]:.1f})" if rates else "—"
                print(f"| {n} (all training after {t_all:.0f} s) | {spread} | {_fmt(pct(probe.moves_ms, .5))} / "
                      f"{_fmt(pct(probe.moves_ms, .95))} | {probe.errors + bool(probe.failure)} | {app.rss():.0f} | "
                      f"{shares} |", flush=True)


SESSION_TTL_S = 120  # Streamlit keeps a closed session's state this long, for a reconnect (memory_session_storage)


async def settle(app: Server) -> None:
    """The server's memory once every closed session has outlived Streamlit's reconnect window:
    what survives the sessions."""
    await asyncio.sleep(SESSION_TTL_S + 15)
    print(f"after {SESSION_TTL_S + 15} s idle (closed sessions dropped): {app.rss():.0f} MB", flush=True)


async def run_soak(minutes: float, concurrent: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    async with chromium() as browser:
        with Server(ROOT / "app" / "streamlit_app.py") as app:
            end = time.time() + 60 * minutes
            minute: list[Visit] = []
            start = time.time()
            next_report = start + 60
            total_errors = 0

            async def visitor() -> None:
                while time.time() < end:
                    p = rng.choice(ALL_PAGES)
                    minute.append(await visit(browser, f"{app.url}/{p}", 3 if p in SLIDER_PAGES else 0))

            async def reporter() -> None:
                nonlocal next_report, total_errors
                print("| minute | visits | errors | ready p95 ms | move p95 ms | server MB |\n|---|---|---|---|---|---|")
                while time.time() < end + 1:
                    await asyncio.sleep(max(0.0, next_report - time.time()))
                    r, n = Row.of(minute), len(minute)
                    minute.clear()
                    total_errors += r.errors + len(r.failures)
                    print(f"| {round((time.time() - start) / 60)} | {n} | {r.errors + len(r.failures)} | "
                          f"{_fmt(r.ready_p95)} | {_fmt(r.move_p95)} | {app.rss():.0f} |", flush=True)
                    next_report += 60

            await asyncio.gather(reporter(), *(visitor() for _ in range(concurrent)))
            print(f"soak: {minutes:g} min, {concurrent} sessions at a time, errors {total_errors}", flush=True)
            await settle(app)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", choices=["ratio", "ready", "memory", "soak", "live", "mouse"], default="ratio")
    ap.add_argument("--trainers", type=int, nargs="+", default=[0, 5, 20], help="sessions training (live)")
    ap.add_argument("--wire", action="store_true",
                    help="live: the trainers' sessions speak Streamlit's protocol over the websocket, no browser "
                         "(WireSession); the probe stays a real browser")
    ap.add_argument("--seconds", type=float, default=None,
                    help="how long the trainers train (live; default 60) or the pointer moves (mouse; default 5)")
    ap.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20], help="concurrent sessions (ratio)")
    ap.add_argument("--pages", nargs="+", default=list(SLIDER_PAGES), choices=list(SLIDER_PAGES))
    ap.add_argument("--moves", type=int, default=10, help="slider moves per session (ratio)")
    ap.add_argument("--visits", type=int, default=5, help="fresh visits per page (ready)")
    ap.add_argument("--moves-while-loading", action="store_true",
                    help="each session moves as soon as its page is ready, while the others still load "
                         "(default: the moves start once every session of the round is ready)")
    ap.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                    help="ratio: wait this long after every session is ready before the moves start (default 0): "
                         "tells a move that waits on the page still drawing from one that waits on the server")
    ap.add_argument("--torch-threads", help="the app's torch threads (AAE_TORCH_THREADS; default: the app's own, 1)")
    ap.add_argument("--memory-sessions", type=int, default=100)
    ap.add_argument("--trace", action="store_true",
                    help="memory: trace the server's Python allocations and print the sites that grew (slower)")
    ap.add_argument("--minutes", type=float, default=30.0, help="soak length")
    ap.add_argument("--concurrent", type=int, default=4, help="sessions at a time (soak)")
    args = ap.parse_args(argv)
    print(f"# load benchmark ({args.run}) on {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"browser: {CHROMIUM} headless; server and browser share this machine", flush=True)
    if args.run == "ratio":
        asyncio.run(run_ratio(args.sessions, args.pages, args.moves, not args.moves_while_loading, args.torch_threads,
                              args.settle))
    elif args.run == "ready":
        asyncio.run(run_ready([p for p in args.pages if p in ("latent-map", "clusters")] or ["latent-map"], args.visits))
    elif args.run == "live":
        asyncio.run(run_live(args.trainers, args.moves, args.seconds or 60.0, args.wire))
    elif args.run == "mouse":
        asyncio.run(run_mouse(args.seconds or 5.0))
    elif args.run == "memory":
        asyncio.run(run_memory(args.memory_sessions, args.trace))
    else:
        asyncio.run(run_soak(args.minutes, args.concurrent))


if __name__ == "__main__":
    main()
