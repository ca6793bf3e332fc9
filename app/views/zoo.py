"""Model zoo: every shipped family side by side on the same test digits (issue 12)."""
import numpy as np
import streamlit as st

from aae_core import latent, zoo
from app import resources
from app.helpers import model_label
from app.widgets import picture

st.title("Model zoo")
st.markdown(
    "One shipped model of every family, given **the same ten test digits**. Each row says what the family "
    "optimises, then shows what that does: its reconstructions of the ten digits, where all 10,000 test digits "
    "land in its code (the 2-D code itself, or a UMAP of a larger one), and 16 images decoded from samples of its "
    "prior. Reading down the rows, the families differ less in how well they reconstruct than in *where they put "
    "the codes*: compare the maps, and the prior distance in the table.")

cards = resources.cards()
names = zoo.representatives(cards)
if not names:
    st.warning("No shipped models were found in pretrained/.")
    st.stop()
images = resources.test_images()
inputs = images[zoo.first_of_each_digit(images.labels)]
picture(latent.tile(inputs, 1, 10, pad=2), 600, "The ten test digits every model is given", "zoo-inputs.png")

rows = []
for name in names:
    m, p = cards[name].get("metrics", {}), resources.zoo_panel(name)
    rows.append({"family": cards[name]["model"], "model": name,
                 "recon. NLL (nats) ↓": round(m.get("recon_bce", np.nan), 1),
                 "5-NN accuracy ↑": round(m.get("knn5_accuracy", np.nan), 3),
                 "prior MMD² ↓": round(m.get("prior_mmd", np.nan), 4),
                 "sample sharpness ↑": round(p.sharpness, 4)})
st.dataframe(rows, hide_index=True, width="stretch")
st.caption("Recon. NLL: Bernoulli negative log-likelihood of a test image given its own code. 5-NN accuracy: how often "
           "a test code's five nearest training codes share its digit. Prior MMD²: kernel maximum mean discrepancy "
           "between the test codes and samples of the model's prior, both divided by the prior's spread so that it "
           "compares across models (≈ 0 when the codes fill the prior; for the plain, denoising and contractive AEs the "
           "prior is a reference N(0, I) they were never asked to match). Sample sharpness: variance of the Laplacian "
           "of the 16 decoded prior samples (0 for a blank image; blur lowers it). Every model's card holds its "
           "command, recipe and training time.")

for name in names:
    card, p = cards[name], resources.zoo_panel(name)
    st.divider()
    text, recon_col, map_col, sample_col = st.columns([3, 4, 2, 2], gap="medium")
    with text:
        st.markdown(f"**{card['model'].upper()}** — {zoo.summary(card['model'])}")
        st.caption(model_label(name, card))
    picture(latent.tile(p.recon, 1, 10, pad=2), 600, "reconstructions of the ten digits", f"zoo-recon-{name}.png",
            where=recon_col, stretch=True)
    where = "its 2-D code" if p.map_kind == "code" else f"a {p.map_kind.upper()} of its {card['latent_dim']}-D code"
    map_col.image(p.map_image, caption=f"the test digits in {where}", width="stretch")
    picture(latent.tile(p.samples, 4, 4, pad=2), 220, "decoded prior samples (seed 0)"
            + (", one digit label each" if resources.decoder_reads_label(name) else ""), f"zoo-samples-{name}.png",
            where=sample_col, stretch=True)
