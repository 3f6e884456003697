"""Demo 数据开放共享: about sixty datasets of 巴中's departments with their fields, a year of
deliveries up to today through the real checks (with the defects departments really deliver:
bad credit codes, empty required fields, a monthly dataset gone late, a sudden drop), the
exchange platform's use counts, and the cascade story of the speech: first in the province,
then the provincial platform changed its cascade standard on 1 March 2026, the city's pushes
were refused in March and April, and it reconnected in May."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from tongban.core.periods import month_of, previous_period, shift
from tongban.core.security import SYSTEM_ACTOR
from tongban.core.workdays import local_today
from tongban.datasharing import service
from tongban.datasharing.enums import CascadeKind, CascadeOutcome
from tongban.datasharing.models import Dataset, Delivery
from tongban.datasharing.service import cascade

#: The day the provincial platform's cascade standard changed, and the day the city's pushes
#: spoke the new one.
STANDARD_CHANGED = date(2026, 3, 1)
RECONNECTED = date(2026, 5, 8)

#: (department, dataset name, frequency, share, open, key) — the catalog's rows.
DATASETS = [
    ("市市场监督管理局", "市场主体登记信息", "日", "无条件", "开放", "是"),
    ("市市场监督管理局", "食品经营许可信息", "周", "有条件", "有条件开放", "否"),
    ("市市场监督管理局", "特种设备使用登记信息", "月", "有条件", "不开放", "否"),
    ("市市场监督管理局", "企业年度报告信息", "年", "无条件", "开放", "否"),
    ("市市场监督管理局", "行政处罚信息", "月", "无条件", "开放", "是"),
    ("市自然资源和规划局", "不动产登记信息", "日", "有条件", "不开放", "是"),
    ("市自然资源和规划局", "建设工程规划许可信息", "月", "无条件", "开放", "否"),
    ("市自然资源和规划局", "土地出让信息", "季", "无条件", "开放", "否"),
    ("市人力资源和社会保障局", "社会保险参保信息", "月", "有条件", "不开放", "是"),
    ("市人力资源和社会保障局", "就业登记信息", "月", "有条件", "不开放", "否"),
    ("市人力资源和社会保障局", "职业技能等级证书信息", "季", "无条件", "有条件开放", "否"),
    ("市住房公积金管理中心", "住房公积金缴存信息", "月", "有条件", "不开放", "是"),
    ("市住房公积金管理中心", "住房公积金贷款信息", "月", "有条件", "不开放", "否"),
    ("市民政局", "婚姻登记信息", "日", "有条件", "不开放", "是"),
    ("市民政局", "社会组织登记信息", "月", "无条件", "开放", "否"),
    ("市民政局", "最低生活保障对象信息", "月", "有条件", "不开放", "否"),
    ("市公安局", "户籍人口信息", "日", "有条件", "不开放", "是"),
    ("市公安局", "机动车驾驶证信息", "周", "有条件", "不开放", "否"),
    ("市教育局", "学校基本信息", "年", "无条件", "开放", "否"),
    ("市教育局", "学籍信息", "季", "有条件", "不开放", "否"),
    ("市教育局", "教师资格认定信息", "季", "无条件", "有条件开放", "否"),
    ("市医疗保障局", "医疗保障参保信息", "月", "有条件", "不开放", "是"),
    ("市医疗保障局", "定点医药机构信息", "季", "无条件", "开放", "否"),
    ("市卫生健康委员会", "医疗机构执业登记信息", "月", "无条件", "开放", "否"),
    ("市卫生健康委员会", "出生医学证明信息", "月", "有条件", "不开放", "否"),
    ("市卫生健康委员会", "医师执业注册信息", "季", "无条件", "有条件开放", "否"),
    ("市交通运输局", "道路运输经营许可信息", "月", "无条件", "开放", "否"),
    ("市交通运输局", "道路运输从业人员资格信息", "月", "有条件", "不开放", "否"),
    ("市交通运输局", "公交线路与站点信息", "季", "无条件", "开放", "否"),
    ("市住房和城乡建设局", "建筑业企业资质信息", "月", "无条件", "开放", "否"),
    ("市住房和城乡建设局", "商品房预售许可信息", "月", "无条件", "开放", "否"),
    ("市住房和城乡建设局", "施工许可信息", "月", "无条件", "开放", "否"),
    ("市生态环境局", "排污许可信息", "月", "无条件", "开放", "否"),
    ("市生态环境局", "环境质量监测信息", "日", "无条件", "开放", "否"),
    ("市发展和改革委员会", "企业投资项目备案信息", "月", "无条件", "开放", "否"),
    ("市发展和改革委员会", "信用红黑名单信息", "周", "无条件", "开放", "是"),
    ("市经济和信息化局", "规模以上工业企业信息", "季", "有条件", "不开放", "否"),
    ("市商务局", "外贸经营者备案信息", "月", "无条件", "开放", "否"),
    ("市农业农村局", "农药经营许可信息", "季", "无条件", "开放", "否"),
    ("市农业农村局", "家庭农场名录信息", "季", "无条件", "开放", "否"),
    ("市水利局", "取水许可信息", "季", "无条件", "开放", "否"),
    ("市文化广播电视和旅游局", "旅行社经营许可信息", "季", "无条件", "开放", "否"),
    ("市文化广播电视和旅游局", "A级旅游景区信息", "年", "无条件", "开放", "否"),
    ("市应急管理局", "安全生产许可信息", "月", "无条件", "开放", "否"),
    ("市应急管理局", "危险化学品经营许可信息", "月", "无条件", "开放", "否"),
    ("市司法局", "律师执业信息", "季", "无条件", "开放", "否"),
    ("市司法局", "行政执法人员信息", "季", "有条件", "不开放", "否"),
    ("市财政局", "政府采购信息", "月", "无条件", "开放", "否"),
    ("市林业局", "林木采伐许可信息", "月", "无条件", "开放", "否"),
    ("市退役军人事务局", "退役军人优待证信息", "月", "有条件", "不开放", "否"),
    ("市城市管理行政执法局", "城市道路挖掘许可信息", "月", "无条件", "开放", "否"),
    ("市统计局", "统计调查单位名录", "年", "有条件", "不开放", "否"),
    ("市发展和改革委员会", "企业信用评价信息", "年", "无条件", "开放", "是"),
    ("市财政局", "财政专项资金信息", "季", "无条件", "开放", "否"),
    ("市审计局", "审计结果公告信息", "年", "无条件", "开放", "否"),
    ("市体育局", "体育场馆信息", "年", "无条件", "开放", "否"),
    ("市气象局", "气象灾害预警信息", "实时", "无条件", "开放", "否"),
    ("市档案馆", "档案查阅服务信息", "季", "无条件", "开放", "否"),
    ("市残疾人联合会", "残疾人证信息", "月", "有条件", "不开放", "否"),
    ("市邮政管理局", "快递业务经营许可信息", "季", "无条件", "开放", "否"),
]
#: Real unified social credit codes of Sichuan government bodies (in the shared item list),
#: valid by GB 32100: the "firms" of the demo deliveries.
CREDIT_CODES = ["11511301008778255F", "11511301008778423H", "11511301008778175U",
                "11511301MB0T669970", "11511301MB1P96705T", "11511301008778386B",
                "115113010087780365", "12511300452259013M"]
TOWNS = ["511902001", "511902002", "511902003", "511902100", "511902101", "511902103"]
#: Number segments of the three carriers.
MOBILE_PREFIXES = ["130", "131", "133", "135", "136", "138", "139", "150", "151", "153", "155",
                   "158", "159", "180", "182", "183", "186", "187", "188", "189"]
#: Datasets delivered with their typical defect (by name).
DEFECTS = {"食品经营许可信息": "credit_code", "社会保险参保信息": "missing",
           "道路运输经营许可信息": "date", "退役军人优待证信息": "id_card",
           "建筑业企业资质信息": "duplicate"}
LATE = "就业登记信息"  # a monthly dataset that stopped coming in
DROP = "施工许可信息"  # its latest delivery has far fewer rows


@dataclass
class DataDemo:
    datasets: int = 0
    deliveries: int = 0


def _fields(name: str) -> list[tuple[str, str, str, str, str]]:
    """(字段名, 类型, 必填, 格式, 主键) of a demo dataset: a subject's code, name, a date, an
    amount, a person's number and phone, a place."""
    return [("统一社会信用代码", "文本", "是", "统一社会信用代码", "是"),
            ("名称", "文本", "是", "", "否"),
            ("办理日期", "日期", "是", "", "否"),
            ("金额", "小数", "否", "", "否"),
            ("负责人身份证号", "文本", "否", "身份证号", "否"),
            ("联系电话", "文本", "否", "手机号", "否"),
            ("所在区划", "文本", "否", "行政区划代码", "否")]


