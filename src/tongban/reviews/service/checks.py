"""The checks every incoming review passes, one function per column.

``parse_row`` applies them to one row (the API, the rating page and the row-by-row import);
the set-based import (``bulk``) applies the same functions once per distinct value of
a column, so that both paths accept, refuse and word their errors alike.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import String
from sqlalchemy.orm import Session

from tongban.core import privacy
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import DomainError, RowError
from tongban.core.periods import month_of
from tongban.core.tabular import Cell, cell_text
from tongban.core.workdays import local_date, local_zone
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews.enums import FEEDER_CHANNELS, Channel, Level
from tongban.reviews.models import Review

COLUMNS = ("source", "source_id", "channel", "org", "item_code", "case_no", "level", "tags",
           "comment", "named", "phone", "rated_at")
OPTIONAL_COLUMNS = ("item_code", "case_no", "tags", "comment", "named", "phone")
ALIASES = {"来源": "source", "来源编号": "source_id", "渠道": "channel", "评价渠道": "channel",
           "单位": "org", "评价对象": "org", "事项编码": "item_code", "办件编号": "case_no",
           "评价等级": "level", "等级": "level", "标签": "tags", "问题标签": "tags",
           "评价内容": "comment", "实名": "named", "是否实名": "named", "电话": "phone",
           "联系电话": "phone", "评价时间": "rated_at"}
#: Ahead of the server's clock by more than this, a rating time is refused as in the future.
CLOCK_SLACK = timedelta(minutes=5)
ON_SITE_TWICE = "一次一评：该次办理已在此渠道评价"
#: Sources of ratings made in public (the API and the rating page): their ids are made by the
#: server, and no import or system feed may use these names, so none can claim their ids.
PUBLIC_SOURCE = "public"
#: The source of the ratings 跑团代办 errands become (ids ``errand:<errand id>``).
ERRAND_SOURCE = "errand"
#: Sources no import or system feed may use: the public ones and the feeders' own.
PUBLIC_SOURCES = frozenset({PUBLIC_SOURCE, "rate-page", ERRAND_SOURCE})
RESERVED_SOURCE = "来源「{source}」留给公开评价和本系统的业务，导入和对接不能使用"
#: A source id already stored for a different review: reported, never silently skipped.
TAKEN_ID = ("来源「{source}」的编号「{source_id}」已被另一条评价使用（单位、等级、渠道或时间不同），"
            "本行未导入；请核对编号")
#: A row giving the source id of an earlier row of the same file with other values.
TWIN_ID = ("与第{row}行的来源「{source}」编号「{source_id}」相同，但单位、等级、渠道或评价时间不同："
           "同一条评价只能有一种内容，请核对这两行")
ONLINE_TWICE = "一事一评：该办件已在此渠道评价"

#: Cells stored as they are: what each is called and the most characters the database keeps.
STORED_AS_IS = {"source": "来源", "source_id": "来源编号", "item_code": "事项编码", "case_no": "办件编号"}
LIMITS = {name: cast(String, Review.__table__.c[name].type).length or 0 for name in STORED_AS_IS}
_LEVEL_WORDS = {lvl.label: lvl.value for lvl in Level}
#: A system default rating comes only from the exchange dialect (``pf`` 7), as a default; a
#: feeder's channel (跑团代办) only from that feeder's service function.
_OPEN_CHANNELS = [c for c in Channel if c is not Channel.system and c not in FEEDER_CHANNELS]
_CHANNEL_WORDS: dict[str, Channel] = {**{c.value: c for c in _OPEN_CHANNELS},
                                      **{c.label.lower(): c for c in _OPEN_CHANNELS}}
_TAG_SPLIT = re.compile(r"[;；、,，]")
_SPACES = re.compile(r"\s")
_PHONE = re.compile(r"\+?\d{7,15}")
_TRUE = {"是", "true", "1", "yes", "y", "实名"}
_FALSE = {"否", "false", "0", "no", "n", "匿名", ""}


class Checker:
    """What checking many rows needs once: orgs by name, tags, the comment limit, now."""

    def __init__(self, db: Session, *, public: bool = False,
                 feeder: Channel | None = None) -> None:
        self.db = db
        self.public = public or feeder is not None
        self.feeder = feeder  # the one feeder channel this checker also takes
        self.orgs: dict[str, Org | str] = {}
        settings = get_settings()
        self.known_tags = set(settings.review_tag_list)
        self.comment_max = settings.review_comment_max
        self.now = utcnow()

    def org(self, ref: str) -> Org | str:
        """The org a cell names, or why it names none."""
        if not ref:
            return "缺少评价对象"
        if ref not in self.orgs:
            try:
                self.orgs[ref] = org_service.resolve_org(self.db, ref=ref)
            except DomainError as exc:
                self.orgs[ref] = exc.message
        return self.orgs[ref]

    def channel(self, text: str) -> tuple[Channel | None, str | None]:
        channel: Channel | None = _CHANNEL_WORDS.get(text.lower())
        if channel is None and self.feeder is not None and text == self.feeder.value:
            channel = self.feeder
        if channel is None:
            return None, (f"未知的评价渠道「{text}」，可用："
                          f"{'、'.join(c.label for c in _OPEN_CHANNELS)}")
        return channel, None

    def level(self, text: str) -> tuple[int, str | None]:
        # isdecimal, not isdigit: "²" and "①" are digits int() cannot read.
        level = _LEVEL_WORDS.get(text) or (int(text) if text.isdecimal() and len(text) < 4 else 0)
        if level not in (1, 2, 3, 4, 5):
            return 0, f"评价等级「{text}」应为1–5或其中文名称"
        return level, None

    def tags(self, text: str) -> tuple[str, str | None]:
        """The tags joined by 、 as stored, or the unknown ones."""
        tags = [t.strip() for t in _TAG_SPLIT.split(text) if t.strip()] if text else []
        unknown = [t for t in tags if t not in self.known_tags]
        if unknown:
            return "", f"未知的问题标签「{'、'.join(unknown)}」"
        return "、".join(tags), None

    def comment_error(self, text: str) -> str | None:
        return f"评价内容超过{self.comment_max}字" if len(text) > self.comment_max else None

    def named(self, text: str) -> tuple[bool, str | None]:
        lowered = text.lower()
        if lowered not in _TRUE | _FALSE:
            return False, f"是否实名「{lowered}」应为 是/否、true/false 或 1/0"
        return lowered in _TRUE, None

    def phone(self, text: str) -> tuple[str, str, str, str | None]:
        """(encrypted, masked, suffix search key) as stored, or why the number is refused."""
        phone = _SPACES.sub("", text) if text else ""
        if not phone:
            return "", "", "", None
        if not _PHONE.fullmatch(phone):
            return "", "", "", "电话号码格式不正确"
        return (privacy.protect(phone), privacy.mask_phone(phone), privacy.phone_suffix_key(phone),
                None)

    def rated_at(self, value: Cell) -> tuple[datetime | None, str | None]:
        moment = rated_at(value)
        if moment is None:
            return None, f"评价时间「{cell_text(value)}」应为 YYYY-MM-DD HH:MM[:SS]"
        if moment > self.now + CLOCK_SLACK:
            return None, "评价时间晚于当前时间"
        return moment, None


def too_long(column: str, text: str) -> str | None:
    """Why a cell stored as it is cannot be (see :data:`STORED_AS_IS`), if it cannot."""
    limit = LIMITS[column]
    return f"{STORED_AS_IS[column]}超过{limit}个字符" if len(text) > limit else None


def rated_at(value: Cell) -> datetime | None:
    """A rating time; one without a zone is local (Asia/Shanghai) time."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = cell_text(value).replace("/", "-").replace("T", " ")
        if not text:
            return None
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=local_zone())


