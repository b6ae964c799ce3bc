"""A client-ready report of a forecast: one self-contained HTML file, in English or Chinese.

`build_report` turns a results document of ``python -m simulations run`` (and optionally
others to compare and a backtest document) into HTML that needs no network to open: the
charts are embedded as SVG rendered offline (vl-convert), the styles are inline, and the
page prints to PDF from any browser (one section per printed page where it fits).

What it holds, in order: the policy in plain words (tiers, points, expiry, redemption,
campaigns), the headline KPIs with P10–P90, charts (revenue, points flows, outstanding points,
liability, active members), the monthly points roll-forward (mean across replications, so it
balances exactly), the IFRS 15 / CAS 14 deferral schedule (`simulations.deferral`), the
comparison with other scenarios, the assumptions (each behavior parameter, and whether it
was estimated, set by a user or a default), and the backtest when one is given.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from policies.field_names import tier_name
from policies.io import policy_from_dict
from policies.model import CAMPAIGN_KIND_LABELS, Policy
from simulations.behavior import (
    ASSUMED,
    SET_BY_USER,
    BehaviorParams,
    flat_parameters,
    parameter_sources,
)
from simulations.deferral import COLUMN_LABELS
from simulations.finance import MOVEMENT_LABELS
from simulations.results import KPI_UNITS, LABELS, across_replications, quantile_bands

__all__ = [
    "ReportError",
    "build_report",
    "chart_files",
    "figure_label",
    "load_document",
    "report_charts",
    "results_document",
]

LANGS = ("en", "zh")

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Membership program forecast", "zh": "会员计划预测报告"},
    "generated": {"en": "Prepared {date} with MemberLab", "zh": "{date} 由 MemberLab 生成"},
    "inputs": {
        "en": "{members} members · {months} months from {start} · {reps} replications · "
        "seed {seed}",
        "zh": "会员 {members} 人 · 自 {start} 起 {months} 个月 · {reps} 次重复模拟 · "
        "随机种子 {seed}",
    },
    "policy": {"en": "The policy", "zh": "会员规则"},
    "tiers": {"en": "Tiers", "zh": "会员等级"},
    "tier": {"en": "Tier", "zh": "等级"},
    "threshold": {"en": "Qualifying {metric}", "zh": "晋级门槛（{metric}）"},
    "metric.spend": {"en": "spend", "zh": "消费额"},
    "metric.purchases": {"en": "purchases", "zh": "购买次数"},
    "metric.points": {"en": "points", "zh": "积分"},
    "earn_multiplier": {"en": "Earn multiplier", "zh": "积分倍数"},
    "discount": {"en": "Member discount", "zh": "会员折扣"},
    "birthday": {"en": "Birthday bonus points", "zh": "生日奖励积分"},
    "points_rules": {"en": "Points", "zh": "积分规则"},
    "earn": {
        "en": "{points} point(s) per {symbol}{amount} spent ({basis} amount)",
        "zh": "每消费 {symbol}{amount} 得 {points} 分（按{basis}金额）",
    },
    "basis.net": {"en": "net", "zh": "实付"},
    "basis.gross": {"en": "gross", "zh": "原价"},
    "value": {
        "en": "A point is worth {symbol}{value} when redeemed and costs the company {symbol}{cost}",
        "zh": "每积分兑换价值 {symbol}{value}，公司成本 {symbol}{cost}",
    },
    "minimum": {"en": "Redeem from {points} points", "zh": "满 {points} 积分可兑换"},
    "windows": {"en": "Redemption windows: {windows}", "zh": "兑换时段：{windows}"},
    "anytime": {"en": "Redemption any time", "zh": "随时可兑换"},
    "expiry.none": {"en": "Points never expire", "zh": "积分永久有效"},
    "expiry.rolling": {
        "en": "Points expire {months} months after they are earned",
        "zh": "积分自获得起 {months} 个月后过期",
    },
    "expiry.fixed_date": {
        "en": "Points expire on a fixed date each year ({month}/{day})",
        "zh": "积分每年固定日期（{month}月{day}日）过期",
    },
    "expiry.inactivity": {
        "en": "Points expire after {months} months without a purchase",
        "zh": "连续 {months} 个月无消费则积分过期",
    },
    "campaigns": {"en": "Campaign calendar", "zh": "营销活动日历"},
    "campaign": {"en": "Campaign", "zh": "活动"},
    "kind": {"en": "Kind", "zh": "类型"},
    "dates": {"en": "Dates", "zh": "日期"},
    "offer": {"en": "Offer", "zh": "优惠"},
    "no_campaigns": {"en": "No campaigns.", "zh": "无营销活动。"},
    "kpis": {"en": "Headline results", "zh": "核心指标"},
    "kpi": {"en": "Measure", "zh": "指标"},
    "p10": {"en": "P10 (low)", "zh": "P10（低）"},
    "p50": {"en": "P50 (median)", "zh": "P50（中位）"},
    "p90": {"en": "P90 (high)", "zh": "P90（高）"},
    "kpis_note": {
        "en": "Totals over the horizon unless the name says end or closing. P10–P90: 8 in 10 "
        "replications fall in this range.",
        "zh": "除“期末”类指标外均为预测期合计。P10–P90：十次模拟中有八次落在此区间。",
    },
    "charts": {"en": "Charts", "zh": "图表"},
    "month": {"en": "Month", "zh": "月份"},
    "median_band": {"en": "median, P10–P90 band", "zh": "中位数，P10–P90 区间"},
    "rollforward": {"en": "Points roll-forward", "zh": "积分变动表"},
    "rollforward_note": {
        "en": "Mean across replications, so every month balances: opening + issued − redeemed "
        "− expired = closing.",
        "zh": "各次模拟的平均值，因此每月都满足：期初 + 发放 − 兑换 − 过期 = 期末。",
    },
    "deferral": {
        "en": "Deferred revenue (IFRS 15 / CAS 14)",
        "zh": "递延收入（IFRS 15 / 企业会计准则第14号）",
    },
    "deferral_note": {
        "en": "Part of each sale is allocated to the points at relative stand-alone selling "
        "price (point value {symbol}{value} × expected redemption {urr}) and recognised as "
        "points are redeemed; expected breakage in proportion to redemptions.",
        "zh": "每笔销售中按相对单独售价分摊给积分的部分（积分价值 {symbol}{value} × 预计兑换率 "
        "{urr}）计入合同负债，在积分兑换时确认收入；预计未兑换部分按兑换进度确认。",
    },
    "deferral_missing": {
        "en": "No schedule: {reason}. A forecast needs redemptions (a horizon that includes a "
        "redemption window) to estimate the expected redemption rate.",
        "zh": "无法生成递延收入表：{reason}。"
        "预测期内需有积分兑换（包含兑换时段）才能估计预计兑换率。",
    },
    "compare": {"en": "Scenarios compared", "zh": "方案对比"},
    "scenario": {"en": "Scenario", "zh": "方案"},
    "assumptions": {"en": "Assumptions", "zh": "模型假设"},
    "parameter": {"en": "Parameter", "zh": "参数"},
    "value_col": {"en": "Value", "zh": "取值"},
    "source": {"en": "Source", "zh": "来源"},
    "source.estimated": {"en": "estimated from the data", "zh": "由数据估计"},
    "source.user": {"en": "set by a user", "zh": "用户设定"},
    "source.default": {"en": "default (literature)", "zh": "默认值（文献）"},
    "source.derived": {"en": "derived from the estimates", "zh": "由估计值推导"},
    "source.neutral": {"en": "not estimated: neutral (1)", "zh": "未估计：取中性值（1）"},
    "source.assumed": {
        "en": "assumed (literature; cannot be estimated from your data)",
        "zh": "假设值（文献；无法根据您的数据估计）",
    },
    "source.unknown": {"en": "not recorded", "zh": "未记录"},
    "backtest": {"en": "Backtest against history", "zh": "历史回测"},
    "backtest_note": {
        "en": "Calibrated on data up to {cutoff}, forecast the next months and compared with "
        "what was recorded. Error = P50 ÷ actual − 1. Coverage: {coverage} of monthly actuals "
        "inside P10–P90.",
        "zh": "以 {cutoff} 之前的数据校准，预测之后各月并与实际记录对比。误差 = P50 ÷ 实际 − 1。"
        "覆盖率：{coverage} 的月度实际值落在 P10–P90 之内。",
    },
    "actual": {"en": "Actual", "zh": "实际"},
    "engine": {"en": "MemberLab (P50)", "zh": "MemberLab（P50）"},
    "references": {
        "en": "Error against forecasts made without MemberLab",
        "zh": "与不使用 MemberLab 的预测方法对比（误差）",
    },
    "ref.seasonal_naive": {"en": "Same month last year", "zh": "去年同月"},
    "ref.bgnbd_gamma_gamma": {"en": "BG/NBD + Gamma-Gamma", "zh": "BG/NBD + Gamma-Gamma"},
    "error": {"en": "Error", "zh": "误差"},
    "breakage": {"en": "Breakage", "zh": "积分沉淀率"},
    "breakage_line": {
        "en": "Breakage (expired ÷ (redeemed + expired)): forecast {forecast}, history {actual}",
        "zh": "沉淀率（过期 ÷（兑换 + 过期））：预测 {forecast}，历史 {actual}",
    },
    "axis.points": {"en": "Points", "zh": "积分"},
    "footer": {
        "en": "Forecasts are simulations of member behavior under stated assumptions, not "
        "guarantees. Figures in {currency}.",
        "zh": "预测为基于上述假设的会员行为模拟，并非保证。金额单位：{currency}。",
    },
}

# Chart colours are fixed by series key, never by the translated label.
SERIES_COLOURS = {
    "issued": "#2f6fb0",
    "redeemed": "#2a9d5b",
    "expired": "#d1495b",
    "closing": "#6c4f9c",
}
SCENARIO_COLOURS = ("#2f6fb0", "#e07b22", "#2a9d5b", "#9c4f96", "#7a7a7a")

CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei",
       "Source Han Sans SC", "Helvetica Neue", Arial, sans-serif; color: #1d2530;
       margin: 2rem auto; max-width: 980px; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #2f6fb0; padding-bottom: .2rem;
     margin-top: 2rem; break-after: avoid; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
.meta { color: #566171; font-size: .9rem; }
.note { color: #566171; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #d9dee5; padding: .3rem .45rem; text-align: right; }
th { background: #f1f4f8; }
th:first-child, td:first-child { text-align: left; }
td.text { text-align: left; }
.chart { margin: .6rem 0 1rem; break-inside: avoid; }
.chart svg { max-width: 100%; height: auto; }
section { break-inside: auto; }
@media print { body { margin: 0; max-width: none; } h2 { break-before: auto; }
  .chart, table { break-inside: avoid; } }
"""


