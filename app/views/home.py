"""Home: what an autoencoder, a VAE and an AAE are, and the shipped models with their metrics."""
import streamlit as st

from aae_core.data import DATASET_NAMES
from aae_core.metric_table import caption, label, show
from app import page_table, resources
from app.helpers import comparison_summary, model_label
from app.widgets import table

COLUMNS = ("recon_bce", "knn5_accuracy", "prior_swd", "prior_mmd")  # aae_core.metric_table

st.title("aae-explorer")
st.markdown(
    "An **autoencoder** squeezes each 784-pixel MNIST digit into a tiny code *z* and rebuilds the digit "
    "from it. Most models here use a **2-D code**, so every digit becomes a point you can see. How those "
    "points spread out — the *latent space* — depends on how the model is trained. The label-aware AAEs "
    "go further: they split a digit's *identity* (a label or cluster) from its *style* (the code), "
    "classify with only 100 labels, and cluster with none.")

FAMILIES = [
    ("Autoencoder", "Encoder *E* and decoder *D* are trained only to reconstruct. Nothing says *where* the "
     "codes go: gaps and odd shapes appear.",
     r"\min_{E,D}\; \mathbb{E}_x\big[-\log p\big(x \mid D(E(x))\big)\big]"),
    ("VAE", "The encoder outputs a Gaussian q(z|x); a KL term pulls **each** one toward the prior p(z). "
     "The KL needs the prior's density.",
     r"\mathcal{L} = \mathbb{E}_{q(z|x)}[-\log p(x|z)] + \mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)"),
    ("Adversarial AE", "A discriminator *d* tells prior samples from codes, and the encoder learns to fool it: "
     "the **aggregated** posterior q(z) is matched to p(z). Any prior you can sample works.",
     r"\min_E \max_d\; \mathbb{E}_{z\sim p}[\log d(z)] + \mathbb{E}_{x}\big[\log\big(1-d(E(x))\big)\big]"),
]
for title, text, formula in FAMILIES:
    left, right = st.columns([2, 3], vertical_alignment="center")
    left.markdown(f"**{title}** — {text}")
    right.latex(formula)

st.subheader("The shipped models")
cards = resources.cards(None)  # every data set: the two Fashion-MNIST models are measured on its test set
st.markdown("Trained on the first 50,000 MNIST training images (Fashion-MNIST's for the two `fashion-…` models), the "
            "last 10,000 held out as a validation split that picks the epoch to ship (and, where several recipes were "
            "tried, the recipe); every number below is measured on the 10,000 test images of the model's data set "
            "(each model's card holds its command and recipe). "
            + comparison_summary(resources.cards()) + " The repository's docs/training-notes.md tells how the models "
            "were trained; *Paper vs ours* puts the paper's numbers beside ours.")
rows = []
for name, card in cards.items():
    m = card.metrics
    rows.append({
        "model": model_label(name, card), "data": DATASET_NAMES.get(card.dataset or "mnist", card.dataset),
        **{label(k): show(k, m) for k in COLUMNS},
        "test error (%) ↓": f"{100 * m['error']:.2f}" if "error" in m else (
            f"{100 * m['cluster_error_paper']:.2f}" if "cluster_error_paper" in m else "—"),
        "epochs": card.epochs,
        "train time": f"{(card.wall_s or 0) / 60:.0f} min on {card.hardware or '?'}",
    })
if rows:
    table(rows, "shipped-models.csv")
else:
    st.warning("No shipped models were found in pretrained/.")
st.caption(caption(COLUMNS) + " Test error (%): of the classifier q(y|x), or, for the clustering models, of their "
           "clusters named by the paper's rule.")
st.subheader("What each page teaches")
for heading, rows in page_table.sections().items():
    rows = [r for r in rows if r.url_path]  # not Home itself
    if rows:
        st.markdown(f"**{heading}**")
        for row in rows:
            st.page_link(row.file, label=f"{row.title}: {row.teaches} →", icon=row.icon)
