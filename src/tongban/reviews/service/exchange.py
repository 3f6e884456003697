"""好差评 records as the provincial platforms exchange them (the 办件评价 interface): a dialect
of the reviews import, found by its header, in CSV, XLSX or JSON lines.

A record becomes a review through the same checks (``Checker``, ``parse_row``), with the
dialect's own readings: the org from ``deptCode`` (a unified social credit code an analyst
mapped to an org once, ``map_dept_code``) or ``areaCode`` (a 12-digit division code), the
channel from ``pf`` (7, the system default rating, is a default rating whatever the local
setting), the time from ``assessTime`` (text or epoch milliseconds). The id is ``dataSource``
+ ``projectNo`` + ``assessNumber``; a second rating (``assessNumber`` 2) is stored as the
follow-up of the first (``Review.follow_up_of``), in no count; ``certkeyGOV`` is kept only as
a keyed hash (``privacy.rater_key``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.core import audit, privacy
from tongban.core.creditcode import is_credit_code
from tongban.core.errors import RowError
from tongban.core.listing import Listing, ListParams, Page
from tongban.core.security import Actor
from tongban.core.tabular import Cell, cell_text
from tongban.org import service as org_service
from tongban.org.enums import AliasKind
from tongban.org.models import Org, OrgAlias
from tongban.reviews.enums import PF_CHANNELS, Channel
from tongban.reviews.models import Review
from tongban.reviews.service.checks import CLOCK_SLACK, Checker, parse_row

# entries written before the register of departments (org.alias_mapped) took deptCodes over
audit.name_objects({"dept_code": "部门信用代码"})
audit.name_former_actions({"dept_code.mapped": "登记部门信用代码"})

#: The exchange's field names, as the interface spells them (matched case-insensitively).
FIELDS = ("areaCode", "deptCode", "taskCode", "taskHandleItem", "taskName", "projectNo",
          "proStatus", "pf", "certkeyGOV", "userProp", "satisfaction", "evalDetail",
          "writingEvaluation", "assessTime", "assessNumber", "promiseTime", "acceptDate",
          "dataSource")
REQUIRED = ("dataSource", "projectNo", "pf", "satisfaction", "assessTime")
#: A header naming these is the exchange dialect.
MARKERS = frozenset({"projectNo", "satisfaction", "assessNumber", "dataSource", "pf"})
ALIASES = {name: name for name in FIELDS}
#: ``source`` of an exchange record: the province's data source under its own prefix.
SOURCE_PREFIX = "exchange:"
#: A rejects file keeps a rater's key as its hash behind this prefix (never the number), which
#: a re-import of that file takes as the key itself.
KEY_PREFIX = "hmac:"
_KEY = re.compile(r"[0-9a-f]{32}")
_MILLIS = re.compile(r"\d{12,13}")
_SECONDS = re.compile(r"\d{9,10}")
#: Which exchange field a check's column stands for, in errors.
COLUMN_OF = {"source": "dataSource", "source_id": "projectNo", "channel": "pf",
             "item_code": "taskCode", "case_no": "projectNo", "level": "satisfaction",
             "tags": "evalDetail", "comment": "writingEvaluation", "rated_at": "assessTime"}
FIRST_MISSING = ("第一次评价（assessNumber 1）未找到：追加评价须在第一次评价之后导入"
                 "（同一文件中在前，或已导入）")


def is_exchange(header: list[str]) -> bool:
    """Whether a file's header (after aliases) is the exchange's."""
    return len(MARKERS & set(header)) >= 3


def missing_columns(header: list[str]) -> list[str]:
    """The exchange fields a file must have and lacks (an org field among them)."""
    missing = [c for c in REQUIRED if c not in header]
    if "areaCode" not in header and "deptCode" not in header:
        missing.append("deptCode")
    return missing


class ExchangeChecker(Checker):
    """The checks of an exchange record: the column checks of ``Checker`` with the dialect's
    org, channel, tags and time."""

    def __init__(self, db: Session) -> None:
        super().__init__(db)
        self.dept_orgs: dict[str, Org] | None = None
        #: The valid deptCodes met that no org is mapped to (kept by the import, if it stores).
        self.unmapped: set[str] = set()

    def org(self, ref: str) -> Org | str:
        """``ref`` is ``areaCode`` and ``deptCode`` joined by a tab (see ``parse_record``)."""
        if ref not in self.orgs:
            area, _, dept = ref.partition("\t")
            self.orgs[ref] = self._org(area, dept)
        return self.orgs[ref]

    def _org(self, area: str, dept: str) -> Org | str:
        """A mapped deptCode's org; else the county or township of the areaCode; else why not."""
        if dept:
            code = dept.upper()
            if not is_credit_code(code):
                return f"部门代码「{dept[:40]}」不是有效的统一社会信用代码（18位，校验位须符合 GB 32100）"
            if self.dept_orgs is None:
                self.dept_orgs = org_service.code_orgs(self.db)
            if code in self.dept_orgs:
                return self.dept_orgs[code]
        found = self._area(area) if area else None
        if isinstance(found, Org) and (not dept or found.level in ("county", "township")):
            return found
        if dept:
            self.unmapped.add(dept.upper())
            return (f"部门代码「{dept.upper()}」尚未对应到单位：请在「部门别名」页面登记，"
                    f"或运行 tongban reviews map-dept {dept.upper()} 单位名称")
        return found or "缺少 deptCode 或 areaCode"

    def _area(self, area: str) -> Org | str:
        """The org of a 12-digit division code: its township (9 digits), else its county or
        city (6 digits)."""
        if not (len(area) == 12 and area.isdecimal() and area.isascii()):
            return f"areaCode「{area[:40]}」应为12位行政区划代码"
        code = area[:9] if area[6:9] != "000" else area[:6]
        org = self.db.scalar(select(Org).where(Org.division_code == code))
        return org if org is not None else f"未找到行政区划代码「{area}」对应的单位"

    def channel(self, text: str) -> tuple[Channel | None, str | None]:
        channel = PF_CHANNELS.get(text)
        if channel is None:
            return None, (f"pf「{text[:20]}」应为1–7"
                          "（1网站、2移动端、3扫码、4评价器、5自助终端、6短信、7系统默认）")
        return channel, None

    def tags(self, text: str) -> tuple[str, str | None]:
        """The rated aspects (evalDetail) as the province codes them, joined by 、."""
        parts = [p.strip() for p in re.split(r"[;；、,，|]", text) if p.strip()] if text else []
        joined = "、".join(parts)
        if len(joined) > 300:
            return "", "evalDetail 超过300个字符"
        return joined, None

    def rated_at(self, value: Cell) -> tuple[datetime | None, str | None]:
        """'YYYY-MM-DD HH:MM:SS' (local time) or epoch milliseconds (or seconds)."""
        text = cell_text(value)
        if _MILLIS.fullmatch(text) or _SECONDS.fullmatch(text):
            seconds = int(text) / (1000 if len(text) >= 12 else 1)
            moment = datetime.fromtimestamp(seconds, tz=UTC)
            if moment > self.now + CLOCK_SLACK:
                return None, "评价时间晚于当前时间"
            return moment, None
        parsed, problem = super().rated_at(value)
        if problem and "应为" in problem:
            return None, f"assessTime「{text[:40]}」应为 YYYY-MM-DD HH:MM:SS 或毫秒时间戳"
        return parsed, problem


