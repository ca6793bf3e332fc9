"""The latent map of a model whose codes cannot be drawn and decoded as a plane: codes of more than
two dimensions (shown through a stored 2-D projection: UMAP or PCA) and 2-D codes whose decoder also
needs a label. Select test digits to see them and their reconstructions."""
from __future__ import annotations

import numpy as np
import streamlit as st

from aae_core import latent, map_select
from aae_core.browser_map import AXES, spread
from app import resources
from app.components.latent_canvas import latent_canvas
from app.widgets import selected_digits

ABOUT = {
    "umap": "UMAP keeps each code's **neighbours** (who is close to whom), not the distances between far groups: "
            "clusters that look apart are apart in the code space, but the gaps between them mean little.",
    "pca": "PCA is the **flat shadow** of the codes on the two directions along which they vary most: distances "
           "are honest, but groups that differ along the other directions fall on top of each other.",
}


def projected_map(name: str, codes: np.ndarray, labels: np.ndarray, images) -> None:
    """Draw the map (projection chosen in the page), a selection's images and reconstructions."""
    d = codes.shape[1]
    if d == 2:
        method, xy = "code", codes
        st.info("This model's decoder reads a label (or a cluster) beside z, so a point of the plane alone is not "
                "an image: the map shows where the test codes lie; select digits to see them and their "
                "reconstructions. The Style explorer and the Label-conditioned manifolds pages decode this plane.",
                icon=":material/info:")
    else:
        stored = resources.projection(name)
        if stored is None:
            st.warning(f"This model's codes have {d} dimensions and its weights folder holds no 2-D map of them "
                       "(`python -m aae_core.projections " + name + "` computes one).")
            return
        method = st.radio("Projection", ["umap", "pca"], horizontal=True, key="projection",
                          format_func=lambda m: {"umap": "UMAP", "pca": "PCA"}[m])
        xy = stored[method]
        style = (" This model keeps the digit (or cluster) in a separate output y, so z is meant to hold the "
                 "**style**: digits that mix here are the lesson, not a failure." if resources.decoder_reads_label(name) else "")
        st.caption(f"Each dot is a test digit's {d}-D code z, drawn at its 2-D {method.upper()} position "
                   "(computed once, when the weights were built). " + ABOUT[method] + style)
    lo, hi = spread(xy)
    key = f"projected-{name}-{method}"
    latent_canvas(resources.select_map(name, method, lo, hi), key=key)
    extra = {method: xy} if method != "code" else None
    st.download_button("Download the codes" + (f" and their {method.upper()} positions" if extra else "") + " (CSV)",
                       lambda: latent.codes_csv(codes, labels, extra), on_click="ignore", mime="text/csv",
                       file_name=f"codes-{name}{'-' + method if extra else ''}.csv", icon=":material/download:")
    sel = map_select.read_event(st.session_state.get(key), xy)
    st.subheader("Selection")
    if not sel.test_indices:
        st.caption("Nothing selected yet: click a dot, or draw a box or a lasso around some (the buttons above the map).")
        return
    selected_digits(name, sel.test_indices, labels, images)


def place_on_map(name: str, codes: np.ndarray, z: np.ndarray):
    """Where a new code z (d) goes on the model's map: (positions of the test codes N×2, its position 2,
    the view (lo, hi), axis titles, a note saying how it was placed), or None for a model above 2-D
    without stored maps. 2-D codes are drawn as they are (over the prior's range where the plane
    decodes); above 2-D, on the UMAP map, placed among its nearest test codes (``projections.place``:
    a stand-in for UMAP's own transform, which would need a pickle)."""
    from aae_core import projections
    if codes.shape[1] == 2:
        view = spread(codes) if resources.decoder_reads_label(name) else resources.extent(name)
        return codes, np.asarray(z, dtype=np.float32), view, AXES["code"], ""
    stored = resources.projection(name)
    if stored is None:
        return None
    point = projections.place(z[None], codes, stored["umap"])[0]
    return stored["umap"], point, spread(stored["umap"]), AXES["umap"], (
        f"UMAP of the {codes.shape[1]}-D codes; your digit is placed among its 15 nearest test codes "
        "(weighted by closeness).")