class ReportError(ValueError):
    """A results, comparison or backtest document the report cannot read (says which, why)."""


def load_document(path: str | Path, what: str = "results") -> dict:
    """Read a JSON document written by ``python -m simulations run`` (or ``backtest``).

    Raises:
        ReportError: the file is missing, not JSON, or not a document of that kind.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read the {what} ({type(exc).__name__}: {exc})") from None
    needed = ("summary", "monthly") if what == "results" else ("summary",)
    if not isinstance(document, dict) or any(key not in document for key in needed):
        raise ReportError(
            f"{path}: not a {what} document of `python -m simulations "
            f"{'run' if what == 'results' else 'backtest'}` (needs {', '.join(needed)})"
        )
    return document


def results_document(result, policy: Policy) -> dict:
    """The results document of a simulation (what ``python -m simulations run`` writes).

    Args:
        result: a `simulations.SimulationResult`.
        policy: the policy simulated (stored in the document so a report can describe it).
    """
    from policies.io import policy_to_dict
    from simulations.results import KEYS, KPI_UNITS, metric

    document = json.loads(result.to_json())
    return {
        "summary": document["summary"],
        "monthly": document["monthly"],
        "tier_migration": document["tier_migration"],
        "cohort_retention": json.loads(result.cohort_retention().to_json(orient="records")),
        "breakage": result.breakage,
        "policy_id": result.policy_id,
        "seed": result.seed,
        "inputs": document["inputs"],
        "policy": policy_to_dict(policy),
        "units": {
            "summary": {kpi: KPI_UNITS[kpi] for kpi in document["summary"]},
            "monthly": {
                column: metric(column).unit for column in result.monthly if column not in KEYS
            },
        },
    }


# -- Formatting ----------------------------------------------------------------------------


def _t(key: str, lang: str, **fmt: Any) -> str:
    entry = TEXT[key]
    return entry.get(lang, entry["en"]).format(**fmt)


def figure_label(key: str, lang: str) -> str:
    """The screen name of a declared figure, as the app shows it (`results.LABELS`).

    Args:
        key: ``kpi.<name>`` or ``metric.<name>``; a bare name is read as a KPI if one is
            declared, else as a monthly metric (a backtest names its measures so).
        lang: ``en`` or ``zh``.
    """
    keys = [key] if "." in key else [f"kpi.{key}", f"metric.{key}"]
    entry = next((LABELS[k] for k in keys if k in LABELS), None)
    return entry[lang] if entry else key.replace("_", " ")


def _number(value: Any, decimals: int = 0) -> str:
    if value is None:
        return ""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if not math.isfinite(value):
        return ""
    if abs(value) < 0.5 * 10 ** (-decimals):
        value = 0.0
    return f"{value:,.{decimals}f}"


def _format(value: Any, unit: str, symbol: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if unit == "currency":
        text = _number(value)
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    if unit == "share":
        return f"{float(value):.1%}"
    if unit == "ratio":
        return f"{float(value):.2f}"
    return _number(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns=(0,)) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="text"' if i in text_columns else ""
            cells.append(f"<td{css}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# -- The policy in plain words -------------------------------------------------------------


def _policy_section(policy: Policy, lang: str) -> str:
    symbol = policy.program.currency_symbol
    tiers = policy.tiers
    metric = _t(f"metric.{tiers.qualifying_metric}", lang)
    money = tiers.qualifying_metric == "spend"
    rows = []
    for tier in tiers.tiers:
        name = tier_name(tier.name, tier.label, lang)
        b = tier.benefits
        threshold = f"{symbol}{_number(tier.threshold)}" if money else _number(tier.threshold)
        rows.append(
            [
                html.escape(name),
                threshold,
                f"×{b.earn_multiplier:g}",
                f"{b.discount_pct:g}%",
                _number(b.birthday_bonus_points),
            ]
        )
    parts = [f"<h2>{_t('policy', lang)}</h2>", f"<h3>{_t('tiers', lang)}</h3>"]
    header = [_t("tier", lang), _t("threshold", lang, metric=metric), _t("earn_multiplier", lang),
              _t("discount", lang), _t("birthday", lang)]  # fmt: skip
    parts.append(_table(header, rows))
    points = policy.points
    earn = points.earn
    redemption = points.redemption
    lines = [
        _t("earn", lang, points=f"{earn.points_per_unit:g}", symbol=symbol,
           amount=_number(earn.per_amount, 2).rstrip("0").rstrip("."),
           basis=_t(f"basis.{earn.basis}", lang)),
        _t("value", lang, symbol=symbol, value=f"{redemption.point_value:g}",
           cost=f"{redemption.cost_per_point:g}"),
        _t("minimum", lang, points=_number(redemption.minimum_points)),
    ]  # fmt: skip
    if redemption.windows:
        shown = ", ".join(
            f"{w.start_month}/{w.start_day}–{w.end_month}/{w.end_day}" for w in redemption.windows
        )
        lines.append(_t("windows", lang, windows=shown))
    else:
        lines.append(_t("anytime", lang))
    expiry = policy.expiry.model_dump()
    kind = expiry.get("kind", "none")
    lines.append(_t(f"expiry.{kind}", lang, **{k: v for k, v in expiry.items() if k != "kind"}))
    parts.append(f"<h3>{_t('points_rules', lang)}</h3>")
    parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")
    parts.append(f"<h3>{_t('campaigns', lang)}</h3>")
    if not policy.campaigns:
        parts.append(f"<p>{_t('no_campaigns', lang)}</p>")
    else:
        rows = []
        for c in policy.campaigns:
            offer = []
            if getattr(c, "points_multiplier", 1) not in (None, 1, 1.0):
                offer.append(f"×{c.points_multiplier:g} " + _t("metric.points", lang))
            if getattr(c, "discount_pct", 0):
                offer.append(f"{c.discount_pct:g}% " + _t("discount", lang))
            if c.kind == "threshold_reduction" and c.threshold > 0:
                offer.append(
                    f"满{symbol}{_number(c.threshold)}减{symbol}{_number(c.reduction)}"
                    if lang == "zh"
                    else f"{symbol}{_number(c.reduction)} off every {symbol}{_number(c.threshold)}"
                )
            kind_label = CAMPAIGN_KIND_LABELS[c.kind][lang]
            rows.append([html.escape(c.name), html.escape(kind_label),
                         f"{c.start.isoformat()} – {c.end.isoformat()}",
                         html.escape("; ".join(offer))])  # fmt: skip
        header = [_t("campaign", lang), _t("kind", lang), _t("dates", lang), _t("offer", lang)]
        parts.append(_table(header, rows, text_columns=(0, 1, 2, 3)))
    return "<section>" + "".join(parts) + "</section>"


# -- Charts --------------------------------------------------------------------------------


def _fan(monthly: pd.DataFrame, column: str, title: str, lang: str, unit: str) -> alt.Chart:
    data = quantile_bands(monthly, column).assign(month=lambda f: f["month"].astype(str))
    base = alt.Chart(data).encode(
        x=alt.X("month:O", title=_t("month", lang), axis=alt.Axis(labelAngle=-45))
    )
    band = base.mark_area(opacity=0.2, color=SCENARIO_COLOURS[0]).encode(
        y=alt.Y("p10:Q", title=unit), y2="p90:Q"
    )
    line = base.mark_line(color=SCENARIO_COLOURS[0], strokeWidth=2).encode(y="p50:Q")
    return (band + line).properties(
        title=alt.Title(title, subtitle=_t("median_band", lang)), width=820, height=220
    )


def _flows(monthly: pd.DataFrame, lang: str) -> alt.Chart:
    means = monthly.groupby("month", sort=True)[
        ["points_issued", "points_redeemed", "points_expired", "points_closing"]
    ].mean()
    keys = ["issued", "redeemed", "expired", "closing"]
    frame = means.reset_index().melt(id_vars="month", var_name="column", value_name="points")
    frame["key"] = frame["column"].str.replace("points_", "", regex=False)
    frame["series"] = [getattr(MOVEMENT_LABELS[k], lang) for k in frame["key"]]
    frame["month"] = frame["month"].astype(str)
    labels = [getattr(MOVEMENT_LABELS[k], lang) for k in keys]
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=labels, range=[SERIES_COLOURS[k] for k in keys]),
        legend=alt.Legend(orient="top", labelLimit=0),
    )
    return (
        alt.Chart(frame)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("month:O", title=_t("month", lang), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("points:Q", title=_t("axis.points", lang)),
            color=colour,
        )
        .properties(title=_t("rollforward", lang), width=820, height=240)
    )  # fmt: skip


def report_charts(document: dict, lang: str = "en") -> dict[str, alt.Chart]:
    """The report's charts of one results document, by file-friendly name."""
    monthly = pd.DataFrame(document["monthly"])
    if "replication" not in monthly:
        monthly["replication"] = 0
    currency = document.get("inputs", {}).get("currency", "CNY")
    charts: dict[str, alt.Chart] = {}
    for column, unit in (
        ("revenue_net", currency),
        ("active_members", figure_label("metric.active_members", lang)),
        ("points_closing", figure_label("metric.points_closing", lang)),
        ("liability", currency),
    ):
        if column in monthly:
            charts[column] = _fan(
                monthly, column, figure_label(f"metric.{column}", lang), lang, unit
            )
    if {"points_issued", "points_redeemed", "points_expired", "points_closing"} <= set(monthly):
        charts["points_flows"] = _flows(monthly, lang)
    return charts


