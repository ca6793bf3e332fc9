"""Dimensionality reduction: the AAE's 2-D map W·y + z, with learned cluster heads, side by side."""
import streamlit as st

from app import resources
from app.helpers import add_marker, latent_figure, metric_summary, models_for

st.title("Dimensionality reduction to 2-D")
st.markdown(
    "The encoder outputs a softmax y over m clusters and a 2-D style z; the map is **W·y + z**, where the "
    "m columns of W are learned *cluster heads*. y is pushed towards one-hot (Cat(m)) and z towards a "
    "narrow Gaussian, so each image lands near its cluster's head; a penalty keeps every pair of heads at "
    "least η apart so that clusters do not overlap. With a few labels (1000 or 100) the heads are the "
    "digits; without labels it finds 20 clusters of its own (the paper's Figure 11).")
st.latex(r"r = W_C\,y + z,\qquad \mathcal L_{\text{heads}}=\sum_{i<j}\max\big(0,\ \eta-\lVert w_i-w_j\rVert\big)")

cards = resources.cards()
names = models_for(cards, latent_dim=2, families=("dimred-aae",))
if not names:
    st.warning("No dimensionality-reduction model ships.")
    st.stop()
names.sort(key=lambda n: -cards[n].labels)  # 1000 labels, 100 labels, then unsupervised
cols = st.columns(len(names))
for col, name in zip(cols, names):
    card = cards[name]
    codes, labels = resources.codes(name)
    lo, hi = resources.extent(name)
    title = f"{card.labels:,} labels" if card.labels else f"unsupervised, {card.config['n_classes']} clusters"
    fig = latent_figure(codes, labels, (lo, hi), height=460, marker_size=2, title=title, show_legend=col is cols[-1])
    heads = resources.model(name).head_positions().numpy()
    for i, h in enumerate(heads):
        add_marker(fig, h, f"head {i}", color="black").data[-1].showlegend = False
    with col:
        st.plotly_chart(fig, key=f"dimred-{name}", config={"displaylogo": False})
        st.markdown(" · ".join(f"{k}: **{v}**" for k, v in metric_summary(card)[:2]))
        st.caption(f"`{name}` — black stars: the cluster heads W.")
