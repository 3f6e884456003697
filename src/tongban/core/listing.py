"""Lists: one way to ask for a page of a collection and one way to answer it.

A list declares what it offers in a :class:`Listing` (the fields it sorts by, what ``q``
searches, which day ``since``/``until`` bound). Routes, API and pages alike, take
:class:`ListParams` through ``Depends(LISTING.params)``; the service narrows its query by the
filters and the actor's scope, then :func:`paginate` counts it and reads one page in
``LISTING.order(params, default=…)`` order into a :class:`Page`. The API answers
:class:`PageOut` through :func:`page_out`, which also sets ``X-Total-Count``; pages use the
``pager``, ``sort_header`` and ``search_box`` macros of ``_macros.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from inspect import Parameter, Signature
from typing import Any, Generic, TypeVar

from fastapi import Query, Response
from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from tongban.core.config import get_settings
from tongban.core.db import MAX_ROW_ID
from tongban.core.errors import DomainError

T = TypeVar("T")
R = TypeVar("R")
#: What a list orders by: a mapped attribute (``Task.due_on``) or an expression.
Column = ColumnElement[Any] | QueryableAttribute[Any]

#: The highest page number: with at most 1000 rows a page, the offset stays a 64-bit number.
MAX_PAGE = MAX_ROW_ID // 1000
#: The longest search text.
SEARCH_MAX = 100


class ListRefused(DomainError):
    """Paging, sorting or a date range a list cannot give (the message says what it can)."""

    status_code = 422


def _default_page_size() -> int:
    return get_settings().list_page_size


@dataclass(frozen=True)
class ListParams:
    """What a list request asks for: a page, its size, search text, an order and a date range.

    ``sort`` is a field the list declares sortable, ``-field`` for the reverse, empty for
    the list's own order. Invalid values are refused on construction, in Chinese.
    """

    page: int = 1
    page_size: int = field(default_factory=_default_page_size)
    q: str = ""
    sort: str = ""
    since: date | None = None
    until: date | None = None
    #: An export: one page of every row the filters select, up to ``export_rows_max``.
    export: bool = False

    def __post_init__(self) -> None:
        settings = get_settings()
        largest = settings.export_rows_max if self.export else settings.list_page_size_max
        if not 1 <= self.page <= MAX_PAGE:
            raise ListRefused(f"页码应在 1 到 {MAX_PAGE} 之间")
        if not 1 <= self.page_size <= largest:
            raise ListRefused(f"每页条数应在 1 到 {largest} 之间")
        object.__setattr__(self, "q", self.q.strip())
        if len(self.q) > SEARCH_MAX:
            raise ListRefused(f"检索词最长 {SEARCH_MAX} 个字")
        if self.since and self.until and self.since > self.until:
            raise ListRefused("起始日期晚于截止日期")

    @classmethod
    def for_choices(cls) -> ListParams:
        """The first page at the largest size: the choices of a picker over a small set
        (cohorts, scheme versions), still bounded."""
        return cls(page_size=get_settings().list_page_size_max)

    def for_export(self) -> ListParams:
        """The same search, order and dates as one page holding every row (see ``export``)."""
        return replace(self, page=1, page_size=get_settings().export_rows_max, export=True)

    def page_for(self, total: int) -> int:
        """The page asked for; past the last page of ``total`` rows, the last one. An export
        of more rows than it may hold is refused here, before any row is read."""
        if self.export and total > self.page_size:
            raise ListRefused(f"筛选结果共 {total} 行，超过导出上限 {self.page_size} 行；"
                              "请缩小单位、状态或日期范围后再导出")
        return min(self.page, max(1, -(-total // self.page_size)))

    @property
    def number(self) -> int | None:
        """The search text as a row number (工单号, 任务编号), when it is one."""
        return int(self.q) if self.q.isascii() and self.q.isdigit() and len(self.q) < 19 else None

    @property
    def sort_field(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its ``items``, the ``total`` of all pages, where it is."""

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @classmethod
    def whole(cls, items: Sequence[T]) -> Page[T]:
        """A list small by nature given in one page (say where it is used why it is small)."""
        return cls(list(items), len(items), 1, max(1, len(items)))

    def map(self, read: Callable[[T], R]) -> Page[R]:
        return Page([read(item) for item in self.items], self.total, self.page, self.page_size)


