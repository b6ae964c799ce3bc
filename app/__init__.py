"""The MemberLab workbench screens (Streamlit).

Pages in `app.pages` are thin: they read widgets, call the library (`policies`, `store`,
`simulations`) with keyword arguments and draw the answers with Altair. What a page needs
to remember across page switches (the policy being edited, the last simulation results,
the language) lives in `app.state`; all visible text comes from `app.i18n`.
"""

__all__ = [
    "charts",
    "database",
    "editing",
    "formatting",
    "i18n",
    "results_view",
    "runs",
    "state",
]