def _svg(chart: alt.Chart) -> str:
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_json())
    # vl-convert writes an XML prolog; inline SVG in HTML must start at <svg.
    return svg[svg.index("<svg") :]


def chart_files(document: dict, folder: str | Path, lang: str = "en") -> list[Path]:
    """Write each chart as SVG and PNG (rendered offline) into ``folder``; returns the files."""
    import vl_convert as vlc

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, chart in report_charts(document, lang).items():
        spec = chart.to_json()
        svg_path = folder / f"{name}.svg"
        svg_path.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
        png_path = folder / f"{name}.png"
        png_path.write_bytes(vlc.vegalite_to_png(spec, scale=2))
        written += [svg_path, png_path]
    return written


# -- Sections ------------------------------------------------------------------------------


def _policy_of(document: dict) -> Policy | None:
    data = document.get("policy")
    if not isinstance(data, Mapping):
        return None
    try:
        return policy_from_dict(dict(data), source="results policy")
    except ValueError:
        return None


def _kpi_section(document: dict, lang: str, symbol: str) -> str:
    units = document.get("units", {}).get("summary", {})
    rows = []
    for kpi, bands in document["summary"].items():
        unit = units.get(kpi) or KPI_UNITS.get(kpi, "")
        rows.append([html.escape(figure_label(f"kpi.{kpi}", lang)), *(
            _format(bands.get(q), unit, symbol) for q in ("p10", "p50", "p90"))])  # fmt: skip
    header = [_t("kpi", lang), _t("p10", lang), _t("p50", lang), _t("p90", lang)]
    return (
        f"<section><h2>{_t('kpis', lang)}</h2>{_table(header, rows)}"
        f"<p class='note'>{_t('kpis_note', lang)}</p></section>"
    )


