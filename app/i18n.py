"""Every text the workbench shows, in English and Chinese.

`TEXT` maps a key to ``{"en": ..., "zh": ...}``; `t` looks a key up in the session's
language and fills in ``{placeholders}``. Messages that come from the library (validation
problems, publish errors) are shown as the library wrote them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from policies.model import CAMPAIGN_KIND_LABELS
from simulations import deferral, finance, responses
from simulations.results import LABELS

__all__ = [
    "LANGUAGES",
    "TEXT",
    "current_language",
    "labeler",
    "language_switch",
    "t",
    "translate_uploaders",
]

LANGUAGES = {"en": "English", "zh": "中文"}
_STATE_KEY = "ml_lang"  # app.state.LANGUAGE (kept here to avoid an import cycle)

TEXT: dict[str, dict[str, str]] = {
    # -- navigation and shared -------------------------------------------------------------
    "nav.program": {"en": "Program", "zh": "会员计划"},
    "nav.forecast": {"en": "Forecast", "zh": "预测"},
    "nav.operate": {"en": "Data & publishing", "zh": "数据与发布"},
    "page.overview": {"en": "Overview", "zh": "总览"},
    "page.policy_designer": {"en": "Policy designer", "zh": "规则设计"},
    "page.simulate": {"en": "Simulate", "zh": "模拟"},
    "page.compare": {"en": "Compare", "zh": "方案对比"},
    "page.finance": {"en": "Finance", "zh": "财务"},
    "page.data_calibration": {"en": "Data & calibration", "zh": "数据与校准"},
    "page.publish": {"en": "Publish", "zh": "发布"},
    "language": {"en": "Language / 语言", "zh": "语言 / Language"},
    # -- policy designer ---------------------------------------------------------------------
    "designer.title": {"en": "Policy designer", "zh": "会员规则设计"},
    "designer.current": {
        "en": "Editing **{name}** (from {source}) · content id `{id}`",
        "zh": "正在编辑 **{name}**（来源：{source}）· 内容标识 `{id}`",
    },
    "designer.load": {"en": "Load a policy", "zh": "载入规则"},
    "designer.example": {"en": "Example policy", "zh": "示例规则"},
    "designer.load_example": {"en": "Load example", "zh": "载入示例"},
    "designer.scenario": {"en": "Saved scenario", "zh": "已保存方案"},
    "designer.load_scenario": {"en": "Load scenario", "zh": "载入方案"},
    "designer.no_scenarios": {"en": "No saved scenario yet", "zh": "尚无已保存方案"},
    "designer.delete_scenario": {"en": "Delete scenario", "zh": "删除方案"},
    "designer.loaded": {"en": "Loaded {name}.", "zh": "已载入 {name}。"},
    "designer.deleted": {"en": "Deleted scenario {name}.", "zh": "已删除方案 {name}。"},
    "designer.tab.tiers": {"en": "Tiers", "zh": "会员等级"},
    "designer.tab.points": {"en": "Points economics", "zh": "积分经济"},
    "designer.tab.expiry": {"en": "Expiry & redemption", "zh": "有效期与兑换"},
    "designer.tab.campaigns": {"en": "Campaign calendar", "zh": "活动日历"},
    "designer.tab.file": {"en": "YAML file", "zh": "YAML 文件"},
    "designer.program_name": {"en": "Program name", "zh": "计划名称"},
    "designer.currency": {"en": "Currency (ISO code)", "zh": "币种（ISO 代码）"},
    "designer.currency_symbol": {"en": "Currency symbol", "zh": "货币符号"},
    "designer.metric": {"en": "Qualifying score", "zh": "定级依据"},
    "designer.metric.spend": {"en": "Spend", "zh": "消费金额"},
    "designer.metric.purchases": {"en": "Number of purchases", "zh": "消费次数"},
    "designer.metric.points": {"en": "Points earned", "zh": "获得积分"},
    "designer.period_months": {"en": "Rolling period (months)", "zh": "滚动周期（月）"},
    "designer.downgrade": {"en": "Downgrade", "zh": "降级规则"},
    "designer.downgrade.none": {"en": "Never", "zh": "不降级"},
    "designer.downgrade.at_review": {
        "en": "At review, to the tier earned",
        "zh": "复核时按实际降级",
    },
    "designer.downgrade.one_level": {
        "en": "At review, one level at a time",
        "zh": "复核时每次降一级",
    },
    "designer.grace_months": {"en": "Grace period (months)", "zh": "保级宽限期（月）"},
    "designer.tiers_help": {
        "en": "Entry tier first with threshold 0; thresholds must increase. Add or remove"
        " rows to change the number of tiers.",
        "zh": "第一行为入门等级，门槛为 0；门槛须逐级递增。可增删行以调整等级数量。",
    },
    "designer.bad_table": {
        "en": "The table holds a value that cannot be read: {error}",
        "zh": "表格中有无法识别的值：{error}",
    },
    "designer.earning": {"en": "Earning and bonuses", "zh": "积分获取与奖励"},
    "designer.points_per_unit": {"en": "Points earned", "zh": "获得积分数"},
    "designer.per_amount": {"en": "per amount spent ({symbol})", "zh": "每消费金额（{symbol}）"},
    "designer.rounding": {"en": "Rounding", "zh": "取整方式"},
    "designer.rounding.floor": {"en": "Round down", "zh": "向下取整"},
    "designer.rounding.round": {"en": "Round to nearest", "zh": "四舍五入"},
    "designer.rounding.ceil": {"en": "Round up", "zh": "向上取整"},
    "designer.bonus.signup": {"en": "Sign-up bonus (points)", "zh": "注册奖励（积分）"},
    "designer.bonus.birthday": {"en": "Birthday bonus (points)", "zh": "生日奖励（积分）"},
    "designer.bonus.referral": {"en": "Referral bonus (points)", "zh": "推荐奖励（积分）"},
    "designer.redemption": {"en": "Redemption", "zh": "积分兑换"},
    "designer.point_value": {
        "en": "Point value to members ({symbol})",
        "zh": "每积分面值（{symbol}）",
    },
    "designer.cost_per_point": {
        "en": "Cost per redeemed point ({symbol})",
        "zh": "每积分兑换成本（{symbol}）",
    },
    "designer.minimum_points": {"en": "Minimum balance to redeem", "zh": "最低兑换积分"},
    "designer.unit_points": {"en": "Redeem in multiples of", "zh": "兑换单位（积分）"},
    "designer.economics": {"en": "What a purchase earns", "zh": "每笔消费的积分回馈"},
    "designer.economics_help": {
        "en": "Per {spend} spent, before campaigns and rounding; cost assumes every point is"
        " redeemed.",
        "zh": "每消费 {spend}（不含活动加成与取整）；成本按全部积分均被兑换计算。",
    },
    "designer.expiry_kind": {"en": "Points expiry", "zh": "积分有效期"},
    "designer.expiry.none": {"en": "Never expire", "zh": "永不过期"},
    "designer.expiry.rolling": {
        "en": "N months after the month earned",
        "zh": "获得当月起 N 个月后过期",
    },
    "designer.expiry.fixed_date": {"en": "On a fixed date each year", "zh": "每年固定日期过期"},
    "designer.expiry.inactivity": {
        "en": "After N months without activity",
        "zh": "连续 N 个月无活动后清零",
    },
    "designer.expiry_months": {"en": "Months", "zh": "月数"},
    "designer.expiry_month": {"en": "Month", "zh": "月"},
    "designer.expiry_day": {"en": "Day", "zh": "日"},
    "designer.expiry_years_after": {"en": "Years after earning", "zh": "获得后第几年"},
    "designer.windows": {"en": "Redemption windows", "zh": "兑换开放期"},
    "designer.windows_help": {
        "en": "Members may redeem only inside these windows each year; no rows = any time.",
        "zh": "会员每年仅可在以下时段兑换；不填写则全年可兑换。",
    },
    "designer.campaigns_help": {
        "en": "One row per campaign. Day of month or weekday (0 = Monday) limits the days it"
        " runs; months and target tiers are comma-separated lists (empty = all).",
        "zh": "每行一个活动。可用“每月几号”或“星期几（0 = 周一）”限定活动日；"
        "月份与目标等级用逗号分隔（留空表示全部）。",
    },
    "designer.calendar_year": {"en": "Calendar year", "zh": "日历年份"},
    "designer.calendar_title": {"en": "Campaign calendar {year}", "zh": "{year} 年活动日历"},
    "designer.no_campaigns": {"en": "No campaign runs in {year}.", "zh": "{year} 年没有活动。"},
    "designer.download_yaml": {"en": "Download YAML", "zh": "下载 YAML"},
    "designer.paste_yaml": {
        "en": "Paste a policy (YAML or JSON)",
        "zh": "粘贴规则（YAML 或 JSON）",
    },
    "designer.apply_yaml": {"en": "Use the pasted policy", "zh": "使用粘贴的规则"},
    "designer.pasted": {"en": "The pasted policy", "zh": "粘贴的规则"},
    "designer.invalid_yaml": {
        "en": "The pasted policy was not applied: {count} problem(s).",
        "zh": "粘贴的规则未被采用：共 {count} 处问题。",
    },
    "designer.applied_yaml": {
        "en": "The pasted policy is now being edited.",
        "zh": "已改为编辑粘贴的规则。",
    },
    "designer.your_edits": {"en": "Your edits", "zh": "您的修改"},
    "designer.invalid": {
        "en": "Your last edit was not applied: {count} problem(s) to fix (shown next to the"
        " fields). The policy keeps its last valid version.",
        "zh": "最近一次修改未生效：有 {count} 处问题需修正（见相应字段旁）。"
        "规则保持上一个有效版本。",
    },
    "designer.valid": {"en": "The policy is valid.", "zh": "规则校验通过。"},
    "designer.save_title": {"en": "Save as scenario", "zh": "保存为方案"},
    "designer.scenario_name": {"en": "Scenario name", "zh": "方案名称"},
    "designer.scenario_note": {"en": "Note", "zh": "备注"},
    "designer.save": {"en": "Save scenario", "zh": "保存方案"},
    "designer.saved": {"en": "Saved scenario {name}.", "zh": "已保存方案 {name}。"},
    # -- table columns -----------------------------------------------------------------------
    "col.name": {"en": "Name", "zh": "名称"},
    "col.label": {"en": "Display name", "zh": "显示名称"},
    "col.threshold": {"en": "Threshold", "zh": "门槛"},
    "col.earn_multiplier": {"en": "Points multiplier", "zh": "积分倍数"},
    "col.discount_pct": {"en": "Discount %", "zh": "折扣 %"},
    "col.birthday_bonus_points": {"en": "Birthday points", "zh": "生日积分"},
    "col.gift_cost": {
        "en": "Gift cost / member / year ({symbol})",
        "zh": "每人每年礼遇成本（{symbol}）",
    },
    "col.tier": {"en": "Tier", "zh": "等级"},
    "col.points_per_100": {"en": "Points", "zh": "积分"},
    "col.member_value": {"en": "Value to member ({symbol})", "zh": "会员所得价值（{symbol}）"},
    "col.reward_rate": {"en": "Reward rate", "zh": "回馈率"},
    "col.cost_rate": {"en": "Cost rate", "zh": "成本率"},
    "col.start_month": {"en": "From month", "zh": "起始月"},
    "col.start_day": {"en": "From day", "zh": "起始日"},
    "col.end_month": {"en": "To month", "zh": "结束月"},
    "col.end_day": {"en": "To day", "zh": "结束日"},
    "col.id": {"en": "Id", "zh": "编号"},
    "col.kind": {"en": "Kind", "zh": "类型"},
    "col.start": {"en": "Start", "zh": "开始"},
    "col.end": {"en": "End", "zh": "结束"},
    "col.day_of_month": {"en": "Day of month", "zh": "每月几号"},
    "col.weekday": {"en": "Weekday", "zh": "星期几"},
    "col.months": {"en": "Months", "zh": "月份"},
    "col.target_tiers": {"en": "Target tiers", "zh": "目标等级"},
    "col.points_multiplier": {"en": "Points ×", "zh": "积分倍数"},
    "col.bonus_points": {"en": "Bonus points", "zh": "奖励积分"},
    "col.spend_threshold": {"en": "Spend threshold", "zh": "满额门槛"},
    "col.reduction": {"en": "Reduction", "zh": "减免金额"},
    "col.fixed_cost": {"en": "Fixed cost", "zh": "固定成本"},
    "col.contact_cost": {"en": "Contact cost", "zh": "触达成本"},
    "col.coupon_value": {"en": "Coupon value", "zh": "券面值"},
    "col.stacking": {"en": "Stacking", "zh": "叠加规则"},
    # -- publish -----------------------------------------------------------------------------
    "publish.title": {"en": "Publish to the live system", "zh": "发布到线上系统"},
    "publish.target": {"en": "Live file: `{target}`", "zh": "线上文件：`{target}`"},
    "publish.live": {"en": "Live now", "zh": "当前线上版本"},
    "publish.version": {"en": "Version", "zh": "版本"},
    "publish.published_at": {"en": "Published", "zh": "发布时间"},
    "publish.checksum": {"en": "Checksum", "zh": "校验值"},
    "publish.by": {"en": "Published by", "zh": "发布人"},
    "publish.read_only": {
        "en": "Publishing is read-only here: no publisher is configured. An administrator sets"
        " MEMBERLAB_PUBLISHER_SECRET (name:secret pairs) or single sign-on ([auth] in"
        " .streamlit/secrets.toml); see README, Publishing.",
        "zh": "此处发布为只读：尚未配置发布人。管理员需设置 MEMBERLAB_PUBLISHER_SECRET"
        "（name:secret 对）或单点登录（.streamlit/secrets.toml 中的 [auth]），"
        "见 README 的发布一节。",
    },
    "publish.login_name": {"en": "Publisher name", "zh": "发布人名称"},
    "publish.login_secret": {"en": "Publisher secret", "zh": "发布密钥"},
    "publish.login_button": {"en": "Log in to publish", "zh": "登录以发布"},
    "publish.login_oidc": {"en": "Log in to publish", "zh": "登录以发布"},
    "publish.login_failed": {
        "en": "Unknown publisher or wrong secret: check both and try again.",
        "zh": "发布人不存在或密钥错误：请检查后重试。",
    },
    "publish.logged_in": {"en": "Publishing as {name}", "zh": "当前发布人：{name}"},
    "publish.logout": {"en": "Log out", "zh": "退出登录"},
    "publish.live_summary": {
        "en": "{name}, published by {by}. Note: {note}",
        "zh": "{name}，发布人 {by}。备注：{note}",
    },
    "publish.download_live": {"en": "Download the live file", "zh": "下载线上文件"},
    "publish.edit_live": {"en": "Edit the live policy", "zh": "编辑线上规则"},
    "publish.loaded_live": {
        "en": "Live version {version} loaded into the designer.",
        "zh": "已将线上版本 {version} 载入规则设计。",
    },
    "publish.live_damaged": {
        "en": "The live file cannot be trusted: {error}",
        "zh": "线上文件无法通过校验：{error}",
    },
    "publish.nothing_live": {"en": "Nothing has been published yet.", "zh": "尚未发布任何版本。"},
    "publish.candidate": {"en": "The policy to publish", "zh": "待发布规则"},
    "publish.candidate_summary": {
        "en": "**{name}** (from {source}) · content id `{id}`",
        "zh": "**{name}**（来源：{source}）· 内容标识 `{id}`",
    },
    "publish.invalid": {
        "en": "The policy is not valid ({count} problem(s)); fix it in the Policy designer.",
        "zh": "规则未通过校验（{count} 处问题），请在规则设计中修正。",
    },
    "publish.valid": {
        "en": "The policy passes the same validation the live system applies.",
        "zh": "规则已通过与线上系统相同的校验。",
    },
    "publish.same_as_live": {
        "en": "This policy is already live: there is nothing to publish.",
        "zh": "该规则已是线上版本，无需发布。",
    },
    "publish.changes": {
        "en": "**What changes for members ({count}):**",
        "zh": "**会员可见的变化（{count} 项）：**",
    },
    "publish.action": {"en": "Publish", "zh": "发布"},
    "publish.note": {"en": "Note", "zh": "备注"},
    "publish.note_hint": {"en": "Why this change? (required)", "zh": "变更原因（必填）"},
    "publish.need_note": {"en": "Write a note to enable publishing.", "zh": "请填写备注后再发布。"},
    "publish.confirm": {
        "en": "I confirm: publish this policy as version {version} to {target}",
        "zh": "我确认：将此规则发布为版本 {version}（{target}）",
    },
    "publish.button": {"en": "Publish", "zh": "发布"},
    "publish.stale": {
        "en": "Someone published in the meantime: nothing was written. Review the new live"
        " version below and try again.",
        "zh": "期间已有他人发布，本次未写入。请查看下方最新线上版本后重试。",
    },
    "publish.failed": {
        "en": "Nothing was published: {error}",
        "zh": "发布失败，未做任何改动：{error}",
    },
    "publish.done": {"en": "Version {version} is live.", "zh": "版本 {version} 已上线。"},
    "publish.history": {"en": "Version history", "zh": "版本历史"},
    "publish.history_damaged": {
        "en": "A damaged part of the history was skipped (the rest is shown): {error}",
        "zh": "已跳过版本历史中损坏的部分（其余照常显示）：{error}",
    },
    "publish.no_history": {"en": "No versions yet.", "zh": "暂无版本。"},
    "publish.action_col": {"en": "Action", "zh": "操作"},
    "publish.action_publish": {"en": "publish", "zh": "发布"},
    "publish.rollback_of": {"en": "rollback to v{version}", "zh": "回滚至 v{version}"},
    "publish.changes_col": {"en": "Changes", "zh": "变更数"},
    "publish.audit": {
        "en": "Audit log (who, when, what changed)",
        "zh": "审计日志（谁、何时、改了什么）",
    },
    "publish.rollback": {"en": "Roll back", "zh": "回滚"},
    "publish.rollback_to": {"en": "Restore version", "zh": "恢复到版本"},
    "publish.rollback_note": {"en": "Why roll back?", "zh": "回滚原因"},
    "publish.rollback_confirm": {
        "en": "I confirm: restore version {version}'s policy as new version {new}",
        "zh": "我确认：以版本 {version} 的内容发布为新版本 {new}",
    },
    "publish.rollback_button": {"en": "Roll back", "zh": "回滚"},
    "publish.rolled_back": {
        "en": "Version {version} restored as version {new}.",
        "zh": "已将版本 {version} 恢复为版本 {new}。",
    },
    # -- scenarios and runs ------------------------------------------------------------------
    "runs.edited": {"en": "Being edited: {name}", "zh": "编辑中：{name}"},
    "runs.example": {"en": "Example: {name}", "zh": "示例：{name}"},
    "runs.scenario": {"en": "Scenario: {name}", "zh": "方案：{name}"},
    "runs.live": {"en": "Live (version {version})", "zh": "线上版本 {version}"},
    "runs.population": {"en": "Members", "zh": "会员来源"},
    "runs.population.synthetic": {"en": "Synthetic", "zh": "模拟生成"},
    "runs.population.database": {"en": "From the database", "zh": "数据库现有会员"},
    "runs.members": {"en": "Synthetic members", "zh": "模拟会员数"},
    "runs.months": {"en": "Horizon (months)", "zh": "预测期（月）"},
    "runs.replications": {"en": "Replications", "zh": "重复次数"},
    "runs.seed": {"en": "Seed", "zh": "随机种子"},
    "runs.behavior_default": {
        "en": "Member behavior: the built-in defaults (literature values), not estimated from"
        " your members. Calibrate on {page} to forecast with your own data.",
        "zh": "会员行为：使用内置默认参数（文献值），并非根据您的会员数据估计。"
        "请在“{page}”页校准，以便用您自己的数据进行预测。",
    },
    "runs.behavior_calibrated": {
        "en": "Member behavior: calibrated on your members ({page}).",
        "zh": "会员行为：已根据您的会员数据校准（{page}）。",
    },
    "runs.behavior_assumed": {
        "en": "Assumed, not estimated (no member data can estimate it): members buy"
        " {pct}% more per percentage point of value back (reward rate).",
        "zh": "假设值，并非估计值（任何会员数据都无法估计）：回馈率（返还价值占消费的比例）每提高"
        " 1 个百分点，会员购买增加 {pct}%。",
    },
    "runs.result_default_behavior": {
        "en": "This run used the built-in default behavior (literature values), not estimates"
        " from your members: calibrate on {page} before booking these figures.",
        "zh": "本次模拟使用内置默认行为参数（文献值），并非根据您的会员数据估计："
        "入账前请先在“{page}”页校准。",
    },
    "unit.points": {"en": "points", "zh": "积分"},
    "unit.members": {"en": "members", "zh": "人"},
    "unit.count": {"en": "count", "zh": "次数"},
    # -- simulate -----------------------------------------------------------------------------
    "simulate.title": {"en": "Simulate a scenario", "zh": "方案模拟"},
    "simulate.scenario": {"en": "Scenario", "zh": "方案"},
    "simulate.baseline": {"en": "Baseline (for ROI)", "zh": "对照基准（用于计算 ROI）"},
    "simulate.baseline_help": {
        "en": "Simulated with the same random numbers; ROI = (incremental revenue − incremental"
        " cost) / incremental cost.",
        "zh": "使用相同随机数模拟；ROI =（增量收入 − 增量成本）/ 增量成本。",
    },
    "simulate.no_baseline": {"en": "No baseline", "zh": "不设基准"},
    "simulate.run": {"en": "Run simulation", "zh": "开始模拟"},
    "simulate.running": {"en": "Simulating…", "zh": "模拟中…"},
    "simulate.progress": {"en": "Simulating… {pct}%", "zh": "模拟中… {pct}%"},
    "simulate.failed": {
        "en": "The simulation could not run: {error}",
        "zh": "模拟无法运行：{error}",
    },
    "simulate.no_result": {
        "en": "Choose a scenario and run a simulation to see the forecast.",
        "zh": "请选择方案并开始模拟以查看预测结果。",
    },
    "simulate.inputs": {
        "en": "{label} · {members} {source} members · {months} months · {replications}"
        " replications · seed {seed} · bands show P10–P90 across replications",
        "zh": "{label} · {members} 名会员（{source}）· {months} 个月 · 重复 {replications} 次"
        " · 随机种子 {seed} · 区间为各次重复的 P10–P90",
    },
    "simulate.migration": {"en": "Tier migration", "zh": "等级迁移"},
    "simulate.cohorts": {"en": "New members' retention", "zh": "新会员留存"},
    "simulate.cohorts_title": {
        "en": "Share of each month's new members buying, by months since joining (P50)",
        "zh": "各月新入会会员在入会后各月的购买比例（P50）",
    },
    "simulate.cohorts_note": {
        "en": "Month 0 is the joining purchase. Rows: the month members joined.",
        "zh": "第 0 个月为入会当月的首次购买；每行为一个入会月份。",
    },
    "unit.share_buying": {"en": "share buying", "zh": "购买比例"},
    "simulate.migration_title": {
        "en": "Members by tier: start → end of {months} months (P50)",
        "zh": "会员等级：期初 → {months} 个月后（P50）",
    },
    "kpi.range": {"en": "P10–P90: {p10} to {p90}", "zh": "P10–P90：{p10} 至 {p90}"},
    # metric and KPI names: declared once with the figures (simulations.results.LABELS)
    **LABELS,
    # -- compare ------------------------------------------------------------------------------
    "compare.title": {"en": "Compare scenarios", "zh": "方案对比"},
    "compare.no_margin": {
        "en": "Revenue is not profit: set margins.gross_margin_pct in the policy (YAML) to see"
        " gross profit and the ROI on profit here.",
        "zh": "收入不等于利润：在规则（YAML）中设置 margins.gross_margin_pct，即可在此查看毛利与"
        "毛利 ROI。",
    },
    "compare.profit_effect": {
        "en": "**Profit effect:** incremental gross profit {profit} after {cost} more program"
        " cost (ROI on profit {roi}), against {revenue} incremental revenue (P50).",
        "zh": "**利润影响：**在计划成本增加 {cost} 之后，增量毛利 {profit}（毛利 ROI {roi}），"
        "对应增量收入 {revenue}（P50）。",
    },
    "compare.baseline": {"en": "Baseline", "zh": "对照基准"},
    "compare.scenarios_placeholder": {"en": "Pick 1–4 scenarios", "zh": "请选择 1–4 个方案"},
    "compare.metrics_placeholder": {"en": "Pick the figures to chart", "zh": "请选择要绘制的指标"},
    "compare.scenarios": {"en": "Scenarios to compare (1–4)", "zh": "对比方案（1–4 个）"},
    "compare.pick": {"en": "Pick one to four scenarios.", "zh": "请选择 1 至 4 个方案。"},
    "compare.run": {"en": "Run comparison", "zh": "开始对比"},
    "compare.no_result": {
        "en": "Pick a baseline and scenarios, then run the comparison.",
        "zh": "请选择基准与方案后开始对比。",
    },
    "compare.kpis": {"en": "Headline KPIs", "zh": "核心指标"},
    "compare.kpis_help": {
        "en": "P50 across replications, (difference from {baseline}) and the P10–P90 range;"
        " all scenarios use the same members and random numbers.",
        "zh": "各次重复的 P50、（与 {baseline} 的差值）及 P10–P90 区间；"
        "各方案使用相同会员与随机数。",
    },
    "compare.kpi": {"en": "KPI", "zh": "指标"},
    "compare.range": {"en": "[P10–P90 {p10} to {p90}]", "zh": "[P10–P90 {p10} 至 {p90}]"},
    "compare.charts": {"en": "Over time", "zh": "走势"},
    "compare.metrics": {"en": "Charts", "zh": "图表"},
    "compare.changes": {"en": "What changed", "zh": "方案差异"},
    "compare.changes_of": {"en": "{label}: {count} change(s)", "zh": "{label}：{count} 处变化"},
    "compare.no_changes": {"en": "Same policy as the baseline.", "zh": "与基准规则相同。"},
    # -- finance ------------------------------------------------------------------------------
    "finance.title": {
        "en": "Finance: points liability and deferred revenue",
        "zh": "财务：积分负债与递延收入",
    },
    "finance.no_result": {
        "en": "No simulation yet: run one on the Simulate page, or run the policy being"
        " edited with the default settings.",
        "zh": "尚无模拟结果：请在“模拟”页运行，或以默认设置模拟当前编辑的规则。",
    },
    "finance.run_default": {"en": "Simulate the policy being edited", "zh": "模拟当前编辑的规则"},
    "finance.run": {"en": "Simulation", "zh": "模拟结果"},
    "finance.roll_forward": {"en": "Monthly points roll-forward", "zh": "月度积分变动表"},
    "finance.roll_forward_help": {
        "en": "Mean of {replications} replications: opening + issued − redeemed − expired ="
        " closing.",
        "zh": "{replications} 次重复的平均值：期初 + 发放 − 兑换 − 过期 = 期末。",
    },
    "finance.in_currency": {
        "en": "Show in currency ({symbol}, at cost per point)",
        "zh": "按金额显示（{symbol}，按每积分成本）",
    },
    "finance.roll_forward_chart": {
        "en": "Points movements and closing balance",
        "zh": "积分变动与期末余额",
    },
    "finance.month": {"en": "Month", "zh": "月份"},
    # roll-forward movements: named once with them (simulations.finance.MOVEMENT_LABELS)
    **{f"finance.{name}": label._asdict() for name, label in finance.MOVEMENT_LABELS.items()},
    "finance.urr": {"en": "Ultimate redemption rate", "zh": "最终兑换率"},
    "finance.liability_now": {"en": "Liability at the end", "zh": "期末积分负债"},
    "finance.liability_help": {
        "en": "Outstanding points × cost per point × (1 − breakage), as IFRS 15 measures"
        " loyalty points.",
        "zh": "未兑换积分 × 每积分成本 × (1 − 沉淀率)，与 IFRS 15 对积分的计量一致。",
    },
    "finance.sensitivity": {"en": "Liability sensitivity", "zh": "负债敏感性"},
    "finance.sensitivity_help": {
        "en": "Cost per point from 60% to 140% of the policy's {cpp}; breakage ±20 points"
        " around the estimate.",
        "zh": "每积分成本为规则设定 {cpp} 的 60%–140%；沉淀率在估计值上下浮动 20 个百分点。",
    },
    "finance.sensitivity_chart": {
        "en": "Liability by cost per point and breakage",
        "zh": "按每积分成本与沉淀率的负债",
    },
    "finance.download_csv": {"en": "Download roll-forward (CSV)", "zh": "下载积分变动表（CSV）"},
    "finance.download_xlsx": {"en": "Download report (Excel)", "zh": "下载报表（Excel）"},
    "finance.history": {"en": "History from the database", "zh": "数据库历史数据"},
    "finance.no_history": {
        "en": "The database holds no points ledger yet.",
        "zh": "数据库中暂无积分流水。",
    },
    "finance.history_help": {
        "en": "From the points ledger: {months} months; breakage realized to date {breakage}"
        " (expired ÷ (redeemed + expired), as in forecasts and backtests).",
        "zh": "来自积分流水：共 {months} 个月；迄今已实现沉淀率 {breakage}"
        "（过期 ÷（兑换 + 过期），与预测和回测口径一致）。",
    },
    "finance.history_chart": {
        "en": "Last 24 months of points movements",
        "zh": "近 24 个月积分变动",
    },
    # -- finance: deferred revenue, two liability bases, breakage two ways, sensitivity ------
    "liability.contract": {
        "en": "Contract liability (deferred revenue)",
        "zh": "合同负债（递延收入）",
    },
    "liability.contract_help": {
        "en": "Selling-price basis (IFRS 15 / CAS 14 / ASC 606): the part of sales allocated to"
        " points at relative stand-alone selling price and not yet recognised as revenue.",
        "zh": "按售价口径（IFRS 15 / 企业会计准则第14号 / ASC 606）：按单独售价比例分摊给积分、"
        "尚未确认为收入的销售额。",
    },
    "liability.cost": {"en": "Cost to fulfil outstanding points", "zh": "未兑换积分履约成本"},
    "liability.cost_help": {
        "en": "Cost basis: outstanding points × expected redemption rate (1 − breakage) × cost"
        " per point, the cash the rewards will cost. P50 across replications.",
        "zh": "按成本口径：未兑换积分 × 预计兑换率（1 − 沉淀率）× 每积分成本，即兑付奖励将花费的"
        "现金。取各次模拟的中位数（P50）。",
    },
    "finance.bases": {"en": "Points liability on two bases", "zh": "两种口径的积分负债"},
    "finance.bases_help": {
        "en": "Both at the end of the forecast. They answer different questions: what revenue is"
        " still deferred (books), and what the rewards will cost (cash).",
        "zh": "均为预测期末数。二者回答不同的问题：还有多少收入被递延（账面），以及兑付奖励"
        "要花多少钱（现金）。",
    },
    "finance.point_value": {"en": "Value per point (selling price)", "zh": "每积分价值（售价）"},
    "finance.cost_per_point": {"en": "Cost per point (to fulfil)", "zh": "每积分兑付成本"},
    "finance.schedule": {
        "en": "Deferred revenue schedule (IFRS 15 / CAS 14)",
        "zh": "递延收入明细表（IFRS 15 / 企业会计准则第14号）",
    },
    "finance.schedule_help": {
        "en": "Sales are allocated between goods and points at relative stand-alone selling"
        " price; revenue on points is recognised as points are redeemed, expected breakage in"
        " proportion to redemptions, and a change of the redemption estimate as a cumulative"
        " catch-up. Mean over replications; redemption rate {urr}.",
        "zh": "销售额按单独售价比例在商品与积分之间分摊；积分收入在兑换时确认，预计沉淀按兑换进度"
        "确认，兑换率估计变更按累计追溯调整。取各次模拟的平均值；兑换率 {urr}。",
    },
    # schedule columns: named once with the schedule (simulations.deferral.COLUMN_LABELS)
    **{f"deferral.{name}": label._asdict() for name, label in deferral.COLUMN_LABELS.items()},
    "finance.journal": {"en": "Journal entries", "zh": "会计分录"},
    "journal.period": {"en": "Month", "zh": "月份"},
    "journal.entry": {"en": "Entry", "zh": "业务"},
    "journal.account": {"en": "Account", "zh": "会计科目"},
    "journal.debit": {"en": "Debit", "zh": "借方"},
    "journal.credit": {"en": "Credit", "zh": "贷方"},
    "entry.sale": {"en": "Sale with points", "zh": "销售并发放积分"},
    "entry.redemption": {"en": "Points redeemed", "zh": "积分兑换"},
    "entry.breakage": {"en": "Breakage", "zh": "积分沉淀"},
    "entry.estimate_change": {"en": "Change in redemption estimate", "zh": "兑换率估计变更"},
    "account.cash": {"en": "Cash / receivables", "zh": "银行存款 / 应收账款"},
    "account.revenue_goods": {"en": "Revenue – goods sold", "zh": "主营业务收入—商品销售"},
    "account.contract_liability": {
        "en": "Contract liability – loyalty points",
        "zh": "合同负债—会员积分",
    },
    "account.revenue_points": {
        "en": "Revenue – loyalty points redeemed",
        "zh": "主营业务收入—积分兑换",
    },
    "account.revenue_breakage": {
        "en": "Revenue – loyalty points breakage",
        "zh": "主营业务收入—积分沉淀",
    },
    "account.revenue_estimate_change": {
        "en": "Revenue – change in redemption estimate",
        "zh": "主营业务收入—兑换率估计变更",
    },
    "finance.download_schedule": {"en": "Schedule (CSV)", "zh": "明细表（CSV）"},
    "finance.download_journal": {"en": "Journal (CSV)", "zh": "会计分录（CSV）"},
    "finance.download_journal_xlsx": {
        "en": "Schedule and journal (Excel)",
        "zh": "明细表与会计分录（Excel）",
    },
    "finance.breakage_two_ways": {
        "en": "Ultimate redemption rate, two ways",
        "zh": "最终兑换率：两种估计",
    },
    "finance.urr_simulated": {"en": "Simulated (member by member)", "zh": "模拟（逐会员）"},
    "finance.urr_simulated_help": {
        "en": "The engine's estimate for this forecast: of the points redeemed or expired over"
        " the horizon, the share redeemed (P50 across replications).",
        "zh": "引擎对本次预测的估计：预测期内兑换或过期的积分中兑换的比例（各次模拟的中位数）。",
    },
    "finance.urr_chain_ladder": {
        "en": "Chain ladder (redemption triangle)",
        "zh": "链梯法（兑换发展三角形）",
    },
    "finance.urr_chain_ladder_help": {
        "en": "Actuarial estimate from the database ledger (Gault, Llaguno & Ménard, CAS):"
        " redemptions by issue-month cohort developed to ultimate; cohorts of the last 12"
        " months ({first} to {last}).",
        "zh": "基于数据库积分流水的精算估计（Gault、Llaguno 与 Ménard，CAS）：按发放月份分组的兑换"
        "发展至最终值；最近 12 个月的发放批次（{first} 至 {last}）。",
    },
    "finance.backtest": {
        "en": "Backtest: estimated at a past date, against what those points then did",
        "zh": "回测：在过去某日的估计与这些积分此后的实际结果对比",
    },
    "finance.backtest_help": {
        "en": "Each row: the estimate made on the valuation date of the redemption rate of the"
        " points issued in the 12 months up to it, and what those points actually did (all"
        " redeemed or expired since). Closer at the latest valuation: {winner}.",
        "zh": "每一行：在估值日对此前 12 个月发放积分的兑换率所作的估计，以及这些积分的实际结果"
        "（此后均已兑换或过期）。最近估值日更接近的是：{winner}。",
    },
    "finance.backtest_simulated_missing": {
        "en": "The simulated rate can be backtested too: the same engine and behavior as this"
        " forecast, started on {valuation} with the members as they were then (a few seconds).",
        "zh": "模拟的兑换率也可以回测：使用与本次预测相同的引擎和行为参数，从 {valuation} 起"
        "以当时的会员状态开始模拟（需数秒）。",
    },
    "finance.backtest_simulated_run": {
        "en": "Backtest the simulated rate",
        "zh": "回测模拟的兑换率",
    },
    "backtest.valuation": {"en": "Valuation date", "zh": "估值日"},
    "backtest.cohorts": {"en": "Cohorts", "zh": "发放批次"},
    "backtest.method": {"en": "Method", "zh": "方法"},
    "backtest.estimate": {"en": "Estimated URR", "zh": "估计兑换率"},
    "backtest.actual": {"en": "Actual URR", "zh": "实际兑换率"},
    "backtest.error": {"en": "Error (points)", "zh": "误差（百分点）"},
    "finance.triangle": {
        "en": "Share of each month's points redeemed, by months since issue",
        "zh": "各月发放积分按发放后月数的累计兑换比例",
    },
    "finance.triangle_x": {"en": "Months since issue", "zh": "发放后月数"},
    "finance.triangle_y": {"en": "Month issued", "zh": "发放月份"},
    "finance.sensitivity_both": {
        "en": "Sensitivity of both bases",
        "zh": "两种口径的敏感性",
    },
    "finance.sensitivity_both_help": {
        "en": "One input moved at a time: breakage ±5 points, value per point ±20%, cost per"
        " point ±20%. Change from the base at the end of the forecast.",
        "zh": "每次只调整一个参数：沉淀率 ±5 个百分点、每积分价值 ±20%、每积分成本 ±20%。"
        "显示预测期末相对基准的变化。",
    },
    "sens.base": {"en": "Base", "zh": "基准"},
    "sens.breakage": {"en": "Breakage ±5 points", "zh": "沉淀率 ±5 个百分点"},
    "sens.point_value": {"en": "Value per point ±20%", "zh": "每积分价值 ±20%"},
    "sens.cost_per_point": {"en": "Cost per point ±20%", "zh": "每积分成本 ±20%"},
    "sens.low": {"en": "Input down", "zh": "参数下调"},
    "sens.high": {"en": "Input up", "zh": "参数上调"},
    "sens.driver": {"en": "Input", "zh": "参数"},
    "sens.case": {"en": "Case", "zh": "情形"},
    "sens.input": {"en": "Input value", "zh": "参数值"},
    "finance.tornado_contract": {
        "en": "Contract liability: change from base",
        "zh": "合同负债：相对基准的变化",
    },
    "finance.tornado_cost": {
        "en": "Cost to fulfil: change from base",
        "zh": "履约成本：相对基准的变化",
    },
    "finance.example52": {
        "en": "Worked example: IFRS 15 Illustrative Example 52 (customer loyalty programme)",
        "zh": "示例：IFRS 15 释例 52（客户忠诚度计划）",
    },
    "finance.example52_text": {
        "en": "Sales of 100,000 earn 10,000 points worth 1 each; 9,500 are expected to be"
        " redeemed, so the points' stand-alone selling price is 9,500 and 100,000 × 9,500 ÷"
        " 109,500 = 8,676 is deferred. Year 1: 4,500 redeemed → 4,500 ÷ 9,500 × 8,676 = 4,110"
        " recognised. Year 2: 8,500 redeemed in all and the estimate revised to 9,700 →"
        " 8,500 ÷ 9,700 × 8,676 = 7,603 cumulative, so 3,493 in year 2. The same library"
        " computes the schedule below and every forecast above.",
        "zh": "销售额 100,000 获得 10,000 积分，每积分价值 1；预计兑换 9,500，因此积分单独售价为"
        " 9,500，递延 100,000 × 9,500 ÷ 109,500 = 8,676。第 1 年兑换 4,500 → 确认 4,500 ÷ 9,500 ×"
        " 8,676 = 4,110。第 2 年累计兑换 8,500，预计兑换修订为 9,700 → 累计 8,500 ÷ 9,700 × 8,676 ="
        " 7,603，第 2 年确认 3,493。下表与上方所有预测均由同一计算库得出。",
    },
    "database.preparing": {
        "en": "Preparing the database (the first start loads the sample program)…",
        "zh": "正在准备数据库（首次启动会载入示例会员数据）…",
    },
    "database.ready": {
        "en": "The database is ready ({seconds} s).",
        "zh": "数据库已就绪（{seconds} 秒）。",
    },
    "database.step.schema": {"en": "Checking the schema…", "zh": "正在检查数据库结构…"},
    "database.step.reading": {
        "en": "Reading the sample program's files…",
        "zh": "正在读取示例会员计划的数据文件…",
    },
    "database.step.members": {"en": "Writing members…", "zh": "正在写入会员…"},
    "database.step.transactions": {"en": "Writing transactions…", "zh": "正在写入交易…"},
    "database.step.points_ledger": {
        "en": "Writing the points ledger…",
        "zh": "正在写入积分流水…",
    },
    "database.step.campaigns_run": {"en": "Writing campaigns…", "zh": "正在写入营销活动…"},
    "database.step.indexes": {"en": "Building indexes…", "zh": "正在建立索引…"},
    "database.step.saving": {"en": "Saving…", "zh": "正在保存…"},
    "database.step.done": {"en": "Done.", "zh": "完成。"},
    "database.step.copying": {
        "en": "Copying the prebuilt sample database…",
        "zh": "正在复制预建的示例数据库…",
    },
    "database.step.fallback": {
        "en": "Loading the sample from its CSV files…",
        "zh": "正在从 CSV 文件载入示例数据…",
    },
    "database.fallback": {
        "en": "The prebuilt sample database is missing or does not match its recorded"
        " checksum, so the sample is loaded from its CSV files instead (slower; the server"
        " log says why). `python -m store prebuild` rebuilds it.",
        "zh": "预建的示例数据库缺失或与记录的校验和不符，改为从 CSV 文件载入示例数据（较慢；"
        "原因见服务器日志）。运行 `python -m store prebuild` 可重新生成。",
    },
    "designer.save_failed": {
        "en": "The scenario was not saved: {error}",
        "zh": "方案未保存：{error}",
    },
    # -- overview -----------------------------------------------------------------------------
    "overview.title": {"en": "The program today", "zh": "会员计划现状"},
    "overview.loading": {"en": "Reading the member data…", "zh": "正在读取会员数据…"},
    "overview.empty": {
        "en": "The database holds no members yet: import them on the Data & calibration page.",
        "zh": "数据库中暂无会员，请在“数据与校准”页导入。",
    },
    "overview.members": {"en": "Members", "zh": "会员数"},
    "overview.active": {"en": "Active members", "zh": "活跃会员"},
    "overview.active_help": {
        "en": "Bought within the last {days} days of the data.",
        "zh": "数据截止前 {days} 天内有消费。",
    },
    "overview.outstanding": {"en": "Outstanding points", "zh": "未兑换积分"},
    "overview.liability": {
        "en": "Outstanding points at cost, before breakage",
        "zh": "未兑换积分按成本（未扣除沉淀）",
    },
    "overview.liability_help": {
        "en": "Outstanding points × cost per point, assuming every point is redeemed. The cost to"
        " fulfil (after breakage) and the contract liability (deferred revenue) are on Finance.",
        "zh": "未兑换积分 × 每积分成本，假设全部积分都会兑换。扣除沉淀后的履约成本与合同负债"
        "（递延收入）见“财务”页。",
    },
    "overview.tiers": {"en": "Tier mix", "zh": "等级分布"},
    "overview.tiers_help": {
        "en": "Members placed by their last 12 months under the policy being edited: change"
        " a threshold in the Policy designer and this mix follows.",
        "zh": "按近 12 个月表现和当前编辑的规则定级：在规则设计中修改门槛，此分布随之变化。",
    },
    "overview.tiers_unknown": {
        "en": "Tiers qualify on {metric}, which the member snapshot does not hold.",
        "zh": "当前以 {metric} 定级，会员快照中没有该数据。",
    },
    "overview.tiers_chart": {"en": "Members by tier", "zh": "各等级会员数"},
    "overview.as_of": {"en": "Data up to {date}.", "zh": "数据截至 {date}。"},
    "overview.lifecycle": {"en": "Lifecycle funnel", "zh": "生命周期漏斗"},
    "overview.quadrants": {"en": "Four quadrants (last 12 months)", "zh": "四象限（近 12 个月）"},
    "overview.quadrants_help": {
        "en": "Many = at least {purchases} purchases; high = at least {spend} spent.",
        "zh": "高频 = 至少 {purchases} 次消费；高额 = 消费至少 {spend}。",
    },
    "overview.pareto": {"en": "Revenue concentration", "zh": "收入集中度"},
    "overview.pareto_x": {"en": "Members, ranked by spend", "zh": "按消费排序的会员占比"},
    "overview.pareto_y": {"en": "Share of revenue", "zh": "收入占比"},
    "overview.top": {"en": "Top members", "zh": "头部会员"},
    "overview.revenue_share": {"en": "Share of revenue", "zh": "收入占比"},
    "overview.cohorts": {
        "en": "Cohort retention: share buying each month",
        "zh": "同期群留存：每月有消费的比例",
    },
    "overview.cohorts_unit": {"en": "share", "zh": "比例"},
    "lifecycle.new": {"en": "New", "zh": "新会员"},
    "lifecycle.active": {"en": "Active", "zh": "活跃"},
    "lifecycle.silent": {"en": "Silent", "zh": "沉默"},
    "lifecycle.dormant": {"en": "Dormant", "zh": "沉睡"},
    "lifecycle.churned": {"en": "Churned", "zh": "流失"},
    "quadrant.close_friends": {"en": "Close friends", "zh": "知己"},
    "quadrant.butterflies": {"en": "Butterflies", "zh": "蝴蝶"},
    "quadrant.barnacles": {"en": "Barnacles", "zh": "藤壶"},
    "quadrant.passers_by": {"en": "Passers-by", "zh": "过客"},
    # -- data & calibration -------------------------------------------------------------------
    "data.title": {"en": "Data & calibration", "zh": "数据与校准"},
    "data.in_use": {"en": "Data in use", "zh": "当前数据"},
    "data.url": {"en": "Database: `{url}`", "zh": "数据库：`{url}`"},
    "data.transactions": {"en": "Transactions", "zh": "交易笔数"},
    "data.period": {"en": "Period", "zh": "时间范围"},
    "data.import": {"en": "Import a client's data", "zh": "导入客户数据"},
    "data.import_help": {
        "en": "CSV or Parquet files. Map the client's columns to ours (* = required), check,"
        " then import: every row is checked and nothing is written if any row is wrong.",
        "zh": "支持 CSV 或 Parquet 文件。将客户字段对应到系统字段（* 为必填），先校验再导入；"
        "任一行有误则不写入任何数据。",
    },
    "data.file.members": {"en": "Members file", "zh": "会员文件"},
    "data.file.transactions": {"en": "Transactions file", "zh": "交易文件"},
    "data.unreadable": {"en": "{name} cannot be read: {error}", "zh": "无法读取 {name}：{error}"},
    "data.mapping": {"en": "Columns of {name}", "zh": "{name} 的字段对应"},
    "data.replace": {"en": "Replace the data in the database", "zh": "替换数据库中的现有数据"},
    "data.date_format": {"en": "Date format in the files", "zh": "文件中的日期格式"},
    "data.encoding": {"en": "Text encoding", "zh": "文本编码"},
    "data.encoding_auto": {
        "en": "Detect (UTF-8, else guessed)",
        "zh": "自动识别（UTF-8，否则推测）",
    },
    "data.delimiter": {"en": "Field separator", "zh": "字段分隔符"},
    "data.tab": {"en": "Tab", "zh": "制表符"},
    "data.decimal": {"en": "Decimal separator", "zh": "小数点"},
    "data.thousands": {"en": "Thousands separator", "zh": "千位分隔符"},
    "data.none": {"en": "None", "zh": "无"},
    "data.space": {"en": "Space", "zh": "空格"},
    "data.check": {"en": "Check only", "zh": "仅校验"},
    "data.load": {"en": "Import", "zh": "导入"},
    "data.importing": {"en": "Checking every row…", "zh": "正在逐行校验…"},
    "data.failed": {
        "en": "Nothing was imported: {count} problem(s) to fix, listed below by line and column.",
        "zh": "未导入任何数据：共 {count} 处问题，按行和字段列于下方。",
    },
    "data.table": {"en": "File", "zh": "文件"},
    "data.line": {"en": "Line", "zh": "行"},
    "data.column": {"en": "Column", "zh": "字段"},
    "data.value": {"en": "Value", "zh": "值"},
    "data.problem": {"en": "Problem", "zh": "问题"},
    "data.calibration": {"en": "Calibrate member behavior", "zh": "校准会员行为"},
    "data.calibration_end": {"en": "Fit on purchases up to", "zh": "拟合数据截止日"},
    "data.calibration_end_help": {
        "en": "Later purchases are kept back to check the forecast (holdout).",
        "zh": "之后的交易用于检验预测（留出样本）。",
    },
    "data.time_unit": {"en": "Time unit", "zh": "时间单位"},
    "data.calibrate": {"en": "Run calibration", "zh": "开始校准"},
    "data.calibrating": {
        "en": "Fitting BG/NBD, Gamma-Gamma, seasonality…",
        "zh": "正在拟合 BG/NBD、Gamma-Gamma 与季节性…",
    },
    "data.calibration_failed": {"en": "Calibration failed: {error}", "zh": "校准失败：{error}"},
    "data.no_calibration": {
        "en": "Run the calibration to estimate behavior from the data in use.",
        "zh": "运行校准以根据当前数据估计会员行为。",
    },
    "data.calibrated_on": {
        "en": "Fitted on {members} members and {transactions} transactions up to {end};"
        " estimates with 95% intervals.",
        "zh": "基于 {members} 名会员、{transactions} 笔交易（截至 {end}）拟合；含 95% 区间。",
    },
    "data.holdout": {
        "en": "Holdout: predicted vs actual repeat purchases (cumulative)",
        "zh": "留出检验：预测与实际复购次数（累计）",
    },
    "data.predicted": {"en": "Predicted", "zh": "预测"},
    "data.actual": {"en": "Actual", "zh": "实际"},
    "data.purchases": {"en": "purchases", "zh": "次"},
    "data.p_alive": {
        "en": "Mean probability a member is still active: {mean}; {below} are more likely gone.",
        "zh": "会员仍活跃的平均概率：{mean}；{below} 的会员更可能已流失。",
    },
    "data.use_params": {"en": "Simulate with these parameters", "zh": "使用这些参数进行模拟"},
    "data.using_params": {
        "en": "Simulations in this session now use the calibrated behavior.",
        "zh": "本次会话中的模拟将使用校准后的行为参数。",
    },
    "data.default_params": {"en": "Back to the default behavior", "zh": "恢复默认行为参数"},
    "data.using_defaults": {
        "en": "Simulations use the default behavior.",
        "zh": "模拟将使用默认行为参数。",
    },
    "publish.not_recorded": {
        "en": "Version {version} is live, but the database copy of the history could not be"
        " written: {error}",
        "zh": "版本 {version} 已上线，但数据库中的发布记录未能写入：{error}",
    },
    "simulate.not_recorded": {
        "en": "The run was not saved to the database: {error}",
        "zh": "本次模拟未能保存到数据库：{error}",
    },
    "publish.moved": {
        "en": "The live version moved from {reviewed} to {live} since you confirmed: review the"
        " changes above, untick and tick again to publish on top of it.",
        "zh": "确认后线上版本已由 {reviewed} 变为 {live}：请重新查看上方变化，取消勾选后再次确认。",
    },
    "designer.period_kind": {"en": "Qualifying period", "zh": "定级周期"},
    "designer.period.rolling": {"en": "Rolling months", "zh": "滚动月份"},
    "designer.period.calendar_year": {"en": "Calendar year to date", "zh": "自然年累计"},
    "designer.upgrade_timing": {"en": "Upgrades", "zh": "升级时点"},
    "designer.upgrade.immediate": {"en": "As soon as qualified", "zh": "达标即升级"},
    "designer.upgrade.at_review": {"en": "At the review", "zh": "复核时升级"},
    "designer.review_every": {"en": "Review every (months)", "zh": "复核间隔（月）"},
    "designer.review_month": {"en": "First review month", "zh": "首次复核月份"},
    "backtest.title": {"en": "Backtest", "zh": "回测"},
    "backtest.help": {
        "en": "Calibrate on the data up to a cutoff, forecast the months after it under the"
        " policy in the designer, and compare with what the data records. The band is P10–P90"
        " across replications; the line is the actual.",
        "zh": "用截止日之前的数据校准，按设计器中的方案预测之后的月份，并与数据中的实际记录对比。"
        "色带为各次重复模拟的 P10–P90，折线为实际值。",
    },
    "backtest.cutoff": {
        "en": "Cutoff (last day of calibration data)",
        "zh": "截止日（校准数据最后一天）",
    },
    "backtest.months": {"en": "Months to compare", "zh": "对比月数"},
    "backtest.replications": {"en": "Replications", "zh": "重复模拟次数"},
    "backtest.arrivals": {"en": "New members", "zh": "新会员"},
    "backtest.arrivals_forecast": {"en": "Forecast", "zh": "预测"},
    "backtest.arrivals_actual": {"en": "As recorded", "zh": "按实际记录"},
    "backtest.run": {"en": "Run backtest", "zh": "运行回测"},
    "backtest.running": {"en": "Calibrating and simulating…", "zh": "正在校准并模拟……"},
    "backtest.failed": {"en": "The backtest could not run: {error}", "zh": "无法运行回测：{error}"},
    "backtest.none": {
        "en": "No backtest yet: choose a cutoff and run it.",
        "zh": "尚未回测：请选择截止日并运行。",
    },
    "backtest.window": {
        "en": "{months} months from {first} to {last}; {members} members known at the cutoff.",
        "zh": "共 {months} 个月（{first} 至 {last}）；截止日时已有 {members} 名会员。",
    },
    "backtest.fallback": {
        "en": "A fit failed and defaults were used: {note}",
        "zh": "有模型拟合失败，已改用默认值：{note}",
    },
    "backtest.metric": {"en": "Metric", "zh": "指标"},
    "backtest.tracking": {"en": "{metric}: actual vs forecast", "zh": "{metric}：实际与预测"},
    "backtest.errors": {
        "en": "Whole horizon: forecast error (P50 ÷ actual − 1)",
        "zh": "整个期间：预测误差（P50 ÷ 实际 − 1）",
    },
    "backtest.segment": {"en": "Members", "zh": "会员"},
    "backtest.segment.all": {"en": "All", "zh": "全部"},
    "backtest.segment.existing": {"en": "Known at cutoff", "zh": "截止日已有"},
    "backtest.segment.new": {"en": "Joined later", "zh": "之后加入"},
    "backtest.engine": {"en": "Engine error", "zh": "模拟误差"},
    "backtest.seasonal_naive": {"en": "Same month last year", "zh": "去年同月"},
    "backtest.bgnbd_gamma_gamma": {"en": "BG/NBD + Gamma-Gamma", "zh": "BG/NBD + Gamma-Gamma"},
    "backtest.coverage": {
        "en": "Coverage: {share} of month × metric cells have the actual inside P10–P90.",
        "zh": "覆盖率：{share} 的“月份 × 指标”单元中实际值落在 P10–P90 之内。",
    },
    "backtest.breakage": {
        "en": "Breakage (expired ÷ (redeemed + expired)): forecast {forecast}, actual {actual},"
        " 12 months before the cutoff {history}.",
        "zh": "积分沉淀率（过期 ÷（兑换 + 过期））：预测 {forecast}，实际 {actual}，"
        "截止日前 12 个月 {history}。",
    },
    # backtest measures named like the monthly metrics they are
    "kpi.purchases": LABELS["metric.purchases"],
    "kpi.active_members": LABELS["metric.active_members"],
    # -- issue 12: units, run sources, campaign kinds, chart axes ------------------------------
    "unit.points_amount": {"en": "{value} pts", "zh": "{value} 积分"},
    "unit.pp": {"en": "{value} pp", "zh": "{value} 个百分点"},
    "runs.source.synthetic": {"en": "synthetic", "zh": "模拟生成"},
    "runs.source.snapshot": {"en": "database", "zh": "数据库"},
    "runs.source.empty": {"en": "no", "zh": "无"},
    "simulate.retention_note": {
        "en": "12-month retention: the share of members active a year earlier who are still"
        " active. In the first 12 months the reference is the members active at the start, so"
        " the line starts at 100% and falls as some of them lapse.",
        "zh": "12 个月留存率：一年前活跃的会员中仍然活跃的比例。前 12 个月以期初活跃会员为基准，"
        "因此曲线从 100% 开始，随部分会员流失而下降。",
    },
    "simulate.new_members": {"en": "New (joined)", "zh": "新入会"},
    "simulate.from_tier": {"en": "Tier at the start", "zh": "期初等级"},
    "simulate.to_tier": {"en": "Tier at the end", "zh": "期末等级"},
    "simulate.months_since_join": {"en": "Months since joining", "zh": "入会后月数"},
    "simulate.join_month": {"en": "Joined in", "zh": "入会月份"},
    "compare.ranges": {
        "en": "Uncertainty: P10–P90 of each KPI",
        "zh": "不确定性：各指标的 P10–P90",
    },
    # campaign kinds: named once with them (policies.model.CAMPAIGN_KIND_LABELS)
    **{f"campaign.kind.{kind}": names for kind, names in CAMPAIGN_KIND_LABELS.items()},
    "designer.campaign_incomplete": {
        "en": "Campaign row {row} is not part of the policy yet: fill in {missing}.",
        "zh": "活动第 {row} 行尚未计入规则：请填写{missing}。",
    },
    "designer.valid_but_waiting": {
        "en": "The policy is valid, without campaign row(s) {rows}: they are incomplete (see"
        " the Campaign calendar tab).",
        "zh": "规则有效，但活动第 {rows} 行尚未填写完整、未计入规则（见“活动日历”页签）。",
    },
    "campaign.stacking.stack": {"en": "Adds to others", "zh": "可叠加"},
    "campaign.stacking.best": {"en": "Best offer wins", "zh": "取最优"},
    "campaign.stacking.exclusive": {"en": "Exclusive", "zh": "独享"},
    "data.time_unit.day": {"en": "Days", "zh": "天"},
    "data.time_unit.week": {"en": "Weeks", "zh": "周"},
    "data.model.uplift": {"en": "Uplift (multiplier)", "zh": "提升系数（倍数）"},
    "data.model.redemption": {"en": "Redemption", "zh": "积分兑换"},
    "data.col.model": {"en": "Model", "zh": "模型"},
    "data.col.parameter": {"en": "Parameter", "zh": "参数"},
    "data.col.estimate": {"en": "Estimate", "zh": "估计值"},
    "data.col.std_err": {"en": "Std. error", "zh": "标准误"},
    "data.col.ci_low": {"en": "95% low", "zh": "95% 下限"},
    "data.col.ci_high": {"en": "95% high", "zh": "95% 上限"},
    "data.term.month": {"en": "Month {month}", "zh": "{month}月"},
    "data.term.weekday.0": {"en": "Mon", "zh": "周一"},
    "data.term.weekday.1": {"en": "Tue", "zh": "周二"},
    "data.term.weekday.2": {"en": "Wed", "zh": "周三"},
    "data.term.weekday.3": {"en": "Thu", "zh": "周四"},
    "data.term.weekday.4": {"en": "Fri", "zh": "周五"},
    "data.term.weekday.5": {"en": "Sat", "zh": "周六"},
    "data.term.weekday.6": {"en": "Sun", "zh": "周日"},
    "data.term.campaign_of": {"en": "Campaign {value}", "zh": "活动 {value}"},
    "data.term.holiday_of": {"en": "Holiday {value}", "zh": "节日 {value}"},
    "data.term.birthday": {"en": "Birthday", "zh": "生日"},
    "source.edited": {"en": "your edits", "zh": "您的修改"},
    "source.pasted": {"en": "pasted YAML", "zh": "粘贴的 YAML"},
    "finance.breakage_to_date": {"en": "Breakage to date", "zh": "累计沉淀率"},
    "upload.button": {"en": "Upload", "zh": "上传"},
    "upload.limit": {"en": "200MB per file", "zh": "每个文件不超过 200MB"},
    "designer.month_label": {
        "en": "timeFormat(datum.value, '%b')",
        "zh": "(month(datum.value) + 1) + '月'",
    },
    # -- sweep & search ----------------------------------------------------------------------
    "sweep.title": {"en": "Sweep & search", "zh": "方案扫描与寻优"},
    "sweep.intro": {
        "en": "Vary fields of the policy being edited, simulate every variant with the same "
        "members and random numbers, and find the best plan under your constraints.",
        "zh": "在当前编辑的规则上改变若干字段，用同一批会员和相同随机数模拟每个变体，"
        "并在约束条件下找出最优方案。",
    },
    "sweep.parameters": {"en": "Fields to vary", "zh": "要改变的字段"},
    "sweep.field": {"en": "Policy field", "zh": "规则字段"},
    "sweep.low": {"en": "From", "zh": "最小值"},
    "sweep.high": {"en": "To", "zh": "最大值"},
    "sweep.step": {"en": "Step (sweep)", "zh": "步长（扫描）"},
    "sweep.mode": {"en": "What to do", "zh": "操作"},
    "sweep.mode.sweep": {"en": "Sweep every combination", "zh": "扫描全部组合"},
    "sweep.mode.search": {"en": "Search for the best plan", "zh": "搜索最优方案"},
    "sweep.objective": {"en": "Objective", "zh": "优化目标"},
    "sweep.direction": {"en": "Direction", "zh": "方向"},
    "sweep.direction.maximize": {"en": "Maximise", "zh": "最大化"},
    "sweep.direction.minimize": {"en": "Minimise", "zh": "最小化"},
    "sweep.trials": {"en": "Trials", "zh": "试验次数"},
    "sweep.no_margin": {
        "en": "Revenue is not profit: set `margins.gross_margin_pct` in the policy (YAML) to"
        " search on gross profit and incremental gross profit.",
        "zh": "收入不等于利润：在规则（YAML）中设置 `margins.gross_margin_pct`，即可按毛利与增量"
        "毛利搜索。",
    },
    "sweep.constraints_help": {
        "en": "Constraints on the median (P50) of each measure; leave min or max empty.",
        "zh": "对各指标中位数（P50）的约束；最小值或最大值可留空。",
    },
    "sweep.metric": {"en": "Measure", "zh": "指标"},
    "sweep.min": {"en": "At least", "zh": "不低于"},
    "sweep.max": {"en": "At most", "zh": "不高于"},
    "sweep.run": {"en": "Run", "zh": "开始"},
    "sweep.running": {"en": "Simulating {points} variants…", "zh": "正在模拟 {points} 个变体…"},
    "sweep.incomplete_row": {
        "en": "the row for {field} needs both From and To",
        "zh": "字段 {field} 这一行需要同时填写最小值和最大值",
    },
    "sweep.bad_spec": {"en": "Cannot run this: {error}", "zh": "无法运行：{error}"},
    "sweep.too_many": {
        "en": "{points} variants is too many for the workbench (at most 200): use larger steps "
        "or the command line (python -m simulations sweep).",
        "zh": "{points} 个变体过多（最多 200 个）：请加大步长，或使用命令行"
        "（python -m simulations sweep）。",
    },
    "sweep.no_result": {
        "en": "Choose the fields and ranges, then press Run.",
        "zh": "请选择字段和取值范围，然后点击“开始”。",
    },
    "sweep.point_failed": {"en": "A variant was skipped: {error}", "zh": "已跳过一个变体：{error}"},
    "sweep.none_feasible": {
        "en": "No trial met the constraints. Loosen them or widen the ranges.",
        "zh": "没有试验满足约束条件。请放宽约束或扩大取值范围。",
    },
    "sweep.best": {
        "en": "Best plan: {values}. {metric}: {p50} (P10 {p10}, P90 {p90}); the constraints held "
        "in {share} of replications.",
        "zh": "最优方案：{values}。{metric}：{p50}（P10 {p10}，P90 {p90}）；"
        "约束在 {share} 的重复模拟中成立。",
    },
    "sweep.x": {"en": "Horizontal axis", "zh": "横轴"},
    "sweep.y": {"en": "Vertical axis", "zh": "纵轴"},
    "sweep.frontier": {"en": "Every variant (P50)", "zh": "各变体（P50）"},
    "sweep.point": {"en": "Variant", "zh": "变体"},
    "sweep.pick": {"en": "Variant to use", "zh": "选用的变体"},
    "sweep.to_compare": {"en": "Save as a scenario for Compare", "zh": "保存为方案（用于对比）"},
    "sweep.to_designer": {"en": "Open in the policy designer", "zh": "在规则设计中打开"},
    "sweep.saved": {"en": "Saved scenario {name}.", "zh": "已保存方案 {name}。"},
    "sweep.source": {"en": "Sweep variant {point}", "zh": "扫描变体 {point}"},
    "sweep.loaded": {
        "en": "Variant {point} is now the policy being edited.",
        "zh": "变体 {point} 已载入为当前编辑的规则。",
    },
    "sweep.column.point": {"en": "Variant", "zh": "变体"},
    "sweep.column.feasible": {"en": "Meets the constraints (P50)", "zh": "满足约束（P50）"},
    "sweep.column.constraint_share": {
        "en": "Replications meeting the constraints",
        "zh": "满足约束的重复次数占比",
    },
    "sweep.column.error": {"en": "Problem", "zh": "问题"},
    "sweep.paths": {
        "en": "Field paths (for a sweep file)",
        "zh": "字段路径（用于扫描配置文件）",
    },
    "page.sweep_search": {"en": "Sweep & search", "zh": "扫描与寻优"},
    # fields members do not respond to: declared with the reasons (simulations.responses)
    "sweep.no_response": responses.CAVEAT._asdict(),
    **{f"response.{group.key}": group.reason._asdict() for group in responses.NO_RESPONSE},
    "report.download": {"en": "Report for the client (HTML)", "zh": "下载客户报告（网页文件）"},
    "report.download_help": {
        "en": "One self-contained file with the policy, results, charts and tables; opens "
        "offline and prints to PDF from a browser.",
        "zh": "包含规则、结果、图表和表格的单个文件；可离线打开，并可在浏览器中打印为 PDF。",
    },
}


def current_language() -> str:
    """The session's language (``"en"`` outside a running app)."""
    try:
        language = st.session_state.get(_STATE_KEY, "en")
    except Exception:  # no script run context (plain Python, unit tests)
        return "en"
    return language if language in LANGUAGES else "en"


