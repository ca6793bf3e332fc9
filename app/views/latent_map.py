"""Latent map: the 10k test codes over the prior's density; select points or empty space to decode."""
import numpy as np
import streamlit as st

from aae_core import latent
from app import resources
from app.helpers import latent_figure, outside_share, read_selection
from app.widgets import model_picker, number_from_url

st.title("Latent map")
st.markdown(
    "Each dot is one of the 10,000 MNIST **test** digits, placed at its 2-D code z = E(x) and coloured by "
    "its label; the grey shading is the prior p(z). **Click** a dot to see the digit and its reconstruction, "
    "or click **empty space** (or draw a box / lasso) to decode any spot — the decoder works everywhere, "
    "not only where the data lands.")

name = model_picker()
if name is None:
    st.stop()
codes, labels = resources.codes(name)
images = resources.test_images()
with st.sidebar:
    widen = st.toggle("Widen the view to (almost) every test code", value=False, key="widen",
                      help="By default the map and the grid span the prior's range, where the codes should lie.")
lo, hi = resources.extent(name, widen)

with st.sidebar:
    st.subheader("Manifold grid")
    grid_n = st.slider("Grid size (images per side)", 5, 30, 15, key="grid_n")
    placement = st.radio("Place the grid", ["beside the map", "under the map", "hidden"], key="grid_place")
    show_density = st.toggle("Show the prior's density", value=True, key="show_density")

fig = latent_figure(codes, labels, (lo, hi), density=resources.density(name, widen) if show_density else None,
                    grid_n=41, height=620)
outside = outside_share(codes, lo, hi)
if placement == "beside the map":
    map_col, grid_col = st.columns([3, 2])
else:
    map_col, grid_col = st.container(), st.container()
with map_col:
    event = st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"),
                            key=f"map-{name}", config={"scrollZoom": True, "displaylogo": False})
if placement != "hidden":
    with grid_col:
        st.image(resources.manifold_png(name, grid_n, widen), width="stretch",
                 caption=f"The decoder's output on a {grid_n}×{grid_n} grid over z ∈ [{lo:.1f}, {hi:.1f}]² "
                         f"({'widened to the test codes' if widen else 'the prior’s range'}; same axes as the map: "
                         "up is +z₂).", output_format="PNG")
st.caption(f"{outside:.1%} of the 10,000 test codes lie outside this view"
           + ("." if widen or outside == 0 else " — widen the view in the sidebar to see them."))

points = event.selection.points if event and event.selection else []
sel = read_selection(points, fig, len(codes))

st.subheader("Selection")
if sel.test_indices:
    idx = np.array(sel.test_indices)
    originals, recons = images[idx], resources.reconstruct(name, images[idx])
    st.markdown(f"{len(idx)} test digit(s): " + ", ".join(f"#{i} (label {labels[i]})" for i in idx))
    st.image(latent.png_bytes(latent.tile(np.concatenate([originals, recons]), 2, len(idx), pad=2),
                              size=min(900, 90 * len(idx))),
             caption="top: the test images · bottom: their reconstructions D(E(x))", output_format="PNG")
if sel.spots:
    z = np.array(sel.spots, dtype=np.float32)
    st.image(latent.png_bytes(latent.tile(resources.decode(name, z), 1, len(z), pad=2), size=min(900, 90 * len(z))),
             caption="decoded spots: " + ", ".join(f"({a:.2f}, {b:.2f})" for a, b in sel.spots), output_format="PNG")
if not sel.test_indices and not sel.spots:
    st.caption("Nothing selected yet: click a dot or empty space on the map, or decode a spot by its coordinates.")

st.markdown("**Decode a spot by its coordinates**")
c1, c2, c3 = st.columns([1, 1, 2])
number_from_url("z1", "z1", float(lo), float(hi), 0.0)
number_from_url("z2", "z2", float(lo), float(hi), 0.0)
z1 = c1.number_input("z₁", min_value=float(lo), max_value=float(hi), step=0.1, key="z1")
z2 = c2.number_input("z₂", min_value=float(lo), max_value=float(hi), step=0.1, key="z2")
st.query_params["z1"], st.query_params["z2"] = f"{z1:.2f}", f"{z2:.2f}"
spot = np.array([[z1, z2]], dtype=np.float32)
near = latent.nearest(codes, spot[0])
with c3:
    st.image(latent.png_bytes(latent.to_uint8(resources.decode(name, spot)[0]).reshape(28, 28), size=140),
             caption=f"D(z) at ({z1:.2f}, {z2:.2f}); nearest test code: #{near} (label {labels[near]})", output_format="PNG")