def in_exchange_terms(error: RowError, org_column: str = "areaCode") -> RowError:
    """A check's error in the exchange format's words (its fields, not the house columns)."""
    column = org_column if error.column == "org" else COLUMN_OF.get(error.column or "",
                                                                      error.column)
    reason = error.reason.replace("来源编号", "projectNo").replace("来源", "dataSource")
    return RowError(error.row, column, reason, error.file)


def parse_record(ctx: ExchangeChecker, values: dict[str, Cell],
                 row: int) -> tuple[dict[str, Any] | None, list[RowError]]:
    """One exchange record as insertable review values (``_first``: the source id of the
    rating it follows up), or the reasons it is refused, named by the exchange's fields."""
    text = {name: cell_text(values.get(name)) for name in FIELDS}
    errors: list[RowError] = []
    number = text["assessNumber"] or "1"
    if number not in ("1", "2"):
        errors.append(RowError(row, "assessNumber",
                               f"assessNumber「{number[:20]}」应为1（首次评价）或2（追加评价）"))
    source = f"{SOURCE_PREFIX}{text['dataSource']}" if text["dataSource"] else ""
    case_no = text["projectNo"]
    given: dict[str, Cell] = {
        "source": source, "source_id": f"{case_no}:{number}" if case_no else "",
        "channel": text["pf"], "org": f"{text['areaCode']}\t{text['deptCode']}",
        "item_code": text["taskCode"], "case_no": case_no, "level": text["satisfaction"],
        "tags": text["evalDetail"], "comment": text["writingEvaluation"], "named": "",
        "phone": "", "rated_at": values.get("assessTime"),
    }
    parsed, problems = parse_row(ctx, given, row)
    org_column = "deptCode" if text["deptCode"] else "areaCode"
    errors += [in_exchange_terms(e, org_column) for e in problems]
    if errors or parsed is None:
        return None, errors
    certificate = text["certkeyGOV"]
    key = certificate[len(KEY_PREFIX):] if certificate.startswith(KEY_PREFIX) else ""
    parsed["rater_key"] = key if _KEY.fullmatch(key) else privacy.rater_key(certificate)
    if parsed["channel"] == Channel.system.value:
        parsed["is_default"] = True
    parsed["_first"] = f"{case_no}:1" if number == "2" else ""
    if number == "2":  # the follow-up of a rating: kept, in no count, bound by no dedup rule
        parsed["voided"], parsed["dedup_key"] = True, None
    return parsed, []


