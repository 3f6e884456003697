"""差评 cases: their deadlines, reading them (one, a page of the inbox, all for figures), moving them
along their workflow, reply templates and the reviewer's phone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from tongban.core import audit, notify, privacy, workdays
from tongban.core.config import get_settings
from tongban.core.db import utcnow
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tongban.core.listing import Listing, ListParams, Page, page_of, paginate
from tongban.core.periods import check_period
from tongban.core.security import Actor, Outsider, Role
from tongban.core.workdays import local_date, local_today
from tongban.core.workflow import Workflow
from tongban.org import service as org_service
from tongban.org.models import Org
from tongban.reviews.enums import CASE_TRANSITIONS, CaseAction, CaseState
from tongban.reviews.models import NegativeCase, Review
from tongban.reviews.service import links
from tongban.reviews.service.access import require_reviews_role
from tongban.reviews.service.counts import count_reviews
from tongban.supervision import service as supervision
from tongban.supervision.enums import SupervisionKind

REPLY_TEMPLATES = {
    "服务态度": "您好，关于您反映的{org}工作人员服务态度问题，我们已核实并对当事人进行了批评教育，"
               "今后将加强窗口服务规范培训。感谢您的监督。",
    "办事效率": "您好，关于您反映的办理时间较长问题，我们已优化该事项办理流程，"
               "承诺时限已压缩。感谢您的监督。",
    "材料繁琐": "您好，关于您反映的申请材料繁琐问题，我们已对照实施规范精简材料，"
               "并通过数据共享免于提交部分证明。",
    "系统故障": "您好，关于您反映的系统故障问题，我们已联系平台运维单位修复，并将持续监测系统运行。",
    "多次跑动": "您好，关于您反映的多次跑动问题，我们已实行一次性告知并开通帮办代办服务。",
    "其他": "您好，关于您反映的问题，我们已核实并整改，具体情况如下：",
}


def case_deadlines(db: Session, days: Iterable[date]) -> dict[date, tuple[date, date]]:
    """For each day a 差评 was received: its callback and its rectification deadline, in
    working days counted from the next day (the settings say how many)."""
    settings = get_settings()
    calendar = workdays.load_calendar(db)
    return {day: (calendar.add_workdays(day, settings.review_callback_workdays),
                  calendar.add_workdays(day, settings.review_rectify_workdays))
            for day in set(days)}


def _visible_case(db: Session, actor: Actor, case_: NegativeCase) -> bool:
    return org_service.can_see(db, actor=actor, org=case_.org)


def get_case(db: Session, *, actor: Actor, case_id: int) -> NegativeCase:
    require_reviews_role(actor)
    found = db.get(NegativeCase, case_id)
    if found is None or not _visible_case(db, actor, found):
        raise NotFound(f"未找到差评工单 #{case_id}")
    return found


def is_callback_overdue(case_: NegativeCase, *, as_of: date) -> bool:
    if case_.called_back_at is not None:
        return local_date(case_.called_back_at) > case_.callback_due
    return case_.state != CaseState.closed.value and as_of > case_.callback_due


def is_rectify_overdue(case_: NegativeCase, *, as_of: date) -> bool:
    if case_.state == CaseState.appealed.value or case_.review.voided:
        return False
    if case_.replied_at is not None:
        return local_date(case_.replied_at) > case_.rectify_due
    return case_.state != CaseState.closed.value and as_of > case_.rectify_due


def is_overdue(case_: NegativeCase, *, as_of: date) -> bool:
    open_ = case_.state != CaseState.closed.value
    return open_ and (is_callback_overdue(case_, as_of=as_of)
                      or is_rectify_overdue(case_, as_of=as_of))


def next_due(case_: NegativeCase) -> date:
    return case_.callback_due if case_.state == CaseState.received.value else case_.rectify_due


#: The case inbox as a list; without a ``sort`` it keeps the inbox order (see list_cases).
CASES = Listing(
    sorts={"id": ("工单号", [NegativeCase.id]),
           "received_on": ("收到日期", [NegativeCase.received_on]),
           "callback_due": ("回访期限", [NegativeCase.callback_due]),
           "rectify_due": ("整改期限", [NegativeCase.rectify_due])},
    key=NegativeCase.id,
    search="工单号（#12 或 12）、办件编号、评价编号、评价内容中的文字，或电话尾号（尾号 1234 或 1234）",
    dates="收到日期")


def _cases_query(db: Session, *, actor: Actor, org: Org | None, state: CaseState | None,
                 period: str | None, item_code: str | None,
                 params: ListParams | None = None) -> Select[NegativeCase]:
    require_reviews_role(actor)
    stmt = select(NegativeCase).where(
        NegativeCase.org_id.in_(org_service.visible_org_ids(db, actor=actor)))
    if org is not None:
        org_service.ensure_visible(db, actor=actor, org=org)
        stmt = stmt.join(Org, Org.id == NegativeCase.org_id).where(Org.path.startswith(org.path))
    if state is not None:
        stmt = stmt.where(NegativeCase.state == state.value)
    q = params.q if params else ""
    if period or item_code or q:
        stmt = stmt.join(Review, Review.id == NegativeCase.review_id)
    if period:
        stmt = stmt.where(Review.period == check_period(period))
    if item_code:
        stmt = stmt.where(Review.item_code == item_code)
    if params is None:
        return stmt
    if q:
        number = _case_number(q)
        suffixes = privacy.phone_suffix_keys(q)  # matched by hash: no number is decrypted
        stmt = stmt.where(or_(Review.case_no == q, Review.source_id == q,
                              Review.comment.contains(q, autoescape=True),
                              NegativeCase.id == number,
                              Review.phone_suffix.in_(suffixes) if suffixes else false()))
    if params.since:
        stmt = stmt.where(NegativeCase.received_on >= params.since)
    if params.until:
        stmt = stmt.where(NegativeCase.received_on <= params.until)
    return stmt


def _case_number(q: str) -> int | None:
    """A case id typed as 12 or #12 (工单号)."""
    bare = q.removeprefix("#").removeprefix("＃").strip()
    return int(bare) if bare.isascii() and bare.isdigit() and len(bare) < 19 else None


