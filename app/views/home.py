"""Home: what an autoencoder, a VAE and an AAE are, and the shipped models with their metrics."""
import streamlit as st

from app import resources
from app.helpers import model_label

st.title("aae-explorer")
st.markdown(
    "An **autoencoder** squeezes each 784-pixel MNIST digit into a tiny code *z* and rebuilds the digit "
    "from it. The models here use a **2-D code**, so every digit becomes a point you can see. How those "
    "points spread out — the *latent space* — depends on how the model is trained.")

c1, c2, c3 = st.columns(3)
with c1:
    st.subheader("Autoencoder")
    st.markdown("Encoder *E*, decoder *D*, trained only to reconstruct:")
    st.latex(r"\min_{E,D}\; \mathbb{E}_x\big[-\log p\big(x \mid D(E(x))\big)\big]")
    st.markdown("Nothing says *where* codes go: gaps and odd shapes appear.")
with c2:
    st.subheader("VAE")
    st.markdown("The encoder outputs a Gaussian q(z|x); a KL term pulls each one toward the prior p(z):")
    st.latex(r"\mathcal{L} = \mathbb{E}_{q(z|x)}[-\log p(x|z)] + \mathrm{KL}\big(q(z|x)\,\|\,p(z)\big)")
    st.markdown("The KL needs the prior's density; it acts on every code separately.")
with c3:
    st.subheader("Adversarial AE")
    st.markdown("A discriminator *d* tells prior samples from codes; the encoder learns to fool it:")
    st.latex(r"\min_E \max_d\; \mathbb{E}_{z\sim p}[\log d(z)] + \mathbb{E}_{x}[\log(1-d(E(x)))]")
    st.markdown("It matches the *aggregated* posterior q(z) to p(z); any prior you can sample works.")

st.subheader("The shipped models")
st.markdown("Trained on the 60,000 MNIST training images; every number below is measured on the "
            "10,000 test images (the command that trained each model is in its card).")
cards = resources.cards()
rows = []
for name, card in cards.items():
    m = card.get("metrics", {})
    rows.append({
        "model": model_label(name, card),
        "recon. NLL (nats) ↓": round(m.get("recon_bce", float("nan")), 1),
        "5-NN accuracy ↑": round(m.get("knn5_accuracy", float("nan")), 4),
        "prior distance (SWD) ↓": round(m.get("prior_swd", float("nan")), 3),
        "epochs": card.get("epochs"),
        "train time": f"{card.get('wall_s', 0) / 60:.0f} min on {card.get('hardware', '?')}",
    })
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
else:
    st.warning("No shipped models were found in pretrained/.")
st.caption("recon. NLL: Bernoulli negative log-likelihood of a test image given its own code. "
           "5-NN accuracy: how well a test code's neighbours among training codes share its digit. "
           "Prior distance: sliced Wasserstein distance between the test codes and prior samples.")
st.page_link("views/latent_map.py", label="Explore a latent map →", icon=":material/scatter_plot:")
st.page_link("views/compare.py", label="Compare a VAE and an AAE on the same prior →", icon=":material/compare:")
st.page_link("views/interpolation.py", label="Walk between two digits →", icon=":material/animation:")
