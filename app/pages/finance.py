"""finance page (being built)."""

import streamlit as st

from app.i18n import t

st.title(t("page.finance"))
st.info(t("common.not_available", feature=t("page.finance")), icon="🚧")
