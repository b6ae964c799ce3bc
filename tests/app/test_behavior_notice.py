"""Forecast pages say whether they run on default or calibrated member behavior."""

from app import runs
from app.i18n import t
from simulations.behavior import DEFAULT_BEHAVIOR

SMALL = {"members": 300, "months": 2, "reps": 2}


def _t(key):
    return t(key, lang="en", page=t("page.data_calibration", lang="en"))


def _captions(at):
    return [caption.value for caption in at.caption]


def _run_small(at):
    for name, value in SMALL.items():
        at.number_input(key=f"simulate_{name}_en").set_value(value)
    at.button(key="simulate_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_default_behavior_is_said_at_the_controls_and_on_finance(app, open_page):
    at = open_page(app, "simulate")
    assert _t("runs.behavior_default") in _captions(at)
    assert _t("runs.behavior_calibrated") not in _captions(at)
    assert t("runs.behavior_assumed", lang="en", pct="1") in _captions(at)
    at = open_page(_run_small(at), "finance")
    assert [w.value for w in at.warning] == [_t("runs.result_default_behavior")]


def test_calibrated_behavior_is_said_and_finance_has_no_warning(app, open_page):
    at = open_page(app, "compare")
    fit = DEFAULT_BEHAVIOR.bgnbd.model_copy(update={"r": 0.8})
    calibrated = DEFAULT_BEHAVIOR.model_copy(update={"bgnbd": fit, "source": "calibrated: test"})
    at.session_state[runs.BEHAVIOR] = calibrated  # as "Simulate with these parameters" sets
    at = open_page(at, "simulate")
    assert _t("runs.behavior_calibrated") in _captions(at)
    assert _t("runs.behavior_default") not in _captions(at)
    # a calibration does not estimate the reward-rate response: still said to be assumed
    assert t("runs.behavior_assumed", lang="en", pct="1") in _captions(at)
    at = open_page(_run_small(at), "finance")
    assert _t("runs.result_default_behavior") not in [w.value for w in at.warning]
    (run,) = at.session_state["ml_results"].values()
    assert not runs.used_default_behavior(run.result)
