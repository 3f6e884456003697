"""The leader's daily digest: where the city stands and what is overdue, once a day, to those
who chose it, from the scheduled jobs."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from tests.factories import make_user
from tongban.core import notify
from tongban.core.listing import ListParams
from tongban.core.security import Role
from tongban.core.workdays import local_today
from tongban.org import service as org_service
from tongban.reports import workbench
from tongban.system import jobs


def test_the_digest_says_the_citys_rank_and_the_overdue_work(db: Session) -> None:
    leader = org_service.actor_for(make_user(db, role=Role.leader))
    today = local_today()
    overview = workbench.leader_overview(db, actor=leader, as_of=today)
    message = workbench.daily_digest(db, actor=leader, as_of=today)
    assert message.title == f"工作摘要 {today.month}月{today.day}日"
    if overview["sheet"] is not None:
        assert f"第{overview['row'].rank}名" in message.body
    assert (f"差评工单 {overview['overdue_cases']} 件，整改任务 {overview['overdue_tasks']} 项"
            in message.body)
    yesterday = today - timedelta(days=1)
    assert f"昨日（{yesterday.month}月{yesterday.day}日）新增差评" in message.body


def test_the_jobs_send_the_digest_once_a_day_to_those_who_chose_it(db: Session) -> None:
    reader = make_user(db, role=Role.leader)
    org_service.set_own_contact(db, actor=org_service.actor_for(reader),
                                contact=org_service.Contact(daily_digest=True))
    other = make_user(db, role=Role.leader)
    day = date.today()
    first = jobs.run_all(as_of=day)
    assert first["reports"]["digests_sent"] >= 1
    jobs.run_all(as_of=day)
    digests = [m for m in notify.inbox(db, user_id=reader.id, params=ListParams()).items
               if m.kind == "digest"]
    assert len(digests) == 1 and digests[0].link == "/"
    assert not [m for m in notify.inbox(db, user_id=other.id, params=ListParams()).items
                if m.kind == "digest"]
