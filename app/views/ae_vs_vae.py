"""AE vs VAE: the same 2-D network trained with and without the KL term (the autoencoder tutorial's figure)."""
import numpy as np
import streamlit as st

from aae_core import latent
from aae_core.metric_table import caption, label, show
from app import resources
from app.helpers import latent_figure, outside_share, same_network_pairs
from app.widgets import picture, seed_from_url

SHOWN = ("recon_bce", "knn5_accuracy", "prior_swd")  # aae_core.metric_table
R99 = float(np.sqrt(-2 * np.log(0.01)))  # radius of the circle holding 99 % of a 2-D N(0, I): 3.03

st.title("AE vs VAE: what the KL term does to the code")
st.markdown(
    "Two models with **the same encoder and decoder** (784-256-256-2 and back), trained on the same digits for as "
    "long. The plain **autoencoder** is asked only to reconstruct, so its codes go wherever suits the decoder: "
    "any scale, long arms, gaps between digits. The **VAE** adds a KL term that pulls each image's q(z|x) toward "
    "N(0, I): the codes gather into one round cloud, and every point of it decodes to a digit. Compare the axes' "
    "ranges, the gaps, and what decoding samples of N(0, I) gives.")

pairs = same_network_pairs(resources.cards(), "ae", "vae")
if not pairs:
    st.warning("This page needs a 2-D plain autoencoder and a 2-D VAE with the same network in pretrained/ "
               "(`python -m aae_core.shipped train ae-2d vae-2d`).")
    st.stop()
labels_of = {f"{a} and {b}": (a, b) for a, b in pairs}
seed_from_url("pair", list(labels_of), "ae_vae_pair")
choice = st.selectbox("Models", list(labels_of), key="ae_vae_pair") if len(pairs) > 1 else next(iter(labels_of))
names = dict(zip(("ae", "vae"), labels_of.get(choice, pairs[0])))
grid_n = st.slider("Manifold grid (images per side)", 5, 20, 12, key="ae_vae_grid")

for col, kind in zip(st.columns(2), ("ae", "vae")):
    name = names[kind]
    codes, labels = resources.codes(name)
    lo, hi = resources.extent(name)
    model = resources.model(name)
    metrics = resources.cards()[name].metrics
    with col:
        st.subheader("Plain autoencoder" if kind == "ae" else "VAE (KL to N(0, I))")
        fig = latent_figure(codes, labels, (lo, hi), density=resources.density(name), height=480, legend_below=True)
        st.plotly_chart(fig, key=f"ae-vae-{kind}", config={"displaylogo": False})
        st.caption(f"Axes from {lo:.2f} to {hi:.2f}"
                   + (" — the codes' own range: nothing fixes their scale." if kind == "ae" else
                      " — the prior's range; the outlines hold 50 / 90 / 99 % of N(0, I).")
                   + f" {outside_share(codes, lo, hi):.1%} of the test codes lie outside the view.")
        st.image(resources.manifold_png(name, grid_n), caption=f"decoded on a {grid_n}×{grid_n} grid over the same view",
                 width="stretch")
        samples = resources.samples(name, 10)
        inside = float((np.linalg.norm(codes, axis=1) < R99).mean())  # codes where N(0, I) puts 99 % of its mass
        picture(latent.tile(samples, 1, 10, pad=2), 600, f"decoded samples z ~ N(0, I) (seed 0); {inside:.0%} of the "
                "test codes lie within the circle that holds 99 % of N(0, I)" + (
                    ": the AE was never asked to put its codes there, so its samples come from whatever part of its "
                    "map that circle covers" if kind == "ae" else ""), f"samples-{name}.png")
        for box, key in zip(st.columns(len(SHOWN)), SHOWN):
            box.metric(label(key), show(key, metrics))
st.caption(caption(SHOWN) + f" The prior here is N(0, I) for both (for the AE, a reference it never saw). Models: "
           f"{names['ae']} and {names['vae']}; their cards hold the commands and recipes.")
