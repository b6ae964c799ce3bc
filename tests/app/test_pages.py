import pytest

PAGES = (
    "overview",
    "policy_designer",
    "simulate",
    "compare",
    "finance",
    "data_calibration",
    "publish",
)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_page_renders_in_both_languages(app, open_page, language):
    open_page(app, "policy_designer")
    if language == "zh":
        app.sidebar.selectbox(key="language_switch").set_value("zh").run()
        assert not app.exception
    titles = set()
    for page in PAGES:
        at = open_page(app, page)
        assert at.title, f"{page} has no title"
        titles.add(at.title[0].value)
        if language == "zh":
            assert any("\u4e00" <= ch <= "\u9fff" for ch in at.title[0].value), page
    assert len(titles) == len(PAGES)