def _id_card(rng: random.Random) -> str:
    """A 巴中 ID number as issued since 2000, when 巴中 became 5119 (its birth place a county of
    巴中 then, its birth date real, its check digit right: GB 11643)."""
    body = f"{rng.choice(['511902', '511921', '511922', '511923'])}" \
           f"{rng.randint(2001, 2006)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
           f"{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")


def _credit_code(n: int) -> str:
    """A 巴中 firm's unified social credit code whose check character is right (GB 32100)."""
    body = f"91511900MA{n:07d}"
    return body + uscc.calc_check_digit(body + "0")


def _file(rng: random.Random, rows: int, day: date, defect: str | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f[0] for f in _fields("")])
    for n in range(rows):
        code = CREDIT_CODES[n] if n < len(CREDIT_CODES) else _credit_code(n)
        row = [code, f"巴中市某某经营主体{n + 1}", (day - timedelta(days=rng.randint(0, 25))).isoformat(),
               f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}", _id_card(rng),
               f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(10000000, 99999999)}", rng.choice(TOWNS)]
        if defect == "credit_code" and n % 9 == 4:
            row[0] = row[0][:-1] + ("0" if row[0][-1] != "0" else "1")
        if defect == "missing" and n % 7 == 3:
            row[1] = ""
        if defect == "date" and n % 11 == 5:
            row[2] = f"{day.year}-02-30"
        if defect == "id_card" and n % 6 == 2:
            row[4] = row[4][:-1] + ("0" if row[4][-1] != "0" else "1")
        if defect == "duplicate" and n % 10 == 9:
            row[0] = CREDIT_CODES[0]
        writer.writerow(row)
    return out.getvalue().encode()