def _rollforward_section(document: dict, lang: str, symbol: str) -> str:
    monthly = pd.DataFrame(document["monthly"])
    columns = ["points_opening", "points_issued", "points_redeemed", "points_expired",
               "points_closing"]  # fmt: skip
    if not set(columns) <= set(monthly):
        return ""
    means = across_replications(monthly, columns)  # the mean: every month balances
    rows = [
        [html.escape(str(row["month"])), *(_number(row[c]) for c in columns)]
        for _, row in means.iterrows()
    ]
    header = [getattr(COLUMN_LABELS["period"], lang)] + [
        getattr(MOVEMENT_LABELS[c.removeprefix("points_")], lang) for c in columns
    ]
    return (
        f"<section><h2>{_t('rollforward', lang)}</h2>{_table(header, rows)}"
        f"<p class='note'>{_t('rollforward_note', lang)}</p></section>"
    )


def _deferral_section(
    document: dict, policy: Policy | None, lang: str, symbol: str, point_value: float | None
) -> str:
    from simulations import deferral

    if policy is None or "breakage" not in document:
        return ""
    monthly = pd.DataFrame(document["monthly"])
    if "replication" not in monthly:
        monthly["replication"] = 0
    urr = 1.0 - float(document["breakage"])
    value = policy.points.redemption.point_value if point_value is None else point_value
    try:
        periods, opening = deferral.periods_from_monthly(monthly, urr)
        schedule = deferral.deferral_schedule(
            periods,
            point_value=value,
            opening_points=opening,
            opening_liability=deferral.opening_allocation(periods, opening, value),
        )
    except (deferral.PeriodsError, KeyError) as exc:
        # Say why the schedule is missing rather than leaving a silent gap.
        reason = html.escape(str(exc))
        return (
            f"<section><h2>{_t('deferral', lang)}</h2>"
            f"<p class='note'>{_t('deferral_missing', lang, reason=reason)}</p></section>"
        )
    columns = ["sales", "allocated_to_points", "revenue_goods", "revenue_points",
               "contract_liability_closing"]  # fmt: skip
    rows = [
        [html.escape(str(r["period"])), *(_format(r[c], "currency", symbol) for c in columns)]
        for _, r in schedule.iterrows()
    ]
    header = [getattr(COLUMN_LABELS[c], lang) for c in ("period", *columns)]
    note = _t("deferral_note", lang, symbol=symbol, value=f"{value:g}", urr=f"{urr:.1%}")
    return (
        f"<section><h2>{_t('deferral', lang)}</h2>{_table(header, rows)}"
        f"<p class='note'>{html.escape(note)}</p></section>"
    )


