import numpy as np
import pandas as pd
import pytest

from simulations.calibration import CalibrationDataError, check_ledger, fit_redemption

INTERCEPT, BALANCE_COEF = -2.0, 0.8
TIER_COEFS = {"Silver": 0.0, "Gold": 0.4, "Diamond": 0.8}
EARN = {"Silver": 300, "Gold": 700, "Diamond": 1500}


def synthetic_ledger(n_members=3000, seed=5):
    """Monthly earnings; in June and December a member redeems 80% of the opening balance
    with the logistic probability of the model."""
    rng = np.random.default_rng(seed)
    tiers = rng.choice(list(TIER_COEFS), size=n_members, p=[0.6, 0.3, 0.1])
    balance = np.zeros(n_members, dtype=np.int64)
    ids = np.array([f"M{i}" for i in range(n_members)])
    parts = []

    def book(mask, day, kind, points):
        parts.append(
            pd.DataFrame(
                {"member_id": ids[mask], "date": day, "kind": kind, "points": points[mask]}
            )
        )

    for month in pd.period_range("2023-01", "2025-12", freq="M"):
        if month.month in (6, 12):
            logit = (
                INTERCEPT
                + BALANCE_COEF * np.log1p(balance / 1000)
                + np.array([TIER_COEFS[t] for t in tiers])
            )
            amount = np.floor(0.8 * balance).astype(np.int64)
            redeem = (amount > 0) & (rng.random(n_members) < 1 / (1 + np.exp(-logit)))
            book(redeem, month.start_time + pd.Timedelta(days=19), "redeem", -amount)
            balance = balance - np.where(redeem, amount, 0)
        earned = rng.poisson([EARN[t] for t in tiers])
        book(earned > 0, month.start_time + pd.Timedelta(days=24), "earn", earned)
        balance = balance + earned
    ledger = pd.concat(parts, ignore_index=True)
    return ledger, pd.Series(tiers, index=[f"M{i}" for i in range(n_members)])


@pytest.fixture(scope="module")
def ledger_and_tiers():
    return synthetic_ledger()


def test_recovers_the_redemption_logit(ledger_and_tiers):
    ledger, tiers = ledger_and_tiers
    fit = fit_redemption(check_ledger(ledger), tiers=tiers)
    se = fit.table.set_index("parameter")["std_err"]
    assert fit.tiers == ("Silver", "Gold", "Diamond")  # ordered by mean balance
    assert abs(fit.intercept - INTERCEPT) < 4 * se["const"]
    assert abs(fit.balance_coef - BALANCE_COEF) < 4 * se["log_balance"]
    assert fit.intercept == pytest.approx(INTERCEPT, abs=0.3)
    assert fit.balance_coef == pytest.approx(BALANCE_COEF, abs=0.2)
    for name, coef in zip(fit.tiers, fit.tier_coefs, strict=True):
        assert coef == pytest.approx(TIER_COEFS[name], abs=0.3), name
    assert fit.redeem_share == pytest.approx(0.8, abs=0.01)
    # Only June and December had redemptions: the other months are not in the fit.
    assert {m[-2:] for m in fit.open_months} == {"06", "12"}


def test_without_tiers_there_are_no_tier_coefficients(ledger_and_tiers):
    ledger, _ = ledger_and_tiers
    fit = fit_redemption(check_ledger(ledger))
    assert fit.tier_coefs == () and fit.tiers == ()


def test_no_redemptions_is_a_data_error(ledger_and_tiers):
    ledger, _ = ledger_and_tiers
    with pytest.raises(CalibrationDataError, match="no redeem entries"):
        fit_redemption(check_ledger(ledger[ledger["kind"] == "earn"]))


@pytest.mark.parametrize(
    ("kind", "points", "message"),
    [
        ("gift", 10, r"row 2: kind\(='gift'\)"),
        ("redeem", 100, r"row 2: points\(=100\).*redeem/expire <= 0"),
        ("earn", -3, r"row 2: points\(=-3\)"),
        ("earn", 1.5, r"row 2: points\(=1.5\).*whole numbers"),
    ],
)
def test_ledger_rows_are_checked(kind, points, message):
    frame = pd.DataFrame(
        {"member_id": ["M1"], "date": ["2024-01-01"], "kind": [kind], "points": [points]}
    )
    with pytest.raises(CalibrationDataError, match=message):
        check_ledger(frame)


