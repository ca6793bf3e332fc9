"""aae-explorer: see what an autoencoder's latent space is. Run: `make run`."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/streamlit_app.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.helpers import favicon, literal  # noqa: E402

st.set_page_config(page_title="aae-explorer", page_icon=favicon(), layout="wide")  # no icon server needed

PAGES = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/latent_map.py", title="Latent map", icon=":material/scatter_plot:", url_path="latent-map"),
    st.Page("views/compare.py", title="VAE vs AAE", icon=":material/compare:", url_path="vae-vs-aae"),
    st.Page("views/interpolation.py", title="Interpolation", icon=":material/animation:", url_path="interpolation"),
    st.Page("views/styles.py", title="Style explorer", icon=":material/brush:", url_path="styles"),
    st.Page("views/label_manifolds.py", title="Label-conditioned manifolds", icon=":material/donut_large:",
            url_path="label-manifolds"),
    st.Page("views/clusters.py", title="Clusters", icon=":material/workspaces:", url_path="clusters"),
    st.Page("views/dimred.py", title="Dimensionality reduction", icon=":material/grain:", url_path="dimred"),
    st.Page("views/neighbours.py", title="Nearest neighbours", icon=":material/hub:", url_path="neighbours"),
    st.Page("views/draw.py", title="Draw or upload a digit", icon=":material/draw:", url_path="draw"),
    st.Page("views/paper.py", title="Paper vs ours", icon=":material/table_chart:", url_path="paper"),
]
page = st.navigation(PAGES)
st.sidebar.caption("Adversarial autoencoders (Makhzani et al. 2015) and their relatives, trained on MNIST.")
from app import resources  # noqa: E402

if resources.refused():  # one notice, in the sidebar, for every page; the server's log has the detail
    st.sidebar.warning("Left out, their weights folders failed the checks: " + "; ".join(
        f"{literal(name)} ({literal(why, 200)})" for name, why in resources.refused().items()))
try:
    page.run()
except Exception as exc:  # a page never shows a traceback; Streamlit's rerun/stop are BaseExceptions
    st.error("Something went wrong on this page: " + literal(f"{type(exc).__name__}: {exc}", 300))
