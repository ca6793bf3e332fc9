"""Clusters: the unsupervised clustering AAE sorts the digits into K clusters with no label at all."""
import numpy as np
import streamlit as st

from aae_core import latent, paper
from app import resources
from app.components.latent_canvas import latent_canvas
from app.helpers import clamp_int
from app.widgets import model_numbers, model_picker, picture, safe_fragment

st.title("Clusters without labels")
st.markdown(
    "The encoder outputs a softmax y over K clusters and a style z; one discriminator makes y look like "
    "a one-hot draw from Cat(K), another makes z look Gaussian; the decoder rebuilds the image from both. "
    "No label is ever seen: to reconstruct well with a nearly one-hot y, the model has to spend its K "
    "clusters on what differs most between images — mostly the digit, sometimes its style (the paper's "
    "Figure 9). A cluster is named after its most confident validation image (the paper's rule).")

name = model_picker("Model", latent_dim=None, families=("cluster-aae",))
if name is None:
    st.stop()
model = resources.model(name)
std = getattr(model.prior, "std", 1.0)  # the style prior N(0, σ²I) this model was trained with
st.latex(r"q(y,z\mid x):\ y\to\mathrm{Cat}(%d),\ z\to\mathcal N(0,%sI_{%d});\quad \hat x = D(y\oplus z)"
         % (model.n_classes, "" if std == 1 else f"{std:g}^2", model.latent_dim))
model_numbers(name)
k_total = model.n_classes
extra = resources.categorical(name)
probs, (codes, labels) = extra["probs"], resources.codes(name)
paper_names = extra.get("cluster_map_paper")
majority_names = extra.get("cluster_map_majority")
sizes, purity = resources.cluster_sizes(name)
result = paper.for_model(name)
if result is not None:
    shown, _ = paper.ours(result, resources.cards()[name].metrics)
    st.markdown(f"**Clustering error, paper rule: {shown}** — the paper reports {result.paper} for this K.")

st.subheader(f"The {k_total} cluster heads")
heads = resources.decode_labelled(name, np.zeros((k_total, model.latent_dim), np.float32), np.arange(k_total))
st.caption("Each cluster decoded with the neutral style z = 0; under it, its number, the digit the paper's rule "
           "names it after, and how many test images it holds. An **empty** cluster holds none.")
PER_ROW = 8
for start in range(0, k_total, PER_ROW):
    for c, col in zip(range(start, min(start + PER_ROW, k_total)), st.columns(PER_ROW)):
        named = f" → {paper_names[c]}" if paper_names is not None else ""
        label = f"{c}{named} · {'empty' if sizes[c] == 0 else f'{sizes[c]:,}'}"
        picture(latent.to_uint8(heads[c]).reshape(28, 28), 112, label, f"cluster-{name}-{c}.png", where=col,
                stretch=True, save=False)
empty = int((sizes == 0).sum())
if empty:
    st.warning(f"{empty} of the {k_total} clusters are empty: no test image is assigned to them "
               "(codes of y the model has learnt not to use).")


@safe_fragment
def cluster_detail() -> None:
    """The chosen cluster's numbers and images: picking another reruns only this part."""
    url_cluster, note = clamp_int(st.query_params.get("cluster", 0), 0, k_total - 1, 0)
    if note and "cluster" in st.query_params:
        st.info(f"URL parameter cluster: {note}")
    pick = f"cluster-pick-{name}"  # one per model: K differs between models
    if pick not in st.session_state:
        st.session_state[pick] = url_cluster
    k = st.selectbox("Cluster", list(range(k_total)), key=pick,
                     format_func=lambda c: f"cluster {c}" + (f" — named {paper_names[c]}" if paper_names is not None else "")
                     + f" ({sizes[c]:,} test images)")
    st.query_params["cluster"] = str(k)

    c1, c2, c3, c4 = st.columns(4)
    c1.metric("test images in it", f"{sizes[k]:,}")
    c2.metric("purity", f"{100 * purity[k]:.1f} %", help="share of its most common true digit")
    c3.metric("label, paper rule", "—" if paper_names is None else str(paper_names[k]))
    c4.metric("label, majority", "—" if majority_names is None else str(majority_names[k]))

    members = np.flatnonzero(probs.argmax(1) == k)
    stored = resources.projection(name)
    if stored is not None and len(members):
        st.markdown(f"**Where its members' styles lie** — the {model.latent_dim}-D style codes z of all test digits "
                    "(grey) on their UMAP map, this cluster's members in their true digits' colours")
        latent_canvas(resources.members_map(name, k), key=f"cluster-map-{name}")
        st.caption("z is what the decoder needs besides the cluster: its style. Members spread over the whole map "
                   "mean the cluster holds many styles of one kind of digit; members gathered in one region mean "
                   "the cluster took a style (a slant, a thickness) as its own, and the style code was left with "
                   "the rest. The UMAP map was computed once, when the weights were built.")
    images = resources.test_images()
    left, right = st.columns(2)
    with left:
        st.markdown("**Test members** (most confident first)")
        if len(members):
            top = members[np.argsort(-probs[members, k])][:40]
            grid = np.concatenate([images[top], np.zeros(((-len(top)) % 8, 784), np.float32)])
            picture(latent.tile(grid, len(grid) // 8, 8, pad=2), 600, "true digits: " + " ".join(str(labels[i]) for i in top),
                    f"cluster-{name}-{k}-members.png")
        else:
            st.caption("No test image falls in this cluster.")
    with right:
        st.markdown("**Generated from it** (cluster k, random styles z ~ N(0, I))")
        z = resources.prior_codes(name, 32, seed=k)
        picture(latent.tile(resources.decode_labelled(name, z, k), 4, 8, pad=2), 600, f"cluster {k}, 32 random styles",
                f"cluster-{name}-{k}-generated.png")


cluster_detail()
