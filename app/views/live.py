"""Train live: a small 2-D AAE (or VAE) learns in front of the student, its codes moving over the prior."""
import uuid
from concurrent.futures import BrokenExecutor

import streamlit as st

from aae_core import browser_map
from aae_core.live import MAX_EPOCHS, N_SHOWN, N_TRAIN, PRIORS, LiveSettings, Snapshot
from app import resources
from app.components.latent_canvas import latent_canvas
from app.helpers import curves_svg, map_svg
from app.widgets import safe_fragment

TICK_S, SLICE_S = 2.0, 0.5  # a redraw every 2 s (cheap for the server), each a slice of at most 0.5 s
PRIOR_NAMES = {"gaussian": "Gaussian N(0, 5²I)", "mixture10": "mixture of 10 Gaussians", "swissroll": "swiss roll"}

st.title("Train live")
st.markdown(
    "Watch the adversarial game shape the code. A small AAE (784-128-128-2) starts from random weights and "
    f"trains on {N_TRAIN:,} MNIST images; every two seconds (less often when many are training: the runs take turns) "
    f"the map shows where {N_SHOWN:,} other digits land now, over "
    "the prior's outlines, and the losses so far. **What to look for:** the codes start as one blob; the "
    "discriminator learns to tell them from prior samples, the encoder learns to fool it, and the blob spreads "
    "until it fills the prior — the *aggregated* posterior pushed onto p(z). A discriminator loss near 1.39 "
    "(= 2·ln 2) means it can no longer tell codes from prior samples; if it falls toward 0 it is winning, the "
    "encoder's loss climbs, and the codes stop matching the prior (try a slower adversary, or noise on its "
    "inputs). Pick the VAE to see a KL term do the pulling instead, one image at a time.")
st.caption(f"The images are the shipped MNIST test images (the app ships no training set): the first {N_TRAIN:,} "
           f"train, the last {N_SHOWN:,} are shown. A run stops after {MAX_EPOCHS} epochs. Every session's training "
           "shares one processor core in a process of its own, a slice at a time and turn by turn, so the other "
           "pages stay quick for everyone.")

state = st.session_state
run_id = state.setdefault("live_id", uuid.uuid4().hex)  # this session's run in the shared worker
snap: Snapshot | None = state.get("live_snap")
with st.expander("Settings (a new run starts with them)", expanded=snap is None):
    c1, c2, c3 = st.columns(3)
    family = c1.radio("Model", ["aae", "vae"], format_func=lambda f: {"aae": "AAE", "vae": "VAE"}[f],
                      horizontal=True, key="live_family")
    prior = c1.radio("Prior", list(PRIORS), format_func=PRIOR_NAMES.get, key="live_prior")
    rates = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
    ae_lr = c2.select_slider("Reconstruction learning rate", rates, value=1e-3, key="live_ae_lr")
    adv_lr = c2.select_slider("Adversary learning rate (discriminator and encoder as generator)", rates,
                              value=1e-3, key="live_adv_lr", disabled=family != "aae")
    noise = c3.slider("Noise on the discriminator's inputs (std)", 0.0, 1.0, 0.0, 0.1, key="live_noise",
                      disabled=family != "aae")
    labels = c3.toggle("Tell the discriminator each digit (label-conditioned, Figure 4)", key="live_labels",
                       disabled=family != "aae" or prior == "gaussian",
                       help="Needs a prior with one part per digit: the mixture or the swiss roll")

try:
    settings = LiveSettings(family=family, prior=prior, ae_lr=ae_lr, adv_lr=adv_lr, disc_noise=noise,
                            labels=labels and family == "aae" and prior != "gaussian")
except ValueError as exc:
    st.error(str(exc))
    st.stop()


def trainer_failed(exc: Exception) -> None:
    """A run the worker no longer keeps, or a worker that died: say so, stop, and start afresh next time."""
    state.update(live_running=False, live_future=None)
    if isinstance(exc, BrokenExecutor):
        resources.live_pool.clear()
        st.warning("The training process stopped; press **New run** to start again.")
    else:
        st.warning(str(exc).strip("'\""))


def collect(wait: bool) -> None:
    """Take the pending slice's snapshot if it is back (or, with ``wait``, once it is)."""
    future = state.get("live_future")
    if future is not None and (wait or future.done()):
        state["live_future"] = None
        try:
            state["live_snap"] = future.result(timeout=120)
        except (KeyError, BrokenExecutor) as exc:
            trainer_failed(exc)


def new_run() -> None:
    collect(wait=True)
    try:
        state["live_snap"] = resources.live_pool().new(run_id, settings).result(timeout=180)
        state["live_running"] = True
    except BrokenExecutor as exc:
        trainer_failed(exc)


def one_step() -> None:
    collect(wait=True)
    state["live_future"] = resources.live_pool().train(run_id, SLICE_S)
    collect(wait=True)


def clear() -> None:
    collect(wait=True)
    resources.live_pool().drop(run_id)
    state.update(live_snap=None, live_running=False, live_explore=None)