def paginate(db: Session, stmt: Select[T], *, params: ListParams,
             order: Sequence[Column]) -> Page[T]:
    """One COUNT of ``stmt`` and one page of it in ``order``."""
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = params.page_for(total)
    items = list(db.scalars(stmt.order_by(*order).offset((page - 1) * params.page_size)
                            .limit(params.page_size))) if total else []
    return Page(items, total, page, params.page_size)


def contains_text(q: str, *columns: Column) -> ColumnElement[bool]:
    """``q`` anywhere in any of ``columns`` (``%`` and ``_`` stay plain characters)."""
    return or_(*(column.contains(q, autoescape=True) for column in columns))


def page_of(items: Sequence[T], *, params: ListParams) -> Page[T]:
    """A page of a list already in memory: only for lists small by nature or computed whole
    (say where it is used why)."""
    page = params.page_for(len(items))
    start = (page - 1) * params.page_size
    return Page(list(items[start:start + params.page_size]), len(items), page, params.page_size)


#: A sortable field: its Chinese label and the columns it orders by.
Sort = tuple[str, Sequence[Column]]


@dataclass(frozen=True, eq=False)
class Listing:
    """What one list offers: the fields it sorts by (``sorts``; ``key``, a unique column,
    breaks ties so pages never overlap), what ``q`` searches and which day ``since`` and
    ``until`` bound (Chinese, for the API docs; empty when the list has none)."""

    sorts: Mapping[str, Sort] = field(default_factory=dict)
    key: Column | None = None
    search: str = ""
    dates: str = ""

    def check(self, params: ListParams) -> ListParams:
        """``params``, refused in Chinese when it asks for an order this list does not have."""
        if params.sort and params.sort_field not in self.sorts:
            offered = "、".join(f"{name}（{label}）" for name, (label, _) in self.sorts.items())
            raise ListRefused(f"不能按「{params.sort_field}」排序；可选：{offered}" if offered
                              else "该列表不能排序")
        return params

    def order(self, params: ListParams, default: Sequence[Column]) -> list[Column]:
        """The ORDER BY of ``params.sort``, or ``default`` (which must end in a unique column)."""
        if not self.check(params).sort:
            return list(default)
        columns = list(self.sorts[params.sort_field][1])
        if self.key is not None and not any(c is self.key for c in columns):
            columns.append(self.key)
        return [c.desc() if params.descending else c.asc() for c in columns]

    @cached_property
    def params(self) -> Callable[..., ListParams]:
        """The route dependency: ``params: ListParams = Depends(LISTING.params)``."""
        settings = get_settings()
        sorts = "、".join(f"{name}（{label}）" for name, (label, _) in self.sorts.items())
        query: list[tuple[str, Any, Any]] = [
            ("page", int, Query(1, ge=1, le=MAX_PAGE, description="页码，从 1 起；超过末页时给末页")),
            ("page_size", int | None, Query(None, ge=1, description=(
                f"每页条数，默认 {settings.list_page_size}，最多 "
                f"{settings.list_page_size_max}（更大时 422）"))),
        ]
        if self.sorts:
            query.append(("sort", str, Query("", max_length=40, description=(
                f"排序字段：{sorts}；前加 - 为倒序；不给时用列表的默认顺序"))))
        if self.search:
            query.append(("q", str, Query("", max_length=SEARCH_MAX,
                                          description=f"检索：{self.search}")))
        if self.dates:
            query += [("since", date | None, Query(None, description=f"{self.dates}不早于")),
                      ("until", date | None, Query(None, description=f"{self.dates}不晚于"))]

        def dependency(**values: Any) -> ListParams:
            size = values.pop("page_size") or get_settings().list_page_size
            return self.check(ListParams(page_size=size, **values))

        dependency.__signature__ = Signature(  # type: ignore[attr-defined]
            [Parameter(name, Parameter.KEYWORD_ONLY, default=default, annotation=kind)
             for name, kind, default in query], return_annotation=ListParams)
        return dependency


#: A list that only pages (no sort, search or date range), e.g. one computed whole.
PAGED = Listing()


class PageOut(BaseModel, Generic[T]):
    """A JSON list: one page of ``items``, the ``total`` of all pages, the ``page`` number
    and its ``page_size``. The total is also in the ``X-Total-Count`` header."""

    items: list[T]
    total: int
    page: int
    page_size: int


def page_out(response: Response, page: Page[R]) -> PageOut[R]:
    """The answer of a JSON list route: the envelope, with ``X-Total-Count`` set."""
    response.headers["X-Total-Count"] = str(page.total)
    return PageOut[Any](items=page.items, total=page.total, page=page.page,
                        page_size=page.page_size)
