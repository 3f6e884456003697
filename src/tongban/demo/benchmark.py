"""The 对标 demo: catalogs of all the province's cities (21 in 四川) built deterministically
from the real item list (广安区's), each city offering its own share of the items, with varied
time limits, steps, visits and materials, some rows without codes and with differently written
names; the home city's with its guides' elements (a few of them abnormal, for the 办事指南体检)
and the province's 实施清单 of some of its items; aligned, with suggestions for the home city.
Running it again changes nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from importlib import resources

from sqlalchemy.orm import Session

from tongban.benchmark import service as benchmark
from tongban.core.config import get_settings
from tongban.core.security import SYSTEM_ACTOR
from tongban.demo.catalog import ITEMS_FILE
from tongban.org.models import Org

#: How many rows of the real list the demo draws from, and how many the home city lists (the
#: others list ITEMS_PER_CITY of them, each its own share), so that the demo loads in seconds.
SOURCE_ROWS = 240
ITEMS_PER_CITY = 160
AS_OF = date(2026, 11, 2)
STEPS = ("申请", "受理", "审查", "现场核查", "决定", "制证", "送达")
DAYS = (0, 1, 3, 5, 7, 10, 15, 20)
MATERIALS = ("申请表", "居民身份证（复印件）", "营业执照", "场所使用证明", "相关资质证明材料",
             "法定代表人授权委托书")


@dataclass
class BenchmarkDemo:
    snapshots_new: int = 0
    groups: int = 0
    suggestions: int = 0


def _source_rows() -> list[dict[str, str]]:
    source = resources.files("tongban.data").joinpath("items", ITEMS_FILE)
    with source.open("rb") as stream:
        text = stream.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))[:SOURCE_ROWS]


#: The home city's guide elements, and the abnormal ones the check finds (every 17th item).
GUIDE = ("《中华人民共和国行政许可法》等", "申请人符合法定条件", "巴中市政务服务中心一楼综合窗口",
         "工作日 9:00-12:00，14:30-17:30", "0827-5268812", "12345", "批准文书")
BAD_GUIDES = (("受理条件", ""), ("咨询电话", "5268812"), ("办理时间", ""), ("监督电话", "0827-52"))


def _offers(i: int, n: int) -> bool:
    """Whether city ``n`` lists row ``i`` (the home city its first ITEMS_PER_CITY rows)."""
    if n == 0:
        return i < ITEMS_PER_CITY
    return (i * 7 + n * 11) % SOURCE_ROWS < ITEMS_PER_CITY


def _catalog(rows: list[dict[str, str]], city: Org, n: int) -> tuple[bytes, bytes]:
    """City ``n``'s items and materials (n = 0 is the home city, with its guides)."""
    items, materials = io.StringIO(), io.StringIO()
    item_writer, material_writer = csv.writer(items), csv.writer(materials)
    item_writer.writerow(["实施编码", "事项名称", "实施部门", "事项类型", "法定办结时限",
                          "承诺办结时限", "办理流程", "跑动次数", "收费",
                          *(["设定依据", "受理条件", "办理地点", "办理时间", "咨询电话", "监督电话",
                             "结果名称"] if n == 0 else [])])
    material_writer.writerow(["事项", "材料名称", "材料形式", "份数", "是否必需"])
    area = f"{city.division_code or city.code}000000"[:12]
    for i, row in enumerate(rows):
        if not _offers(i, n):
            continue  # not every city offers every item
        spin = (i * 7 + n * 13) % 10
        code, name = row["itemCode"].replace(row["areaCode"], area), row["name"]
        if n and spin in (3, 6):
            code = ""  # a row without codes, its name written a little differently
            name = name.replace("（", "(").replace("）", ")") if spin == 3 else f"{name}事项（市级）"
        legal = 20
        promised = DAYS[(i + n * 3) % len(DAYS)] if n else DAYS[(i + 5) % len(DAYS)]
        steps = 2 + (i + n) % 4
        procedure = "→".join(STEPS[:steps])
        department = row["department"].replace("区", "市", 1)
        visits = (i + n) % 3
        guide: list[object] = []
        if n == 0:
            guide = list(GUIDE)
            if i % 17 == 5:
                column, value = BAD_GUIDES[(i // 17) % len(BAD_GUIDES)]
                guide[("设定依据", "受理条件", "办理地点", "办理时间", "咨询电话", "监督电话",
                       "结果名称").index(column)] = value
            if i % 29 == 7:
                legal = 5  # promised beyond the legal limit
            if promised == 0 and i % 4 == 1:
                visits = 2  # 即办 with two visits
        item_writer.writerow([code, name, department, row["taskType"], legal,
                              "即办" if promised == 0 else promised, procedure,
                              visits, "否", *guide])
        key = code or name
        for m, material in enumerate(MATERIALS[: 2 + (i + n * 2) % 4]):
            requirement = "容缺" if n and (m + i + n) % 5 == 0 else "是"
            material_writer.writerow([key, material, "复印件" if "复印件" in material else "原件",
                                      1, requirement])
        if n == 0 and i % 23 == 11:  # the same material again, written otherwise
            material_writer.writerow([key, "申请表（原件）", "原件", 1, "否"])
    return items.getvalue().encode(), materials.getvalue().encode()


def _implementation_list(rows: list[dict[str, str]], city: Org) -> bytes:
    """The province's 实施清单 of the home city's first items: the demo's materials, one of
    them missing from every 9th guide."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["事项", "材料名称", "材料形式", "份数", "是否必需"])
    area = f"{city.division_code or city.code}000000"[:12]
    for i, row in enumerate(rows[:60]):
        code = row["itemCode"].replace(row["areaCode"], area)
        for material in MATERIALS[: 2 + i % 4]:
            writer.writerow([code, material, "复印件" if "复印件" in material else "原件", 1, "是"])
        if i % 9 == 4:
            writer.writerow([code, "承诺书", "原件", 1, "是"])
    return out.getvalue().encode()


#: How the demo catalog writes departments the city's org tree names otherwise: mapped in the
#: register (管理 → 部门别名) as an analyst would, so every suggestion has its department.
WRITTEN_DEPARTMENTS = {"市公安分局": "市公安局", "市教科体局": "市教育局",
                       "市经信局": "市经济和信息化局", "市消防大队": "市应急管理局"}


def load_benchmark_demo(db: Session) -> BenchmarkDemo:
    """Import the demo catalogs, align them and write the home city's suggestions."""
    rows = _source_rows()
    result = BenchmarkDemo()
    home = benchmark.resolve_city(db, ref=get_settings().city_code)
    cities = [home, *(c for c in benchmark.province_cities(db) if c.id != home.id)]
    for n, city in enumerate(cities):
        items, materials = _catalog(rows, city, n)
        done = benchmark.import_catalog(db, actor=SYSTEM_ACTOR, city=city,
                                        source=io.BytesIO(items), filename=f"{city.name}事项目录.csv",
                                        materials=io.BytesIO(materials),
                                        materials_filename=f"{city.name}材料.csv", as_of=AS_OF)
        result.snapshots_new += done.new
    benchmark.import_implementation_list(db, actor=SYSTEM_ACTOR, city=home,
                                         source=io.BytesIO(_implementation_list(rows, home)),
                                         filename=f"{home.name}实施清单材料.csv")
    result.groups = benchmark.align(db, actor=SYSTEM_ACTOR).groups
    for written, department in WRITTEN_DEPARTMENTS.items():  # as an analyst maps them once
        found = benchmark.department_orgs(db, city=home)
        org = next((o for o in found if o.name == department), None)
        if org is not None:
            benchmark.map_department(db, actor=SYSTEM_ACTOR, city=home, name=written,
                                     department=org)
    suggested = benchmark.suggest(db, actor=SYSTEM_ACTOR, city=benchmark.home_city(db))
    result.suggestions = sum(suggested.counts.values())
    return result