def _catalog() -> tuple[bytes, bytes]:
    catalog, fields = io.StringIO(), io.StringIO()
    c, f = csv.writer(catalog), csv.writer(fields)
    c.writerow(["数据集编码", "数据集名称", "提供部门", "更新频率", "共享类型", "开放类型", "重点数据"])
    f.writerow(["数据集编码", "字段名", "类型", "必填", "格式", "主键"])
    for n, (department, name, frequency, share, open_, key) in enumerate(DATASETS, start=1):
        code = f"BZ-DS-{n:03d}"
        c.writerow([code, name, department, frequency, share, open_, key])
        for field in _fields(name):
            f.writerow([code, *field])
    return catalog.getvalue().encode(), fields.getvalue().encode()


def _days(frequency: str, start: date, end: date, rng: random.Random) -> list[date]:
    """The days a dataset of ``frequency`` was delivered between ``start`` and ``end``."""
    found: list[date] = []
    day = start
    if frequency in ("实时", "日"):
        return [end - timedelta(days=n) for n in range(0, 8, 2)][::-1]
    if frequency == "周":
        day = max(start, end - timedelta(days=56))
    while day <= end:
        found.append(day)
        if frequency == "周":
            day += timedelta(days=7)
        else:
            months = {"月": 1, "季": 3, "年": 12}[frequency]
            total = day.month - 1 + months
            day = date(day.year + total // 12, total % 12 + 1, min(day.day, 28))
    return [d + timedelta(days=rng.randint(0, 3)) for d in found if d + timedelta(days=3) <= end]


def load_datasharing_demo(db: Session) -> DataDemo:
    """Add the demo once; later runs change nothing."""
    summary = DataDemo()
    if db.scalar(select(Dataset.id).limit(1)) is not None:
        return summary
    rng = random.Random(27)
    catalog, fields = _catalog()
    done = service.import_catalog(db, actor=SYSTEM_ACTOR, catalog=io.BytesIO(catalog),
                                  fields=io.BytesIO(fields), catalog_name="数据资源目录.csv",
                                  fields_name="数据资源字段.csv")
    summary.datasets = done.added
    today = local_today()
    start = date(today.year if today.month > 1 else today.year - 1, 1, 3)
    datasets = {d.name: d for d in db.scalars(select(Dataset))}
    history_days: list[tuple[Dataset, int, date]] = []
    for _, name, frequency, *_ in DATASETS:
        dataset = datasets[name]
        days = _days(frequency, start, today - timedelta(days=1), rng)
        if name == LATE:
            days = [d for d in days if d < today - timedelta(days=75)]
        for index, day in enumerate(days):
            rows = rng.randint(20, 40)
            if name == DROP and index == len(days) - 1:
                rows = 12
            delivered = service.deliver(
                db, actor=SYSTEM_ACTOR, dataset_code=dataset.code, on=day,
                source=io.BytesIO(_file(rng, rows, day, DEFECTS.get(name))),
                filename=f"{name}-{day.isoformat()}.csv")
            history_days.append((dataset, delivered.delivery.id, day))
            summary.deliveries += 1
    _cascade_history(db, history_days)
    _use(db, datasets=list(datasets.values()), rng=rng, today=today)
    # the monthly figures as the daily job would have written them, month by month
    for back in range(11, -1, -1):
        service.record_metrics(db, period=shift(month_of(today), -back), today=today)
    return summary


def _cascade_history(db: Session, deliveries: list[tuple[Dataset, int, date]]) -> None:
    """The cascade as it went: registered in January under v1; from 1 March the platform
    wanted v2 and refused every push until the city switched on 8 May; fine since. The pushes
    the demo's deliveries queued are taken out of the outbox (they are this history)."""
    from tongban.core.outbox import OutboxMessage

    db.flush()
    for message in db.scalars(select(OutboxMessage).where(
            OutboxMessage.kind.in_(["data.register", "data.push"]))):
        db.delete(message)
    db.flush()
    registered: set[tuple[int, str]] = set()
    for dataset, delivery_id, day in sorted(deliveries, key=lambda item: item[2]):
        if dataset.share_type == "none":
            continue
        standard = "v2" if day >= RECONNECTED else "v1"
        refused = STANDARD_CHANGED <= day < RECONNECTED
        at = datetime.combine(day, time(2, 0), tzinfo=UTC)
        outcome = CascadeOutcome.refused if refused else CascadeOutcome.ok
        if (dataset.id, standard) not in registered:
            cascade.record_attempt(
                db, dataset_id=dataset.id, delivery_id=None, kind=CascadeKind.register,
                outcome=outcome, status=422 if refused else 200, standard=standard, at=at,
                key=f"{dataset.code}:{standard}", alert=False,
                message="级联标准已更新为v2（本次按v1）：缺少 field_list、update_cycle" if refused
                else "已注册")
            if not refused:
                registered.add((dataset.id, standard))
        cascade.record_attempt(
            db, dataset_id=dataset.id, delivery_id=delivery_id, kind=CascadeKind.push,
            outcome=outcome, status=422 if refused else 200, standard=standard,
            at=at + timedelta(minutes=1), alert=False,
            key=f"{dataset.code}:{standard}:{db.get_one(Delivery, delivery_id).sha256}",
            message="级联标准已更新为v2（本次按v1）：缺少 schema_version、records" if refused
            else "已接收")


def _use(db: Session, *, datasets: list[Dataset], rng: random.Random, today: date) -> None:
    """The exchange platform's calls and downloads of last month and the month before: key
    data in daily use, some datasets nobody asked for."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["数据集编码", "期间", "调用次数", "下载次数"])
    last = previous_period(month_of(today))
    for period in (previous_period(last), last):
        for dataset in datasets:
            base = 3000 if dataset.key_data else rng.choice([0, 0, 5, 40, 200, 800])
            writer.writerow([dataset.code, period, int(base * rng.uniform(0.7, 1.3)),
                             int(base * rng.uniform(0.05, 0.2))])
    service.import_use(db, actor=SYSTEM_ACTOR, source=io.BytesIO(out.getvalue().encode()),
                       filename="省平台调用日志.csv")
