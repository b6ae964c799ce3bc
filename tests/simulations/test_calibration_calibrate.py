import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from true_parameters import TRUE_BGNBD, TRUE_GAMMA_GAMMA

from policies.io import load_policy
from simulations.behavior import DEFAULT_BEHAVIOR, BehaviorParams, load_behavior, save_behavior
from simulations.calibration import CalibrationDataError, CalibrationResult, calibrate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def with_holdout(bgnbd_log):
    return calibrate(bgnbd_log, calibration_end="2025-06-30")


def test_holdout_prediction_tracks_actual_purchases(with_holdout):
    holdout = with_holdout.holdout
    assert list(holdout["period"]) == [f"2025-{m:02d}" for m in range(7, 13)]
    assert holdout["start"].iloc[0] == "2025-07-01"
    np.testing.assert_allclose(holdout["cumulative_predicted"], holdout["predicted"].cumsum())
    # Six months ahead, members seen by mid-2025: within 8% in total and 15% per month.
    last = holdout.iloc[-1]
    assert last["cumulative_predicted"] == pytest.approx(last["cumulative_actual"], rel=0.08)
    np.testing.assert_allclose(holdout["predicted"], holdout["actual"], rtol=0.15)


def test_p_alive_distribution(with_holdout):
    p = with_holdout.p_alive
    quantiles = [p[k] for k in ("p10", "p25", "p50", "p75", "p90")]
    assert all(0 <= q <= 1 for q in quantiles)
    assert quantiles == sorted(quantiles)
    assert 0 < p["share_below_0.5"] < 1


def test_behavior_params_carry_the_estimates(with_holdout, tmp_path):
    params = with_holdout.behavior_params()
    assert isinstance(params, BehaviorParams)
    assert params.bgnbd.r == with_holdout.bgnbd.params["r"]
    # A parameter named after a model holds that model's estimate; the calendar scaling the
    # engine applies is stored under its own name (before: alpha held alpha x calendar mean).
    assert params.bgnbd.alpha == with_holdout.bgnbd.params["alpha"]
    calendar = with_holdout.uplift.calendar_mean
    assert params.calendar_mean == calendar
    assert params.rate_divisor() == pytest.approx(calendar * params.program_effect_mean)
    sources = params.diagnostics["parameter_sources"]
    assert sources["bgnbd.alpha"] == "estimated" and sources["calendar_mean"] == "derived"
    assert sources["redemption.intercept"].startswith("default")
    assert sources["effects.tier_rate_lift"].startswith("default")
    assert params.gamma_gamma.gamma == with_holdout.gamma_gamma.params["gamma"]
    assert params.time_unit == "day"
    assert np.mean(params.month_seasonality) == pytest.approx(1.0)
    assert params.source.startswith("calibrated from")
    # Not estimated without a ledger: the defaults stay.
    assert params.redemption == DEFAULT_BEHAVIOR.redemption
    assert params.effects == DEFAULT_BEHAVIOR.effects
    diagnostics = params.diagnostics
    assert diagnostics["std_errors"]["bgnbd"]["alpha"] > 0
    assert len(diagnostics["holdout"]) == 6
    json.dumps(diagnostics)  # plain JSON
    save_behavior(params, tmp_path / "params.json")
    assert load_behavior(tmp_path / "params.json") == params


def test_result_is_read_only_and_summarized(with_holdout):
    with pytest.raises(dataclasses.FrozenInstanceError):
        with_holdout.bgnbd = None
    summary = with_holdout.summary()
    assert list(summary.columns) == [
        "model",
        "parameter",
        "estimate",
        "std_err",
        "ci_low",
        "ci_high",
    ]
    named = set(zip(summary["model"], summary["parameter"], strict=True))
    for pair in [
        ("BG/NBD", "r"),
        ("BG/NBD", "b"),
        ("Gamma-Gamma", "gamma"),
        ("uplift", "month:Jul"),
    ]:
        assert pair in named
    assert with_holdout.params["std_err"].gt(0).all()
    assert set(with_holdout.convergence) == {"bgnbd", "gamma_gamma"}


def test_no_holdout_when_calibrating_to_the_last_day(bgnbd_log):
    result = calibrate(bgnbd_log.head(8000), time_unit="week")
    assert result.holdout is None
    assert result.behavior_params().time_unit == "week"
    assert result.bgnbd.params["alpha"] == pytest.approx(TRUE_BGNBD.alpha / 7, rel=0.3)


def test_a_ledger_without_redemptions_keeps_the_default_and_says_so(bgnbd_log):
    ledger = pd.DataFrame(
        {
            "member_id": bgnbd_log["member_id"],
            "date": bgnbd_log["date"],
            "kind": "earn",
            "points": bgnbd_log["amount"].round().astype(int),
        }
    )
    result = calibrate(bgnbd_log.head(8000), ledger=ledger.head(8000))
    assert result.redemption is None
    # A failed fit is a fallback that names the defaults used instead (shown as a warning).
    assert len(result.fallbacks) == 1 and result.fallbacks[0] in result.notes
    assert "redemption propensity: the fit failed" in result.fallbacks[0]
    assert "intercept -2.2" in result.fallbacks[0]
    assert result.behavior_params().redemption == DEFAULT_BEHAVIOR.redemption


# Golden figures: the shipped sample program (20,000 members, Nov 2023 - Oct 2026) was drawn
# from known parameters (truth.json). Tolerances per figure; alpha allows for the upward
# bias of merging same-day purchases (see test_calibration_bgnbd).
SAMPLE_RTOL = {
    ("bgnbd", "r"): 0.10,
    ("bgnbd", "alpha"): 0.12,
    ("bgnbd", "a"): 0.15,
    ("bgnbd", "b"): 0.20,
    ("gamma_gamma", "p"): 0.20,
    ("gamma_gamma", "q"): 0.08,
    ("gamma_gamma", "gamma"): 0.20,
}


