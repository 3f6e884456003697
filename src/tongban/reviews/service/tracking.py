"""What a rater sees on the tracking page of a rating, and the rater's answer there: 满意 or
不满意 with the unit's reply, which moves the 差评 case on like a callback would."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.core import audit, privacy, ratelimit
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import Conflict, NotFound
from tongban.core.security import Outsider
from tongban.reviews.enums import CaseAction, CaseState, Level
from tongban.reviews.models import NegativeCase, Review
from tongban.reviews.service import links
from tongban.reviews.service.cases import apply_step
from tongban.reviews.service.intake import HOLD_HELD

#: Who answers on a tracking page: the rater, who has no account (audited under this name).
CITIZEN = Outsider(username="citizen", display_name="评价群众")

#: Not found, whatever the reason (unknown, malformed): a stranger learns nothing.
NO_LINK = "未找到该评价，请核对链接是否完整"


@dataclass(frozen=True)
class Step:
    """One step of a 差评's handling as the rater reads it."""

    label: str
    done: bool
    note: str


@dataclass(frozen=True)
class Tracking:
    """A rating as its rater follows it: what was rated, and for a 差评 where its case stands
    in plain words, the deadlines, the unit's reply (masked) and whether an answer is due."""

    org_name: str
    level: Level
    rated_at: datetime
    comment: str
    phone: str
    case_id: int | None
    state: CaseState | None
    status: str
    steps: list[Step]
    callback_due: date | None
    rectify_due: date | None
    reply_text: str
    can_answer: bool
    answer: str  # satisfied / unsatisfied / "" (the latest follow-up, whoever recorded it)
    answered_by: str


def _day(day: date | None) -> str:
    return f"{day.month}月{day.day}日" if day else ""


def _status(case_: NegativeCase) -> str:
    """Where a case stands, as a citizen would say it."""
    org = case_.org.name
    state = CaseState(case_.state)
    if state is CaseState.received:
        who = ("工作人员会在{day}前打电话给您了解情况" if case_.review.phone_cipher
               else "工作人员会在{day}前回访核实")
        return (f"您的差评已转给{org}。{who.format(day=_day(case_.callback_due))}，"
                f"并在{_day(case_.rectify_due)}前答复整改结果。")
    if state is CaseState.called_back:
        return f"{org}已回访，正在核实您反映的情况。"
    if state is CaseState.verified:
        return f"{org}已核实您反映的情况属实，正在安排整改。"
    if state is CaseState.rectifying:
        if case_.follow_up == "unsatisfied":
            return f"您表示不满意，{org}正在重新整改，将再次答复您。"
        return f"{org}正在整改，将在{_day(case_.rectify_due)}前答复整改结果。"
    if state is CaseState.replied:
        return f"{org}已答复整改结果（见下方）。请告诉我们您是否满意。"
    if state is CaseState.appealed:
        return f"{org}认为该评价与事实不符，已申请复核，正在由主管部门审核。"
    if case_.appeal_upheld:
        return "经主管部门复核，该评价与事实不符，不计入考核，已办结。"
    if case_.follow_up == "satisfied":
        return "您对整改结果表示满意，已办结。感谢您的监督。"
    if case_.follow_up == "unsatisfied":
        return "您对整改结果仍不满意，已记录在案并计入该单位的考核，已办结。"
    return "已办结。"


def _steps(case_: NegativeCase) -> list[Step]:
    state = CaseState(case_.state)
    order = [CaseState.received, CaseState.called_back, CaseState.verified,
             CaseState.rectifying, CaseState.replied, CaseState.closed]
    reached = order.index(state) if state in order else 1
    return [
        Step("收到差评", True, ""),
        Step("回访", case_.called_back_at is not None, f"{_day(case_.callback_due)}前"),
        Step("核实", reached >= 2, ""),
        Step("答复整改结果", case_.reply_text != "" and reached >= 4,
             f"{_day(case_.rectify_due)}前"),
        Step("您确认是否满意", state is CaseState.closed, ""),
    ]


def tracking_of(db: Session, *, token: str) -> Tracking:
    """The rating behind a tracking link, as its rater may see it (NotFound for any other)."""
    link = links.find_link(db, token=token)
    if link is None:
        raise NotFound(NO_LINK)
    review: Review = link.review
    case_ = db.scalar(select(NegativeCase).where(NegativeCase.review_id == review.id))
    received = Tracking(
        org_name=review.org.name, level=Level(review.level), rated_at=review.rated_at,
        comment=privacy.mask_text(review.comment), phone=review.phone_masked, case_id=None,
        state=None, steps=[], callback_due=None, rectify_due=None, reply_text="",
        status=(f"您的评价已收到，与您不久前提交的评价相同，工作人员核对后再计入{review.org.name}的"
                "服务评价。" if review.hold == HOLD_HELD
                else f"您的评价已收到，将计入{review.org.name}的服务评价。感谢您的参与。"),
        can_answer=False, answer="", answered_by="")
    if case_ is None:
        return received
    state = CaseState(case_.state)
    return replace(received, case_id=case_.id, state=state, status=_status(case_),
                   steps=_steps(case_), callback_due=case_.callback_due,
                   rectify_due=case_.rectify_due, reply_text=privacy.mask_text(case_.reply_text),
                   can_answer=state is CaseState.replied, answer=case_.follow_up,
                   answered_by=case_.follow_up_by)


@audit.action({"review_case.citizen_satisfied": "群众确认满意",
               "review_case.citizen_unsatisfied": "群众确认不满意"})
def answer_as_rater(db: Session, *, token: str, satisfied: bool, client: str) -> NegativeCase:
    """The rater's 满意/不满意 with the unit's reply: taken once, only while the case waits
    for it (replied), and as many a minute as ``review_track_rate_per_client`` from one
    client address; the hit is kept even when the answer is refused, so that guessing links
    costs the guesser."""
    hit = ratelimit.count_hit(db, key=f"track-client:{ratelimit.client_key(client)}",
                              window=timedelta(minutes=1))
    db.commit()
    if hit.over(get_settings().review_track_rate_per_client):
        seconds = max(1, int((hit.resets_at - utcnow()).total_seconds()) + 1)
        raise ratelimit.RateLimited(f"提交过于频繁，请{seconds}秒后再试", retry_after=seconds)
    link = links.find_link(db, token=token)
    if link is None:
        raise NotFound(NO_LINK)
    case_ = db.scalar(select(NegativeCase).where(NegativeCase.review_id == link.review_id))
    if case_ is None or case_.state != CaseState.replied.value:
        raise Conflict("现在不需要您确认：单位答复整改结果后才能确认，每次答复只能确认一次")
    action = CaseAction.satisfied if satisfied else CaseAction.unsatisfied
    apply_step(db, actor=CITIZEN, case_=case_, action=action,
               note="群众在评价跟踪页面确认" + ("满意" if satisfied else "不满意"), by="citizen",
               entry=f"review_case.citizen_{action.value}")
    return case_
