"""Paper vs ours: the results table written by ``python -m aae_core.report``, from the model cards."""
import streamlit as st

from aae_core import paper, report
from app import resources
from app.widgets import table

st.title("The paper's numbers next to ours")
st.markdown(
    "Every number on this page comes from a shipped model's card, measured on the 10,000 MNIST test images "
    "after the epoch was chosen on a validation split; regenerate the table with "
    "`python -m aae_core.report --write docs/results.md`. **Gaps are reported, never hidden.**")
cards = resources.cards()
st.subheader("The paper's results")
st.markdown(report.paper_table(cards))
st.caption(paper.BASELINES)
with st.expander("How the numbers were measured"):
    st.markdown(report.PROTOCOL)
with st.expander("Which training recipe each retrained model uses, chosen on the validation split"):
    st.markdown(report.recipes_table(cards))
st.subheader("Every shipped model")
table(report.results_rows(cards), "results.csv")  # scrolls instead of clipping
