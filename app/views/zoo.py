"""Model zoo: every shipped family side by side on the same test digits (issue 12)."""
import streamlit as st

from aae_core import latent, zoo
from aae_core.metric_table import caption, label, show
from app import resources
from app.helpers import model_label
from app.widgets import picture, table

COLUMNS = ("recon_bce", "knn5_accuracy", "prior_mmd", "sample_sharpness")  # aae_core.metric_table

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
    m, p = cards[name].metrics, resources.zoo_panel(name)
    rows.append({"family": cards[name].model, "model": name,
                 **{label(k): show(k, {**m, "sample_sharpness": p.sharpness}) for k in COLUMNS}})
table(rows, "model-zoo.csv")
st.caption(caption(COLUMNS) + " For the plain, denoising and contractive AEs the prior is a reference N(0, I) they "
           "were never asked to match. Every model's card holds its command, recipe and training time.")

for name in names:
    card, p = cards[name], resources.zoo_panel(name)
    st.divider()
    text, recon_col, map_col, sample_col = st.columns([3, 4, 2, 2], gap="medium")
    with text:
        st.markdown(f"**{card.model.upper()}** — {zoo.summary(card.model)}")
        st.caption(model_label(name, card))
    picture(latent.tile(p.recon, 1, 10, pad=2), 600, "reconstructions of the ten digits", f"zoo-recon-{name}.png",
            where=recon_col, stretch=True)
    where = "its 2-D code" if p.map_kind == "code" else f"a {p.map_kind.upper()} of its {card.latent_dim}-D code"
    map_col.image(p.map_image, caption=f"the test digits in {where}", width="stretch")
    picture(latent.tile(p.samples, 4, 4, pad=2), 220, "decoded prior samples (seed 0)"
            + (", one digit label each" if resources.decoder_reads_label(name) else ""), f"zoo-samples-{name}.png",
            where=sample_col, stretch=True)
