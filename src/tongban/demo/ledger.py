"""The 专项台账 demo (idempotent): 巴中's townships taking over the 114 statutory and 171
granted powers in part, with the typical reasons; 文旅新区's 171 委托 powers from 南江县 and
通江县 partly complete; case counts of the last two months; three 天府通办 zones in different
states; 互联网+监管 values of every department over six months; 季调度 commitments."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.periods import month_of, previous_period, shift
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today
from tongban.ledger import service
from tongban.ledger.enums import FigureKind
from tongban.ledger.models import LedgerEntry
from tongban.ledger.spec import LedgerSpec
from tongban.org import service as org_service
from tongban.org.enums import OrgLevel
from tongban.org.models import Org

POWERS, ZONES, SUPERVISION, COMMITMENTS = (
    "township-powers", "featured-zones", "internet-supervision", "quarterly-commitments")

_STATUTORY = [
    "农村村民宅基地", "乡村建设规划许可", "村庄规划区内建设", "殡葬设施", "土地承包经营权流转",
    "森林防火", "地质灾害防治", "防汛抗旱", "安全生产", "消防安全", "食品安全", "义务教育入学",
    "兵役登记", "流动人口", "社会救助", "特困人员供养", "临时救助", "残疾人两项补贴", "高龄津贴",
    "农村饮水安全", "河道管理", "畜禽养殖污染防治", "秸秆禁烧", "农村生活垃圾", "农村公路养护",
    "人民调解", "退役军人优待", "城乡居民养老保险", "耕地保护", "户外广告设置", "市容环境卫生",
    "文物保护", "动物防疫", "农药使用", "野生动物保护", "林木采伐", "农机安全", "非煤矿山安全",
]
_STATUTORY_FORMS = ["{}审核", "{}监督检查", "对违反{}规定行为的处罚"]
_GRANTED = [
    "擅自占用城市道路", "违法建设", "损坏城市绿化", "乱倒建筑垃圾", "擅自设置摊点", "噪声扰民",
    "露天焚烧", "违规养犬", "无证经营食品", "无照经营", "未按规定登记房屋租赁", "违法占用耕地",
    "擅自改变林地用途", "非法采砂", "违规捕捞", "未按规定设置安全警示标志", "违规储存危险化学品",
    "燃放烟花爆竹", "违规使用农村集体土地", "损毁水利设施", "擅自占用河道", "违规排放污水",
    "违反殡葬管理", "未按规定接种动物疫苗", "违规销售农药", "违规经营成品油", "擅自拆除文物",
    "违规开办民办学校", "违规组织大型活动", "违反人口与计划生育规定", "违规开展道路运输",
    "超限超载运输", "违规经营网吧", "违规设置户外广告", "违规发布广告", "违反劳动保障规定",
    "拖欠农民工工资", "违规生产经营烟花爆竹", "违反消防安全规定", "违规使用特种设备",
    "违规建设畜禽养殖场", "违反饮用水源保护规定", "违规占用林地", "违规采伐林木",
]
_GRANTED_FORMS = ["对{}行为的行政处罚", "对{}行为的行政检查", "对{}行为的行政强制", "{}投诉处理"]
_DELEGATED = [
    "景区内建设项目规划许可", "旅游景区质量等级评定初审", "导游执业监督检查", "旅行社经营监督检查",
    "景区内临时建筑审批", "景区内户外广告设置审批", "景区内占用林地审核", "景区内河道采砂许可",
    "景区内餐饮服务食品安全检查", "景区内民宿备案", "景区内大型活动安全许可", "景区内道路挖掘许可",
    "景区内文物保护单位修缮审核", "景区内非物质文化遗产项目认定初审", "景区内特种设备使用登记",
    "景区内索道安全检查", "景区内游船安全检查", "景区内消防安全检查", "景区内环境影响评价审批",
    "景区内排污许可初审", "景区内水土保持方案审批", "景区内取水许可", "景区内林木采伐许可",
    "景区内野生植物采集许可", "景区内商业网点规划审核", "景区内市容环境卫生管理",
    "景区内违法建设查处", "景区内无照经营查处", "景区内价格违法行为查处",
]
_DELEGATED_FORMS = ["{}", "对{}中违法行为的处罚", "{}监督检查", "{}事中事后监管", "{}投诉举报处理",
                   "{}行政强制"]
_REASONS = [("部门未放权", 35), ("专网未打通", 25), ("人员无执法资格", 25), ("权责不匹配", 15)]
#: How much of the 法定 and 赋权 powers each county's townships took over, on average.
_TAKE_UP = {"511902": (0.95, 0.80), "511903": (0.90, 0.70), "511921": (0.85, 0.55),
            "511922": (0.80, 0.50), "511923": (0.88, 0.62)}

#: (code, name, domain, owner department, steps to take through the workflow)
_ZONE_ITEMS = [
    ("TZ-01", "交通出行服务专区", "交通出行", "市交通运输局", ["pending", "accepted"]),
    ("TZ-02", "医疗健康服务专区", "医疗健康", "市卫生健康委员会", ["pending", "failed"]),
    ("TZ-03", "消防救援服务专区", "消防救援", "市应急管理局", ["pending"]),
    ("TZ-04", "文化旅游服务专区", "文化旅游", "市文化广播电视和旅游局", []),
]
BIG_DATA = "市政务服务和大数据管理局"
#: (code, name, lead department's category, lead, target)
_INDICATORS = [
    ("SV-01", "事项认领率", "政务和大数据局", BIG_DATA, 100),
    ("SV-02", "实施清单填报率", "政务和大数据局", BIG_DATA, 100),
    ("SV-03", "执法监管行为覆盖率", "司法局", "市司法局", 90),
    ("SV-04", "执法监管行为数量", "司法局", "市司法局", 50),
    ("SV-05", "执法人员注册认证率", "司法局", "市司法局", 100),
    ("SV-06", "执法人员月活比例", "司法局", "市司法局", 80),
    ("SV-07", "双随机一公开年度计划数据量", "市场监管局", "市市场监督管理局", 1),
    ("SV-08", "双随机一公开专项计划数据量", "市场监管局", "市市场监督管理局", 1),
    ("SV-09", "双随机一公开检查行为数据量", "市场监管局", "市市场监督管理局", 10),
    ("SV-10", "双随机一公开检查对象数据量", "市场监管局", "市市场监督管理局", 20),
]
#: (code, commitment, category, unit, status, measuring metric, target): made at 2026Q1's
#: meeting, checked against 2026Q2's sheet
_COMMITMENTS = [
    ("JD-01", "二季度差评按期整改率达到100%", "整改", "巴州区", "kept",
     "ontime_rectification_rate", 1.0),
    ("JD-02", "二季度数据归集率达到95%", "提升", "通江县", "promised", "collect_rate", 0.95),
    ("JD-03", "二季度数据共享率提升至90%", "提升", "南江县", "missed", "share_rate", 0.9),
    ("JD-04", "二季度差评按期整改率达到95%", "整改", "平昌县", "promised",
     "ontime_rectification_rate", 0.95),
]


@dataclass
class LedgerDemo:
    items: int = 0
    entries: int = 0
    figures: int = 0


def _csv(rows: list[list[str]]) -> io.BytesIO:
    return io.BytesIO("\n".join(",".join(r) for r in rows).encode() + b"\n")


def _names(subjects: list[str], forms: list[str], count: int) -> list[str]:
    names = [form.format(s) for form in forms for s in subjects]
    assert len(names) >= count
    return names[:count]


def _label(org: Org) -> str:
    return f"{org.parent.name}/{org.name}" if org.parent is not None else org.name


def load_ledger_demo(db: Session) -> LedgerDemo:
    """Add the demo ledgers; running it again changes nothing."""
    done = LedgerDemo()
    service.load_shipped_types(db)
    rng = random.Random(28)
    statutory = _names(_STATUTORY, _STATUTORY_FORMS, 114)
    granted = _names(_GRANTED, _GRANTED_FORMS, 171)
    delegated = [f"{name}（{'南江县' if n % 2 else '通江县'}委托）" for n, name in
                 enumerate(_names(_DELEGATED, _DELEGATED_FORMS, 171))]
    items = [["事项编码", "事项名称", "类别"]]
    items += [[f"FD-{n:03d}", name, "法定"] for n, name in enumerate(statutory, 1)]
    items += [[f"FQ-{n:03d}", name, "赋权"] for n, name in enumerate(granted, 1)]
    items += [[f"WT-{n:03d}", name, "委托"] for n, name in enumerate(delegated, 1)]
    counts = service.import_items(db, actor=SYSTEM_ACTOR, type_code=POWERS, source=_csv(items),
                                  filename="乡镇事权清单.csv")
    done.items += counts.added
    if db.scalar(select(LedgerEntry.id).where(LedgerEntry.type_code == POWERS).limit(1)):
        return done  # loaded before: the rest follows the items
    _, spec = service.current_type(db, actor=SYSTEM_ACTOR, code=POWERS)
    rows = [["单位", "事项编码", "状态", "原因", "承接主体", "承办人员", "办理流程", "责任人"]]
    taken: list[tuple[str, str]] = []
    reasons, weights = zip(*_REASONS, strict=True)
    for org, _ in service.required_orgs(db, spec=spec):
        if org.level != OrgLevel.township.value:
            continue
        county = org.parent.code if org.parent is not None else ""
        rates = _TAKE_UP.get(county, (0.85, 0.6))
        jitter = rng.uniform(-0.08, 0.05)
        for prefix, rate, count in (("FD", rates[0], 114), ("FQ", rates[1], 171)):
            for n in range(1, count + 1):
                code, roll = f"{prefix}-{n:03d}", rng.random()
                if roll < 0.03:
                    rows.append([_label(org), code, "不适用", "无办理需求", "", "", "", ""])
                elif roll < 0.03 + rate + jitter:
                    rows.append([_label(org), code, "已承接", "", "", "", "", ""])
                    taken.append((_label(org), code))
                else:
                    reason = rng.choices(reasons, weights)[0]
                    rows.append([_label(org), code, "未承接", reason, "", "", "", ""])
    try:
        zone = org_service.resolve_org(db, ref="文旅新区")
    except DomainError:
        zone = None
    if zone is not None:
        for n in range(1, 172):
            county = "南江县" if n % 2 == 0 else "通江县"
            if n <= 100:
                rows.append([zone.name, f"WT-{n:03d}", "已承接", "", "文旅新区管理委员会",
                             f"{rng.choice('王李张刘陈杨赵')}{rng.choice('明华军芳静伟')}",
                             "受理—审查—决定—送达", f"文旅新区{county}委托事项分管负责人"])
                taken.append((zone.name, f"WT-{n:03d}"))
            else:
                rows.append([zone.name, f"WT-{n:03d}", "未承接",
                             rng.choice(["部门未放权", "权责不匹配", "专网未打通"]), "", "", "", ""])
    counts = service.import_entries(db, actor=SYSTEM_ACTOR, type_code=POWERS, source=_csv(rows),
                                    filename="乡镇事权承接台账.csv")
    done.entries += counts.added
    _records(db, spec, rng)
    last = previous_period(month_of(local_today()))
    for period in (previous_period(last), last):
        cases = [["单位", "事项编码", "办件量"]] + [
            [org, code, str(rng.randint(1, 40))] for org, code in taken if rng.random() < 0.6]
        done.figures += service.import_figures(
            db, actor=SYSTEM_ACTOR, type_code=POWERS, kind=FigureKind.cases, period=period,
            source=_csv(cases), filename=f"办件量{period}.csv").added
    _zones(db, done)
    _supervision(db, done, rng)
    _commitments(db, done)
    return done


def _records(db: Session, spec: LedgerSpec, rng: random.Random) -> None:
    """权责清单 compiled by most townships; two or three staff of each passed the exam."""
    townships = [org for org, _ in service.required_orgs(db, spec=spec)
                 if org.level == OrgLevel.township.value]
    lists = [["单位", "权责清单", "编制日期"]] + [
        [_label(org), "是", "2026-09-30"] if rng.random() < 0.8 else [_label(org), "否", ""]
        for org in townships]
    service.import_lists(db, actor=SYSTEM_ACTOR, type_code=POWERS, source=_csv(lists),
                         filename="权责清单编制情况.csv")
    exams = [["单位", "姓名", "考试日期", "考试结果"]]
    for n, org in enumerate(townships):
        for k in range(rng.randint(2, 5)):
            exams.append([_label(org), f"执法人员{n:03d}-{k}", "2026-10-15",
                          "合格" if rng.random() < 0.7 else "不合格"])
    service.import_exams(db, actor=SYSTEM_ACTOR, type_code=POWERS, source=_csv(exams),
                         filename="执法资格考试结果.csv")


def _zones(db: Session, done: LedgerDemo) -> None:
    rows = [["事项编码", "事项名称", "类别", "责任单位"]] + [
        [code, name, domain, owner] for code, name, domain, owner, _ in _ZONE_ITEMS]
    done.items += service.import_items(db, actor=SYSTEM_ACTOR, type_code=ZONES, source=_csv(rows),
                                       filename="特色专区.csv").added
    for code, _, _, owner, steps in _ZONE_ITEMS:
        org = org_service.resolve_org(db, ref=owner)
        for step in steps:
            service.update_entry(db, actor=SYSTEM_ACTOR, type_code=ZONES, org=org, item_code=code,
                                 given=service.EntryInput(
                                     status=step,
                                     reason="功能不完整" if step == "failed" else None,
                                     fields={"accepted_on": "2026-10-28"}
                                     if step == "accepted" else {}))


def _supervision(db: Session, done: LedgerDemo, rng: random.Random) -> None:
    city = org_service.resolve_org(db, ref=get_settings().city_code)
    try:
        org_service.resolve_org(db, ref=BIG_DATA)
    except DomainError:
        org_service.create_org(db, actor=SYSTEM_ACTOR, name=BIG_DATA, short_name="政务和大数据局",
                               level=OrgLevel.department, parent=city)
    rows = [["事项编码", "事项名称", "类别", "牵头部门", "目标值"]] + [
        [code, name, category, lead, str(target)]
        for code, name, category, lead, target in _INDICATORS]
    done.items += service.import_items(db, actor=SYSTEM_ACTOR, type_code=SUPERVISION,
                                       source=_csv(rows), filename="互联网+监管指标.csv").added
    _, spec = service.current_type(db, actor=SYSTEM_ACTOR, code=SUPERVISION)
    departments = [org for org, _ in service.required_orgs(db, spec=spec)]
    latest = previous_period(month_of(local_today()))
    for back in range(5, -1, -1):
        period = shift(latest, -back)
        values = [["单位", "事项编码", "数值"]]
        for org in departments:
            skill = rng.uniform(0.6, 1.1)
            for code, _, _, _, target in _INDICATORS:
                if rng.random() < 0.05:
                    continue  # not reported this month
                value = min(100.0, target * skill * (1 + 0.03 * (5 - back) * rng.random())) \
                    if target == 100 or code in ("SV-03", "SV-06") else round(target * skill * 1.2)
                values.append([org.name, code, f"{value:.1f}" if target >= 80 else str(int(value))])
        done.figures += service.import_figures(
            db, actor=SYSTEM_ACTOR, type_code=SUPERVISION, kind=FigureKind.amount, period=period,
            source=_csv(values), filename=f"互联网+监管{period}.csv").added


def _commitments(db: Session, done: LedgerDemo) -> None:
    rows = [["事项编码", "事项名称", "类别", "责任单位", "目标值", "完成时限"]] + [
        [code, name, category, owner, str(target), date(2026, 6, 30).isoformat()]
        for code, name, category, owner, _, _, target in _COMMITMENTS]
    done.items += service.import_items(db, actor=SYSTEM_ACTOR, type_code=COMMITMENTS,
                                       source=_csv(rows), filename="季调度表态.csv").added
    for code, _, _, owner, status, metric, _ in _COMMITMENTS:
        org = org_service.resolve_org(db, ref=owner)
        service.update_entry(db, actor=SYSTEM_ACTOR, type_code=COMMITMENTS, org=org,
                             item_code=code, given=service.EntryInput(
                                 status=None if status == "promised" else status,
                                 reason="指标未达" if status == "missed" else None,
                                 fields={"quarter": "2026Q1", "indicator": metric}))
