"""Lists: parameters refused in Chinese, pages counted once and read once, the JSON envelope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from tongban.app import _domain_error
from tongban.core.config import get_settings
from tongban.core.errors import DomainError
from tongban.core.listing import (
    Listing,
    ListParams,
    ListRefused,
    Page,
    PageOut,
    page_of,
    page_out,
    paginate,
)
from tongban.core.templating import url_with
from tongban.core.workdays import WorkdayOverride

START = date(2041, 3, 1)
DAYS = Listing(sorts={"day": ("日期", [WorkdayOverride.day]),
                      "note": ("说明", [WorkdayOverride.note])},
               key=WorkdayOverride.day, search="说明", dates="日期")
IN_2041 = select(WorkdayOverride).where(WorkdayOverride.day >= START,
                                        WorkdayOverride.day < date(2042, 1, 1))


@pytest.fixture
def days(db: Session) -> list[date]:
    """Eleven rulings in 2041; their notes repeat, so sorting by note needs the tie-break."""
    made = [START + timedelta(days=n) for n in range(11)]
    db.add_all(WorkdayOverride(day=d, kind="holiday", note=f"第{n % 3}组")
               for n, d in enumerate(made))
    db.flush()
    return made


@pytest.fixture
def statements(db: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _days(page: Page[WorkdayOverride]) -> list[date]:
    return [row.day for row in page.items]


def test_a_page_holds_the_configured_number_of_rows_unless_asked() -> None:
    assert ListParams().page == 1 and ListParams().page_size == get_settings().list_page_size
    assert ListParams(page_size=7).page_size == 7


@pytest.mark.parametrize("size", [0, 501])
def test_a_page_size_outside_the_bounds_is_refused_in_chinese(size: int) -> None:
    with pytest.raises(ListRefused, match="每页条数应在 1 到 500 之间") as refused:
        ListParams(page_size=size)
    assert refused.value.status_code == 422


def test_the_largest_page_size_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_LIST_PAGE_SIZE_MAX", "20")
    get_settings.cache_clear()
    assert ListParams(page_size=20).page_size == 20
    with pytest.raises(ListRefused, match="1 到 20"):
        ListParams(page_size=21)
    assert ListParams.for_choices().page_size == 20


def test_page_numbers_start_at_one() -> None:
    with pytest.raises(ListRefused, match="页码"):
        ListParams(page=0)


def test_search_text_is_trimmed_and_bounded() -> None:
    assert ListParams(q="  巴州 ").q == "巴州"
    with pytest.raises(ListRefused, match="检索词最长 100 个字"):
        ListParams(q="字" * 101)


def test_a_date_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ListRefused, match="起始日期晚于截止日期"):
        ListParams(since=date(2026, 3, 2), until=date(2026, 3, 1))


def test_an_unknown_sort_field_is_refused_naming_the_fields_there_are() -> None:
    with pytest.raises(ListRefused, match="不能按「kind」排序；可选：day（日期）、note（说明）"):
        DAYS.check(ListParams(sort="-kind"))
    with pytest.raises(ListRefused, match="该列表不能排序"):
        Listing().check(ListParams(sort="day"))
    assert DAYS.check(ListParams(sort="-note")).sort == "-note"


def test_pages_split_the_list_in_order_without_gaps_or_overlaps(
        db: Session, days: list[date]) -> None:
    params = [ListParams(page=n, page_size=4, sort="note") for n in (1, 2, 3)]
    pages = [paginate(db, IN_2041, params=p, order=DAYS.order(p, default=[])) for p in params]
    assert [p.total for p in pages] == [11, 11, 11] and pages[0].pages == 3
    walked = [d for page in pages for d in _days(page)]
    by_note = sorted(days, key=lambda d: (f"第{days.index(d) % 3}组", d))
    assert walked == by_note
    backwards = ListParams(page_size=11, sort="-note")
    assert _days(paginate(db, IN_2041, params=backwards,
                          order=DAYS.order(backwards, default=[]))) == by_note[::-1]


def test_without_a_sort_the_list_keeps_its_own_order(db: Session, days: list[date]) -> None:
    params = ListParams(page_size=3)
    page = paginate(db, IN_2041, params=params,
                    order=DAYS.order(params, default=[WorkdayOverride.day.desc()]))
    assert _days(page) == days[::-1][:3]


def test_a_page_past_the_last_gives_the_last(db: Session, days: list[date]) -> None:
    params = ListParams(page=9, page_size=4)
    page = paginate(db, IN_2041, params=params, order=[WorkdayOverride.day])
    assert page.page == 3 and _days(page) == days[8:]


def test_an_empty_list_is_one_empty_page(db: Session) -> None:
    page = paginate(db, IN_2041, params=ListParams(page=5), order=[WorkdayOverride.day])
    assert (page.items, page.total, page.page, page.pages) == ([], 0, 1, 1)


def test_a_page_costs_one_count_and_one_read(db: Session, days: list[date],
                                             statements: list[str]) -> None:
    paginate(db, IN_2041, params=ListParams(page=2, page_size=4), order=[WorkdayOverride.day])
    assert len(statements) == 2
    assert "count(" in statements[0].lower() and "LIMIT" in statements[1].upper()


def test_a_list_held_in_memory_pages_the_same_way() -> None:
    letters = list("abcdefg")
    assert page_of(letters, params=ListParams(page=2, page_size=3)).items == ["d", "e", "f"]
    last = page_of(letters, params=ListParams(page=8, page_size=3))
    assert (last.items, last.page, last.pages, last.total) == (["g"], 3, 3, 7)
    whole = Page.whole(letters)
    assert (whole.total, whole.page, whole.page_size, whole.pages) == (7, 1, 7, 1)
    assert Page.whole([]).pages == 1


def _app() -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(DomainError, _domain_error)

    @app.get("/api/days", response_model=PageOut[str])
    def listed(response: Response, params: ListParams = Depends(DAYS.params)) -> PageOut[str]:
        found = [f"{params.q}:{params.sort}:{params.since}:{n}" for n in range(12)]
        return page_out(response, page_of(found, params=params))

    @app.get("/api/plain", response_model=PageOut[int])
    def plain(response: Response, params: ListParams = Depends(Listing().params)) -> PageOut[int]:
        return page_out(response, page_of(list(range(3)), params=params))

    return app


def test_routes_take_the_parameters_and_answer_the_envelope_with_the_total_header() -> None:
    client = TestClient(_app())
    answer = client.get("/api/days", params={"page": 2, "page_size": 5, "q": " 春节 ",
                                             "sort": "-day", "since": "2041-01-01"})
    assert answer.status_code == 200 and answer.headers["X-Total-Count"] == "12"
    body = answer.json()
    assert set(body) == {"items", "total", "page", "page_size"}
    assert (body["total"], body["page"], body["page_size"]) == (12, 2, 5)
    assert body["items"][0] == "春节:-day:2041-01-01:5"
    assert client.get("/api/days").json()["page_size"] == get_settings().list_page_size


def test_routes_refuse_too_large_a_page_and_an_unknown_order_in_chinese() -> None:
    client = TestClient(_app())
    too_large = client.get("/api/days", params={"page_size": 501})
    assert too_large.status_code == 422 and "每页条数应在 1 到 500 之间" in too_large.json()["detail"]
    unknown = client.get("/api/days", params={"sort": "kind"})
    assert unknown.status_code == 422 and "不能按「kind」排序" in unknown.json()["detail"]
    assert client.get("/api/days", params={"page": 0}).status_code == 422


def test_a_list_documents_only_the_parameters_it_has() -> None:
    spec = _app().openapi()["paths"]
    days = {p["name"] for p in spec["/api/days"]["get"]["parameters"]}
    plain = {p["name"] for p in spec["/api/plain"]["get"]["parameters"]}
    assert days == {"page", "page_size", "sort", "q", "since", "until"}
    assert plain == {"page", "page_size"}


def _request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/reviews", "headers": [],
                    "query_string": query.encode()})


def test_page_and_sort_links_keep_the_filters_and_search() -> None:
    request = _request("state=received&q=%E5%B7%B4&page=3&item=")
    assert url_with(request, page=4) == "/reviews?state=received&q=%E5%B7%B4&page=4"
    assert url_with(request, sort="-id", page=None) == "/reviews?state=received&q=%E5%B7%B4&sort=-id"
    assert url_with(_request(""), "/orgs", page=2) == "/orgs?page=2"
    assert url_with(_request("page=2"), page=None) == "/reviews"
