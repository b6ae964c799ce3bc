"""Altair charts of the workbench: every chart has a title, axis units and tooltips.

Charts take frames that are already aggregated (a few hundred rows at most: P10/P50/P90 per
month, counts per segment); `MAX_ROWS` guards against embedding raw member or transaction
data in the page.
"""

from __future__ import annotations

import importlib
import sys

import pandas as pd

__all__ = [
    "CAMPAIGN_COLORS",
    "MAX_ROWS",
    "MOVEMENT_COLORS",
    "PALETTE",
    "bars",
    "fan",
    "frontier",
    "gantt",
    "heatmap",
    "keyed_scale",
    "lines",
    "pareto",
    "roll_forward",
    "tornado",
]


def _import_altair():
    """Altair, imported without jsonschema's IRI parser (saves ~2 s of CPU on a first page).

    With JupyterLab installed, jupyter-events brings jsonschema's ``format-nongpl`` extra,
    and jsonschema then imports rfc3987-syntax to check the ``iri`` format; that package
    builds a Lark grammar on import, which made altair's import cost ~2.2 s of CPU instead
    of ~0.4 s. The Vega-Lite schema that altair validates charts against uses ``uri`` and
    ``uri-reference`` (checked by other packages) but never ``iri``, so nothing is lost. The
    block lasts only while jsonschema loads: a later ``import rfc3987_syntax`` works.
    """
    blocked = "rfc3987_syntax" not in sys.modules and "jsonschema" not in sys.modules
    if blocked:
        sys.modules["rfc3987_syntax"] = None  # `import` raises ImportError (PEP 451)
    try:
        return importlib.import_module("altair")
    finally:
        if blocked:
            del sys.modules["rfc3987_syntax"]


alt = _import_altair()

MAX_ROWS = 5_000
"""Altair's default embedding limit; aggregate before charting."""

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
"""Distinct series colours (Tableau 10 order, red second so two scenarios never look alike)."""

MOVEMENT_COLORS = {
    "issued": "#2ca02c",
    "redeemed": "#1f77b4",
    "expired": "#ff7f0e",
    "closing": "#222222",
}
"""Roll-forward colours by movement key, so a translated label never changes a colour."""

CAMPAIGN_COLORS = {
    "member_day": "#1f77b4",
    "bonus_points": "#2ca02c",
    "birthday": "#e377c2",
    "threshold_reduction": "#d62728",
    "activation": "#17becf",
    "reactivation": "#9467bd",
    "redemption_event": "#ff7f0e",
}
"""Campaign-calendar colours by campaign kind (the model's key, not its label)."""


def _legend(**overrides) -> alt.Legend:
    """A legend under the chart whose labels are never cut."""
    return alt.Legend(
        **{"orient": "bottom", "direction": "vertical", "labelLimit": 0, "title": None, **overrides}
    )


def keyed_scale(labels: dict[str, str], colors: dict[str, str]) -> alt.Scale:
    """A colour scale over translated ``labels`` whose colours follow their keys."""
    return alt.Scale(domain=list(labels.values()), range=[colors[key] for key in labels])


def _checked(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) > MAX_ROWS:
        raise ValueError(
            f"a chart got {len(frame):,} rows (at most {MAX_ROWS:,}): aggregate before charting"
        )
    return frame


