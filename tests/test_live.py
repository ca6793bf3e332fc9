"""The live trainer (issue 13): a capped run that trains a slice at a time, and its page."""
import numpy as np
import pytest
import torch

import aae_core
from aae_core import live
from aae_core.live import LiveRun, LiveSettings
from tests.test_app import images, open_page


@pytest.fixture(scope="module")
def test_images():
    split = aae_core.load_test_set()
    return split.images.reshape(len(split.images), -1), split.labels


def test_a_run_pushes_its_codes_toward_the_prior_slice_by_slice(test_images):
    torch.set_num_threads(1)
    run = LiveRun(LiveSettings(seed=1), *test_images)
    start = run.prior_distance()
    first = run.train_for(0.0, max_steps=1)  # one step
    assert run.steps == 1 and set(first) >= {"step", "epoch", "recon", "d", "g"}
    for _ in range(4):
        run.train_for(10.0, max_steps=run.steps_per_epoch)
    assert run.epoch == 4 and len(run.history) == 5
    assert run.history[-1]["recon"] < run.history[0]["recon"]
    assert run.prior_distance() < start  # the aggregated posterior moves onto the prior
    assert run.codes().shape == (live.N_SHOWN, 2)


def test_a_run_stops_at_its_cap(test_images, monkeypatch):
    monkeypatch.setattr(live, "MAX_EPOCHS", 1)
    run = LiveRun(LiveSettings(family="vae"), *test_images)
    run.train_for(60.0)
    assert run.done and run.epoch == 1 and run.steps == run.steps_per_epoch
    assert run.train_for(1.0) is None  # nothing more to do


def test_the_label_conditioned_run_and_bad_settings(test_images):
    run = LiveRun(LiveSettings(prior="swissroll", labels=True), *test_images)
    assert run.model.model_name == "label-aae"
    run.train_for(0.0, max_steps=2)
    for bad, message in [({"family": "gan"}, "family"), ({"prior": "moon"}, "prior"), ({"ae_lr": 1.0}, "learning rate"),
                         ({"disc_noise": -1}, "disc_noise"), ({"labels": True}, "mixture or the swiss roll"),
                         ({"family": "vae", "prior": "mixture10", "labels": True}, "choose the AAE")]:
        with pytest.raises(ValueError, match=message):
            LiveSettings(**bad)


def test_the_worker_keeps_every_sessions_run_apart_and_drops_the_oldest(monkeypatch):
    pool = live.LivePool()
    try:
        first = pool.new("a", LiveSettings()).result(timeout=180)
        assert first.steps == 0 and first.codes.shape == (live.N_SHOWN, 2) and not first.done
        other = pool.new("b", LiveSettings(family="vae")).result(timeout=60)
        after = pool.train("a", 0.2).result(timeout=60)
        assert after.steps > 0 and after.settings.family == "aae" and len(after.history) == 1
        assert pool.train("b", 0.0).result(timeout=60).steps == 1 and other.settings.family == "vae"
        assert pool.active() == 2 and pool.active(window_s=0.0) == 0  # the runs taking turns (sets the redraw rate)
        onnx, kept = pool.decoder("a").result(timeout=60)  # the run as it is now, to explore under the mouse
        import onnx as onnx_lib
        graph = onnx_lib.load_from_string(onnx).graph
        assert [i.name for i in graph.input] == ["z"] and kept.steps == after.steps
        pool.drop("a")
        with pytest.raises(KeyError, match="no longer kept"):
            pool.train("a", 0.1).result(timeout=60)
    finally:
        pool.close()


def test_the_live_page_trains_steps_pauses_and_clears():
    at = open_page("views/live.py")
    assert not at.error and "press **Start**" in at.info[0].value
    next(b for b in at.button if b.label == "Start").click().run(timeout=240)
    assert not at.error and not at.exception
    snap = at.session_state["live_snap"]
    assert at.session_state["live_running"] and snap.settings.family == "aae" and snap.steps == 0
    next(b for b in at.button if b.label == "Pause").click().run()
    next(b for b in at.button if b.label.startswith("One step")).click().run(timeout=120)
    assert at.session_state["live_snap"].steps > 0 and not at.error
    assert [m.label for m in at.metric][:3] == ["epoch", "training time", "codes' distance to the prior ↓"]
    assert not at.get("plotly_chart")  # the board is two server-drawn SVGs: light for every browser to redraw
    captions = [c for _, c in images(at)]
    assert any(c.startswith(f"{live.N_SHOWN:,} held-out digits' codes now") for c in captions)
    assert "the losses so far, by epoch" in captions
    # keep the run and explore it under the mouse: its decoder (ONNX) and its codes as they were
    next(b for b in at.button if b.label.startswith("Keep the run")).click().run(timeout=120)
    steps, onnx, codes = at.session_state["live_explore"]
    assert not at.error and steps == at.session_state["live_snap"].steps and onnx[:2] and codes.shape == (live.N_SHOWN, 2)
    assert any("The run as kept after" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label.startswith("Keep the run")]  # kept as it is: nothing newer to keep
    next(b for b in at.button if b.label == "Clear").click().run()
    assert at.session_state["live_snap"] is None and not at.error and at.session_state["live_explore"] is None
    np.testing.assert_array_equal(snap.shown_y, aae_core.load_test_set().labels[live.N_TRAIN:live.N_TRAIN + live.N_SHOWN])