@pytest.fixture(scope="module")
def sample_calibration():
    sample_data = pytest.importorskip("sample_data")
    try:
        sample = sample_data.load_sample()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    policy = load_policy(ROOT / sample.truth["policy"]["file"])
    result = calibrate(
        sample.transactions,
        ledger=sample.points_ledger,
        members=sample.members,
        calibration_end="2026-04-30",
        policy=policy,
    )
    return sample, result


def test_sample_program_recovers_its_truth(sample_calibration):
    sample, result = sample_calibration
    assert isinstance(result, CalibrationResult)
    fits = {"bgnbd": result.bgnbd.params, "gamma_gamma": result.gamma_gamma.params}
    for (model, name), rtol in SAMPLE_RTOL.items():
        truth = sample.truth[model][name]
        assert fits[model][name] == pytest.approx(truth, rel=rtol), (model, name)
    truth_uplift = sample.truth["seasonality"]["campaign_uplift"]["member_day"]
    assert result.uplift.campaign_uplift["member_day"] == pytest.approx(truth_uplift, rel=0.08)
    for day, truth in sample.truth["seasonality"]["holidays"].items():
        assert result.uplift.holiday_uplift[day] == pytest.approx(truth, rel=0.15), day
    # Tiers are rebuilt from the policy (month-end approximation, see policy_tiers); SEs are
    # about 0.09 for the intercept and slope, 0.08 and 0.24 for Silver and Gold.
    redemption = sample.truth["redemption"]
    assert result.redemption.intercept == pytest.approx(redemption["intercept"], abs=0.35)
    assert result.redemption.balance_coef == pytest.approx(redemption["balance_coef"], abs=0.3)
    for code in (1, 2):
        assert result.redemption.tier_coefs[code] == pytest.approx(
            redemption["tier_coefs"][code], abs=0.5
        )
    assert result.redemption.minimum_points == 1000
    assert result.redemption.redeem_share == pytest.approx(
        sample.truth["redemption"]["redeem_share"], abs=0.05
    )
    last = result.holdout.iloc[-1]
    assert last["cumulative_predicted"] == pytest.approx(last["cumulative_actual"], rel=0.08)


def test_member_tiers_by_name_must_be_policy_tiers(bgnbd_log):
    log = bgnbd_log.head(8000)
    ledger = pd.DataFrame(
        {"member_id": log["member_id"], "date": log["date"], "kind": "earn", "points": 10}
    )
    members = pd.DataFrame({"member_id": log["member_id"].unique(), "tier": "Platinum"})
    policy = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
    with pytest.raises(
        CalibrationDataError, match="Platinum are not tiers of the policy; known tiers: Regular"
    ):
        calibrate(log, ledger=ledger, members=members, policy=policy)


def test_shopping_days_the_data_never_covered_stay_neutral(bgnbd_log):
    # Six months of data (January to June) never saw Double 11 or Double 12: before, the
    # calibrated file kept the defaults (x2.5, x1.8) for them.
    first_half = bgnbd_log[bgnbd_log["date"] < "2024-07-01"]
    params = calibrate(first_half).behavior_params()
    assert params.holiday_uplift["11-11"] == 1.0
    assert params.holiday_uplift["12-12"] == 1.0
    assert params.holiday_uplift["06-18"] != 1.0  # covered: estimated
    sources = params.diagnostics["parameter_sources"]
    assert sources["holiday_uplift.11-11"] == "not estimated: neutral"
    assert sources["holiday_uplift.06-18"] == "estimated"


def test_one_cohort_thinning_out_is_not_a_month_effect():
    # Every member joins in January 2024 and buys without seasonality; as they drop out the
    # cohort buys less month by month. The month multipliers must stay flat: the decline is
    # the BG/NBD dropout, which the exposure (the model's expected purchases) carries.
    from simulations.calibration import simulate_bgnbd_transactions

    log = simulate_bgnbd_transactions(
        TRUE_BGNBD, TRUE_GAMMA_GAMMA, n_members=6000, horizon_days=366,
        rng=np.random.default_rng(7), acquisition_days=31,
    )  # fmt: skip
    monthly = log.groupby(log["date"].dt.month).size()
    assert monthly.loc[12] < 0.8 * monthly.loc[2]  # the cohort does thin out
    months = np.array(calibrate(log).behavior_params().month_seasonality)
    np.testing.assert_allclose(months, 1.0, atol=0.08)


def test_a_value_the_user_changes_is_labelled_set_by_user(with_holdout, tmp_path):
    from simulations.behavior import parameter_sources

    params = with_holdout.behavior_params()
    sources = parameter_sources(params)
    assert sources == params.diagnostics["parameter_sources"]  # nothing edited yet
    assert sources["new_members_per_month"] == "estimated"
    data = params.model_dump()
    data["bgnbd"]["alpha"] *= 1.1
    data["effects"]["tier_rate_lift"] = 0.2
    save_behavior(BehaviorParams.model_validate(data), tmp_path / "edited.json")
    edited = parameter_sources(load_behavior(tmp_path / "edited.json"))
    changed = {name for name, source in edited.items() if source != sources[name]}
    assert changed == {"bgnbd.alpha", "effects.tier_rate_lift"}
    assert edited["bgnbd.alpha"] == edited["effects.tier_rate_lift"] == "set by user"
    # Without a calibration record, the built-in defaults are the reference.
    own = parameter_sources(DEFAULT_BEHAVIOR.model_copy(update={"new_members_per_month": 9.0}))
    assert own["new_members_per_month"] == "set by user"
    assert own["bgnbd.r"].startswith("default")