def explore() -> None:
    """Keep the run as it is now (its decoder and codes) to explore it under the mouse."""
    collect(wait=True)
    state["live_running"] = False
    try:
        onnx, now = resources.live_pool().decoder(run_id).result(timeout=120)
    except (KeyError, BrokenExecutor) as exc:
        trainer_failed(exc)
        return
    state.update(live_snap=now, live_explore=(now.steps, onnx, now.codes))


b1, b2, b3, b4 = st.columns(4)
b1.button("New run" if snap else "Start", icon=":material/play_arrow:", on_click=new_run, type="primary")
running = bool(state.get("live_running")) and snap is not None and not snap.done
if snap is not None and not snap.done:
    if running:
        b2.button("Pause", icon=":material/pause:", on_click=lambda: state.update(live_running=False))
    else:
        b2.button("Resume", icon=":material/play_arrow:", on_click=lambda: state.update(live_running=True))
    b3.button("One step (a slice of training)", icon=":material/skip_next:", disabled=running, on_click=one_step)
if snap is not None:
    b4.button("Clear", icon=":material/delete:", on_click=clear)
if snap is None:
    st.info("Choose the settings above and press **Start**.", icon=":material/info:")
    st.stop()


# One redraw per new slice at most: the worker's turns go round every active run, so with n of them each
# run's next slice comes about every n × SLICE_S seconds — redrawing more often shows nothing new and costs
# the server and every browser (measured: 20 trainers redrawing every 2 s stalled another session's page).
tick = max(TICK_S, SLICE_S * resources.live_pool().active()) if running else None


@safe_fragment(run_every=tick)
def board() -> None:
    collect(wait=False)
    if state.get("live_snap") is None:
        return
    if state.get("live_running") and not state["live_snap"].done and state.get("live_future") is None:
        state["live_future"] = resources.live_pool().train(run_id, SLICE_S)  # one request at a time: turns go round
    snap = state["live_snap"]
    _, view = resources.prior_view(snap.settings.prior)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("epoch", f"{snap.steps / snap.steps_per_epoch:.1f} of {MAX_EPOCHS}")
    m2.metric("training time", f"{snap.train_s:.0f} s")
    m3.metric("codes' distance to the prior ↓", f"{snap.prior_distance:.3f}",
              help="sliced Wasserstein distance between the shown codes and as many prior samples")
    last = snap.history[-1] if snap.history else {}
    m4.metric("discriminator loss", f"{last['d']:.3f}" if "d" in last else "—")
    left, right = st.columns([3, 2])
    # Both pictures are SVG drawn by the server: redrawn every tick in every training session's browser,
    # a chart library's re-render cost each browser several times more (issue 13's measurements)
    left.image(map_svg(snap.codes, snap.shown_y, view, size=520, outlines=resources.prior_outlines(snap.settings.prior)),
               caption=f"{len(snap.codes):,} held-out digits' codes now, over the prior's outlines "
                       "(solid: half its mass, dashed: 90 %, dotted: 99 %)")
    losses = {name: [(0.01 if key == "recon" else 1.0) * h[key] for h in snap.history]
              for key, name in (("d", "discriminator"), ("g", "encoder as generator"), ("kl", "KL"),
                                ("recon", "reconstruction / 100")) if snap.history and key in snap.history[0]}
    right.image(curves_svg([h["epoch"] for h in snap.history], losses, width=440, height=420,
                           reference=(1.386, "2·ln 2: the discriminator is guessing")
                           if snap.settings.family == "aae" else None),
                caption="the losses so far, by epoch")
    if snap.done:
        st.success(f"Done: {MAX_EPOCHS} epochs in {snap.train_s:.0f} s of training.")
        if state.get("live_running"):
            state["live_running"] = False
            st.rerun(scope="app")  # stop the timer


board()

snap = state.get("live_snap")
if snap is not None:
    st.subheader("Explore this run")
    kept = state.get("live_explore")
    if kept is None or kept[0] != snap.steps:
        st.button("Keep the run as it is now and explore it under the mouse", icon=":material/mouse:", on_click=explore,
                  help="Pauses the run; its decoder goes to your browser, which decodes wherever you point")
    if kept is not None:
        steps, onnx, codes = kept  # as the run was when kept (it may have trained on since)
        _, extent = resources.prior_view(snap.settings.prior)
        shown = resources.test_images().raw[N_TRAIN:N_TRAIN + N_SHOWN]
        st.caption(f"The run as kept after {steps / snap.steps_per_epoch:.1f} epochs: move the pointer over the map — "
                   "your browser decodes each point with this run's decoder (as the **Decode under the mouse** page "
                   "does for the shipped models). Train on, then keep it again to see what changed.")
        view = browser_map.map_view(codes, "plane", extent=extent)
        latent_canvas(browser_map.payload(view, codes, snap.shown_y, shown, key=f"live/{run_id}/{steps}", onnx=onnx,
                                          first_index=N_TRAIN),
                      key="live-mouse")
