"""Style explorer: a supervised or semi-supervised AAE keeps the digit's identity in the label and
the handwriting style in z — change z and every digit changes the same way."""
import numpy as np
import streamlit as st

from aae_core import latent
from app import resources
from app.helpers import models_for, parse_floats
from app.widgets import model_numbers, model_picker, picture, safe_fragment

N_TEST = 10_000
ROWS_OF_ANALOGIES = 4

st.title("Style explorer")
st.markdown(
    "The **supervised AAE** gives the decoder the digit's label as a one-hot vector y next to the code z. "
    "The label already says *which* digit it is, so the adversarially regularised code z only keeps the "
    "**style**: slant, width, stroke. Fix z and change y: the same hand writes every digit (the paper's "
    "Figure 7). The **semi-supervised AAE** learns the same split with only a few labels: its encoder "
    "outputs both y = q(y|x) and z. The **conditional VAE** has the supervised AAE's structure with a KL term in "
    "place of the adversary: the two are shown side by side.")
st.latex(r"\hat x = D\big(\,\mathrm{onehot}(y)\oplus z\,\big),\qquad q(z)\;\to\;p(z)=\mathcal N(0,\sigma^2 I)")

name = model_picker("Model", latent_dim=None, families=("supervised-aae", "cvae", "semi-aae"), preferred="supervised-aae-2d")
if name is None:
    st.stop()
model = resources.model(name)
LESSONS = {  # what each family shows here
    "supervised-aae": "The label is given to the decoder, so z is free to hold **only the style**: every slider "
                      "changes the handwriting of all ten digits the same way, never which digit it is.",
    "semi-aae": "The label comes from the model's own q(y|x), learnt from a few labelled images: the split is "
                "**imperfect** — far from the centre a 'style' can turn one digit into another. Compare with the "
                "supervised AAE.",
    "cvae": "A conditional VAE: the decoder reads the label as the supervised AAE's does, but a KL term pulls each "
            "image's q(z|x) toward N(0, I) instead of an adversary matching the aggregate. Below the sheet, the same "
            "style z through the supervised AAE.",
}
PARTNER = {"supervised-aae": "cvae", "cvae": "supervised-aae"}  # the same structure, regularised the other way
st.info(LESSONS.get(model.model_name, ""), icon=":material/school:")
model_numbers(name)
d, std = model.latent_dim, float(model.prior.spec().get("std", 1.0))
limit = 3 * std
keys = [f"style-{name}-{i}" for i in range(d)]

if keys[0] not in st.session_state:  # first visit: the style comes from the URL, if it is valid
    # (only for the model the link was made with: after a switch, the URL's style is the old model's)
    raw = None if st.session_state.get("style-url-used") else st.query_params.get("style")
    st.session_state["style-url-used"] = True
    values, note = parse_floats(raw, d, -limit, limit)
    if note:
        st.info(note)
    for k, v in zip(keys, values):
        st.session_state[k] = v


def set_style(z: np.ndarray) -> None:
    for k, v in zip(keys, np.clip(z, -limit, limit)):
        st.session_state[k] = round(float(v), 2)


def random_style() -> None:
    set_style(np.random.default_rng().normal(0, std, d))


def style_of_test_digit() -> None:
    idx = int(st.session_state["style-source"])
    codes, _ = resources.codes(name)
    set_style(codes[idx])
    st.query_params["idx"] = str(idx)


b1, b2, b3, b4 = st.columns([1, 1, 2, 1], vertical_alignment="bottom")  # outside the fragment: rare, and
b1.button("Random style", icon=":material/casino:", on_click=random_style)  # a slider move then sends less
b2.button("Neutral style (z = 0)", on_click=set_style, args=(np.zeros(d),))
b3.number_input("Test digit to take the style of (index)", 0, N_TEST - 1, step=1, key="style-source")
b4.button("Take its style", icon=":material/content_copy:", on_click=style_of_test_digit)


partners = models_for(resources.cards(), latent_dim=d, families=(PARTNER.get(model.model_name, ""),))
partner = partners[0] if partners else None


@safe_fragment
def explorer() -> None:
    """Sliders and the digits they write: a slider move reruns only this fragment."""
    per_row = 5
    for start in range(0, d, per_row):
        cols = st.columns(per_row)
        for i in range(start, min(start + per_row, d)):
            cols[i - start].slider(f"z{i + 1}", -limit, limit, step=0.05, key=keys[i], format="%.2f")
    z = np.array([[st.session_state[k] for k in keys]], dtype=np.float32)
    st.query_params["style"] = ",".join(f"{v:.2f}" for v in z[0])
    sheet = resources.style_sheet(name, z)  # 10×784
    picture(latent.tile(sheet, 1, model.n_classes, pad=2), 1000, "The same style z written as 0, 1, …, 9",
            f"style-{name}.png", stretch=True)
    if partner:
        other = resources.style_sheet(partner, z)
        picture(latent.tile(other, 1, 10, pad=2), 1000, f"The same z through {partner} "
                f"({resources.cards()[partner].model}): the same structure, its code regularised the other way",
                f"style-{partner}.png", stretch=True)


explorer()

st.subheader("Analogies: real test digits, rewritten as every digit")
st.markdown("Each row: a test image (left), then its style z = E(x) decoded with every label.")
codes, labels = resources.codes(name)
images = resources.test_images()
first = int(st.session_state.get("style-source", 0))
rows = [(first + j * 997) % N_TEST for j in range(ROWS_OF_ANALOGIES)]
sheet = resources.style_sheet(name, codes[rows])  # (rows·10)×784
grid = np.concatenate([np.concatenate([images[r][None], sheet[j * 10:(j + 1) * 10]]) for j, r in enumerate(rows)])
picture(latent.tile(grid, len(rows), 11, pad=2), 1100,
        "rows: test images #" + ", #".join(map(str, rows)) + " (first column) and their styles as 0–9",
        f"analogies-{name}.png", stretch=True)