def fan(
    bands: pd.DataFrame,
    title: str,
    unit: str,
    color: str | None = None,
    height: int = 260,
    order: list[str] | None = None,
) -> alt.Chart:
    """A fan chart: the median line with a P10-P90 band per month.

    Args:
        bands: columns ``month`` (``YYYY-MM``), ``p10``, ``p50``, ``p90`` and, to overlay
            several scenarios, the column named by ``color``.
        title: chart title.
        unit: y-axis unit, shown in the axis title.
        color: optional column separating overlaid series.
        height: chart height in pixels.
        order: the series in legend order; their colours follow this order (`PALETTE`),
            so the same scenario keeps its colour whatever the language.
    """
    data = _checked(bands).copy()
    data["month"] = data["month"].astype(str)
    base = alt.Chart(data).encode(x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=0)))
    tooltip = [alt.Tooltip("month:N")]
    band_color: dict = {}
    line_color: dict = {}
    if color:
        series = order or list(dict.fromkeys(data[color]))
        scale = alt.Scale(
            domain=series, range=[PALETTE[i % len(PALETTE)] for i in range(len(series))]
        )
        # the legend comes from the lines (full colour), never from the pale bands
        band_color = {"color": alt.Color(f"{color}:N", scale=scale, legend=None)}
        line_color = {
            "color": alt.Color(
                f"{color}:N",
                scale=scale,
                legend=_legend(symbolType="stroke", symbolStrokeWidth=3, symbolSize=300),
            )
        }
        tooltip.append(alt.Tooltip(f"{color}:N", title=None))
    tooltip += [
        alt.Tooltip(f"{q}:Q", format=",.0f", title=q.upper()) for q in ("p10", "p50", "p90")
    ]
    band = base.mark_area(opacity=0.18).encode(
        y=alt.Y("p10:Q", title=unit), y2="p90:Q", tooltip=tooltip, **band_color
    )
    line = base.mark_line(point=True, strokeWidth=2.5).encode(
        y="p50:Q", tooltip=tooltip, **line_color
    )
    chart = (band + line).properties(title=title, height=height)
    # separate legends per layer: the bands' (none) must not suppress the lines' legend
    return chart.resolve_legend(color="independent") if color else chart


def tracking(frame: pd.DataFrame, title: str, unit: str, actual_label: str) -> alt.Chart:
    """A backtest tracking chart: the P10-P90 fan and P50 line with the actual line on top.

    Args:
        frame: columns ``month``, ``p10``, ``p50``, ``p90`` and ``actual``.
        title: chart title.
        unit: y-axis unit.
        actual_label: legend name of the actual line.
    """
    data = _checked(frame).copy()
    data["month"] = data["month"].astype(str)
    data["series"] = actual_label
    actual = (
        alt.Chart(data)
        .mark_line(point=True, strokeDash=[4, 2], color="black")
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("actual:Q", title=unit),
            tooltip=[alt.Tooltip("month:N"), alt.Tooltip("actual:Q", format=",.0f")],
        )
    )
    return (fan(data, title=title, unit=unit) + actual).properties(title=title)


def lines(
    frame: pd.DataFrame, x: str, y: str, color: str, title: str, unit: str, x_title: str = ""
) -> alt.Chart:
    """Lines of ``y`` over ``x`` per ``color`` group."""
    return (
        alt.Chart(_checked(frame))
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:O", title=x_title or None),
            y=alt.Y(f"{y}:Q", title=unit),
            color=alt.Color(f"{color}:N", legend=_legend()),
            tooltip=[f"{x}:O", f"{color}:N", alt.Tooltip(f"{y}:Q", format=",.3f")],
        )
        .properties(title=title, height=260)
    )


def bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    unit: str,
    color: str | None = None,
    sort: list[str] | None = None,
    value_format: str = ",.0f",
) -> alt.Chart:
    """A bar chart of ``y`` per category ``x`` (stacked by ``color`` if given)."""
    encoding = {
        "x": alt.X(f"{x}:N", title=None, sort=sort, axis=alt.Axis(labelAngle=0)),
        "y": alt.Y(f"{y}:Q", title=unit),
        "tooltip": [f"{x}:N", alt.Tooltip(f"{y}:Q", format=value_format)],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", legend=_legend())
        encoding["tooltip"].insert(1, f"{color}:N")
    chart = alt.Chart(_checked(frame)).mark_bar().encode(**encoding)
    return chart.properties(title=title, height=240)


def gantt(
    segments: pd.DataFrame,
    title: str,
    year: int,
    kinds: dict[str, str],
    month_label: str = "timeFormat(datum.value, '%b')",
) -> alt.Chart:
    """The campaign calendar of one year: a row per campaign, a bar per run of days.

    Args:
        segments: `app.editing.campaign_segments` rows (``row`` names the campaign's row).
        title: chart title.
        year: the calendar year shown.
        kinds: display name of every campaign kind, by kind key (fixes the colours).
        month_label: Vega expression naming a month tick (e.g. ``"(month(datum.value) + 1)
            + '月'"`` in Chinese).
    """
    domain = [f"{year}-01-01", f"{year + 1}-01-01"]
    data = _checked(segments).assign(kind_label=segments["kind"].map(kinds))
    rows = list(dict.fromkeys(data["row"]))
    # only the kinds on the calendar, so the legend fits; colours still follow the kind key
    shown = {kind: label for kind, label in kinds.items() if kind in set(data["kind"])}
    return (
        alt.Chart(data)
        .mark_bar(cornerRadius=2, height=18)
        .encode(
            x=alt.X(
                "start:T",
                title=None,
                scale=alt.Scale(domain=domain),
                axis=alt.Axis(tickCount="month", labelAngle=0, labelExpr=month_label),
            ),
            x2="end:T",
            y=alt.Y("row:N", title=None, sort=rows, axis=alt.Axis(labelLimit=0)),
            color=alt.Color(
                "kind_label:N",
                scale=keyed_scale(shown, CAMPAIGN_COLORS),
                legend=_legend(direction="horizontal", columns=4),
            ),
            tooltip=[
                alt.Tooltip("row:N", title=None),
                alt.Tooltip("kind_label:N", title=None),
                alt.Tooltip("start:T", format="%Y-%m-%d", title=None),
            ],
        )
        .properties(title=title, height=alt.Step(30))
    )


def heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    title: str,
    unit: str,
    value_format: str = ".1%",
    x_sort: list[str] | None = None,
    y_sort: list[str] | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
) -> alt.Chart:
    """A heat map of ``value`` over ``x`` x ``y`` (e.g. cohort x months since joining).

    Labels stay horizontal; ``value_format`` (d3) formats the tooltip and the colour legend,
    so shares read as percentages.
    """
    return (
        alt.Chart(_checked(frame))
        .mark_rect()
        .encode(
            x=alt.X(
                f"{x}:O", title=x_title, sort=x_sort, axis=alt.Axis(labelAngle=0, labelLimit=0)
            ),
            y=alt.Y(f"{y}:O", title=y_title, sort=y_sort, axis=alt.Axis(labelLimit=0)),
            color=alt.Color(
                f"{value}:Q",
                title=unit,
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(format=value_format),
            ),
            tooltip=[
                alt.Tooltip(f"{y}:O", title=y_title),
                alt.Tooltip(f"{x}:O", title=x_title),
                alt.Tooltip(f"{value}:Q", format=value_format, title=unit),
            ],
        )
        .properties(title=title)
    )