def _compare_section(documents: Sequence[dict], names: Sequence[str], lang: str,
                     symbol: str) -> str:  # fmt: skip
    if len(documents) < 2:
        return ""
    kpis = list(documents[0]["summary"])
    units = documents[0].get("units", {}).get("summary", {})
    rows = []
    for kpi in kpis:
        unit = units.get(kpi) or KPI_UNITS.get(kpi, "")
        cells = [_format(d["summary"].get(kpi, {}).get("p50"), unit, symbol) for d in documents]
        rows.append([html.escape(figure_label(f"kpi.{kpi}", lang)), *cells])
    header = [_t("kpi", lang), *(html.escape(n) for n in names)]
    return (
        f"<section><h2>{_t('compare', lang)}</h2>"
        f"<p class='note'>{_t('p50', lang)}</p>{_table(header, rows)}</section>"
    )


_SOURCE_KEYS = {
    "estimated": "source.estimated",
    "derived": "source.derived",
    "not estimated: neutral": "source.neutral",
    ASSUMED: "source.assumed",
    SET_BY_USER: "source.user",
}


def _source_key(source: str) -> str:
    if source in _SOURCE_KEYS:
        return _SOURCE_KEYS[source]
    return "source.default" if source.startswith("default") else "source.unknown"


def _assumptions_section(document: dict, lang: str) -> str:
    """Every behavior parameter with its value and source (`parameter_sources`).

    Estimated, derived, default or *assumed* (a parameter no calibration can estimate, such
    as the response to the reward rate): the reader sees which numbers nobody estimated.
    """
    behavior = document.get("inputs", {}).get("behavior")
    if not isinstance(behavior, Mapping):
        return ""
    try:
        params = BehaviorParams.model_validate(behavior)
    except ValueError as exc:
        raise ReportError(f"inputs.behavior of the results is not valid: {exc}") from None
    sources = parameter_sources(params)
    rows = []
    for name, value in flat_parameters(params).items():
        if isinstance(value, list | tuple):
            shown = ", ".join(_number(v, 4).rstrip("0").rstrip(".") for v in value)
        elif value is None or isinstance(value, str):
            shown = "–" if value is None else value
        else:
            shown = _number(value, 4).rstrip("0").rstrip(".")
        source = _t(_source_key(sources.get(name, "")), lang)
        rows.append([html.escape(name), html.escape(str(shown)), html.escape(source)])
    header = [_t("parameter", lang), _t("value_col", lang), _t("source", lang)]
    return f"<section><h2>{_t('assumptions', lang)}</h2>{_table(header, rows, (0, 2))}</section>"


