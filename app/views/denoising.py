"""Denoising: corrupt digits, and compare what a denoising AE and a plain AE rebuild from them."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from aae_core import latent
from aae_core.corrupt import CORRUPTIONS
from app import resources
from app.helpers import same_network_pairs
from app.widgets import number_from_url, picture, seed_from_url

NAMES = {"mask": "zero-masking (pixels set to 0)", "salt-pepper": "salt and pepper (pixels set to 0 or 1)",
         "gaussian": "additive Gaussian noise (std = level)"}

st.title("Denoising")
st.markdown(
    "A **denoising autoencoder** is trained to rebuild the *clean* digit from a *corrupted* copy, so its code has "
    "to keep what survives the corruption — which digit it is, its rough shape — and let the noise go. A **plain "
    "autoencoder** of the same network never saw noise in training. Corrupt a few test digits below and compare "
    "what each rebuilds; the curve measures it over 500 test digits.")

pairs = same_network_pairs(resources.cards(), "ae", "dae")
if not pairs:
    st.warning("This page needs a plain and a denoising autoencoder with the same network in pretrained/ "
               "(`python -m aae_core.shipped train ae-2d dae-2d`).")
    st.stop()
ae_name, dae_name = pairs[0]
dae_config = resources.cards()[dae_name].config
seed_from_url("kind", list(CORRUPTIONS), "noise_kind")
kind = st.radio("Corruption", list(CORRUPTIONS), format_func=NAMES.get, horizontal=True, key="noise_kind")
number_from_url("level", "noise_level", 0.0, 0.9, 0.5)
level = st.slider("Level", 0.0, 0.9, step=0.05, key="noise_level",
                  help="mask and salt-and-pepper: the share of pixels hit; Gaussian: the noise's standard deviation")
number_from_url("seed", "noise_seed", 0, 999, 0, integer=True)
seed = st.number_input("Which digits (a seed)", 0, 999, key="noise_seed", step=1)
st.query_params.update(kind=kind, level=f"{level:.2f}", seed=str(seed))

images = resources.test_images()
rng = np.random.default_rng(seed)
idx = np.sort(rng.choice(len(images), 8, replace=False))
clean = images[idx]
noisy = resources.corrupted(clean, kind, level, int(seed))
rows = [clean, noisy, resources.reconstruct(ae_name, noisy), resources.reconstruct(dae_name, noisy),
        resources.reconstruct(ae_name, clean)]
picture(latent.tile(np.concatenate(rows), 5, 8, pad=2), 640, "Rows: the clean digits · corrupted · the plain AE's rebuild of the corrupted · the denoising AE's "
                 "rebuild of the corrupted · the plain AE's rebuild of the clean (its best)",
        f"denoising-{kind}-{level:.2f}-{seed}.png")

levels = tuple(np.round(np.linspace(0, 0.9, 10), 2))
MODELS = ((ae_name, "plain AE", "#7f7f7f"), (dae_name, "denoising AE", "#d62728"))
nll = {name: resources.recovery(name, kind, levels) for name, _, _ in MODELS}
kept = {name: resources.digit_kept(name, kind, levels) for name, _, _ in MODELS}
left, right = st.columns(2)
for col, curves, title, axis in ((left, kept, "Does the code still name the digit?", "share of digits kept ↑"),
                                 (right, nll, "How far the rebuild lands from the clean digit",
                                  "NLL of the clean digit (nats) ↓")):
    fig = go.Figure([go.Scatter(x=levels, y=curves[n], mode="lines+markers", name=label, line={"color": color})
                     for n, label, color in MODELS])
    fig.add_vline(x=level, line_dash="dot", line_color="grey")
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10}, title=title,
                      xaxis_title=f"level of {kind}", yaxis_title=axis, legend={"orientation": "h", "y": -0.25})
    col.plotly_chart(fig, key=f"curve-{axis}", config={"displaylogo": False})
at = int(np.argmin(np.abs(np.array(levels) - level)))
gap = nll[ae_name][at] - nll[dae_name][at]
st.markdown(f"At {kind} level {levels[at]:.1f}, the denoising AE's code still names **{kept[dae_name][at]:.0%}** of the "
            f"corrupted digits, the plain AE's **{kept[ae_name][at]:.0%}**; its rebuilds are **{abs(gap):.1f} nats "
            f"{'closer to' if gap > 0 else 'further from'}** the clean digits, on average over the 500 digits. Single "
            "digits can go either way (compare the rows above).")
st.caption("Over the first 500 test digits, the same corruptions for both models (seed 0). A digit's code 'names' it "
           "when most of its 5 nearest clean codes (of the other 9,500 test digits) share its label. Models: "
           f"{ae_name} and "
           f"{dae_name}, the same network with a 2-D code; the denoising AE was trained on {dae_config.get('corruption')} "
           f"at level {dae_config.get('corruption_level')}. With a 2-D code both rebuild a digit from anything: what "
           "the denoising AE learnt is to keep the *right* one.")
