"""Reference data: the region's division tree (from the national division codes) and the
cohort of its province's cities."""

from __future__ import annotations

import csv
import functools
import gzip
import re
from dataclasses import dataclass
from importlib import resources

from pypinyin import lazy_pinyin
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.security import SYSTEM_ACTOR
from tongban.org.enums import OrgLevel
from tongban.org.models import Cohort, Org
from tongban.org.service.cohorts import create_cohort
from tongban.org.service.orgs import pinyin_of, short_name_of

#: The cohort code of a province's cities when the tree was loaded before regions were a
#: setting (Sichuan): kept, so existing databases keep working.
SICHUAN_CITIES_COHORT = "sichuan-cities"


@dataclass(frozen=True)
class ReferenceLoad:
    created: int
    updated: int
    unchanged: int


_PROVINCE_SUFFIX = re.compile(r"(?:壮族|回族|维吾尔)?自治区$|特别行政区$|省$|市$")


@dataclass(frozen=True)
class Region:
    """Where this deployment is: the province and the city of ``TONGBAN_CITY_CODE``."""

    province_code: str  # 6 digits: 440000
    province_name: str
    city_code: str  # 6 digits: 440100
    city_name: str

    @property
    def cohort_code(self) -> str:
        """The code of the cohort of the province's cities: ``guangdong-cities``."""
        short = _PROVINCE_SUFFIX.sub("", self.province_name)  # 四川, 广西, 内蒙古, 北京
        return "".join(lazy_pinyin(short)).lower() + "-cities"


def _read_divisions(filename: str) -> list[dict[str, str]]:
    raw = resources.files("tongban.data").joinpath("divisions").joinpath(filename).read_bytes()
    if filename.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


@functools.cache
def division_codes() -> frozenset[str]:
    """Every code of the national division data (vintage 2022-10-31) in its full form: the
    provinces', cities' and counties' 6 digits (510000, 511900, 511902) and the townships' 9."""
    found = {r["code"] + "0000" for r in _read_divisions("provinces_all.csv")}
    found |= {r["code"] + "00" for r in _read_divisions("cities_all.csv")}
    found |= {r["code"] for r in _read_divisions("areas_all.csv")}
    found |= {r["code"] for r in _read_divisions("streets_all.csv.gz")}
    return frozenset(found)


def is_division_code(code: str) -> bool:
    """Whether ``code`` names a division: 6 digits of a province, city or county, 9 of a
    township, or 12 (the statistical form) whose township (or county, with zeros) is known."""
    if not code.isascii() or not code.isdigit():
        return False
    known = division_codes()
    if len(code) in (6, 9):
        return code in known
    if len(code) == 12:
        return code[:9] in known or (code[:6] in known and code[6:] == "000000")
    return False


def region() -> Region:
    """The deployment's region from ``TONGBAN_CITY_CODE``, refused in plain words when the
    code names no prefecture-level division."""
    code = get_settings().city_code.strip()
    cities = {r["code"]: r for r in _read_divisions("cities_all.csv")}
    city = cities.get(code[:4]) if len(code) == 6 and code.isdigit() and code.endswith("00") \
        else None
    if city is None:
        raise DomainError(f"TONGBAN_CITY_CODE「{code[:12]}」不是地级行政区划代码（6位，如巴中市 511900、"
                          f"广州市 440100）")
    provinces = {r["code"]: r["name"] for r in _read_divisions("provinces_all.csv")}
    return Region(city["provinceCode"] + "0000", provinces[city["provinceCode"]],
                  code, city["name"])


@audit.action({"reference.divisions_loaded": "载入行政区划"})
def load_reference_divisions(db: Session) -> ReferenceLoad:
    """Load the region's division tree: its province, every city of the province, and the
    counties and townships of the chosen city (or, with ``TONGBAN_REFERENCE_SCOPE=province``,
    of every city). Idempotent; a database keeps the tree it was created with: a region in
    another province is refused, a tree loaded more widely before is kept."""
    place = region()
    province_digits = place.province_code[:2]
    for other in db.scalars(select(Org).where(Org.level == OrgLevel.province.value)):
        if other.code != place.province_code:
            raise DomainError(
                f"数据库已按{other.name}建立组织机构，不能改为{place.province_name}"
                f"（TONGBAN_CITY_CODE={place.city_code}）：新地区请使用新的数据库，或改回原来的设置")
    wide = get_settings().reference_scope == "province"
    rows: list[tuple[str, str, str, str | None]] = [
        (place.province_code, place.province_name, OrgLevel.province.value, None)
    ]
    rows += [
        (r["code"] + "00", r["name"], OrgLevel.city.value, place.province_code)
        for r in _read_divisions("cities_all.csv") if r["provinceCode"] == province_digits
    ]
    counties = [r for r in _read_divisions("areas_all.csv")
                if r["provinceCode"] == province_digits
                and (wide or r["cityCode"] == place.city_code[:4])]
    rows += [(r["code"], r["name"], OrgLevel.county.value, r["cityCode"] + "00")
             for r in counties]
    county_codes = {r["code"] for r in counties}
    rows += [
        (r["code"], r["name"], OrgLevel.township.value, r["areaCode"])
        for r in _read_divisions("streets_all.csv.gz") if r["areaCode"] in county_codes
    ]
    existing = {o.code: o for o in db.scalars(select(Org))}
    created = updated = unchanged = 0
    for code, name, level, parent_code in rows:
        parent = existing[parent_code] if parent_code else None
        org = existing.get(code)
        if org is None:
            full, initials = pinyin_of(name)
            org = Org(
                code=code,
                name=name,
                short_name=name if level == OrgLevel.township.value else short_name_of(name),
                level=level,
                parent_id=parent.id if parent else None,
                division_code=code,
                pinyin=full,
                initials=initials,
            )
            db.add(org)
            db.flush()
            org.path = f"{parent.path if parent else '/'}{org.id}/"
            existing[code] = org
            created += 1
        elif org.name != name:
            full, initials = pinyin_of(name)
            org.name, org.short_name, org.pinyin, org.initials = (
                name,
                name if level == OrgLevel.township.value else short_name_of(name),
                full,
                initials,
            )
            updated += 1
        else:
            unchanged += 1
    db.flush()
    if created or updated:
        audit.record(
            db,
            actor=SYSTEM_ACTOR,
            action="reference.divisions_loaded",
            object_type="org",
            object_id=place.province_code,
            changes={"created": created, "updated": updated},
        )
    _ensure_reference_cohort(db, place)
    return ReferenceLoad(created=created, updated=updated, unchanged=unchanged)


def _ensure_reference_cohort(db: Session, place: Region) -> None:
    """The cohort of the province's cities (the province's assessment ranks them), once."""
    province = db.scalar(select(Org).where(Org.code == place.province_code))
    assert province is not None
    cities = list(db.scalars(select(Org).where(Org.level == OrgLevel.city.value,
                                               Org.parent_id == province.id).order_by(Org.code)))
    if db.scalar(select(Cohort).where(Cohort.is_reference.is_(True))) is not None:
        return  # created with the tree (sichuan-cities in databases older than regions)
    create_cohort(
        db,
        actor=SYSTEM_ACTOR,
        code=place.cohort_code,
        name=f"{place.province_name}的{len(cities)}个市(州)",
        description="省一网通办能力提升考核的评价对象",
        members=cities,
        is_reference=True,
    )
