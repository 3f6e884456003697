"""Notifications: an in-app inbox always, plus channels configured in settings.

Channels are plugins named in ``TONGBAN_NOTIFY_CHANNELS`` (comma-separated): ``console`` for
development, ``email`` (SMTP), ``sms`` (an HTTP gateway), ``wecom`` (企业微信) and ``dingtalk``
(钉钉). Each user chooses which of those reach them (their account's ``channels``); on 企业微信
and 钉钉 a user whose id there is known gets the message in person through the application,
everyone else through the group robot, mentioned by phone. Every notification has a ``key``;
sending the same key to the same user twice is a no-op, which is what makes periodic jobs
idempotent.

The inbox entry is written in the caller's transaction; what goes to a channel is queued in
the outbox (``core.outbox``) and leaves after that transaction commits: no caller waits on a
mail server or a robot, and a rolled-back transaction sends nothing. A channel's failure is
retried there, and the inbox entry stays the record.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tongban.core import outbox
from tongban.core.config import get_settings
from tongban.core.db import Base, UTCDateTime, utcnow
from tongban.core.listing import PAGED, ListParams, Page, paginate

log = logging.getLogger(__name__)


class Notification(Base):
    """One message in a user's inbox (reminder, escalation, result of a job)."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("recipient_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(Integer, index=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="info")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


#: a user's ``channels`` value meaning every configured channel
ALL_CHANNELS = "*"


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    email: str = ""
    phone: str = ""
    wecom_id: str = ""
    dingtalk_id: str = ""
    channels: str = ALL_CHANNELS  # the channels this person takes, comma-separated

    def takes(self, channel: str) -> bool:
        return self.channels == ALL_CHANNELS or channel in self.channels.split(",")


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    link: str = ""


Channel = Callable[[list[Recipient], Message], None]


def _console(recipients: list[Recipient], message: Message) -> None:
    names = "、".join(r.name for r in recipients)
    print(f"[通知→{names}] {message.title}：{message.body} {message.link}".strip())


def _email(recipients: list[Recipient], message: Message) -> None:
    settings = get_settings()
    addresses = [r.email for r in recipients if r.email]
    if not addresses or not settings.smtp_host:
        return
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = settings.smtp_sender
    mail["To"] = ", ".join(addresses)
    mail.set_content(f"{message.body}\n\n{settings.public_url}{message.link}")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(mail)


