"""MemberLab workbench: builds the page list and runs the page the user picked."""

from pathlib import Path

import streamlit as st

from app import state
from app.i18n import language_switch, t, translate_uploaders

# A local image: a Material-icon favicon is fetched from a font CDN, which fails offline.
FAVICON = Path(__file__).resolve().parent / "app" / "static" / "favicon.png"
st.set_page_config(page_title="MemberLab", page_icon=str(FAVICON), layout="wide")
state.init()
language_switch()
translate_uploaders()

GROUPS = {
    "nav.program": [("overview", ":material/dashboard:"), ("policy_designer", ":material/tune:")],
    "nav.forecast": [
        ("simulate", ":material/casino:"),
        ("compare", ":material/compare_arrows:"),
        ("finance", ":material/account_balance:"),
        ("sweep_search", ":material/travel_explore:"),
    ],
    "nav.operate": [("data_calibration", ":material/dataset:"), ("publish", ":material/publish:")],
}
pages = {
    t(group): [
        st.Page(f"app/pages/{name}.py", title=t(f"page.{name}"), icon=icon, url_path=name)
        for name, icon in items
    ]
    for group, items in GROUPS.items()
}
st.navigation(pages).run()