def _inbox_order(cases: list[NegativeCase], as_of: date) -> list[NegativeCase]:
    return sorted(cases, key=lambda c: (c.state == CaseState.closed.value,
                                        not is_overdue(c, as_of=as_of), next_due(c), c.id))


def visible_cases(db: Session, *, actor: Actor, org: Org | None = None,
                  state: CaseState | None = None, as_of: date | None = None,
                  period: str | None = None, item_code: str | None = None,
                  overdue_only: bool = False) -> list[NegativeCase]:
    """Every case the actor may see (of reviews rated in ``period``, of the service item
    ``item_code``, only those overdue on ``as_of``, if given), in the inbox order, for figures
    such as the weekly bulletin's; lists use :func:`list_cases`."""
    as_of = as_of or local_today()
    stmt = _cases_query(db, actor=actor, org=org, state=state, period=period, item_code=item_code)
    if overdue_only:
        stmt = stmt.where(NegativeCase.state != CaseState.closed.value)
    cases = list(db.scalars(stmt))
    if overdue_only:
        cases = [c for c in cases if is_overdue(c, as_of=as_of)]
    return _inbox_order(cases, as_of)


def list_cases(db: Session, *, actor: Actor, org: Org | None = None,
               state: CaseState | None = None, as_of: date | None = None,
               period: str | None = None, item_code: str | None = None,
               overdue_only: bool = False, params: ListParams) -> Page[NegativeCase]:
    """A page of the cases the actor may see. Without a ``sort``, in the inbox order: overdue
    first, then by the next due day, closed ones last. Open cases (a few weeks' worth) are
    ordered here, since overdue depends on the day; closed ones, which pile up, come last by
    their reply due day, paged by the database. ``overdue_only``: the open cases overdue on
    ``as_of`` (decided here, as the inbox decides it)."""
    stmt = _cases_query(db, actor=actor, org=org, state=state, period=period,
                        item_code=item_code, params=params)
    closed = NegativeCase.state == CaseState.closed.value
    if overdue_only:
        CASES.check(params)
        day = as_of or local_today()
        late = [c for c in db.scalars(stmt.where(~closed)) if is_overdue(c, as_of=day)]
        if params.sort:
            late.sort(key=lambda c: (getattr(c, params.sort_field), c.id),
                      reverse=params.descending)
        return page_of(_inbox_order(late, day) if not params.sort else late, params=params)
    if params.sort:
        return paginate(db, stmt, params=params, order=CASES.order(params, default=[]))
    open_cases = _inbox_order(list(db.scalars(stmt.where(~closed))), as_of or local_today())
    closed_total = db.scalar(select(func.count()).select_from(
        stmt.where(closed).with_only_columns(NegativeCase.id).subquery())) or 0
    total = len(open_cases) + closed_total
    page = params.page_for(total)
    start = (page - 1) * params.page_size
    shown = open_cases[start:start + params.page_size]
    if len(shown) < params.page_size and closed_total:
        shown += db.scalars(stmt.where(closed).order_by(NegativeCase.rectify_due, NegativeCase.id)
                            .offset(max(0, start - len(open_cases)))
                            .limit(params.page_size - len(shown)))
    return Page(shown, total, page, params.page_size)


