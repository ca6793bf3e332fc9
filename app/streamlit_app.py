"""aae-explorer: see what an autoencoder's latent space is. Run: `make run`."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/streamlit_app.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import memory_probe, page_table  # noqa: E402
from app.helpers import favicon, literal  # noqa: E402

memory_probe.start_from_env()  # only with AAE_TRACEMALLOC=FILE set: what holds the server's memory

st.set_page_config(page_title="aae-explorer", page_icon=favicon(), layout="wide")  # no icon server needed

PAGES = {heading: [st.Page(row.file, title=row.title, icon=row.icon, default=not row.url_path,
                           **({"url_path": row.url_path} if row.url_path else {})) for row in rows]
         for heading, rows in page_table.sections().items()}
page = st.navigation(PAGES, expanded=True)
st.sidebar.caption("Adversarial autoencoders (Makhzani et al. 2015) and their relatives, trained on MNIST (and a pair on "
                   "Fashion-MNIST).")
if "present" not in st.session_state:  # ?present=1 opens the app in presentation mode (a lecture's bookmark)
    st.session_state["present"] = st.query_params.get("present") == "1"
if st.sidebar.toggle("Presentation mode", key="present", help="Large pictures and text, for a projector"):
    st.markdown("<style>html { font-size: 22px; }</style>", unsafe_allow_html=True)  # fixed CSS, no user text
from app import resources  # noqa: E402

resources.memory_trimmer()  # once per server: freed heap pages go back to the system every 20 s

if resources.refused():  # one notice, in the sidebar, for every page; the server's log has the detail
    st.sidebar.warning("Left out, their weights folders failed the checks: " + "; ".join(
        f"{literal(name)} ({literal(why, 200)})" for name, why in resources.refused().items()))
try:
    page.run()
except Exception as exc:  # a page never shows a traceback; Streamlit's rerun/stop are BaseExceptions
    st.error("Something went wrong on this page: " + literal(f"{type(exc).__name__}: {exc}", 300))
