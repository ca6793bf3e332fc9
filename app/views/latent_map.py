"""Latent map: the 10k test codes over the prior's density; select points or empty space to decode."""
import numpy as np
import streamlit as st

from aae_core import latent, map_select
from aae_core.data import CLASS_NAMES, DATASET_NAMES
from aae_core.registry import list_models
from app import resources
from app.components.latent_canvas import latent_canvas
from app.helpers import fair_sample, models_for, outside_share
from app.projected_map import projected_map
from app.widgets import dataset_choice, model_picker, number_from_url, picture, safe_fragment, selected_digits

st.title("Latent map")
st.markdown(
    "Each dot is one of the 10,000 **test** images (MNIST's digits, or Fashion-MNIST's clothes), placed at its "
    "2-D code z = E(x) and coloured by "
    "its label; the black outlines are the prior p(z) (solid: half its mass, dashed: 90 %, dotted: 99 %). **Click** a dot to see the digit and its reconstruction, "
    "or click **empty space** (or draw a **box** or a **lasso**: the buttons above the map) to decode any spot — "
    "the decoder works everywhere, not only where the data lands. Scroll over the map to zoom in or out. Models with codes of more than two dimensions are drawn through a 2-D "
    "projection (UMAP or PCA), named on the axes.")

FAMILIES = tuple(list_models())
dataset = dataset_choice("map_data", [d for d in DATASET_NAMES if models_for(resources.cards(d), None, FAMILIES)])
name = model_picker(latent_dim=None, families=FAMILIES, preferred="aae-gaussian-2d", dataset=dataset)
if name is None:
    st.stop()
codes, labels = resources.codes(name)
images, missing = resources.test_images_if_any(dataset)
if missing:  # the map and the decoder need only the codes and the weights, which ship
    st.info(missing + " Until then the map, the manifold grid and decoding any spot work; a selected test "
            "image's own picture cannot be shown.", icon=":material/info:")
if codes.shape[1] != 2 or resources.decoder_reads_label(name):
    projected_map(name, codes, labels, images)  # no decodable plane: a map of the codes, to select from
    st.stop()
with st.sidebar:
    widen = st.toggle("Widen the view to (almost) every test code", value=False, key="widen",
                      help="By default the map and the grid span the prior's range, where the codes should lie.")
lo, hi = resources.extent(name, widen)
if not resources.model(name).prior_matched:
    st.info("This model has **no prior**: nothing in its training says where the codes go, so the view spans the "
            "codes' own range and no outlines are drawn. Compare its gaps and scale with a VAE's or an AAE's "
            "(the *AE vs VAE* page puts two side by side).", icon=":material/info:")

with st.sidebar:
    st.subheader("Manifold grid")
    grid_n = st.slider("Grid size (images per side)", 5, 30, 15, key="grid_n")
    placement = st.radio("Place the grid", ["beside the map", "under the map", "hidden"], key="grid_place")
    show_density = st.toggle("Show the prior's outlines", value=True, key="show_density")


@safe_fragment
def map_and_selection() -> None:
    """The map, the manifold grid, the selection and the coordinates: a click on the map reruns this part
    alone (the page above it — the pickers, the sidebar — stays as it is)."""
    outside = outside_share(codes, lo, hi)
    # The selection is known before the map draws (the component's last value, kept in the session): the
    # "decode by coordinates" inputs follow a click.
    map_key = f"map-{name}"
    value = st.session_state.get(map_key)
    sel = map_select.read_event(value, codes, (lo, hi, lo, hi))
    if sel.kind == "click":
        clicked = sel.spots[0] if sel.spots else tuple(float(v) for v in codes[sel.test_indices[0]])
        if st.session_state.get("map-click") != (name, value.get("seq")):  # a new click: the inputs follow it
            st.session_state["map-click"] = (name, value.get("seq"))
            st.session_state["z1"] = float(np.clip(round(clicked[0], 2), lo, hi))
            st.session_state["z2"] = float(np.clip(round(clicked[1], 2), lo, hi))
    if placement == "beside the map":
        map_col, grid_col = st.columns([3, 2])
    else:
        map_col, grid_col = st.container(), st.container()
    with map_col:
        latent_canvas(resources.select_map(name, "plane", lo, hi, show_density, widen, CLASS_NAMES.get(dataset)),
                      key=map_key)
    if placement != "hidden":
        with grid_col:
            st.image(resources.manifold_png(name, grid_n, widen), width="stretch",
                     caption=f"The decoder's output on a {grid_n}×{grid_n} grid over z ∈ [{lo:.1f}, {hi:.1f}]² "
                             f"({'widened to the test codes' if widen else 'the prior’s range'}; same axes as the map: "
                             "up is +z₂).", output_format="PNG")
    d1, d2 = st.columns(2)  # made when clicked, not on every run
    d1.download_button("Download the codes (CSV)", lambda: latent.codes_csv(codes, labels), on_click="ignore",
                       file_name=f"codes-{name}.csv", mime="text/csv", icon=":material/download:")
    d2.download_button("Download the manifold grid (PNG)", lambda: resources.manifold_png(name, grid_n, widen),
                       on_click="ignore", file_name=f"manifold-{name}-{grid_n}x{grid_n}.png", mime="image/png",
                       icon=":material/download:")
    n_out = int(round(outside * len(codes)))
    st.caption(f"{n_out:,} of the {len(codes):,} test codes ({outside:.2%}) lie outside this view"
               + ("." if widen or n_out == 0 else " — widen the view in the sidebar to see them."))

    st.subheader("Selection")
    if sel.test_indices:
        selected_digits(name, sel.test_indices, labels, images)
    if sel.spots:
        z = np.array([sel.spots[i] for i in fair_sample(range(len(sel.spots)), 16)], dtype=np.float32)
        picture(latent.tile(resources.decode(name, z), 1, len(z), pad=2), min(900, 90 * len(z)),
                f"decoded spots ({len(z)} of {len(sel.spots)} selected): " + ", ".join(f"({a:.2f}, {b:.2f})" for a, b in z),
                f"decoded-spots-{name}.png")
    if not sel.test_indices and not sel.spots:
        st.caption("Nothing selected yet: click a dot or empty space on the map, or decode a spot by its coordinates.")

    st.markdown("**Decode a spot by its coordinates**")
    c1, c2, c3 = st.columns([1, 1, 2])
    number_from_url("z1", "z1", float(lo), float(hi), 0.0)
    number_from_url("z2", "z2", float(lo), float(hi), 0.0)
    for key in ("z1", "z2"):  # after a switch to a model with a narrower map: the nearest point inside it
        st.session_state[key] = float(np.clip(st.session_state[key], lo, hi))
    z1 = c1.number_input("z₁", min_value=float(lo), max_value=float(hi), step=0.1, key="z1")
    z2 = c2.number_input("z₂", min_value=float(lo), max_value=float(hi), step=0.1, key="z2")
    st.query_params["z1"], st.query_params["z2"] = f"{z1:.2f}", f"{z2:.2f}"
    spot = np.array([[z1, z2]], dtype=np.float32)
    near = latent.nearest(codes, spot[0])
    with c3:
        picture(latent.to_uint8(resources.decode(name, spot)[0]).reshape(28, 28), 140,
                f"D(z) at ({z1:.2f}, {z2:.2f}); nearest test code: #{near} (label {labels[near]})", "decoded.png", save=False)


map_and_selection()
