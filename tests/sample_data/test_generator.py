"""The generator: determinism, truth, invariants of the tables, statistics of the behavior."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from policies.io import content_id, load_policy
from sample_data import DEFAULT_PARAMS, generate, rate_multipliers
from sample_data.generator import (
    CLASSIC_POLICY,
    DEFAULT_END,
    DEFAULT_START,
    acquisition_weights,
    expected_repeat_purchases,
)

CLASSIC = load_policy(CLASSIC_POLICY)


def test_same_seed_gives_identical_frames():
    window = {"start": dt.date(2024, 6, 1), "end": dt.date(2025, 12, 31)}  # one December
    first = generate(n_members=300, seed=5, **window)
    second = generate(n_members=300, seed=5, **window)
    assert (first.points_ledger["kind"] == "redeem").any()
    for name, frame in first.tables().items():
        pd.testing.assert_frame_equal(frame, second.tables()[name], check_exact=True)
    assert first.truth == second.truth


def test_other_seed_gives_other_program():
    first = generate(n_members=300, seed=5, ledger=False)
    other = generate(n_members=300, seed=6, ledger=False)
    assert not first.transactions["amount"].equals(other.transactions["amount"])


def test_a_run_without_seed_records_one_that_redoes_it():
    first = generate(n_members=50, seed=None, ledger=False)
    again = generate(n_members=50, seed=first.truth["seed"], ledger=False)
    pd.testing.assert_frame_equal(first.transactions, again.transactions)


def test_purchases_do_not_depend_on_booking_the_ledger(small_program):
    unbooked = generate(n_members=1_500, seed=11, ledger=False)
    columns = ["transaction_id", "member_id", "date", "amount", "store_id", "channel"]
    pd.testing.assert_frame_equal(
        small_program.transactions[columns], unbooked.transactions[columns]
    )
    pd.testing.assert_frame_equal(small_program.members, unbooked.members)
    assert unbooked.points_ledger is None
    assert "points_earned" not in unbooked.transactions


def test_truth_records_the_parameters_used(small_program):
    truth = small_program.truth
    assert truth["seed"] == 11
    assert truth["n_members"] == 1_500
    assert truth["time_unit"] == "day"
    assert truth["start"] == DEFAULT_START.isoformat()
    assert truth["generation_end"] == DEFAULT_END.isoformat()
    assert truth["policy"]["content_id"] == content_id(CLASSIC)
    assert truth["policy"]["file"] == "policies/examples/classic_four_tier.yaml"
    params = DEFAULT_PARAMS.to_dict()
    for section in ("bgnbd", "gamma_gamma", "seasonality", "acquisition", "redemption"):
        assert truth[section] == params[section]
    assert truth["chinese_new_year"]["2025"] == "2025-01-29"
    assert truth["uplift_campaigns"] == ["member-day"]
    assert json.loads(json.dumps(truth)) == truth  # JSON-safe as written


def test_truth_follows_custom_parameters():
    from dataclasses import replace

    from sample_data.generator import BGNBDTruth

    params = replace(DEFAULT_PARAMS, bgnbd=BGNBDTruth(r=1.5, alpha=10.0, a=0.7, b=3.0))
    program = generate(n_members=200, seed=1, params=params, ledger=False)
    assert program.truth["bgnbd"] == {"r": 1.5, "alpha": 10.0, "a": 0.7, "b": 3.0}


def test_tables_are_consistent(small_program):
    members, tx, ledger = (
        small_program.members,
        small_program.transactions,
        small_program.points_ledger,
    )
    assert members["member_id"].is_unique and tx["transaction_id"].is_unique
    assert ledger["entry_id"].is_unique
    assert set(tx["member_id"]) == set(members["member_id"])  # everyone buys on joining
    first = tx.groupby("member_id")["date"].min()
    joined = members.set_index("member_id")["join_date"]
    pd.testing.assert_series_equal(
        first.sort_index(), joined.loc[first.index].sort_index(), check_names=False
    )
    assert tx["date"].between(pd.Timestamp(DEFAULT_START), pd.Timestamp(DEFAULT_END)).all()
    assert (tx["amount"] >= 1).all()
    np.testing.assert_allclose(
        tx["net_amount"], (tx["amount"] - tx["discount"]).round(2), atol=1e-9
    )
    assert ((tx["store_id"] == "ONLINE") == (tx["channel"] != "store")).all()
    assert set(tx["channel"]) <= {"store", "app", "online"}
    assert set(members["gender"]) <= {"F", "M", "U"}
    assert members["home_store"].nunique() == 12
    # Points earned on a purchase are its earn plus purchase-bonus entries in the ledger.
    booked = ledger[ledger["transaction_id"] != ""].groupby("transaction_id")["points"].sum()
    points = tx.set_index("transaction_id")["points_earned"]
    assert booked.reindex(points.index, fill_value=0).equals(points)
    assert set(ledger["kind"]) <= {"earn", "bonus", "redeem", "expire"}
    signs = ledger.groupby("kind")["points"].agg(["min", "max"])
    assert signs.loc[["earn", "bonus"], "min"].min() > 0
    assert signs.loc[["redeem", "expire"], "max"].max() < 0


def test_campaign_ids_mark_member_days_and_birthdays(small_program):
    tx, members = small_program.transactions, small_program.members
    member_day = tx["campaign_ids"].str.contains("member-day")
    assert (member_day == (tx["date"].dt.day == 8)).all()
    birthday = pd.DatetimeIndex(
        members.set_index("member_id")["birthday"].loc[tx["member_id"]].to_numpy()
    )
    same_day = (birthday.month == tx["date"].dt.month) & (birthday.day == tx["date"].dt.day)
    leap_born = (birthday.month == 2) & (birthday.day == 29)  # celebrated on 28 Feb
    flagged = tx["campaign_ids"].str.contains("birthday-double").to_numpy()
    assert same_day.sum() > 0
    assert (flagged[~leap_born] == same_day.to_numpy()[~leap_born]).all()
    # On the 8th members pay 5% less than their tier discount alone.
    assert (tx.loc[member_day, "discount"] > 0).all()


def test_redemptions_follow_the_policy(small_program):
    ledger = small_program.points_ledger
    redeem = ledger[ledger["kind"] == "redeem"]
    assert len(redeem) > 50
    assert (redeem["date"].dt.month == 12).all()
    rules = CLASSIC.points.redemption
    assert (-redeem["points"] % rules.unit_points == 0).all()
    assert (-redeem["points"] >= rules.minimum_points).all()
    assert not redeem.duplicated(["member_id", redeem["date"].dt.year.name]).any()


def test_campaigns_run_lists_each_month(small_program):
    runs = small_program.campaigns_run
    member_day = runs[runs["campaign_id"] == "member-day"]
    assert len(member_day) == 36  # Nov 2023 .. Oct 2026
    assert (member_day["start_date"].dt.day == 8).all()
    assert (member_day["cost"] == 2000).all()
    assert member_day["contacts"].is_monotonic_increasing
    assert member_day["contacts"].iloc[-1] <= len(small_program.members)
    assert set(runs["target"]) == {"all members"}


def test_bad_arguments_say_what_is_valid():
    with pytest.raises(ValueError, match="n_members"):
        generate(n_members=0)
    with pytest.raises(ValueError, match="must be after start"):
        generate(n_members=10, start=dt.date(2025, 1, 1), end=dt.date(2024, 1, 1))
    with pytest.raises(ValueError, match="Chinese New Year date of 2049 is not known"):
        generate(n_members=10, start=dt.date(2049, 1, 1), end=dt.date(2050, 6, 1))


def test_bad_parameters_are_named():
    from dataclasses import replace

    from sample_data.generator import BGNBDTruth, RedemptionTruth

    params = replace(
        DEFAULT_PARAMS,
        bgnbd=BGNBDTruth(r=-1.0),
        redemption=RedemptionTruth(redeem_share=1.5),
    )
    with pytest.raises(ValueError) as error:
        generate(n_members=10, params=params)
    assert "bgnbd.r(=-1.0) must be greater than 0" in str(error.value)
    assert "redemption.redeem_share(=1.5) must be in (0, 1]" in str(error.value)


@settings(max_examples=25, deadline=None)
@given(st.integers(2020, 2034), st.integers(0, 1))
def test_every_calendar_year_averages_one(year, extra_years):
    factors = rate_multipliers(CLASSIC, dt.date(year, 1, 1), dt.date(year + extra_years, 12, 31))
    yearly = factors.groupby(factors.index.year).mean()
    np.testing.assert_allclose(yearly.to_numpy(), 1.0, rtol=1e-12)
    assert (factors > 0).all()
    # Double 11 is the biggest day of its year and member days beat the day before.
    for y in yearly.index:
        assert factors.loc[f"{y}-11-11"] == factors.loc[str(y)].max()
        if CLASSIC.campaigns[0].runs_on(dt.date(y, 5, 8)):  # member day, 2023..2028
            assert factors.loc[f"{y}-05-08"] > factors.loc[f"{y}-05-07"]
        else:
            assert factors.loc[f"{y}-05-08"] < factors.loc[f"{y}-05-07"] * 1.2


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60))
def test_purchase_history_invariants(seed, n):
    program = generate(
        n_members=n, seed=seed, start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), ledger=False
    )
    tx = program.transactions
    assert len(program.members) == n
    assert tx["date"].is_monotonic_increasing
    counts = tx.groupby("member_id").size()
    assert counts.index.equals(pd.Index(program.members["member_id"])) and (counts >= 1).all()
    assert tx["date"].between("2024-01-01", "2024-12-31").all()


# ---------------------------------------------------------------------------------------
# Statistics (fixed seeds, tolerances stated per figure)


def _operational_days(program):
    """Expected operational time from each member's first purchase to the end."""
    start, end = pd.Timestamp(program.truth["start"]), pd.Timestamp(program.truth["end"])
    factors = rate_multipliers(CLASSIC, start.date(), end.date()).to_numpy()
    after = np.concatenate([np.cumsum(factors[::-1])[::-1], [0.0]])
    join = (program.members["join_date"] - start).dt.days.to_numpy()
    # The first purchase falls uniformly inside the join day: half that day remains.
    return after[join + 1] + 0.5 * factors[join]