def _may_handle(db: Session, actor: Actor, case_: NegativeCase, action: CaseAction,
                who: str) -> None:
    """Who handles a case: its unit's liaisons (or managers); managers decide appeals."""
    if who == "manager":
        org_service.require_manager(actor, "裁定申诉")
    elif actor.role not in (Role.liaison, Role.admin, Role.analyst) \
            or not _visible_case(db, actor, case_):
        raise PermissionDenied("只有责任单位联络员或考核管理员可以办理该工单")


#: The 差评工单's workflow (``reviews.enums.CASE_TRANSITIONS``) on the one helper.
CASE_FLOW: Workflow[CaseAction, CaseState] = Workflow(
    noun="工单", object_type="negative_case", audit_prefix="review_case", state_type=CaseState,
    table=CASE_TRANSITIONS, may=_may_handle)


def allowed_actions(db: Session, *, actor: Actor, case_: NegativeCase) -> frozenset[CaseAction]:
    """The workflow steps ``actor`` may take on the case now: pages show exactly these."""
    return CASE_FLOW.allowed(db, actor, case_)


#: Why 群众满意 was refused: the citizen's own word is needed.
SATISFIED_NEEDS_WORD = ("「群众满意」须有群众本人的答复：群众可在评价跟踪页面点「满意」；"
                        "或请在此填写电话回访记录（群众在电话中怎么说的）")


@audit.action({f"review_case.{a.value}": a.label for a in CaseAction})
def act(db: Session, *, actor: Actor, case_: NegativeCase, action: CaseAction,
        note: str = "") -> NegativeCase:
    """Move a case along its workflow; every step is audited with its actor and note. 群众满意
    by staff needs the callback note (what the citizen said); a reply is texted to a rater
    who left a phone on the rating page, where SMS is configured."""
    CASE_FLOW.check(db, actor, case_, action)
    note = note.strip()
    if action in (CaseAction.callback, CaseAction.reply, CaseAction.appeal,
                  CaseAction.reject_appeal, CaseAction.uphold) and not note:
        raise DomainError(f"「{action.label}」须填写说明")
    if action is CaseAction.satisfied and not note:
        raise DomainError(SATISFIED_NEEDS_WORD)
    if action is CaseAction.reply and note in {t for _, t in reply_templates(case_)}:
        raise DomainError("整改反馈不能只是模板原文：请写明针对这条差评核实了什么、做了什么")
    apply_step(db, actor=actor, case_=case_, action=action, note=note, by="callback",
               entry=f"review_case.{action.value}")
    if action is CaseAction.reply:
        links.text_outcome(db, case_=case_)
    return case_


def apply_step(db: Session, *, actor: Actor | Outsider, case_: NegativeCase, action: CaseAction,
               note: str, by: str, entry: str) -> None:
    """Take one workflow step (already allowed) and write its audit entry ``entry``; ``by``
    says whose word a follow-up is (``citizen`` or ``callback``)."""
    target: CaseState | None = None
    now = utcnow()
    if action is CaseAction.callback:
        case_.called_back_at = now
    elif action is CaseAction.appeal:
        case_.appeal_reason = note
    elif action is CaseAction.reply:
        case_.reply_text, case_.replied_at = note, now
    elif action is CaseAction.satisfied:
        case_.follow_up, case_.follow_up_by, case_.closed_at = "satisfied", by, now
    elif action is CaseAction.unsatisfied:
        case_.follow_up, case_.follow_up_by = "unsatisfied", by
        if case_.reopen_count >= 1:
            target = CaseState.closed
            case_.closed_at = now
        else:
            case_.reopen_count += 1
            case_.replied_at = None
    elif action is CaseAction.uphold:
        case_.appeal_upheld, case_.closed_at = True, now
        review = case_.review
        review.voided = True
        count_reviews(db, {(review.period, review.org_id, review.level, review.is_default): -1})
    elif action is CaseAction.reject_appeal:
        case_.appeal_upheld = False
    case_.called_back_on_time = (case_.called_back_at is not None
                                 and local_date(case_.called_back_at) <= case_.callback_due)
    case_.replied_on_time = (case_.replied_at is not None
                             and local_date(case_.replied_at) <= case_.rectify_due)
    CASE_FLOW.step(db, actor, case_, action, reason=note, target=target, entry=entry)


