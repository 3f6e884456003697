"""Work finds its people at once: a new 差评 reaches its org's liaisons the moment it is filed
(no job run in between); an import tells each liaison once, with a summary."""

from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy.orm import Session

from tests.factories import make_user
from tests.reviews.test_intake import HEADER, row
from tongban.core import notify
from tongban.core.listing import ListParams
from tongban.core.security import SYSTEM_ACTOR, Role
from tongban.reviews import service


def test_a_citizens_bad_rating_reaches_the_liaison_at_once(db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="巴州区")
    other = make_user(db, role=Role.liaison, org="恩阳区")
    result = service.submit_review(db, client="203.0.113.9", values={
        "channel": "APP", "org": "巴州区", "level": "1", "case_no": "Z-77",
        "comment": "窗口让我跑了三趟，电话13812345678", "rated_at": datetime.now().astimezone()})
    [case_id] = result.case_ids
    [message] = notify.inbox(db, user_id=liaison.id, params=ListParams()).items
    assert message.link == f"/reviews/cases/{case_id}"
    assert message.title.startswith(f"新差评工单 #{case_id}，请于") and "前回访" in message.title
    assert "13812345678" not in message.body and "跑了三趟" in message.body
    assert notify.inbox(db, user_id=other.id, params=ListParams()).items == []


def test_an_import_tells_each_liaison_once_with_a_summary(db: Session) -> None:
    bazhou = make_user(db, role=Role.liaison, org="巴州区")
    enyang = make_user(db, role=Role.liaison, org="恩阳区")
    text = HEADER + "".join(row(f"a{n}", level="1", case=f"A{n}", org="巴州区")
                            for n in range(3)) + row("b1", level="2", case="B1", org="恩阳区")
    imported = service.import_reviews(db, actor=SYSTEM_ACTOR, filename="评价.csv",
                                      source=io.BytesIO(text.encode()))
    assert imported.cases_opened == 4
    [summary] = notify.inbox(db, user_id=bazhou.id, params=ListParams()).items
    assert summary.title.startswith("新增差评工单 3 件") and summary.link == "/reviews?state=received"
    [single] = notify.inbox(db, user_id=enyang.id, params=ListParams()).items
    assert single.title.startswith("新差评工单 #")
