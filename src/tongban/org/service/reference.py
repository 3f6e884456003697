"""Reference data: the province's division tree and the cohort of its cities."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit
from tongban.core.security import SYSTEM_ACTOR
from tongban.org.enums import OrgLevel
from tongban.org.models import Cohort, Org
from tongban.org.service.cohorts import create_cohort
from tongban.org.service.orgs import pinyin_of, short_name_of

PROVINCE_CODE = "510000"
SICHUAN_CITIES_COHORT = "sichuan-cities"


@dataclass(frozen=True)
class ReferenceLoad:
    created: int
    updated: int
    unchanged: int


def _read_divisions(filename: str) -> list[dict[str, str]]:
    text = (
        resources.files("tongban.data")
        .joinpath("divisions").joinpath(filename)
        .read_text(encoding="utf-8-sig")
    )
    return list(csv.DictReader(text.splitlines()))


@audit.action({"reference.divisions_loaded": "载入行政区划"})
def load_reference_divisions(db: Session) -> ReferenceLoad:
    """Load Sichuan's division tree (1 + 21 + 183 + 3,111 orgs); idempotent."""
    rows: list[tuple[str, str, str, str | None]] = [
        (PROVINCE_CODE, "四川省", OrgLevel.province.value, None)
    ]
    rows += [
        (r["code"] + "00", r["name"], OrgLevel.city.value, PROVINCE_CODE)
        for r in _read_divisions("cities_sichuan.csv")
    ]
    rows += [
        (r["code"], r["name"], OrgLevel.county.value, r["cityCode"] + "00")
        for r in _read_divisions("areas_sichuan.csv")
    ]
    rows += [
        (r["code"], r["name"], OrgLevel.township.value, r["areaCode"])
        for r in _read_divisions("streets_sichuan.csv")
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
            object_id=PROVINCE_CODE,
            changes={"created": created, "updated": updated},
        )
    _ensure_reference_cohort(db)
    return ReferenceLoad(created=created, updated=updated, unchanged=unchanged)


def _ensure_reference_cohort(db: Session) -> None:
    cities = list(
        db.scalars(select(Org).where(Org.level == OrgLevel.city.value).order_by(Org.code))
    )
    cohort = db.scalar(select(Cohort).where(Cohort.code == SICHUAN_CITIES_COHORT))
    if cohort is None:
        create_cohort(
            db,
            actor=SYSTEM_ACTOR,
            code=SICHUAN_CITIES_COHORT,
            name="四川省21个市(州)",
            description="省一网通办能力提升考核的评价对象",
            members=cities,
            is_reference=True,
        )