def _backtest_section(backtest: dict | None, lang: str, symbol: str) -> str:
    if not backtest:
        return ""
    summary = pd.DataFrame(backtest.get("summary", []))
    if summary.empty:
        return ""
    if "segment" in summary:
        summary = summary[summary["segment"] == "all"]
    rows = []
    for _, r in summary.iterrows():
        unit = "currency" if "revenue" in str(r["metric"]) else ""
        error = r.get("error")
        rows.append([
            html.escape(figure_label(str(r["metric"]), lang)),
            _format(r.get("actual"), unit, symbol),
            _format(r.get("p10"), unit, symbol),
            _format(r.get("p50"), unit, symbol),
            _format(r.get("p90"), unit, symbol),
            _signed(error),
        ])  # fmt: skip
    header = [_t("kpi", lang), _t("actual", lang), _t("p10", lang), _t("p50", lang),
              _t("p90", lang), _t("error", lang)]  # fmt: skip
    coverage = backtest.get("coverage")
    if isinstance(coverage, Mapping):
        coverage = coverage.get("share")
    coverage_text = f"{float(coverage):.0%}" if isinstance(coverage, int | float) else "–"
    cutoff = backtest.get("inputs", {}).get("cutoff", backtest.get("cutoff", "–"))
    note = _t("backtest_note", lang, cutoff=cutoff, coverage=coverage_text)
    extra = ""
    breakage = backtest.get("breakage")
    if isinstance(breakage, Mapping):
        forecast = breakage.get("forecast", breakage.get("p50"))
        actual = breakage.get("actual", breakage.get("history"))
        if isinstance(forecast, Mapping):
            forecast = forecast.get("p50")
        if isinstance(forecast, int | float) and isinstance(actual, int | float):
            line = _t("breakage_line", lang, forecast=f"{forecast:.1%}", actual=f"{actual:.1%}")
            extra = f"<p>{html.escape(line)}</p>"
    return (
        f"<section><h2>{_t('backtest', lang)}</h2><p class='note'>{html.escape(note)}</p>"
        f"{_table(header, rows)}{extra}{_references_table(backtest, summary, lang)}</section>"
    )


