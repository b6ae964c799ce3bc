"""Sweeps and searches over fields the members do not respond to say so (both languages)."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from policies.io import load_policy
from simulations.__main__ import main
from simulations.responses import CAVEAT_COLUMN, caveat, no_response, with_caveat

ROOT = Path(__file__).resolve().parents[2]
CLASSIC_PATH = ROOT / "policies" / "examples" / "classic_four_tier.yaml"


@pytest.mark.parametrize(
    "path",
    [
        "expiry.months",
        "points.earn.balance_bands[0].multiplier",
        "points.bonuses.signup",
        "tiers.tiers[Gold].benefits.birthday_bonus_points",
        "points.redemption.minimum_points",
        "campaigns[spring-sale].reduction",
        "tiers.tiers[Gold].benefits.gift_cost_per_member",
    ],
)
def test_fields_without_a_behavioral_response_are_flagged(path):
    assert list(no_response([path])) == [path]
    assert path in caveat([path], "en") and path in caveat([path], "zh")


@pytest.mark.parametrize(
    "path",
    [
        "tiers.tiers[Gold].threshold",  # tier lift, goal gradient
        "points.earn.points_per_unit",  # reward rate
        "points.earn.per_amount",
        "points.redemption.point_value",
        "tiers.tiers[Gold].benefits.earn_multiplier",
        "tiers.tiers[Gold].benefits.discount_pct",  # discount lift
        "campaigns[member-day].points_multiplier",  # campaign reward rate
        "campaigns[member-day].discount_pct",
        "points.redemption.cost_per_point",  # the company's cost: not seen by members
    ],
)
def test_fields_members_respond_to_are_not_flagged(path):
    assert no_response([path]) == {}
    assert caveat([path], "en") is None


def test_the_table_column_says_it_in_english_and_chinese():
    table = with_caveat(pd.DataFrame({"point": [0, 1]}), ["expiry.months", "tiers.grace_months"])
    text = table[CAVEAT_COLUMN].iloc[0]
    assert text == f"{caveat(['expiry.months'], 'en')} / {caveat(['expiry.months'], 'zh')}"
    assert "无行为响应" in text and "No behavioral response" in text
    plain = with_caveat(pd.DataFrame({"point": [0]}), ["points.earn.points_per_unit"])
    assert plain[CAVEAT_COLUMN].tolist() == [""]


def test_cli_sweep_and_search_over_expiry_warn_in_both_languages(tmp_path, capsys):
    spec = {
        "policy": str(CLASSIC_PATH),
        "population": {"members": 200},
        "months": 2,
        "replications": 2,
        "seed": 3,
        "start": "2026-01-01",
        "parameters": {"expiry.months": {"values": [6, 12]}},
    }
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "sweep.csv"
    command = ["sweep", "--spec", str(spec_path), "--out", str(out), "--quiet", "--no-store"]
    assert main(command) == 0
    said = capsys.readouterr().err
    assert caveat(["expiry.months"], "en") in said and caveat(["expiry.months"], "zh") in said
    assert pd.read_csv(out)[CAVEAT_COLUMN].str.contains("积分更早过期").all()

    spec["search"] = {"objectives": [{"metric": "program_cost", "direction": "minimize"}],
                      "trials": 2, "batch": 2}  # fmt: skip
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    best = tmp_path / "best.yaml"
    assert main(["search", "--spec", str(spec_path), "--out", str(best), "--quiet"]) == 0
    said = capsys.readouterr().err
    assert caveat(["expiry.months"], "zh") in said
    text = best.read_text(encoding="utf-8")
    assert text.startswith(f"# {caveat(['expiry.months'], 'en')}\n")
    assert load_policy(best).expiry.months in (6, 12)  # the comment does not spoil the file


def test_stored_sweep_points_keep_the_caveat(tmp_path, monkeypatch):
    import store
    from policies.settings import get_settings
    from simulations import sweep

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{(tmp_path / 'points.sqlite').as_posix()}")
    monkeypatch.setenv("MEMBERLAB_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        spec = sweep.SweepSpec(policy=str(CLASSIC_PATH), population={"members": 150}, months=1,
                               replications=1, start="2026-01-01",
                               parameters={"expiry.months": {"values": [6, 12]}})  # fmt: skip
        sweep.run_sweep(spec, notice=lambda message: None)
        runs = store.list_simulation_runs(limit=10)
    finally:
        get_settings.cache_clear()
    assert len(runs) == 2
    for inputs in runs["inputs"]:
        assert inputs[CAVEAT_COLUMN].startswith(caveat(["expiry.months"], "en"))
        assert caveat(["expiry.months"], "zh") in inputs[CAVEAT_COLUMN]


def test_a_sweep_over_the_earn_rate_sees_members_respond():
    """1 -> 10 points per ¥1 (1% -> 10% back at the entry tier) lifts gross revenue.

    Repeat purchases rise by about (1 + 0.01 x 10) / (1 + 0.01 x 1) = 1.089 (more in the
    upper tiers' multiplied rates); new members' join-day purchases do not respond, so
    revenue rises a little less: 1.063-1.068 measured with seeds 3-5 at this size.
    """
    from simulations import sweep

    earn_rate = {"points.earn.points_per_unit": {"values": [1, 10]}}
    spec = sweep.SweepSpec(
        policy=str(CLASSIC_PATH),
        population={"members": 400},
        months=3,
        replications=2,
        seed=3,
        start="2026-01-01",
        parameters=earn_rate,
    )
    table = sweep.run_sweep(spec, store_points=False, notice=lambda message: None)
    assert (table[CAVEAT_COLUMN] == "").all()  # members respond to the earn rate
    revenue = table[table["kpi"] == "revenue_gross"].set_index("points.earn.points_per_unit")
    assert 1.04 < revenue.loc[10, "p50"] / revenue.loc[1, "p50"] < 1.10


def test_the_caveat_names_fields_as_people_know_them_in_each_language():
    policy = load_policy(
        Path(__file__).resolve().parents[2] / "policies/examples/classic_four_tier.yaml"
    )
    paths = ["expiry.months", "tiers.tiers[Gold].benefits.gift_cost_per_member"]
    english, chinese = (caveat(paths, lang, policy) for lang in ("en", "zh"))
    assert (
        "Gold yearly gift cost per member (tiers.tiers[Gold].benefits.gift_cost_per_member)"
        in english
    )
    # Under Chinese the tier goes by the policy's own label, the path only in brackets.
    assert "金卡" in chinese and "积分有效期" in chinese
    assert "Gold" not in chinese.replace("tiers[Gold]", "")