def reject_cells(values: dict[str, Cell]) -> list[str]:
    """A rejected record's cells as the rejects file keeps them: certkeyGOV as its hash."""
    cells = []
    for name in FIELDS:
        if name == "certkeyGOV":
            certificate = cell_text(values.get(name))
            key = certificate[len(KEY_PREFIX):] if certificate.startswith(KEY_PREFIX) else ""
            key = key if _KEY.fullmatch(key) else privacy.rater_key(certificate)
            cells.append(f"{KEY_PREFIX}{key}" if key else "")
        else:
            cells.append(cell_text(values.get(name)))
    return cells


# ---------------------------------------------------------------- deptCode → org


#: The deptCode map as a list: by code (the code aliases of the register of departments).
DEPT_CODES = Listing(sorts={"code": ("部门信用代码", [OrgAlias.value]),
                            "created_at": ("登记时间", [OrgAlias.created_at])},
                     key=OrgAlias.id, search="部门信用代码")


def dept_codes(db: Session, *, actor: Actor, params: ListParams) -> Page[OrgAlias]:
    """The deptCodes mapped to orgs (analysts and admins): the code aliases of the register."""
    return org_service.list_aliases(db, actor=actor, params=params, mapped=True,
                                    kind=AliasKind.code, listing=DEPT_CODES)


def map_dept_code(db: Session, *, actor: Actor, code: str, org: Org) -> OrgAlias:
    """Remember which org a department's unified social credit code stands for, so that
    exchange records carrying it count for that org (an alias in the register of departments,
    known to every feeder)."""
    return org_service.map_alias(db, actor=actor, kind=AliasKind.code, value=code, org=org,
                                 source="好差评")


def note_unmapped_codes(db: Session, *, actor: Actor, checker: ExchangeChecker) -> int:
    """Keep the deptCodes an import met and could not map, for the register's page."""
    if not checker.unmapped:
        return 0
    return org_service.note_unmapped(db, actor=actor, kind=AliasKind.code,
                                     values=checker.unmapped, source="好差评")


def repeat_raters(db: Session, *, actor: Actor, period: str, at_least: int = 2) -> int:
    """How many raters (by their key) gave at least ``at_least`` counted ratings in a month."""
    org_service.require_manager(actor, "查看重复评价人")
    per_rater = (select(Review.rater_key).where(
        Review.period == period, Review.rater_key != "", Review.voided.is_(False))
        .group_by(Review.rater_key).having(func.count() >= at_least)).subquery()
    return db.scalar(select(func.count()).select_from(per_rater)) or 0
