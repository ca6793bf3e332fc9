"""The app's own Streamlit components (each with its built front-end in the repository)."""
