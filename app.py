"""Visual Attention Explorer — entry point: ``streamlit run app.py``."""

import streamlit as st

st.set_page_config(page_title="Visual Attention Explorer", layout="wide")
st.title("Visual Attention Explorer")
st.write("Look inside CNNs that carry attention modules.")