def _references_table(backtest: dict, summary: pd.DataFrame, lang: str) -> str:
    """Horizon errors of the engine next to the reference forecasts, metric by metric."""
    refs = pd.DataFrame(backtest.get("references", {}).get("summary", []))
    if refs.empty or "reference" not in refs:
        return ""
    refs = refs[refs["segment"] == "all"] if "segment" in refs else refs
    names = list(dict.fromkeys(refs["reference"]))
    rows = []
    for _, r in summary.iterrows():
        cells = [html.escape(figure_label(str(r["metric"]), lang)), _signed(r.get("error"))]
        for name in names:
            match = refs[(refs["reference"] == name) & (refs["metric"] == r["metric"])]
            cells.append(_signed(match["error"].iloc[0]) if len(match) else "")
        rows.append(cells)
    header = [_t("kpi", lang), _t("engine", lang)] + [
        _t(f"ref.{n}", lang) if f"ref.{n}" in TEXT else n for n in names
    ]
    return f"<h3>{_t('references', lang)}</h3>{_table(header, rows)}"


def _signed(error: Any) -> str:
    if error is None or pd.isna(error):
        return ""
    return f"{float(error):+.1%}"


# -- The report ----------------------------------------------------------------------------


def build_report(
    results: dict,
    compare: Sequence[dict] = (),
    backtest: dict | None = None,
    lang: str = "en",
    policy: Policy | None = None,
    today: dt.date | None = None,
    names: Sequence[str] | None = None,
    point_value: float | None = None,
) -> str:
    """The whole report as one self-contained HTML document.

    Args:
        results: a results document of ``python -m simulations run``.
        compare: other results documents shown side by side with it.
        backtest: a backtest document of ``python -m simulations backtest``.
        lang: ``en`` or ``zh``.
        policy: the simulated policy (default: the one stored in ``results``).
        today: the date printed on the report (default: today).
        names: column names of the compared scenarios (default: their policy names).
        point_value: value per point (selling price) of the deferral schedule (default: the
            policy's, as on the Finance page until a user changes it there).

    Raises:
        ReportError: an unknown language.
    """
    if lang not in LANGS:
        raise ReportError(f"lang(={lang!r}) must be one of {', '.join(LANGS)}")
    policy = policy or _policy_of(results)
    inputs = results.get("inputs", {})
    symbol = policy.program.currency_symbol if policy else "¥"
    currency = policy.program.currency if policy else inputs.get("currency", "CNY")
    name = policy.program.name if policy else inputs.get("policy_name", "")
    population = inputs.get("population", {})
    meta = _t(
        "inputs",
        lang,
        members=_number(population.get("members")),
        months=inputs.get("months", "–"),
        start=inputs.get("start", "–"),
        reps=inputs.get("replications", "–"),
        seed=results.get("seed", "–"),
    )
    charts = "".join(
        f"<div class='chart'>{_svg(chart)}</div>" for chart in report_charts(results, lang).values()
    )
    if names is None:
        names = [name] + [
            (d.get("inputs", {}).get("policy_name") or f"#{i + 2}") for i, d in enumerate(compare)
        ]
    body = [
        f"<h1>{html.escape(_t('title', lang))}: {html.escape(name)}</h1>",
        f"<p class='meta'>{html.escape(meta)}<br>"
        f"{_t('generated', lang, date=(today or dt.date.today()).isoformat())}</p>",
        _policy_section(policy, lang) if policy else "",
        _kpi_section(results, lang, symbol),
        f"<section><h2>{_t('charts', lang)}</h2>{charts}</section>",
        _rollforward_section(results, lang, symbol),
        _deferral_section(results, policy, lang, symbol, point_value),
        _compare_section([results, *compare], names, lang, symbol),
        _backtest_section(backtest, lang, symbol),
        _assumptions_section(results, lang),
        f"<p class='note'>{html.escape(_t('footer', lang, currency=currency))}</p>",
    ]
    html_lang = "zh-CN" if lang == "zh" else "en"
    title = html.escape(f"{_t('title', lang)}: {name}")
    return (
        f"<!DOCTYPE html><html lang='{html_lang}'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>"
    )


