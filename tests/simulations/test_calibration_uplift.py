import numpy as np
import pandas as pd
import pytest

from simulations.calibration import campaign_kind_from_id, fit_purchase_rate, summarize_transactions
from simulations.calibration.bgnbd import fit_bgnbd

MONTHS = np.array([1.25, 1.10, 0.90, 0.95, 0.95, 1.10, 0.90, 0.85, 0.90, 1.00, 1.15, 0.95])
WEEKDAYS = np.array([0.90, 0.90, 0.95, 1.00, 1.05, 1.15, 1.05])
MEMBER_DAY = 1.6
DOUBLE_11 = 2.0
BIRTHDAY = 1.8


def stationary_log(n_members=3000, base_rate=0.03, seed=3):
    """Members who never drop out, buying at a known seasonal rate, all joined on day 0.

    The 8th of every month is a member day (tagged ``member-day`` on every purchase); the
    11th of November is a holiday; a member buys more on their birthday (a birthday campaign
    tags those purchases).
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    birthdays = pd.Timestamp("1990-01-01") + pd.to_timedelta(rng.integers(0, 365, n_members), "D")
    bday_mmdd = birthdays.strftime("%m-%d").to_numpy()
    rows = [(f"M{i}", days[0], 100.0, "") for i in range(n_members)]
    for day in days[1:]:
        rate = base_rate * MONTHS[day.month - 1] * WEEKDAYS[day.weekday()]
        rate *= MEMBER_DAY if day.day == 8 else 1.0
        rate *= DOUBLE_11 if (day.month, day.day) == (11, 11) else 1.0
        member_rate = np.where(bday_mmdd == day.strftime("%m-%d"), rate * BIRTHDAY, rate)
        buyers = np.flatnonzero(rng.random(n_members) < member_rate)
        tag = "member-day" if day.day == 8 else ""
        for i in buyers:
            is_bday = bday_mmdd[i] == day.strftime("%m-%d")
            rows.append(
                (f"M{i}", day, 80.0, ";".join(t for t in (tag, "bday-gift" * is_bday) if t))
            )
    log = pd.DataFrame(rows, columns=["member_id", "date", "amount", "campaign_ids"])
    members = pd.DataFrame(
        {"member_id": [f"M{i}" for i in range(n_members)], "birthday": birthdays}
    )
    return log, members


@pytest.fixture(scope="module")
def seasonal():
    return stationary_log()


def test_recovers_seasonality_and_campaign_uplift(seasonal):
    log, members = seasonal
    fit = fit_purchase_rate(log, members=members)
    expected_months = MONTHS / MONTHS.mean()
    # About 1,000 purchases per month and day of week cell: 4-6% noise on each multiplier.
    np.testing.assert_allclose(fit.month_seasonality, expected_months, rtol=0.08)
    np.testing.assert_allclose(fit.weekday_seasonality, WEEKDAYS / WEEKDAYS.mean(), rtol=0.05)
    assert np.mean(fit.month_seasonality) == pytest.approx(1.0)
    assert fit.campaign_uplift["member_day"] == pytest.approx(MEMBER_DAY, rel=0.08)
    assert fit.campaign_uplift["birthday"] == pytest.approx(BIRTHDAY, rel=0.25)
    assert fit.holiday_uplift["11-11"] == pytest.approx(DOUBLE_11, rel=0.25)
    # Average calendar factor of the two years: 1.0233 by hand (seasonality means 1, member
    # days, Double 11 and birthdays add to it).
    assert fit.calendar_mean == pytest.approx(1.0233, abs=0.01)
    row = fit.table.set_index("term").loc["campaign:member-day"]
    assert row["ci_low"] < MEMBER_DAY < row["ci_high"]
    assert row["days"] == 24


def test_without_birthdays_the_birthday_campaign_is_noted(seasonal):
    log, _ = seasonal
    fit = fit_purchase_rate(log)
    assert "birthday" not in fit.campaign_uplift
    assert any("birthday" in note for note in fit.notes)


def test_campaign_kinds_given_explicitly_override_the_name(seasonal):
    log, _ = seasonal
    fit = fit_purchase_rate(log, campaign_kinds={"member-day": "bonus_points"})
    assert set(fit.campaign_uplift) == {"bonus_points"}


def test_no_seasonality_in_bgnbd_data_gives_flat_multipliers(bgnbd_log):
    summary = summarize_transactions(bgnbd_log)
    fit = fit_purchase_rate(bgnbd_log, bgnbd_params=fit_bgnbd(summary).params)
    # Flat truth; the pool's own randomness (which members were drawn) moves months a few %.
    np.testing.assert_allclose(fit.month_seasonality, 1.0, atol=0.10)
    np.testing.assert_allclose(fit.weekday_seasonality, 1.0, atol=0.05)


@pytest.mark.parametrize(
    ("campaign_id", "kind"),
    [
        ("member-day", "member_day"),
        ("birthday-double", "birthday"),
        ("double11", "bonus_points"),
        ("manjian-200-30", "threshold_reduction"),
        ("reactivation-q3", "reactivation"),
        ("welcome", "activation"),
        ("xyz", None),
    ],
)
def test_campaign_kind_from_id(campaign_id, kind):
    assert campaign_kind_from_id(campaign_id) == kind


def test_new_year_run_up_is_its_own_term_and_moves_with_the_festival():
    """A flat rate except the 14 days before the Spring Festival (x1.5), 2023-2025.

    The festival fell on 22 Jan 2023, 10 Feb 2024 and 29 Jan 2025 (the run-up mostly in
    January), and falls on 17 Feb 2026: as a month effect, January would look high and the
    run-up would be forecast in the wrong month of 2026.
    """
    import datetime as dt

    from simulations.behavior import NEW_YEAR, BehaviorParams, in_new_year_run_up

    rng = np.random.default_rng(11)
    n_members, base_rate, lift = 2000, 0.03, 1.5
    days = pd.date_range("2023-01-01", "2025-12-31", freq="D")
    rows = [(f"M{i}", days[0]) for i in range(n_members)]
    for day in days[1:]:
        rate = base_rate * (lift if in_new_year_run_up(day.date()) else 1.0)
        rows.extend((f"M{i}", day) for i in np.flatnonzero(rng.random(n_members) < rate))
    log = pd.DataFrame(rows, columns=["member_id", "date"]).assign(amount=50.0)

    fit = fit_purchase_rate(log)
    # About 2,500 run-up purchases: 2% noise on the multiplier, 1-2% on a month's.
    assert fit.holiday_uplift[NEW_YEAR] == pytest.approx(lift, rel=0.06)
    assert fit.month_seasonality[0] == pytest.approx(1.0, abs=0.05)
    assert fit.month_seasonality[1] == pytest.approx(1.0, abs=0.05)

    behavior = BehaviorParams(
        month_seasonality=fit.month_seasonality,
        weekday_seasonality=(1.0,) * 7,
        holiday_uplift=fit.holiday_uplift,
    )

    def month_total(year, month):
        first = dt.date(year, month, 1)
        return sum(
            behavior.month_seasonality[month - 1] * behavior.holiday_factor(d)
            for d in pd.date_range(first, periods=28, freq="D").date
        )

    # 2026: the run-up (3-16 Feb) lies in February; January is an ordinary month.
    expected = (14 * lift + 14) / 28
    assert month_total(2026, 2) / month_total(2026, 1) == pytest.approx(expected, rel=0.06)
