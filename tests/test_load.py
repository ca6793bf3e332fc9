"""What makes the shared server light (issue 14): cards without networks, bytes for the test set, one
torch thread per decode, and the load benchmark's own measuring (a real browser, a real server)."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np
import pytest

import aae_core
from app import bench_load

ROOT = Path(__file__).resolve().parent.parent


def test_cards_come_from_the_verified_folders_without_building_a_network(monkeypatch):
    import aae_core.weights as weights

    def no_weights(*args, **kwargs):
        raise AssertionError("a card must not read the weights")
    monkeypatch.setattr(weights, "load_tensors", no_weights)
    cards = {name: aae_core.pretrained_card(name) for name in aae_core.list_pretrained() if name != "mnist-test"}
    assert len(cards) >= 17 and all(card for card in cards.values())
    with pytest.raises(AssertionError, match="must not read"):  # whereas loading the model does
        aae_core.load_pretrained("aae-gaussian-2d")


def test_a_card_matches_the_loaded_models_card():
    for name in ("aae-gaussian-2d", "semi-aae-100"):
        assert aae_core.pretrained_card(name) == weights_load(name).card


def weights_load(name: str):
    from aae_core.weights import load_model
    return load_model(aae_core.PRETRAINED_DIR / name)


def test_the_test_set_is_held_as_bytes_and_read_as_the_float_images():
    from app import resources
    images = resources.test_images.__wrapped__()  # uncached: the same function the pages call
    split = aae_core.load_test_set()
    assert images.raw.dtype == np.uint8 and images.raw.nbytes == 10_000 * 784 and len(images) == 10_000
    flat = split.flat_float()
    np.testing.assert_array_equal(images[[3, 7]], flat[[3, 7]])
    np.testing.assert_array_equal(images[5], flat[5])
    np.testing.assert_array_equal(images.labels, split.labels)
    assert images[5].dtype == np.float32
    with pytest.raises(ValueError):
        images.raw[0, 0] = 1  # shared by every session: read-only


def test_the_app_decodes_with_one_torch_thread_unless_told_otherwise():
    import subprocess
    code = "import app.resources, torch; print(torch.get_num_threads())"
    one = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    three = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "AAE_TORCH_THREADS": "3"})
    bad = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "AAE_TORCH_THREADS": "many"})
    assert (one.stdout.split()[-1], three.stdout.split()[-1], bad.stdout.split()[-1]) == ("1", "3", "1")


def test_the_live_benchmark_splits_the_machines_cpu_by_role():
    """This process as the 'server': its own work shows under its name, its child process's under
    the trainer worker, and the shares add up to at most the whole machine."""
    import os
    import subprocess
    import time

    before, t0 = bench_load.cpu_by_role(os.getpid()), time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", "import time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.4: pass\nprint('spun', flush=True)\ntime.sleep(5)"],
                             stdout=subprocess.PIPE, text=True)
    t = time.process_time()
    while time.process_time() - t < 0.4:
        pass
    assert child.stdout.readline().strip() == "spun"  # it has used its 0.4 s and is still alive, asleep
    after = bench_load.cpu_by_role(os.getpid())
    child.kill()
    child.wait()
    assert set(before) == set(after) and "browsers" in after
    assert after["server"] - before["server"] >= 0.3 and after["trainer worker"] - before["trainer worker"] >= 0.3
    shares = bench_load.cpu_shares(before, after, time.perf_counter() - t0)
    assert shares.startswith("server ") and "trainer worker " in shares
    assert sum(int(part.rsplit(" ", 2)[-2]) for part in shares.split(", ")) <= 102  # rounding


def test_percentiles_of_the_benchmark():
    values = list(range(1, 101))
    assert bench_load.pct(values, 0.5) == 50 and bench_load.pct(values, 0.95) == 95
    assert bench_load.pct([float("nan"), 7.0], 0.5) == 7.0
    assert bench_load.pct([], 0.5) != bench_load.pct([], 0.5)  # nan when nothing was measured


def test_the_benchmark_counts_each_slider_moves_rerun_in_a_real_browser(tmp_path):
    """One session against the trivial app: the page becomes ready and each key press is one finished
    run, timed; the server's memory is read from /proc."""
    assert Path(bench_load.CHROMIUM).exists(), "Debian's chromium is needed: `make test` installs it"
    script = tmp_path / "trivial_app.py"
    script.write_text(bench_load.TRIVIAL_APP)

    async def one_session():
        async with bench_load.chromium() as browser:
            with bench_load.Server(script) as server:
                visit = await bench_load.visit(browser, server.url, moves=3, timeout_ms=60_000, settle_s=0.1)
                return visit, server.rss()

    visit, rss = asyncio.run(one_session())
    assert visit.failure == "" and visit.errors == 0
    assert visit.ready_ms > 0 and len(visit.moves_ms) == 3 and all(m > 0 for m in visit.moves_ms)
    assert 20 < rss < 2000


