"""Label-conditioned manifolds: with labels shown to the discriminator, each digit is pushed onto
its own component of the prior — the 10-Gaussian mixture's arm or the swiss roll's segment."""
import numpy as np
import streamlit as st

from aae_core import latent
from app import resources
from app.helpers import add_path, latent_figure
from app.widgets import model_numbers, model_picker, picture, seed_from_url

st.title("Label-conditioned manifolds")
st.markdown(
    "The discriminator also sees a one-hot label: a prior sample comes with the component it was drawn "
    "from, an encoded image with its digit, and an unlabelled image (with the prior sample it is matched "
    "against) with an extra *unlabelled* slot. To fool it the encoder must put **digit k on component k** — "
    "and it learns that from 10,000 labelled images while 40,000 others carry no label (the paper's "
    "Figure 4). Within a component, position is style.")
st.latex(r"D\big(z \oplus \mathrm{onehot}(k)\big):\quad z\sim p(z\mid k)\ \text{real},\quad z=E(x),\ k=y(x)\ \text{fake}")

name = model_picker("Model", families=("label-aae",))
if name is None:
    st.stop()
model = resources.model(name)
model_numbers(name)
codes, labels = resources.codes(name)
lo, hi = resources.extent(name)

seed_from_url("digit", [str(k) for k in range(10)], "manifold-digit")
digit = int(st.segmented_control("Digit (its component)", [str(k) for k in range(10)], key="manifold-digit") or 0)
st.query_params["digit"] = str(digit)
steps = st.slider("Steps along the component", 5, 20, 10, key="manifold-steps")

path, walk = latent.component_walk(model, digit, steps)
fig = latent_figure(codes, labels, (lo, hi), density=resources.density(name), height=600)
add_path(fig, path.numpy(), f"walk along component {digit}", color="black")
share = resources.own_component_share(name)
map_col, walk_col = st.columns([3, 2])
with map_col:
    st.plotly_chart(fig, key=f"manifold-{name}", config={"displaylogo": False})
    st.caption(f"{100 * share:.1f} % of the test digits lie nearest to their own digit's component "
               "(10 % would be chance).")
with walk_col:
    st.markdown(f"**Decoded walk along component {digit}**")
    per_row = 5
    frames = np.concatenate([walk.numpy(), np.zeros(((-steps) % per_row, 784), np.float32)])
    picture(latent.tile(frames, len(frames) // per_row, per_row, pad=2), 560,
            f"steps 1–{steps} of the walk (black on the map), row by row, {per_row} per row",
            f"walk-{name}-digit-{digit}.png", stretch=True)
    mine = np.flatnonzero(labels == digit)
    st.metric(f"test images of digit {digit}", f"{len(mine):,}",
              help="codes of this digit, drawn in its colour on the map")
