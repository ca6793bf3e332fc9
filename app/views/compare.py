"""VAE vs AAE: two models trained on the same prior, side by side (the paper's Figure 2, live)."""
import streamlit as st

from aae_core import latent
from aae_core.data import CLASS_NAMES, DATASET_NAMES
from aae_core.metric_table import caption, label, show
from app import resources
from app.helpers import latent_figure, outside_share, prior_pairs, verdict
from app.widgets import dataset_choice, picture, seed_from_url

SHOWN = ("prior_swd", "prior_mmd", "knn5_accuracy", "recon_bce")  # aae_core.metric_table

st.title("VAE vs AAE on the same prior")
st.markdown(
    "Both models below were trained on the same data with the same prior p(z) and the same networks. "
    "The VAE pulls **each** posterior q(z|x) toward p(z) with a KL term; the AAE matches the **aggregated** "
    "posterior q(z) = 𝔼ₓ q(z|x) to p(z) with a discriminator. Look for holes: regions where the prior "
    "puts mass but no code lands decode to nonsense when you sample.")

# The same comparison on every data set a pair was trained on (Fashion-MNIST: clothes, where a code's
# classes overlap far more than the digits'); only the codes are needed, stored with the weights.
datasets = [d for d in DATASET_NAMES if prior_pairs(resources.cards(d))]
if not datasets:
    st.warning("This page needs a 2-D AAE and a 2-D VAE trained on the same prior in pretrained/.")
    st.stop()
dataset = dataset_choice("compare_data", datasets)
cards = resources.cards(dataset)
pairs = prior_pairs(cards)
priors = sorted(pairs)
if st.session_state.get("compare_prior") not in (None, *priors):  # chosen on the other data set
    del st.session_state["compare_prior"]
seed_from_url("prior", priors, "compare_prior")
prior_name = st.radio("Prior", priors, horizontal=True, key="compare_prior")
st.query_params["prior"] = prior_name
names = pairs[prior_name]

# One square range for both plots, framing the prior, so that the shapes can be compared directly.
lo, hi = resources.model(names["aae"]).prior.extent()
lo, hi = lo - 0.25 * (hi - lo), hi + 0.25 * (hi - lo)
show_density = st.toggle("Show the prior's outlines (50 / 90 / 99 % of its mass)", value=True, key="compare_density")
n_samples = st.slider("Samples from p(z), decoded", 4, 16, 8, key="compare_samples")

cols = st.columns(2)
for col, kind in zip(cols, ("vae", "aae")):
    name = names[kind]
    model = resources.model(name)
    codes, labels = resources.codes(name)
    metrics = cards[name].metrics
    with col:
        st.subheader(kind.upper())
        fig = latent_figure(codes, labels, (lo, hi), density=resources.density(name, extent_=(lo, hi)) if show_density
                            else None, height=560, legend_below=True,  # same width, same scale: legends below
                            class_names=CLASS_NAMES.get(dataset))
        st.plotly_chart(fig, key=f"compare-{kind}", config={"displaylogo": False})
        st.caption(f"{outside_share(codes, lo, hi):.1%} of the 10,000 test codes lie outside this view "
                   "(the latent map shows them all).")
        for box, key in zip(st.columns(len(SHOWN)), SHOWN):
            box.metric(label(key), show(key, metrics))
        samples = resources.samples(name, n_samples)
        picture(latent.tile(samples, 1, n_samples, pad=2), min(700, 70 * n_samples),
                f"decoded samples z ~ p(z) (seed 0) — {name}", f"samples-{name}.png")

st.caption(caption(SHOWN) + " Lower prior numbers mean the codes fill the prior more faithfully. "
           f"Models: {names['vae']} and {names['aae']}; their cards hold the training commands and recipes.")
st.markdown(verdict({k: cards[names[k]].metrics for k in ("vae", "aae")}))