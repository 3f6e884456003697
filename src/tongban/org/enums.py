"""Kinds of organisations, with the labels the UI shows."""

from __future__ import annotations

from tongban.core.choices import Choice


class OrgLevel(Choice):
    """Administrative level of an org; the order is the tree's depth."""

    province = "province", "省"
    city = "city", "市(州)"
    county = "county", "县(市、区)"
    department = "department", "市级部门"
    township = "township", "乡镇(街道)"


class DeptClass(Choice):
    """Evaluation class of a municipal department (B: few items on the platform)."""

    A = "A", "市级A类"
    B = "B", "市级B类"


class Area(Choice):
    """A part of the platform a role may reach: the menu shows exactly the actor's areas and
    each area's service refuses the others (``org.service.areas``)."""

    assessment = "assessment", "考核排名"
    schemes = "schemes", "考核方案"
    data_import = "data_import", "数据导入"
    catalog = "catalog", "事项目录"
    benchmark = "benchmark", "对标"
    reviews = "reviews", "好差评"
    review_analysis = "review_analysis", "好差评分析"
    rectification = "rectification", "整改督办"
    errands = "errands", "跑团代办"
    reports = "reports", "通报"
    cohorts = "cohorts", "考核分组"
    users = "users", "用户"
    calendar = "calendar", "工作日历"
    audit = "audit", "审计日志"
    outbox = "outbox", "消息发送"
    datasharing = "datasharing", "数据共享"
    aliases = "aliases", "部门别名"
    ledger = "ledger", "专项台账"


class AliasKind(Choice):
    """How a source writes an org (``OrgAlias.kind``)."""

    code = "code", "统一社会信用代码"
    dept_name = "name", "部门名称"