def _post_json(url: str, payload: dict[str, object]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _robot_text(url: str, recipients: list[Recipient], text: str, *, wecom: bool) -> None:
    """企业微信 and 钉钉 group robots take the same text message, mentioning people by phone."""
    mentions = [r.phone for r in recipients if r.phone]
    payload: dict[str, object] = {"msgtype": "text", "text": {"content": text}}
    if wecom:
        payload["text"] = {"content": text, "mentioned_mobile_list": mentions}
    else:
        payload["at"] = {"atMobiles": mentions}
    _post_json(url, payload)


_tokens: dict[str, tuple[str, float]] = {}  # api base → (access token, expiry on the monotonic clock)


def _access_token(url: str) -> str:
    """An application's access token (企业微信 and 钉钉 alike), kept until shortly before it
    expires."""
    held = _tokens.get(url)
    if held and held[1] > time.monotonic():
        return held[0]
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    if answer.get("errcode", 0) != 0 or not answer.get("access_token"):
        raise RuntimeError(f"access token refused: {answer.get('errmsg', answer)}")
    _tokens[url] = (answer["access_token"], time.monotonic() + int(answer.get("expires_in", 7200))
                    - 300)
    return str(answer["access_token"])


def _wecom(recipients: list[Recipient], message: Message) -> None:
    settings = get_settings()
    text = _text_of(message)
    known = [r for r in recipients if r.wecom_id]
    if known and settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id:
        base = settings.wecom_api_base.rstrip("/")
        token = _access_token(f"{base}/cgi-bin/gettoken?" + urllib.parse.urlencode(
            {"corpid": settings.wecom_corp_id, "corpsecret": settings.wecom_secret}))
        _post_json(f"{base}/cgi-bin/message/send?access_token={token}", {
            "touser": "|".join(r.wecom_id for r in known), "msgtype": "text",
            "agentid": settings.wecom_agent_id, "text": {"content": text}})
        recipients = [r for r in recipients if not r.wecom_id]
    if recipients and settings.wecom_webhook_url:
        _robot_text(settings.wecom_webhook_url, recipients, text, wecom=True)


def _dingtalk(recipients: list[Recipient], message: Message) -> None:
    settings = get_settings()
    text = _text_of(message)
    known = [r for r in recipients if r.dingtalk_id]
    if known and settings.dingtalk_app_key and settings.dingtalk_app_secret \
            and settings.dingtalk_agent_id:
        base = settings.dingtalk_api_base.rstrip("/")
        token = _access_token(f"{base}/gettoken?" + urllib.parse.urlencode(
            {"appkey": settings.dingtalk_app_key, "appsecret": settings.dingtalk_app_secret}))
        _post_json(f"{base}/topapi/message/corpconversation/asyncsend_v2?access_token={token}", {
            "agent_id": settings.dingtalk_agent_id,
            "userid_list": ",".join(r.dingtalk_id for r in known),
            "msg": {"msgtype": "text", "text": {"content": text}}})
        recipients = [r for r in recipients if not r.dingtalk_id]
    if recipients and settings.dingtalk_webhook_url:
        _robot_text(settings.dingtalk_webhook_url, recipients, text, wecom=False)


def _text_of(message: Message) -> str:
    link = f"\n{get_settings().public_url}{message.link}" if message.link else ""
    return f"{message.title}\n{message.body}{link}"


def _sms(recipients: list[Recipient], message: Message) -> None:
    url = get_settings().sms_gateway_url
    phones = [r.phone for r in recipients if r.phone]
    if url and phones:
        _post_json(url, {"phones": phones, "text": f"{message.title}：{message.body}"})


def sms_ready() -> bool:
    """Whether text messages can be sent: the ``sms`` channel is on and has a gateway."""
    settings = get_settings()
    return "sms" in settings.notify_channel_list and bool(settings.sms_gateway_url)


def text_phone(db: Session, *, phone: str, text: str, key: str | None = None) -> bool:
    """Queue ``text`` to a phone number that belongs to no user (a citizen) through the SMS
    gateway, to leave after commit; whether SMS is configured (nothing is queued where it
    is not)."""
    if not phone or not sms_ready():
        return False
    outbox.enqueue(db, kind="sms.citizen", payload={"phone": phone, "text": text},
                   summary=f"短信：{text[:40]}", key=key)
    return True


@outbox.handler("sms.citizen", "群众短信")
def _send_citizen_sms(payload: dict[str, Any]) -> None:
    _post_json(get_settings().sms_gateway_url, {"phones": [payload["phone"]],
                                                "text": payload["text"]})


def _deliver(name: str) -> outbox.Handler:
    def send(payload: dict[str, Any]) -> None:
        CHANNELS[name]([Recipient(**r) for r in payload["recipients"]],
                       Message(**payload["message"]))
    return send


CHANNEL_LABELS = {"console": "控制台", "email": "邮件", "sms": "短信", "wecom": "企业微信",
                  "dingtalk": "钉钉"}


CHANNELS: dict[str, Channel] = {
    "console": _console,
    "email": _email,
    "sms": _sms,
    "wecom": _wecom,
    "dingtalk": _dingtalk,
}
for _name in CHANNELS:
    outbox.handler(f"notify.{_name}", f"通知（{CHANNEL_LABELS[_name]}）")(_deliver(_name))


def notify(db: Session, *, recipients: Iterable[Recipient], message: Message, key: str) -> int:
    """Put the message in each recipient's inbox (once per key) and send it on the channels.

    Returns how many recipients got it for the first time.
    """
    fresh: list[Recipient] = []
    for recipient in {r.user_id: r for r in recipients}.values():
        exists = db.scalar(select(Notification.id).where(
            Notification.recipient_id == recipient.user_id, Notification.key == key))
        if exists is not None:
            continue
        db.add(Notification(recipient_id=recipient.user_id, key=key, kind=message.kind,
                            title=message.title, body=message.body, link=message.link))
        fresh.append(recipient)
    db.flush()
    if fresh:
        for name in get_settings().notify_channel_list:
            if name not in CHANNELS:
                log.warning("unknown notification channel %s", name)
                continue
            takers = [r for r in fresh if r.takes(name)]
            if takers:
                outbox.enqueue(db, kind=f"notify.{name}", summary=message.title, payload={
                    "recipients": [asdict(r) for r in takers], "message": asdict(message)})
    return len(fresh)


def inbox(db: Session, *, user_id: int, unread_only: bool = False,
          params: ListParams) -> Page[Notification]:
    """A page of the user's notifications, the newest first."""
    stmt = select(Notification).where(Notification.recipient_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return paginate(db, stmt, params=params,
                    order=PAGED.order(params, default=[Notification.id.desc()]))


def link_of(db: Session, *, user_id: int, notification_id: int) -> str:
    """Where one of the user's notifications leads ("" for none, or another user's)."""
    return db.scalar(select(Notification.link).where(
        Notification.id == notification_id, Notification.recipient_id == user_id)) or ""


def unread_count(db: Session, *, user_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Notification).where(
        Notification.recipient_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(db: Session, *, user_id: int, notification_id: int | None = None) -> int:
    """Mark one notification (or all) of the user as read; returns how many changed."""
    stmt = select(Notification).where(Notification.recipient_id == user_id,
                                      Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    rows = list(db.scalars(stmt))
    for row in rows:
        row.read_at = utcnow()
    db.flush()
    return len(rows)
