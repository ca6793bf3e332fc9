"""Decode under the mouse: the decoder runs in the browser, so every pointer move is decoded at once."""
import streamlit as st

from aae_core.registry import list_models
from app import resources
from app.components.latent_canvas import latent_canvas
from app.widgets import model_numbers, model_picker, seed_from_url

st.title("Decode under the mouse")
st.markdown(
    "Move the pointer over the map: **your browser** runs the model's decoder (exported to ONNX, run by "
    "onnxruntime-web) on the code under the pointer, at every frame your screen draws, with no trip to the "
    "server. Empty space decodes too — that is where you see what the model does *between* the digits "
    "it was trained on: smooth morphs where the code is dense, nonsense in the gaps a plain autoencoder "
    "leaves. The nearest test digit is ringed and shown below the decoded one; on a 2-D code the black "
    "outlines hold 50, 90 and 99 % of the prior's mass — step outside them and see what the decoder never learned.")

name = model_picker("Model", latent_dim=None, families=tuple(list_models()), preferred="aae-gaussian-2d")
if name is None:
    st.stop()
model_numbers(name)
codes, _ = resources.codes(name)
net = resources.model(name)
if codes.shape[1] == 2:
    view = "plane"
elif resources.projection(name) is None:
    st.warning(f"{name} has a {codes.shape[1]}-D code and no stored 2-D map of it, so there is nothing to "
               "point at: `python -m aae_core.projections` makes one.")
    st.stop()
else:
    seed_from_url("view", ["pca", "umap"], "mouse-view")
    view = st.radio(
        f"Map of the {codes.shape[1]}-D code", ("pca", "umap"), horizontal=True, key="mouse-view",
        format_func={"pca": "PCA — decodes anywhere, through the PCA's inverse",
                     "umap": "UMAP — decodes the nearest test digit's code (a UMAP has no inverse)"}.get)
y_source = "none"
if net.label_input:
    has_probs = "probs" in resources.categorical(name)
    what = "cluster" if net.model_name == "cluster-aae" else "digit"
    y_source = st.radio(  # a model with q(y|x) starts from it: its map is of the style, the class comes with it
        f"The {what} the decoder reads beside the code", ("nearest", "pick") if has_probs else ("pick", "nearest"),
        horizontal=True, key="mouse-y",
        format_func={"pick": f"one I choose (the {what} buttons)",
                     "nearest": "the nearest test digit's " + ("q(y|x)" if has_probs else "label")}.get)
if view != "plane":
    st.query_params["view"] = view
payload = resources.browser_map(name, view, y_source)
latent_canvas(payload, key=f"mouse-{name}-{view}-{y_source}")
st.caption(f"{len(codes):,} test digits, coloured by their label. The image under the map's pointer is "
           "computed in your browser; its pixels match the server's decoder to 1/255 (tested).")
