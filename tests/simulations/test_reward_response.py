"""Members' response to the reward rate (`ProgramEffects.reward_rate_lift`).

Statistical tests with fixed seeds: existing members who practically never drop out (so
repeat purchases are a Poisson count at ``lambda x factor``), one tier, no calendar, every
other program effect off. Then the expected ratio of purchases between two policies is the
ratio of their factors ``1 + reward_rate_lift x reward %``, and the tolerance is stated in
standard errors of that ratio.
"""

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from policies.io import load_policy
from simulations.behavior import DEFAULT_BEHAVIOR, ProgramEffects, reward_pct
from simulations.engine import simulate_replication
from simulations.population import Population

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = load_policy(ROOT / "policies" / "examples" / "classic_four_tier.yaml")
START = dt.date(2026, 1, 1)
MONTHS = 6
MEMBERS = 3000


def _behavior(reward_rate_lift: float = DEFAULT_BEHAVIOR.effects.reward_rate_lift):
    off = dict.fromkeys(
        ("tier_rate_lift", "tier_dropout_reduction", "goal_gradient_lift",
         "post_redemption_lift", "reactivation_response", "discount_rate_lift"),
        0.0,
    )  # fmt: skip
    effects = ProgramEffects(**off, reward_rate_lift=reward_rate_lift)
    neutral = {k: 1.0 for k in DEFAULT_BEHAVIOR.campaign_uplift.model_dump()}
    return DEFAULT_BEHAVIOR.model_copy(
        update={
            "effects": effects,
            "campaign_uplift": DEFAULT_BEHAVIOR.campaign_uplift.model_copy(update=neutral),
            "month_seasonality": (1.0,) * 12,
            "weekday_seasonality": (1.0,) * 7,
            "holiday_uplift": {},
            "new_members_per_month": 0.0,
            # Dropout probability ~ Beta(0.01, 10^4): about one in a million per purchase.
            "bgnbd": DEFAULT_BEHAVIOR.bgnbd.model_copy(update={"a": 0.01, "b": 10_000.0}),
        }
    )


def _policy(points_per_unit=1.0, point_value=0.01, earn_multiplier=1.0, campaigns=()):
    data = CLASSIC.model_dump()
    data["tiers"]["tiers"] = [
        {"name": "Member", "threshold": 0, "benefits": {"earn_multiplier": earn_multiplier}}
    ]
    data["campaigns"] = campaigns
    data["expiry"] = {"kind": "none"}
    data["points"]["earn"]["points_per_unit"] = points_per_unit
    data["points"]["redemption"]["point_value"] = point_value
    return type(CLASSIC).model_validate(data)


def _every_day_bonus(multiplier: float) -> dict:
    return {
        "id": "bonus", "name": "Bonus points every day", "kind": "bonus_points",
        "start": "2025-01-01", "end": "2027-12-31", "points_multiplier": multiplier,
    }  # fmt: skip


@pytest.fixture(scope="module")
def population():
    return Population.synthetic(MEMBERS, seed=5, as_of=START)


def _purchases(policy, behavior, population, seed=21) -> int:
    out = simulate_replication(
        policy, behavior, population, START, MONTHS, np.random.SeedSequence(seed)
    )
    return int(sum(month["purchases"] for month in out.monthly))


RATIO_SD = 0.003
"""Standard deviation of the purchase ratio of two such runs (about 12,000 purchases each,
same seed): measured 0.0029 over seeds 100-114 (mean 1.0878 for an expected 1.0891). Common
random numbers make it far smaller than two independent Poisson counts would (0.013)."""


def _assert_ratio(high: int, low: int, expected: float) -> None:
    # 4 standard deviations: +-0.012 on a ratio of about 1.09, i.e. the lift within +-14%.
    assert abs(high / low - expected) < 4 * RATIO_SD, (high / low, expected)


def test_reward_pct_is_value_back_per_unit_of_spend():
    assert reward_pct(_policy()) == pytest.approx(1.0)  # 1 point per ¥1 at ¥0.01
    assert reward_pct(_policy(points_per_unit=3, point_value=0.02)) == pytest.approx(6.0)


def test_without_the_response_the_earn_rate_does_not_move_purchases(population):
    """The reward rate reaches purchases only through reward_rate_lift (nothing else is on)."""
    behavior = _behavior(reward_rate_lift=0.0)
    stingy = _purchases(_policy(points_per_unit=0.5), behavior, population)
    generous = _purchases(_policy(points_per_unit=10), behavior, population)
    assert stingy == generous


@pytest.mark.parametrize(
    ("low", "high"),
    [
        # earn rate 1 -> 10 points per ¥1: 1% -> 10% back
        ({"points_per_unit": 1}, {"points_per_unit": 10}),
        # the same reward rates through the point's value
        ({"point_value": 0.01}, {"point_value": 0.10}),
        # and through the tier's earn multiplier
        ({"earn_multiplier": 1.0}, {"earn_multiplier": 10.0}),
        # a bonus-points campaign every day: 1x -> 10x points (9% extra back)
        ({"campaigns": ()}, {"campaigns": (_every_day_bonus(10.0),)}),
    ],
    ids=["earn_rate", "point_value", "tier_multiplier", "campaign_multiplier"],
)
def test_a_higher_reward_rate_raises_purchases_by_the_stated_lift(population, low, high):
    behavior = _behavior()
    lift = behavior.effects.reward_rate_lift
    expected = (1 + lift * 10.0) / (1 + lift * 1.0)  # 1.089 with the default 0.01
    few = _purchases(_policy(**low), behavior, population)
    many = _purchases(_policy(**high), behavior, population)
    assert many > few  # the direction
    _assert_ratio(many, few, expected)  # and the size


def test_a_stingier_plan_loses_purchases(population):
    behavior = _behavior(reward_rate_lift=0.05)  # a stronger response than the default
    normal = _purchases(_policy(points_per_unit=2), behavior, population)
    stingy = _purchases(_policy(points_per_unit=0.2), behavior, population)
    assert stingy < normal
    _assert_ratio(normal, stingy, (1 + 0.05 * 2) / (1 + 0.05 * 0.2))