def dedup_key(case_no: str, channel: Channel, moment: datetime) -> str | None:
    """一事一评 online: one per case and channel; 一次一评 on site: one per visit (day)."""
    if not case_no:
        return None
    if channel.on_site:
        return f"{case_no}|{channel.value}|{local_date(moment).isoformat()}"
    return f"{case_no}|{channel.value}"


def parse_row(ctx: Checker, values: dict[str, Cell], row: int) -> tuple[dict[str, Any] | None,
                                                                         list[RowError]]:
    """One review as insertable values, or the reasons it is refused."""
    errors: list[RowError] = []
    source, source_id = cell_text(values.get("source")), cell_text(values.get("source_id"))
    if not source:
        errors.append(RowError(row, "source", "缺少来源"))
    elif source in PUBLIC_SOURCES and not ctx.public:
        errors.append(RowError(row, "source", RESERVED_SOURCE.format(source=source)))
    if not source_id:
        errors.append(RowError(row, "source_id", "缺少来源编号"))
    item_code, case_no = cell_text(values.get("item_code")), cell_text(values.get("case_no"))
    for column, text in zip(STORED_AS_IS, (source, source_id, item_code, case_no), strict=True):
        if problem := too_long(column, text):
            errors.append(RowError(row, column, problem))
    channel, problem = ctx.channel(cell_text(values.get("channel")))
    if problem:
        errors.append(RowError(row, "channel", problem))
    org = ctx.org(cell_text(values.get("org")))
    if isinstance(org, str):
        errors.append(RowError(row, "org", org))
    level, problem = ctx.level(cell_text(values.get("level")))
    if problem:
        errors.append(RowError(row, "level", problem))
    tags, problem = ctx.tags(cell_text(values.get("tags")))
    if problem:
        errors.append(RowError(row, "tags", problem))
    comment = cell_text(values.get("comment"))
    if problem := ctx.comment_error(comment):
        errors.append(RowError(row, "comment", problem))
    named, problem = ctx.named(cell_text(values.get("named")))
    if problem:
        errors.append(RowError(row, "named", problem))
    phone_cipher, phone_masked, phone_suffix, problem = ctx.phone(cell_text(values.get("phone")))
    if problem:
        errors.append(RowError(row, "phone", problem))
    moment, problem = ctx.rated_at(values.get("rated_at"))
    if problem:
        errors.append(RowError(row, "rated_at", problem))
    if errors or channel is None or isinstance(org, str) or moment is None:
        return None, errors
    return {
        "source": source, "source_id": source_id, "channel": channel.value, "org_id": org.id,
        "item_code": item_code, "case_no": case_no, "level": level,
        "tags": tags, "comment": comment, "named": named,
        "phone_cipher": phone_cipher, "phone_masked": phone_masked, "phone_suffix": phone_suffix,
        "rated_at": moment, "period": month_of(local_date(moment)),
        "dedup_key": dedup_key(case_no, channel, moment),
        "is_default": False, "voided": False, "created_at": ctx.now, "hold": "",
        "client_key": "", "rater_key": "", "follow_up_of": None,
    }, []