# -- Command line --------------------------------------------------------------------------


def add_parser(sub) -> None:
    """Add ``report`` to the ``python -m simulations`` sub-commands."""
    report = sub.add_parser(
        "report",
        help="a self-contained HTML report of a forecast (English or Chinese)",
        description="One HTML file with the policy, KPIs with P10-P90, charts, the points "
        "roll-forward, the deferral schedule, comparisons, assumptions and a backtest; opens "
        "offline and prints to PDF from a browser.",
    )
    report.add_argument("--results", required=True, help="results JSON of `simulations run`")
    report.add_argument("--compare", nargs="*", default=[], help="other results JSON files")
    report.add_argument("--backtest", help="backtest JSON of `simulations backtest`")
    report.add_argument("--policy", help="the simulated policy file (default: from the results)")
    report.add_argument("--lang", choices=LANGS, default="en")
    report.add_argument("--charts", help="also write every chart as SVG and PNG into this folder")
    report.add_argument("--out", required=True, help="report HTML file")


def run_cli(args) -> int:
    """Run ``report``; returns the exit status (2: an input it cannot read, nothing written)."""
    import sys

    from policies.errors import PolicyValidationError
    from policies.io import load_policy, write_atomic
    from simulations.command_line import output_problem

    out = Path(args.out)
    problem = output_problem(out)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        results = load_document(args.results)
        compare = [load_document(path) for path in args.compare]
        backtest = load_document(args.backtest, "backtest") if args.backtest else None
        policy = load_policy(args.policy) if args.policy else None
    except (ReportError, PolicyValidationError, OSError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if policy is None and _policy_of(results) is None:
        print(
            f"{args.results} does not hold the policy (results written before reports "
            "existed): add --policy FILE; the report leaves the policy section out",
            file=sys.stderr,
        )
    names = [Path(p).stem for p in [args.results, *args.compare]]
    text = build_report(results, compare, backtest, lang=args.lang, policy=policy, names=names)
    write_atomic(out, text)
    print(f"wrote {out}", file=sys.stderr)
    if args.charts:
        files = chart_files(results, args.charts, lang=args.lang)
        print(f"wrote {len(files)} chart files to {args.charts}", file=sys.stderr)
    return 0
