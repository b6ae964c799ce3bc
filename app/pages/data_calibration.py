"""data_calibration page (being built)."""

import streamlit as st

from app.i18n import t

st.title(t("page.data_calibration"))
st.info(
    t("common.not_available", feature=t("page.data_calibration")), icon=":material/construction:"
)
