"""Draw or upload a digit: preprocess it like MNIST, then encode, locate, reconstruct, classify and
rewrite it in every other digit with its own style."""
import streamlit as st

from aae_core import latent
from aae_core.preprocess import ImageError, mnist_digit
from aae_core.registry import list_models
from app import resources
from app.components.digit_pad import digit_pad
from app.helpers import add_marker, bars_svg, latent_figure, literal, model_label, models_for
from app.projected_map import place_on_map
from app.widgets import PRESENT_SCALE, model_picker, picture, presenting

st.title("Draw or upload a digit")
st.markdown(
    "Your digit is prepared the way MNIST was: grey levels, ink made white on black, cropped, scaled to fit "
    "a 20×20 box and placed in 28×28 so that its centre of mass is in the middle. Then every model gets to "
    "work on it: where the encoder puts it, what the decoder makes of that code, which digit the "
    "semi-supervised AAE reads, and its *style* written as every other digit by the supervised AAE.")

draw_tab, upload_tab = st.tabs(["Draw", "Upload an image"])
with draw_tab:
    st.caption("Draw one digit with the mouse or a finger; it updates when you release.")
    scale = PRESENT_SCALE if presenting() else 1  # a pad twice as large for a projector, the same digit
    drawing = digit_pad(key="canvas", size=280 * scale, stroke=20 * scale)  # PNG bytes after each stroke, or None


def _use_upload() -> None:
    st.session_state["digit-source"] = "the upload"


with upload_tab:
    upload = st.file_uploader("An image of one digit (any format: PNG, JPEG, GIF, TIFF, …; at most 20 MB)",
                              key="upload", on_change=_use_upload)
source = st.radio("Use", ["the drawing", "the upload"], horizontal=True, key="digit-source")

x = None
try:
    if source == "the upload":
        if upload is None:
            st.info("Upload an image in the *Upload an image* tab.")
        else:
            x = mnist_digit(upload.getvalue())
    else:
        if drawing is None:
            st.info("Draw a digit on the black square.")
        else:
            x = mnist_digit(drawing)  # read like an upload: what a browser sends is not trusted
except ImageError as exc:
    st.warning(f"The image {literal(upload.name)} could not be used: {exc}. Try another one."
               if source == "the upload" else f"That drawing could not be used: {exc}.")
if x is None:
    st.stop()

flat = x.reshape(1, 784)  # 1×784
cards = resources.cards()
c1, c2, c3 = st.columns([1, 2, 2])
with c1:
    st.markdown("**What the models see**")
    picture(latent.to_uint8(x), 168, "28×28, MNIST-style", "your-digit.png")
    if source == "the upload":
        st.caption(f"read from {literal(upload.name)}")

with c2:
    name = model_picker("Latent map of", latent_dim=None, families=tuple(list_models()), key="draw-map",
                        preferred="label-aae-mixture10")
    if name is not None:
        model = resources.model(name)
        z = resources.encode(name, flat)[0]
        codes, labels = resources.codes(name)
        placed = place_on_map(name, codes, z)
        if placed is None:
            st.warning("This model's weights folder holds no 2-D map of its codes.")
        else:
            xy, point, view, (x_title, y_title), note = placed
            fig = add_marker(latent_figure(xy, labels, view, height=420, marker_size=2), point, "your digit")
            fig.update_xaxes(title=x_title)
            fig.update_yaxes(title=y_title)
            st.plotly_chart(fig, key=f"draw-fig-{name}", config={"displaylogo": False})
            if note:
                st.caption(note)
        picture(latent.to_uint8(resources.reconstruct(name, flat)[0]).reshape(28, 28), 112,
                "its reconstruction D(E(x)), from z = (" + ", ".join(f"{v:.2f}" for v in z[:4])
                + (", …)" if len(z) > 4 else ")"), f"reconstruction-{name}.png", save=False)

with c3:
    classifiers = models_for(cards, latent_dim=None, families=("semi-aae",))
    if classifiers:
        best = min(classifiers, key=lambda n: cards[n].metric("error", 1.0))
        clf = st.selectbox("Classifier", classifiers, index=classifiers.index(best), key="draw-clf",
                           format_func=lambda n: model_label(n, cards[n]))
        probs = resources.classify(clf, flat)[0]
        st.markdown(f"**Read as a {int(probs.argmax())}** ({100 * probs.max():.0f} % sure)")
        st.image(bars_svg(probs, range(10)), caption="q(y|x) over the ten digits")
    else:
        st.caption("No semi-supervised classifier ships.")

stylers = models_for(cards, latent_dim=None, families=("supervised-aae",))
if stylers:
    styler = st.selectbox("Rewrite with", stylers, key="draw-style", format_func=lambda n: model_label(n, cards[n]))
    style = resources.encode(styler, flat)  # 1×d
    st.markdown("**Your style, written as every digit** (its style code z = E(x), decoded with each label)")
    picture(latent.tile(resources.style_sheet(styler, style), 1, 10, pad=2), 1000, "your style as 0, 1, …, 9",
            f"your-style-{styler}.png", stretch=True)