WIRE_APP = """import streamlit as st


def live():
    if st.button("Start"):
        st.session_state["on"] = True

    @st.fragment(run_every=0.5 if st.session_state.get("on") else None)
    def board():
        st.session_state["n"] = st.session_state.get("n", 0) + 1
        st.metric("epoch", f"{st.session_state['n']} of 40")

    board()


st.navigation([st.Page(live, url_path="live")]).run()
"""


def test_a_wire_session_presses_a_button_and_keeps_the_fragments_timer_going(tmp_path):
    """The live benchmark's browser-less session: it opens the page, presses a button by its label,
    then reruns the page's fragment on the timer the server set (a fragment's own run must not stop
    the timer), reading the metric each run draws."""
    script = tmp_path / "wire_app.py"
    script.write_text(WIRE_APP)

    async def session():
        with bench_load.Server(script) as server:
            async with bench_load.WireSession(server.url, "live") as wire:
                await wire.press("Start", timeout_s=60)
                await asyncio.sleep(4)
                return wire.metrics, wire.runs

    metrics, runs = asyncio.run(session())
    epochs = int(metrics["epoch"].split()[0])
    # every run draws the metric: the page's first run, the press's, then ~8 timed fragment reruns in 4 s
    assert epochs >= 5 and runs >= epochs - 1  # (the last run's end may still be on its way)


def test_the_shared_caches_keyed_by_what_users_choose_are_bounded():
    """Every server-wide cache whose key a session chooses beyond the model (a grid size, a walk's
    endpoints, a map view) keeps a bounded number of entries, so a class exploring cannot grow the
    server without limit; the per-model ones are bounded by the shipped models."""
    from app import resources

    chosen_keys = ("model", "manifold_png", "walk", "zoo_panel", "decoder_onnx", "browser_map")
    for name in chosen_keys:
        limit = getattr(resources, name)._info.max_entries  # Streamlit's own record of the decorator's bound
        assert limit is not None and limit <= 256, name


def test_the_memory_probe_names_the_sites_that_hold_memory(tmp_path, monkeypatch):
    """With AAE_TRACEMALLOC set, a process writes its traced total and largest allocation sites; the
    5 MB this script keeps shows at its own line. Without it, nothing starts."""
    import json
    import os
    import subprocess

    from app import memory_probe

    dump = tmp_path / "trace.json"
    script = ("import time\nfrom app import memory_probe\nassert memory_probe.start_from_env()\n"
              "kept = [bytearray(10**6) for _ in range(5)]\ntime.sleep(1.0)\n")
    env = {**os.environ, "AAE_TRACEMALLOC": str(dump), "AAE_TRACEMALLOC_EVERY": "0.1",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    data = json.loads(dump.read_text())
    assert data["total"] >= 5e6 and data["sites"]["<string>:4"][0] >= 5e6
    assert data["malloc"]["in_use"] >= 5e6  # glibc's own count holds them too (Python's large blocks come from it)
    assert memory_probe.growth({"sites": {"a:1": [10, 1], "b:2": [5, 1]}},
                               {"sites": {"a:1": [4, 1], "b:2": [25, 2], "c:3": [7, 1]}}) == [("b:2", 20), ("c:3", 7)]
    monkeypatch.delenv("AAE_TRACEMALLOC", raising=False)
    assert memory_probe.start_from_env() is False


def test_one_trimmer_thread_per_server_hands_freed_heap_back():
    """The server starts one daemon thread (however many sessions ask) that returns the C allocator's
    freed pages to the system; on this machine's glibc the call is available."""
    from app import resources

    thread = resources.memory_trimmer()
    assert thread.is_alive() and thread.daemon and thread.name == "aae-malloc-trim"
    assert resources.memory_trimmer() is thread
    assert resources.release_memory(collect=False) is True


def test_the_ready_benchmark_times_a_fresh_page_until_its_chart_is_drawn(tmp_path):
    """A bare one-chart app in a real browser: the page boots, then its script finishes, then the chart
    is drawn, in that order; the main thread's time is split by what ran (Plotly's script among it)."""
    script = tmp_path / "tiny_plot.py"
    script.write_text(bench_load.PLOT_APPS["one Plotly chart, 2 points"])

    async def one_visit():
        async with bench_load.chromium() as browser:
            with bench_load.Server(script) as server:
                return await bench_load.ready_timeline(browser, server.url)

    marks = asyncio.run(one_visit())
    assert 0 < marks["socket"] < marks["script"] < marks["plot"]
    assert marks["plotly"] > 0 and marks["native"] > 0  # Plotly's script ran in the page
    assert sum(marks.get(k, 0) for k in ("plotly", "native", "page", "idle")) <= marks["plot"] * 1.5 + 500
