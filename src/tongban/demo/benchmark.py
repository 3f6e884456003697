"""The 对标 demo: catalogs of a few of the province's cities built deterministically from the
real item list (the demo city's), with varied time limits, steps, visits and materials, some
rows without codes and with differently written names; aligned, with suggestions for the
home city. Running it again changes nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from importlib import resources

from sqlalchemy.orm import Session

from tongban.benchmark import service as benchmark
from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR
from tongban.demo.catalog import ITEMS_FILE
from tongban.org.models import Org

#: The other cities of the demo (the home city is the deployment's) and how many items each
#: lists; the first rows of the real list, so that the demo loads in well under a second.
OTHER_CITIES = ("广元", "南充", "达州", "阿坝州")
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
    return list(csv.DictReader(io.StringIO(text)))[:ITEMS_PER_CITY]


def _catalog(rows: list[dict[str, str]], city: Org, n: int) -> tuple[bytes, bytes]:
    """City ``n``'s items and materials (n = 0 is the home city)."""
    items, materials = io.StringIO(), io.StringIO()
    item_writer, material_writer = csv.writer(items), csv.writer(materials)
    item_writer.writerow(["实施编码", "事项名称", "实施部门", "事项类型", "法定办结时限",
                          "承诺办结时限", "办理流程", "跑动次数", "收费"])
    material_writer.writerow(["事项", "材料名称", "材料形式", "份数", "是否必需"])
    area = f"{city.division_code or city.code}000000"[:12]
    for i, row in enumerate(rows):
        spin = (i * 7 + n * 13) % 10
        if n and spin == 9:
            continue  # not every city offers every item
        code, name = row["itemCode"].replace(row["areaCode"], area), row["name"]
        if n and spin in (3, 6):
            code = ""  # a row without codes, its name written a little differently
            name = name.replace("（", "(").replace("）", ")") if spin == 3 else f"{name}事项（市级）"
        legal = 20
        promised = DAYS[(i + n * 3) % len(DAYS)] if n else DAYS[(i + 5) % len(DAYS)]
        steps = 2 + (i + n) % 4
        procedure = "→".join(STEPS[:steps])
        department = row["department"].replace("区", "市", 1)
        item_writer.writerow([code, name, department, row["taskType"], legal,
                              "即办" if promised == 0 else promised, procedure,
                              (i + n) % 3, "否"])
        key = code or name
        for m, material in enumerate(MATERIALS[: 2 + (i + n * 2) % 4]):
            requirement = "容缺" if n and (m + i + n) % 5 == 0 else "是"
            material_writer.writerow([key, material, "复印件" if "复印件" in material else "原件",
                                      1, requirement])
    return items.getvalue().encode(), materials.getvalue().encode()


def load_benchmark_demo(db: Session) -> BenchmarkDemo:
    """Import the demo catalogs, align them and write the home city's suggestions."""
    rows = _source_rows()
    result = BenchmarkDemo()
    home = benchmark.resolve_city(db, ref=get_settings().city_code)
    cities = [home]
    for ref in OTHER_CITIES:
        try:
            city = benchmark.resolve_city(db, ref=ref)
        except DomainError:
            continue  # a deployment in another province has other cities
        if city.id != home.id:
            cities.append(city)
    for n, city in enumerate(cities):
        items, materials = _catalog(rows, city, n)
        done = benchmark.import_catalog(db, actor=SYSTEM_ACTOR, city=city,
                                        source=io.BytesIO(items), filename=f"{city.name}事项目录.csv",
                                        materials=io.BytesIO(materials),
                                        materials_filename=f"{city.name}材料.csv", as_of=AS_OF)
        result.snapshots_new += done.new
    result.groups = benchmark.align(db, actor=SYSTEM_ACTOR).groups
    suggested = benchmark.suggest(db, actor=SYSTEM_ACTOR, city=benchmark.home_city(db))
    result.suggestions = sum(suggested.counts.values())
    return result