def reply_template(case_: NegativeCase) -> str:
    template = REPLY_TEMPLATES.get(case_.category, REPLY_TEMPLATES["其他"])
    return template.format(org=case_.org.name)


def reply_templates(case_: NegativeCase) -> list[tuple[str, str]]:
    """The reply templates a liaison may pick from and then edit, the case's category first
    (never put in the reply box: a made-up answer must not reach the citizen unread)."""
    names = sorted(REPLY_TEMPLATES, key=lambda name: (name != case_.category, name == "其他"))
    return [(name, REPLY_TEMPLATES[name].format(org=case_.org.name)) for name in names]


def phone_for(db: Session, *, actor: Actor, case_: NegativeCase) -> str:
    """The reviewer's phone: in full only to the liaisons of the org handling the case."""
    review = case_.review
    if actor.role is Role.liaison and actor.org_id == case_.org_id:
        return privacy.reveal(review.phone_cipher) or review.phone_masked
    return review.phone_masked


def announce_new_cases(db: Session, *, case_ids: list[int]) -> int:
    """Tell each org's liaisons at once of their new 差评 cases: one message per case, or,
    for a batch (an import), one summary per org with the earliest callback deadline."""
    if not case_ids:
        return 0
    # Plain columns (an import opens tens of thousands): the whole case only where it is alone.
    by_org: dict[int, list[tuple[int, date]]] = {}
    for case_id, org_id, due_on in db.execute(
            select(NegativeCase.id, NegativeCase.org_id, NegativeCase.callback_due)
            .where(NegativeCase.id.in_(case_ids))
            .order_by(NegativeCase.callback_due, NegativeCase.id)):
        by_org.setdefault(org_id, []).append((case_id, due_on))
    sent = 0
    for org_id, org_cases in by_org.items():
        org = db.get(Org, org_id)
        assert org is not None
        liaisons = org_service.recipients(org_service.people_of(db, org=org,
                                                                roles={Role.liaison}))
        first_id, first_due = org_cases[0]
        due = f"{first_due.month}月{first_due.day}日"
        if len(org_cases) == 1:
            first = db.get(NegativeCase, first_id)
            assert first is not None
            gist = privacy.mask_text(first.review.comment)[:60]
            message = notify.Message("case_new", f"新差评工单 #{first_id}，请于{due}前回访",
                                     f"{org.name}：{gist or '（无评价内容）'}",
                                     f"/reviews/cases/{first_id}")
            key = f"review_case:{first_id}:new"
        else:
            message = notify.Message(
                "case_new", f"新增差评工单 {len(org_cases)} 件，最早须于{due}前回访",
                f"{org.name}本次导入的评价中有 {len(org_cases)} 条差评，已生成工单。",
                "/reviews?state=received")
            key = f"review_cases:new:{first_id}-{org_cases[-1][0]}:{len(org_cases)}"
        sent += notify.notify(db, recipients=liaisons, message=message, key=key)
    return sent


def supervision_targets(db: Session, *, actor: Actor,
                        case_ids: Iterable[int]) -> list[supervision.Target]:
    """The cases ``actor`` names for a 催办 or 批示, as 督办 targets: every one visible and
    still open, or none (a closed case needs no urging; the refusal names it)."""
    supervision.require_supervisor(actor)
    cases = [get_case(db, actor=actor, case_id=case_id) for case_id in dict.fromkeys(case_ids)]
    closed = [f"#{c.id}" for c in cases if c.state == CaseState.closed.value]
    if closed:
        raise Conflict(f"差评工单 {'、'.join(closed)} 已办结，无需督办")
    return [supervision.Target("negative_case", c.id, c.org, f"差评工单 #{c.id}",
                               f"/reviews/cases/{c.id}", f"/reviews?org={c.org.code}")
            for c in cases]


def supervision_kinds(*, actor: Actor, case_: NegativeCase) -> frozenset[SupervisionKind]:
    """The 督办 ``actor`` may attach to the case now (none once it is closed)."""
    if case_.state == CaseState.closed.value:
        return frozenset()
    return supervision.allowed_kinds(actor)