def t(key: str, lang: str | None = None, **fmt: Any) -> str:
    """The text for ``key`` in ``lang`` (default: the session's language), formatted.

    An unknown key is shown as the key itself so a missing text is visible, not fatal.
    """
    entry = TEXT.get(key)
    if entry is None:
        return key
    text = entry.get(lang or current_language()) or entry["en"]
    return text.format(**fmt) if fmt else text


def labeler(prefix: str) -> Callable[[Any], str]:
    """A ``format_func`` for option ``value`` showing the text ``f"{prefix}.{value}"``.

    The language is fixed when the widget is drawn, since Streamlit may call the function
    later, outside the page's run.
    """
    lang = current_language()
    return lambda value: t(f"{prefix}.{value}", lang=lang)


def translate_uploaders() -> None:
    """Put the file uploader's own English words (button, size limit) in the session's language.

    Streamlit draws them itself, with no option to translate; under 中文 a style sheet hides
    them and shows ours instead (CSS ``content``), so the upload widget reads in Chinese too.
    """
    if current_language() == "en":
        return
    zone = "[data-testid='stFileUploaderDropzone']"
    st.html(
        "<style>"
        f"{zone} button [data-testid='stMarkdownContainer'] p {{display: none}}"
        f"{zone} button [data-testid='stMarkdownContainer']::after"
        f" {{content: '{t('upload.button')}'}}"
        "[data-testid='stFileUploaderDropzoneInstructions'] > div > span {display: none}"
        "[data-testid='stFileUploaderDropzoneInstructions'] > div::after"
        f" {{content: '{t('upload.limit')} · CSV, Parquet'}}"
        "</style>"
    )


def _remember_language() -> None:
    st.session_state[_STATE_KEY] = st.session_state["language_switch"]


def language_switch() -> None:
    """The sidebar's language selector (drawn on every page by the router)."""
    options = list(LANGUAGES)
    st.sidebar.selectbox(
        t("language"),
        options,
        index=options.index(current_language()),
        format_func=LANGUAGES.get,
        key="language_switch",
        on_change=_remember_language,
    )