def test_mean_repeat_purchases_match_bgnbd(large_unbooked):
    program = large_unbooked
    repeat = program.transactions.groupby("member_id").size().to_numpy() - 1
    horizon = _operational_days(program)
    grid = np.unique(np.round(horizon))
    expected_at = dict(zip(grid, expected_repeat_purchases(grid), strict=True))
    expected = np.array([expected_at[t] for t in np.round(horizon)])
    standard_error = repeat.std() / np.sqrt(repeat.size)
    # Tolerance: 4 standard errors of the sample mean (about 4% here).
    assert abs(repeat.mean() - expected.mean()) < 4 * standard_error
    assert 4 * standard_error < 0.06 * expected.mean()


def test_mean_basket_matches_gamma_gamma(large_unbooked):
    gg = DEFAULT_PARAMS.gamma_gamma
    mean = gg.p * gg.gamma / (gg.q - 1)
    assert 250 <= mean <= 400  # a department-store basket
    # Tolerance 3%: baskets are clustered by member (nu), about 1% standard error here.
    np.testing.assert_allclose(large_unbooked.transactions["amount"].mean(), mean, rtol=0.03)


def _bgnbd_negative_loglik(log_params, x, t_x, T):
    """Fader, Hardie & Lee (2005) BG/NBD log-likelihood, eq. (3), summed over members."""
    r, alpha, a, b = np.exp(log_params)
    common = (
        special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        + special.gammaln(a + b) + special.gammaln(b + x)
        - special.gammaln(b) - special.gammaln(a + b + x)
    )  # fmt: skip
    alive = -(r + x) * np.log(alpha + T)
    dead = np.where(
        x > 0,
        np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return -(common + np.logaddexp(alive, dead)).sum()


def test_bgnbd_fitted_on_calendar_days_recovers_the_truth(large_unbooked):
    program = large_unbooked
    end = pd.Timestamp(program.truth["end"])
    dates = program.transactions.groupby("member_id")["date"]
    x = dates.size().to_numpy() - 1.0
    first, last = dates.min(), dates.max()
    t_x = (last - first).dt.days.to_numpy().astype(float)
    T = (end - first).dt.days.to_numpy() + 1.0
    fit = optimize.minimize(
        _bgnbd_negative_loglik, np.log([1.0, 20.0, 1.0, 5.0]), args=(x, t_x, T),
        method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6},
    )  # fmt: skip
    assert fit.success
    truth = program.truth["bgnbd"]
    # Tolerance: 12% per parameter (a and b are the least precise with 20,000 members).
    np.testing.assert_allclose(
        np.exp(fit.x), [truth["r"], truth["alpha"], truth["a"], truth["b"]], rtol=0.12
    )