def pareto(
    frame: pd.DataFrame, x: str, y: str, title: str, x_title: str, y_title: str
) -> alt.Chart:
    """A concentration (Lorenz-style) curve: cumulative share of value vs of members."""
    line = (
        alt.Chart(_checked(frame))
        .mark_line()
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format="%")),
            y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format="%")),
            tooltip=[alt.Tooltip(f"{x}:Q", format=".0%"), alt.Tooltip(f"{y}:Q", format=".1%")],
        )
    )
    diagonal = (
        alt.Chart(pd.DataFrame({x: [0.0, 1.0], y: [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x=f"{x}:Q", y=f"{y}:Q")
    )
    return (line + diagonal).properties(title=title, height=260)


def frontier(
    frame: pd.DataFrame,
    x: str,
    y: str,
    fields: dict[str, str],
    titles: dict[str, str],
    title: str,
) -> alt.Chart:
    """Every variant of a sweep as a point of two KPIs, coloured by the first field varied.

    Args:
        frame: one row per variant: ``point``, the fields varied (columns named by their
            paths) and the ``x`` and ``y`` KPIs.
        x: the horizontal KPI's column.
        y: the vertical KPI's column.
        fields: each varied field's path -> its name on screen (`policies.field_names`).
        titles: the names of ``x``, ``y`` and ``point`` on screen.
        title: the chart's title.
    """
    # Vega field names cannot hold the paths' dots and brackets: columns f0, f1, ...
    columns = {path: f"f{i}" for i, path in enumerate(fields)}
    data = _checked(frame[["point", *fields, x, y]].rename(columns=columns))
    tooltip = [alt.Tooltip("point:O", title=titles["point"])]
    tooltip += [
        alt.Tooltip(f"{column}:Q", title=fields[path], format=",.4g")
        for path, column in columns.items()
    ]
    tooltip += [
        alt.Tooltip(f"{x}:Q", title=titles["x"], format=",.0f"),
        alt.Tooltip(f"{y}:Q", title=titles["y"], format=",.0f"),
    ]
    first = next(iter(fields))
    return (
        alt.Chart(data)
        .mark_circle(size=90, opacity=0.85)
        .encode(
            x=alt.X(f"{x}:Q", title=titles["x"]),
            y=alt.Y(f"{y}:Q", title=titles["y"]),
            color=alt.Color(
                f"{columns[first]}:Q", title=fields[first], scale=alt.Scale(scheme="viridis")
            ),  # fmt: skip
            tooltip=tooltip,
        )
        .properties(title=title, height=380)
    )


def roll_forward(frame: pd.DataFrame, title: str, unit: str, labels: dict[str, str]) -> alt.Chart:
    """Monthly movements (issued up, redeemed and expired down) with the closing balance.

    Colours follow the movement keys (`MOVEMENT_COLORS`), whatever the labels' language;
    the closing line has its own legend entry.

    Args:
        frame: columns ``month``, ``issued``, ``redeemed``, ``expired``, ``closing``.
        title: chart title.
        unit: y-axis unit.
        labels: display names of the four series, by key.
    """
    data = _checked(frame)
    keys = ["issued", "redeemed", "expired", "closing"]
    named = {key: labels[key] for key in keys}
    scale = keyed_scale(named, MOVEMENT_COLORS)
    moves = data.melt(id_vars="month", value_vars=keys[:3])
    moves["value"] = moves["value"].where(moves["variable"] == "issued", -moves["value"])
    moves["series"] = moves["variable"].map(labels)
    x = alt.X("month:O", title=None, axis=alt.Axis(labelAngle=0))
    bars_layer = (
        alt.Chart(moves)
        .mark_bar(opacity=0.85)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=unit),
            color=alt.Color("series:N", scale=scale, legend=_legend(direction="horizontal")),
            xOffset=alt.XOffset("series:N", sort=list(named.values())[:3]),
            tooltip=[
                alt.Tooltip("month:O", title=None),
                alt.Tooltip("series:N", title=None),
                alt.Tooltip("value:Q", format=",.0f", title=unit),
            ],
        )
    )
    closing = data.assign(series=labels["closing"])
    line_layer = (
        alt.Chart(closing)
        .mark_line(point=True)
        .encode(
            x=x,
            y="closing:Q",
            color=alt.Color("series:N", scale=scale, legend=_legend(direction="horizontal")),
            tooltip=[
                alt.Tooltip("month:O", title=None),
                alt.Tooltip("closing:Q", format=",.0f", title=labels["closing"]),
            ],
        )
    )
    return (bars_layer + line_layer).properties(title=title, height=300)


TORNADO_COLOURS = {"low": "#4c78a8", "high": "#f58518"}
"""Colour of each case of a sensitivity, by key (the legend shows the translated label)."""


def tornado(
    frame: pd.DataFrame, title: str, unit: str, cases: dict[str, str], value_format: str = ",.0f"
) -> alt.Chart:
    """A tornado chart: the change of one figure when each input moves down or up.

    Args:
        frame: ``driver`` (display name), ``case`` (``low``/``high``), ``change``; drivers
            are sorted by their widest swing.
        title: chart title.
        unit: x-axis unit.
        cases: display names of ``low`` and ``high``.
        value_format: d3 format of the change in tooltips.
    """
    data = _checked(frame).copy()
    data["case_label"] = data["case"].map(cases)
    swing = data.groupby("driver")["change"].apply(lambda v: v.abs().max())
    order = list(swing.sort_values(ascending=False).index)
    keys = [k for k in ("low", "high") if k in cases]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("driver:N", sort=order, title=None, axis=alt.Axis(labelLimit=240)),
            x=alt.X("change:Q", title=unit),
            color=alt.Color(
                "case_label:N",
                title=None,
                scale=alt.Scale(
                    domain=[cases[k] for k in keys], range=[TORNADO_COLOURS[k] for k in keys]
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("driver:N"),
                alt.Tooltip("case_label:N"),
                alt.Tooltip("change:Q", format=value_format),
            ],
        )
        # A step height: Streamlit squeezes a fixed pixel height of a nominal axis.
        .properties(title=title, height=alt.Step(36))
    )
