"""overview page (being built)."""

import streamlit as st

from app.i18n import t

st.title(t("page.overview"))
st.info(t("common.not_available", feature=t("page.overview")), icon=":material/construction:")