def test_ledger_missing_column():
    with pytest.raises(CalibrationDataError, match="missing column.*points"):
        check_ledger(pd.DataFrame({"member_id": ["M1"], "date": ["2024-01-01"], "kind": ["earn"]}))


def test_numeric_tier_codes_fill_codes_nobody_held(ledger_and_tiers):
    ledger, tiers = ledger_and_tiers
    codes = tiers.map({"Silver": 0, "Gold": 0, "Diamond": 2})
    fit = fit_redemption(check_ledger(ledger), tiers=codes)
    assert fit.tiers == ("0", "1", "2")
    assert fit.tier_coefs[:2] == (0.0, 0.0)
    assert fit.tier_coefs[2] > 0.3  # Diamond against Silver and Gold together


def test_tiers_by_month_table(ledger_and_tiers):
    ledger, tiers = ledger_and_tiers
    months = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in (6, 12)]
    table = pd.concat(
        [
            pd.DataFrame({"member_id": tiers.index, "month": m, "tier": tiers.to_numpy()})
            for m in months
        ]
    )
    by_month = fit_redemption(check_ledger(ledger), tiers=table)
    static = fit_redemption(check_ledger(ledger), tiers=tiers)
    assert by_month.tier_coefs == pytest.approx(static.tier_coefs)
    with pytest.raises(CalibrationDataError, match="missing column.*month"):
        fit_redemption(check_ledger(ledger), tiers=table.drop(columns="month"))


def test_a_tier_that_always_redeems_shares_the_tier_below_instead_of_failing(ledger_and_tiers):
    # Five Diamond members who redeem every time they can: the Diamond coefficient has no
    # finite estimate (separation). Before, Newton ran away and the whole logit fell back to
    # the defaults; now Diamond shares Gold's coefficient and a note says so.
    ledger, tiers = ledger_and_tiers
    keep = set(tiers.index[tiers != "Diamond"]) | set(tiers.index[tiers == "Diamond"][:5])
    few = ledger[ledger["member_id"].isin(keep)]
    diamond = few["member_id"].isin(tiers.index[tiers == "Diamond"])
    extra = few[diamond & (few["kind"] == "earn")].copy()
    extra["date"] = extra["date"].map(
        lambda d: (
            d.to_period("M").start_time + pd.Timedelta(days=20) if d.month in (6, 12) else None
        )  # fmt: skip
    )
    extra = extra.dropna(subset=["date"]).assign(kind="redeem", points=-1000)
    boosted = pd.concat([few, extra.assign(points=-1)], ignore_index=True)
    fit = fit_redemption(check_ledger(boosted), tiers=tiers[tiers.index.isin(keep)])
    assert fit.tiers == ("Silver", "Gold")
    assert len(fit.tier_coefs) == 2
    assert any("tier Diamond shares the coefficient of tier Gold" in n for n in fit.notes)


def test_draws_follow_the_coefficients_sampling_distribution(ledger_and_tiers):
    # A backtest's parameter uncertainty draws the logit too (before: only BG/NBD and
    # Gamma-Gamma were drawn, so the redemption band carried no estimation error).
    ledger, tiers = ledger_and_tiers
    codes = tiers.map({"Silver": 0, "Gold": 1, "Diamond": 3})  # nobody holds code 2
    fit = fit_redemption(check_ledger(ledger), tiers=codes)
    rng = np.random.default_rng(0)
    draws = [fit.draw(rng) for _ in range(2_000)]
    intercepts = np.array([d["intercept"] for d in draws])
    se = fit.table.set_index("parameter")["std_err"]
    assert intercepts.mean() == pytest.approx(fit.intercept, abs=0.2 * se["const"])
    assert intercepts.std() == pytest.approx(se["const"], rel=0.1)
    tier_draws = np.array([d["tier_coefs"] for d in draws])
    assert (tier_draws[:, 0] == 0).all()  # the reference tier
    np.testing.assert_array_equal(tier_draws[:, 2], tier_draws[:, 1])  # code 2 shares code 1's
    assert tier_draws[:, 3].mean() == pytest.approx(fit.tier_coefs[3], abs=0.05)
