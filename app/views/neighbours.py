"""Nearest neighbours: one test digit's closest test digits by code and by pixels — what the code keeps."""
import numpy as np
import streamlit as st

from aae_core import latent, neighbours
from aae_core.registry import list_models
from app import resources
from app.widgets import model_numbers, model_picker, number_from_url, picture

N_TEST = 10_000

st.title("Nearest neighbours")
st.markdown(
    "Pick a test digit. **By code**: the test digits whose codes z = E(x) lie closest to its code. "
    "**By pixels**: the test digits closest in raw pixels (784 numbers). Pixels see ink in the same places; "
    "a good code sees the same *digit* — or, for models that keep the label apart, the same *style*. "
    "Works for every model, whatever the size of its code.")

name = model_picker("Model", latent_dim=None, families=tuple(list_models()))
if name is None:
    st.stop()
model_numbers(name)
codes, labels = resources.codes(name)
images = resources.test_images()


def _random_digit() -> None:
    st.session_state["nn-idx"] = int(np.random.default_rng().integers(N_TEST))


number_from_url("idx", "nn-idx", 0, N_TEST - 1, 0, integer=True)
c1, c2, c3 = st.columns([2, 1, 3], vertical_alignment="bottom")
idx = int(c1.number_input("Test digit (index)", 0, N_TEST - 1, step=1, key="nn-idx"))
c2.button("Random digit", icon=":material/casino:", on_click=_random_digit)
k = c3.slider("Neighbours", 5, 20, 10, key="nn-k")
st.query_params["idx"] = str(idx)

by_code = neighbours.nearest(codes, codes[idx], k, exclude=idx)
by_pixels = neighbours.nearest(images.raw, images.raw[idx], k, exclude=idx)
left, right = st.columns([1, 6])
picture(latent.to_uint8(images[idx]).reshape(28, 28), 112, f"test #{idx}, label {labels[idx]}", f"test-{idx}.png",
        where=left, save=False)
with right:
    for title, found in (("By code", by_code), ("By pixels", by_pixels)):
        same = int((labels[found] == labels[idx]).sum())
        st.markdown(f"**{title}**: {same} of {k} share its label")
        picture(latent.tile(images[found], 1, k, pad=2), min(1100, 70 * k), " · ".join(f"#{i} ({labels[i]})" for i in found),
                f"neighbours-{name}-{idx}-{title.split()[1]}.png", stretch=True)

st.subheader("Over 300 test digits")
code_share, pixel_share = resources.code_agreement(name, k), resources.pixel_agreement(k)
a, b = st.columns(2)
a.metric(f"{k} nearest by code share the label", f"{code_share:.0%}")
b.metric(f"{k} nearest by pixels share the label", f"{pixel_share:.0%}")
card_dim = resources.cards()[name].latent_dim or "?"
if resources.decoder_reads_label(name):
    st.info("This model's decoder is given the label (or the cluster) beside z: its code z is meant to hold the **style** alone, so its "
            "neighbours by code share a slant or a stroke rather than a digit — a low share here is the lesson, "
            "not a failure.", icon=":material/school:")
else:
    verdict = "more" if code_share > pixel_share else "less"
    st.caption(f"Here the {card_dim}-D code keeps **{verdict}** of the digit's identity in its distances than the "
               f"784 pixels do: an unsupervised code is not trained to keep the label, only to reconstruct the "
               f"image while its codes follow the prior.")