def test_member_day_lifts_repeat_purchases(large_unbooked):
    tx = large_unbooked.transactions
    repeat = tx[tx.duplicated("member_id", keep="first")]
    by_dom = repeat.groupby(repeat["date"].dt.day).size()
    ratio = by_dom[8] / ((by_dom[7] + by_dom[9]) / 2)
    uplift = DEFAULT_PARAMS.seasonality.campaign_uplift["member_day"]
    # Tolerance 0.2: about 3,500 purchases on the 8ths.
    assert abs(ratio - uplift) < 0.2


def test_joins_peak_before_double_11(large_unbooked):
    joins = large_unbooked.members["join_date"]
    per_day = (
        joins.groupby(joins)
        .size()
        .reindex(acquisition_weights(DEFAULT_START, DEFAULT_END).index, fill_value=0)
    )
    run_up = per_day[(per_day.index.month == 11) & (per_day.index.day <= 11)].mean()
    october = per_day[per_day.index.month == 10].mean()
    assert run_up > 1.8 * october


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_generated_ledgers_balance(seed):
    from policies.ledger import roll_forward

    program = generate(n_members=40, seed=seed, start=dt.date(2024, 9, 1), end=dt.date(2025, 1, 31))
    ledger = program.points_ledger
    table = roll_forward(ledger, ["2024-09", "2024-10", "2024-11", "2024-12", "2025-01"])
    change = table["issued"] - table["redeemed"] - table["expired"]
    assert (table["opening"] + change == table["closing"]).all()
    assert (table["closing"].iloc[:-1].to_numpy() == table["opening"].iloc[1:].to_numpy()).all()
    assert (ledger.groupby("member_id")["points"].cumsum() >= 0).all()
    purchase_points = ledger[ledger["transaction_id"] != ""]["points"].sum()
    assert purchase_points == program.transactions["points_earned"].sum()


def test_redemption_windows_of_any_policy_are_found():
    from sample_data.generator import _window_openings

    data = CLASSIC.model_dump()
    data["points"]["redemption"]["windows"] = [
        {"start_month": 2, "start_day": 29, "end_month": 3, "end_day": 5},
        {"start_month": 12, "start_day": 20, "end_month": 1, "end_day": 10},
    ]
    policy = type(CLASSIC).model_validate(data)
    openings = _window_openings(policy, dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    assert [w[0] for w in openings] == [
        dt.date(2024, 2, 29), dt.date(2024, 12, 20), dt.date(2025, 2, 28), dt.date(2025, 12, 20)
    ]  # fmt: skip
    assert openings[1][-1] == dt.date(2025, 1, 10) and openings[-1][-1] == dt.date(2025, 12, 31)
    data["points"]["redemption"]["windows"] = []
    anytime = type(CLASSIC).model_validate(data)
    assert [w[0] for w in _window_openings(anytime, dt.date(2024, 1, 1), dt.date(2025, 6, 30))] == [
        dt.date(2024, 12, 1)
    ]
