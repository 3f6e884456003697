"""Each user chooses how they are reached: phone, e-mail, 企业微信/钉钉 ids, the channels besides
the inbox, and (leaders and the city's staff) a daily digest."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import api_client, csrf_of, logged_in_client, make_user
from tongban.core import audit
from tongban.core.config import get_settings
from tongban.core.errors import DomainError, PermissionDenied
from tongban.core.security import Role
from tongban.org import service


def test_a_user_sets_contact_and_channels_and_the_audit_keeps_no_personal_numbers(
        db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_NOTIFY_CHANNELS", "sms,wecom")
    get_settings.cache_clear()
    user = make_user(db, role=Role.liaison, org="巴州区")
    client = logged_in_client(db, user)
    page = client.get("/account").text
    assert 'name="channel_sms"' in page and 'name="channel_wecom"' in page
    assert 'name="channel_dingtalk"' not in page  # not run by this deployment
    assert 'data-testid="daily-digest"' not in page  # a liaison gets no city digest
    answer = client.post("/account/contact", data={
        "phone": "13912345678", "email": "li@example.cn", "wecom_id": "LiXiao",
        "channel_wecom": "on", "csrf_token": csrf_of(client)})
    assert "通知方式已保存" in answer.text
    db.refresh(user)
    assert (user.phone, user.wecom_id, user.channels) == ("13912345678", "LiXiao", "wecom")
    [recipient] = service.recipients([user])
    assert recipient.takes("wecom") and not recipient.takes("sms")
    entry = audit.history(db, object_type="user", object_id=user.username)[-1]
    assert entry.action == "user.contact_changed"
    assert "13912345678" not in str(entry.changes) and "li@example.cn" not in str(entry.changes)


@pytest.mark.parametrize(("field", "value", "said"), [
    ("phone", "1391234567", "手机号"), ("email", "not-an-address", "电子邮件"),
    ("wecom_id", "<script>", "企业微信用户ID")])
def test_a_wrong_contact_is_refused_by_name(db: Session, field: str, value: str,
                                            said: str) -> None:
    user = make_user(db, role=Role.analyst)
    with pytest.raises(DomainError, match=said):
        service.set_own_contact(db, actor=service.actor_for(user),
                                contact=service.Contact(**{field: value}))


def test_only_the_city_takes_the_daily_digest(db: Session) -> None:
    liaison = make_user(db, role=Role.liaison, org="巴州区")
    with pytest.raises(PermissionDenied):
        service.set_own_contact(db, actor=service.actor_for(liaison),
                                contact=service.Contact(daily_digest=True))
    leader = make_user(db, role=Role.leader)
    service.set_own_contact(db, actor=service.actor_for(leader),
                            contact=service.Contact(daily_digest=True))
    assert leader in service.digest_readers(db) and liaison not in service.digest_readers(db)


def test_the_api_reads_and_changes_my_contact(db: Session) -> None:
    client = api_client(db, make_user(db, role=Role.leader))
    assert client.get("/api/v1/me/contact").json()["channels"] == "*"
    answer = client.put("/api/v1/me/contact", json={"phone": "13700001111", "channels": ["sms"],
                                                     "daily_digest": True})
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"offered": {}} == {
        "phone": "13700001111", "email": "", "wecom_id": "", "dingtalk_id": "",
        "channels": "sms", "daily_digest": True, "offered": {}}
    assert client.put("/api/v1/me/contact", json={"channels": ["fax"]}).status_code == 400
