"""Explanations: the Chinese sentence that says how an org's points on an indicator came about,
generated from the stored item (rule, inputs, flags) when it is shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tongban.assessment.scheme import (
    GivenRule,
    IndicatorDef,
    PerEventDeductionRule,
    RankBasedRule,
    RatioRule,
    ThresholdRule,
    _metric_list,
)
from tongban.core.numbers import percent, precise


def describe(indicator: IndicatorDef, item: Mapping[str, Any]) -> str:
    """The sentence that explains one stored item: rule, inputs and points."""
    points = float(item.get("points", 0.0))
    inputs: Mapping[str, float | None] = item.get("inputs", {})
    flag = item.get("flag")
    detail = str(item.get("detail", ""))
    mx = indicator.max_points
    if flag == "set":
        return f"假设得分 {precise(points)}（原 {detail}）"
    if flag == "missing":
        if item.get("excluded"):
            return f"缺少数据项 {detail}，本指标不参与考核（按其余指标折算）"
        if item.get("error"):
            return f"缺少数据项 {detail}"
        return f"缺少数据项 {detail}，按0分计"
    rule = indicator.rule
    value = {k: (v if v is not None else 0.0) for k, v in inputs.items()}
    if isinstance(rule, GivenRule):
        raw = value.get(rule.metric or indicator.code, points)
        note = f"考核通报得分 {precise(raw)}"
        return note if raw == points else note + f"，超出 [0, {precise(mx)}] 按 {precise(points)} 计"
    if isinstance(rule, RatioRule):
        numerators = _metric_list(rule.numerator)
        den = value.get(rule.denominator, 0.0)
        if flag == "zero_denominator":
            if item.get("excluded"):
                return f"{rule.denominator} 为0，本指标不参与考核"
            return f"{rule.denominator} 为0，按{precise(points)}分计"
        num = sum(value.get(n, 0.0) for n in numerators)
        expr = f"({' + '.join(precise(value.get(n)) for n in numerators)})" \
            if len(numerators) > 1 else precise(num)
        ratio = num / den if den else 0.0
        if ratio < rule.floor:
            return f"{expr} ÷ {precise(den)} = {percent(ratio, 2)}，低于下限 {percent(rule.floor, 0)}，得0分"
        target = f"，目标 {percent(rule.target, 0)}" if rule.target != 1 else ""
        return f"{expr} ÷ {precise(den)} = {percent(ratio, 2)}{target}，得 {precise(points)} 分"
    if isinstance(rule, ThresholdRule):
        v = value.get(rule.metric, 0.0)
        relation = "≥" if rule.direction == "higher" else "≤"
        if points == mx:
            return f"{rule.metric} = {precise(v)} {relation} 目标 {precise(rule.target)}，得满分"
        if rule.below == "linear":
            floor = rule.floor if rule.floor is not None else 0.0
            return (f"{rule.metric} = {precise(v)}，未达目标 {precise(rule.target)}，"
                    f"按 {precise(floor)}→{precise(rule.target)} 线性计 {precise(points)} 分")
        if rule.below == "steps" and points > 0:
            return f"{rule.metric} = {precise(v)}，按档得 {precise(points)} 分"
        return f"{rule.metric} = {precise(v)}，未达目标 {precise(rule.target)}，得0分"
    if isinstance(rule, PerEventDeductionRule):
        events = max(value.get(rule.metric, 0.0), 0.0)
        cap = rule.cap if rule.cap is not None else mx
        deduction = min(cap, events * rule.points_each)
        capped = "（已达扣分上限）" if events * rule.points_each > cap else ""
        return (f"{rule.metric} = {precise(events)} 项 × {precise(rule.points_each)} 分，"
                f"扣 {precise(deduction)} 分{capped}")
    if isinstance(rule, RankBasedRule):
        return (f"{rule.metric} = {precise(inputs.get(rule.metric))}，在 {precise(value.get('of'))} 个"
                f"单位中排第 {precise(value.get('rank'))} 名，得 {precise(points)} 分")
    if flag == "formula_error":
        return f"公式 {rule.expression}：{detail}，得0分"
    return f"{rule.expression}，得 {precise(points)} 分"
