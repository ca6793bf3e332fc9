"""Interpolation: walk along a straight or spherical path between two test digits' codes."""
import numpy as np
import streamlit as st

from aae_core import latent
from app import resources
from app.helpers import fair_sample, morph_html, path_map_svg
from app.widgets import model_picker, number_from_url, picture, safe_fragment

N_TEST = 10_000
MAP_POINTS = 2_000  # test codes drawn on the path map
MORPH_SIZE = 320  # pixels of the in-browser scrubber's digit

st.title("Interpolation between two digits")
st.markdown(
    "Take two test digits, encode them to z_A and z_B, and decode points on the path between them. "
    "Linear: z(t) = (1−t)·z_A + t·z_B. Spherical (slerp): "
    "z(t) = sin((1−t)Ω)/sin Ω · z_A + sin(tΩ)/sin Ω · z_B, with Ω the angle between z_A and z_B — it keeps "
    "away from the origin. A good latent space morphs smoothly, with real-looking digits all the way.")

name = model_picker()
if name is None:
    st.stop()
codes, labels = resources.codes(name)
images = resources.test_images()


def _random_pair() -> None:
    rng = np.random.default_rng()
    a = int(rng.integers(N_TEST))
    b = int(rng.choice(np.flatnonzero(labels != labels[a])))  # a different digit: a more telling walk
    st.session_state["idx_a"], st.session_state["idx_b"] = a, b


number_from_url("a", "idx_a", 0, N_TEST - 1, 0, integer=True)
number_from_url("b", "idx_b", 0, N_TEST - 1, 1, integer=True)
number_from_url("t", "t", 0.0, 1.0, 0.5)
c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
ia = c1.number_input("Test digit A (index)", 0, N_TEST - 1, step=1, key="idx_a")
ib = c2.number_input("Test digit B (index)", 0, N_TEST - 1, step=1, key="idx_b")
st.query_params["a"], st.query_params["b"] = str(int(ia)), str(int(ib))
c3.button("Random pair", icon=":material/casino:", on_click=_random_pair)
method = c4.radio("Path", list(latent.INTERPOLATIONS), horizontal=True, key="path",
                  format_func=lambda m: {"linear": "straight line", "spherical": "spherical (slerp)"}[m])
za, zb = (np.asarray(codes[i], dtype=np.float32) for i in (int(ia), int(ib)))


def frames(n: int) -> np.ndarray:
    """n decoded images (n×784) evenly spaced along the path, t = 0 … 1 (cached for every session)."""
    return resources.walk(name, int(ia), int(ib), method, n)


ends, path_col = st.columns([2, 3])
with ends:
    st.markdown("**The two ends**: each input image and its reconstruction D(E(x)) — the walk runs between "
                "the *reconstructions* (t = 0 and t = 1), not the inputs.")
    recon = resources.reconstruct(name, images[[int(ia), int(ib)]])
    for row, (which, i, r) in enumerate((("A", int(ia), recon[0]), ("B", int(ib), recon[1]))):
        c_in, c_rec = st.columns(2)
        picture(latent.to_uint8(images[i]).reshape(28, 28), 112, f"{which}: test #{i}, label {labels[i]}",
                f"test-{i}.png", where=c_in, save=False)
        picture(latent.to_uint8(r).reshape(28, 28), 112, f"D(E({which})): t = {row}", f"recon-{i}.png", where=c_rec,
                save=False)
with path_col:
    lo, hi = resources.extent(name)
    path = resources.path(za, zb, 11, method)
    shown = fair_sample(range(len(codes)), MAP_POINTS)  # the same points on every visit: context, light to draw
    st.image(path_map_svg(codes[shown], labels[shown], (lo, hi), path, size=380),
             caption=f"The {method} path on the latent map (a fair sample of {MAP_POINTS:,} of the {len(codes):,} "
                     "test codes, coloured by digit as on the Latent map page), from A (1) to B (11): where the "
                     "decoder is asked to draw.")


@safe_fragment
def live_step() -> None:
    """Only this part reruns when the slider moves: one decode and one PNG."""
    t = st.slider("t (0 = A, 1 = B)", 0.0, 1.0, step=0.01, key="t")
    st.query_params["t"] = f"{t:.2f}"
    z = resources.path_point(za, zb, float(t), method)  # d
    img = resources.decode(name, z[None])[0]
    picture(latent.to_uint8(img).reshape(28, 28), 224,
            f"D(z(t)) at t = {t:.2f}, z = ({', '.join(f'{v:.2f}' for v in z.tolist())})", "walk-frame.png", save=False)


left, right = st.columns(2)
with left:
    st.subheader("Step with the slider")
    live_step()
with right:
    st.subheader("Scrub in the browser")
    st.caption("Drag this slider: every frame is already in the page, so the digit morphs while you drag.")
    ts = np.linspace(0, 1, 41)
    st.iframe(morph_html(frames(len(ts)), ts, MORPH_SIZE), width=MORPH_SIZE + 20, height=MORPH_SIZE + 50)

st.subheader("The whole path")
n_frames = st.slider("Frames in the strip", 5, 20, 10, key="n_frames")
strip = frames(n_frames)
picture(latent.tile(strip, 1, n_frames, pad=2), min(1100, 84 * n_frames),
        f"{method} path from test #{int(ia)} to test #{int(ib)}", f"walk-{name}-{int(ia)}-{int(ib)}-{method}.png")
st.download_button("Download the walk as a GIF", lambda: latent.gif_bytes(frames(24)), on_click="ignore",
                   file_name=f"walk-{name}-{int(ia)}-{int(ib)}-{method}.gif", mime="image/gif")  # made on click
