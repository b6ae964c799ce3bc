"""Charts, labels and messages as a client sees them: colours by key, units, one field path."""

import json

import pandas as pd
import pytest

from app import charts, editing
from app.formatting import problem_text
from app.state import examples
from policies import load_policy, policy_from_dict, policy_to_dict

CLASSIC = load_policy(examples()["classic_four_tier"])


def _spec(chart):
    return json.loads(chart.to_json())


def _scales(spec):
    """Every colour scale (domain, range) in a (layered) chart spec."""
    found = []
    for layer in spec.get("layer", [spec]):
        color = layer.get("encoding", {}).get("color", {})
        if "scale" in color:
            found.append((tuple(color["scale"]["domain"]), tuple(color["scale"]["range"])))
    return found


def _roll_forward_frame():
    return pd.DataFrame(
        {
            "month": ["2026-01", "2026-02"],
            "issued": [100.0, 120.0],
            "redeemed": [40.0, 50.0],
            "expired": [5.0, 6.0],
            "closing": [55.0, 119.0],
        }
    )


@pytest.mark.parametrize(
    "labels",
    [
        {"issued": "Issued", "redeemed": "Redeemed", "expired": "Expired", "closing": "Closing"},
        {"issued": "发放", "redeemed": "兑换", "expired": "过期", "closing": "期末"},
    ],
)
def test_roll_forward_colours_follow_the_movement_not_its_label(labels):
    spec = _spec(charts.roll_forward(_roll_forward_frame(), "t", "points", labels))
    scales = _scales(spec)
    assert len(scales) == 2  # bars and the closing line share one scale: Closing is in the legend
    for domain, colours in scales:
        assert dict(zip(domain, colours, strict=True)) == {
            labels[key]: colour for key, colour in charts.MOVEMENT_COLORS.items()
        }


def test_fan_lines_carry_the_legend_in_distinct_colours():
    bands = pd.concat(
        [
            pd.DataFrame(
                {"month": ["2026-01", "2026-02"], "p10": [1, 2], "p50": [2, 3], "p90": [3, 4]}
            ).assign(scenario=name)
            for name in ("Live (version 1)", "Being edited: Classic", "Example: Beauty")
        ]
    )
    order = ["Live (version 1)", "Being edited: Classic", "Example: Beauty"]
    spec = _spec(charts.fan(bands, "t", "members", color="scenario", order=order))
    band, line = spec["layer"]
    assert band["encoding"]["color"]["legend"] is None  # no pale swatches
    legend = line["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0 and legend["symbolType"] == "stroke"
    colours = line["encoding"]["color"]["scale"]["range"]
    assert line["encoding"]["color"]["scale"]["domain"] == order
    assert len(set(colours)) == 3


def test_campaign_calendar_has_a_row_per_campaign_with_translated_kinds():
    data = policy_to_dict(CLASSIC)
    twin = dict(data["campaigns"][0], id="twin")  # same name as the first campaign
    data["campaigns"].append(twin)
    policy = policy_from_dict(data, "test")
    segments = editing.campaign_segments(policy, 2026)
    assert segments["row"].nunique() == len(policy.campaigns)
    kinds = {"member_day": "会员日", "bonus_points": "积分加赠"}
    kinds = {kind: kinds.get(kind, kind.upper()) for kind in charts.CAMPAIGN_COLORS}
    spec = _spec(charts.gantt(segments, "t", 2026, kinds))
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == 0
    rows = {json.dumps(r, ensure_ascii=False) for r in spec["datasets"][spec["data"]["name"]]}
    assert any("会员日" in r for r in rows) and not any(
        '"kind_label": "member_day"' in r for r in rows
    )


def test_heat_map_labels_are_level_and_titled():
    frame = pd.DataFrame({"a": ["x", "y"], "b": ["1", "2"], "v": [0.5, 0.9]})
    spec = _spec(
        charts.heatmap(frame, "a", "b", "v", "t", "share", ".0%", x_title="A", y_title="B")
    )
    assert spec["encoding"]["x"]["axis"]["labelAngle"] == 0
    assert spec["encoding"]["x"]["title"] == "A" and spec["encoding"]["y"]["title"] == "B"
    assert spec["encoding"]["color"]["legend"]["format"] == ".0%"


@pytest.mark.parametrize(
    ("path", "message", "shown"),
    [
        (
            "tiers.tiers[2].threshold",
            "tiers[2].threshold(=0) must be greater than Silver's",
            "tiers.tiers[2].threshold(=0) must be greater than Silver's",
        ),
        ("program.name", "must not be empty", "program.name: must not be empty"),
        ("", "two tiers share a name", "two tiers share a name"),
        (
            "points.earn.per_amount",
            "per_amount(=0) must be > 0",
            "points.earn.per_amount(=0) must be > 0",
        ),
    ],
)
def test_a_problem_names_its_field_path_once(path, message, shown):
    assert problem_text(path, message) == shown


def test_an_incomplete_campaign_row_is_named_and_left_out():
    frame = editing.campaigns_frame(CLASSIC)
    added = pd.concat(
        [frame, pd.DataFrame([{"id": "d11", "name": "Double 11", "kind": "bonus_points"}])],
        ignore_index=True,
    )
    assert editing.incomplete_campaigns(added) == [(len(frame) + 1, ["start", "end"])]
    data = editing.apply_campaigns(policy_to_dict(CLASSIC), added)
    assert [c["id"] for c in data["campaigns"]] == [c.id for c in CLASSIC.campaigns]
    blank = pd.concat([frame, pd.DataFrame([{}])], ignore_index=True)
    assert editing.incomplete_campaigns(blank) == []
