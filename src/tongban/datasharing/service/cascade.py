"""The cascade to the provincial exchange platform (级联): each dataset to share is registered
in the platform's catalog and each of its deliveries pushed, through the outbox (after the
delivery commits, retried by it when the platform is unreachable), one log row per attempt.

The platform publishes its cascade standard (``v1``, ``v2`` …); Tongban speaks the one set in
``TONGBAN_DATA_CASCADE_STANDARD``. When the platform changes its standard, the next push is
refused: the reason is recorded, the analysts and the department are told the same day, and
the dataset's cascade shows the failures in a row and the points at risk under the scheme's
data-sharing indicator — not a month later when the province deducts them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.assessment import service as assessment
from tongban.core import notify, outbox
from tongban.core.config import get_settings
from tongban.core.db import session_scope, utcnow
from tongban.core.errors import DomainError
from tongban.core.listing import PAGED, ListParams, Page, paginate
from tongban.core.security import Actor, Role
from tongban.core.workdays import local_date
from tongban.datasharing.enums import CascadeKind, CascadeOutcome, Frequency, ShareType
from tongban.datasharing.models import CascadeAttempt, CascadeState, Dataset, Delivery
from tongban.datasharing.service.catalog import get_dataset, scoped
from tongban.org import service as org_service
from tongban.org.models import Cohort, CohortMember, Org

#: The standards this adapter speaks, and what each asks of a catalog entry and a push.
STANDARDS = ("v1", "v2")


class PlatformUnreachable(Exception):
    """The platform did not answer (or answered 5xx): the outbox tries again later."""


def platform_url() -> str:
    """The provincial platform's address: the setting, or the simulated platform this server
    mounts (outside production only)."""
    settings = get_settings()
    if settings.data_cascade_url:
        return settings.data_cascade_url.rstrip("/")
    return settings.public_url.rstrip("/") + "/_province"


def _post(path: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    settings = get_settings()
    request = urllib.request.Request(
        platform_url() + path, method="POST",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key,
                 "X-Cascade-Standard": settings.data_cascade_standard,
                 "Authorization": f"Bearer {settings.data_cascade_token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise PlatformUnreachable(f"省平台返回 {exc.code}") from exc
        try:
            answer = json.loads(exc.read() or b"{}")
        except ValueError:
            answer = {}
        return exc.code, answer
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise PlatformUnreachable(f"无法连接省平台：{exc}") from exc


def entry_of(dataset: Dataset, standard: str) -> dict[str, Any]:
    """A catalog entry as the standard asks for it (v2 adds the update cycle and the fields)."""
    entry: dict[str, Any] = {"code": dataset.code, "name": dataset.name,
                             "department": dataset.department.name,
                             "share_type": dataset.share_type, "open_type": dataset.open_type}
    if standard == "v2":
        entry["update_cycle"] = Frequency(dataset.frequency).label
        entry["field_list"] = [{"name": f.name, "type": f.type, "required": f.required}
                               for f in dataset.fields]
    return entry


def push_of(dataset: Dataset, delivery: Delivery, standard: str) -> dict[str, Any]:
    body: dict[str, Any] = {"dataset": dataset.code, "rows": delivery.rows,
                            "sha256": delivery.sha256,
                            "delivered_on": delivery.delivered_on.isoformat()}
    if standard == "v2":
        body = {"schema_version": "2", "records": body,
                "quality": {"score": delivery.score, "invalid_cells": delivery.invalid_cells}}
    return body


def queue_register(db: Session, *, dataset: Dataset) -> None:
    """Queue the dataset's catalog entry for the platform (once per dataset and standard)."""
    standard = get_settings().data_cascade_standard
    outbox.enqueue(db, kind="data.register", key=f"data.register:{dataset.code}:{standard}",
                   summary=f"省平台目录注册：{dataset.name}",
                   payload={"dataset_id": dataset.id})


def queue_push(db: Session, *, dataset: Dataset, delivery: Delivery) -> None:
    """Queue a delivery's push (registering the dataset first where it is not yet)."""
    state = db.get(CascadeState, dataset.id)
    if state is None or state.registered_at is None \
            or state.standard != get_settings().data_cascade_standard:
        queue_register(db, dataset=dataset)
    outbox.enqueue(db, kind="data.push", key=f"data.push:{delivery.id}:{delivery.sha256[:16]}",
                   summary=f"省平台数据推送：{dataset.name}（{delivery.rows} 行）",
                   payload={"dataset_id": dataset.id, "delivery_id": delivery.id})


@outbox.handler("data.register", "省平台目录注册")
def _register(payload: dict[str, Any]) -> None:
    _attempt(payload["dataset_id"], None, CascadeKind.register)


@outbox.handler("data.push", "省平台数据推送")
def _push(payload: dict[str, Any]) -> None:
    _attempt(payload["dataset_id"], payload["delivery_id"], CascadeKind.push)


def _attempt(dataset_id: int, delivery_id: int | None, kind: CascadeKind) -> None:
    """One call to the platform, with no transaction open while it waits; its outcome
    recorded after. Unreachable: raised, for the outbox to try again later."""
    standard = get_settings().data_cascade_standard
    with session_scope() as db:
        dataset = db.get(Dataset, dataset_id)
        delivery = db.get(Delivery, delivery_id) if delivery_id is not None else None
        if dataset is None or (kind is CascadeKind.push and delivery is None):
            return
        body = entry_of(dataset, standard) if kind is CascadeKind.register \
            else push_of(dataset, delivery, standard)  # type: ignore[arg-type]
        key = f"{dataset.code}:{standard}" if kind is CascadeKind.register \
            else f"{dataset.code}:{standard}:{delivery.sha256}"  # type: ignore[union-attr]
    path = "/api/catalog" if kind is CascadeKind.register else "/api/deliveries"
    try:
        status, answer = _post(path, body, key)
    except PlatformUnreachable as exc:
        with session_scope() as db:
            record_attempt(db, dataset_id=dataset_id, delivery_id=delivery_id, kind=kind,
                           outcome=CascadeOutcome.error, status=None, standard=standard,
                           key=key, message=str(exc))
        raise
    outcome = CascadeOutcome.ok if 200 <= status < 300 else CascadeOutcome.refused
    with session_scope() as db:
        record_attempt(db, dataset_id=dataset_id, delivery_id=delivery_id, kind=kind,
                       outcome=outcome, status=status, standard=standard, key=key,
                       message=str(answer.get("error") or answer.get("message") or ""))


def record_attempt(db: Session, *, dataset_id: int, delivery_id: int | None,
                   kind: CascadeKind, outcome: CascadeOutcome, status: int | None,
                   standard: str, key: str, message: str, at: datetime | None = None,
                   alert: bool = True) -> None:
    """Log an attempt and move the dataset's cascade state; a first failure after success
    tells the analysts and the department at once (unless ``alert`` is off: a history)."""
    now = at or utcnow()
    db.add(CascadeAttempt(dataset_id=dataset_id, delivery_id=delivery_id, kind=kind.value,
                          at=now, outcome=outcome.value, status_code=status,
                          standard=standard, idempotency_key=key[:100],
                          message=message[:2000]))
    state = db.get(CascadeState, dataset_id) or CascadeState(dataset_id=dataset_id,
                                                             failures=0, last_error="")
    db.add(state)
    if outcome is CascadeOutcome.ok:
        if kind is CascadeKind.register:  # failing still, until a push is taken
            state.registered_at, state.standard = now, standard
            return
        state.last_success_at, state.last_delivery_id = now, delivery_id
        state.failures, state.last_error, state.failing_since = 0, "", None
        return
    first = state.failures == 0
    state.failures += 1
    state.last_error = message or f"省平台拒收（{status}）"
    state.failing_since = state.failing_since or now
    if first and alert:
        dataset = db.get_one(Dataset, dataset_id)
        _alert(db, dataset=dataset, reason=state.last_error, day=local_date(now))


def _alert(db: Session, *, dataset: Dataset, reason: str, day: Any) -> None:
    people = org_service.people_of(db, org=dataset.department, roles={Role.liaison})
    people += org_service.analysts(db)
    notify.notify(db, recipients=org_service.recipients(people),
                  key=f"data:{dataset.code}:cascade-failed:{day}", message=notify.Message(
                      "escalation", f"级联失败：{dataset.name}",
                      f"{dataset.department.name}「{dataset.name}」推送省平台失败：{reason}。"
                      "共享率按省平台实际接收计算，请当天处理。",
                      f"/datasharing/datasets/{dataset.code}"))


@dataclass(frozen=True)
class CascadeView:
    """A dataset's cascade as pages show it."""

    dataset: Dataset
    state: CascadeState | None

    @property
    def registered(self) -> bool:
        return self.state is not None and self.state.registered_at is not None

    @property
    def healthy(self) -> bool:
        """Its last push was taken (the platform takes pushes of registered datasets only)."""
        return self.state is not None and self.state.failures == 0 \
            and self.state.last_success_at is not None

    def as_dict(self) -> dict[str, object]:
        s = self.state
        return {"dataset": self.dataset.code, "name": self.dataset.name,
                "department": self.dataset.department.name, "registered": self.registered,
                "standard": s.standard if s else "",
                "last_success_at": s.last_success_at.isoformat()
                if s and s.last_success_at else None,
                "failures": s.failures if s else 0, "last_error": s.last_error if s else "",
                "healthy": self.healthy}


def states(db: Session, *, datasets: Iterable[Dataset]) -> list[CascadeView]:
    wanted = list(datasets)
    found = {s.dataset_id: s for s in db.scalars(select(CascadeState).where(
        CascadeState.dataset_id.in_([d.id for d in wanted])))} if wanted else {}
    return [CascadeView(d, found.get(d.id)) for d in wanted]


def cascade_of(db: Session, *, actor: Actor, dataset_code: str = "") -> list[CascadeView]:
    """The cascade of every dataset to share that ``actor`` sees (or of one), by code."""
    datasets = [get_dataset(db, actor=actor, code=dataset_code)] if dataset_code else list(
        db.scalars(scoped(db, actor, select(Dataset).where(Dataset.is_active))
                   .order_by(Dataset.code)))
    return states(db, datasets=to_share(datasets))


def to_share(datasets: Iterable[Dataset]) -> list[Dataset]:
    return [d for d in datasets if ShareType(d.share_type) is not ShareType.none]


def attempts(db: Session, *, dataset: Dataset, params: ListParams) -> Page[CascadeAttempt]:
    """A dataset's calls to the platform, the newest first."""
    return paginate(db, select(CascadeAttempt).where(CascadeAttempt.dataset_id == dataset.id),
                    params=params, order=PAGED.order(params, default=[CascadeAttempt.id.desc()]))


def retry_failed(db: Session, *, actor: Actor) -> int:
    """Queue again the newest delivery of every dataset whose cascade is failing, registering
    it first where it is not registered under the standard now spoken (the jobs do it daily,
    and the analyst from the overview); how many."""
    queued = 0
    for state in db.scalars(select(CascadeState).where(CascadeState.failures > 0)):
        delivery = db.scalar(select(Delivery).where(Delivery.dataset_id == state.dataset_id)
                             .order_by(Delivery.id.desc()).limit(1))
        if delivery is None:
            continue
        if state.registered_at is None or state.standard != get_settings().data_cascade_standard:
            outbox.enqueue(db, kind="data.register", payload={"dataset_id": state.dataset_id},
                           summary=f"省平台目录注册（重试）：{state.dataset.name}")
        outbox.enqueue(db, kind="data.push",
                       payload={"dataset_id": state.dataset_id, "delivery_id": delivery.id},
                       summary=f"省平台数据推送（重试）：{state.dataset.name}")
        queued += 1
    return queued


@dataclass(frozen=True)
class PointsAtRisk:
    """What failing cascades put at stake: an indicator of a scheme in force for the org's
    cohort that scores the cascade, and its points lost if the month closed now (its maximum
    × the share of the datasets to share that are failing)."""

    scheme: str
    indicator: str
    name: str
    points: float
    failing: int
    to_share: int


def points_at_risk(db: Session, *, org: Org, failing: int, to_share: int,
                   period: str) -> list[PointsAtRisk]:
    """The points ``failing`` of ``to_share`` datasets put at risk under every scheme in force
    in ``period`` for a cohort of ``org`` (a department, or the city under the province's
    scheme): its indicators that read ``shared`` or ``share_rate``, and those named in
    ``TONGBAN_DATA_CASCADE_INDICATORS``."""
    if not failing or not to_share:
        return []
    named = {n.strip() for n in get_settings().data_cascade_indicators.split(",") if n.strip()}
    found = []
    for cohort in db.scalars(select(Cohort).join(CohortMember).where(
            CohortMember.org_id == org.id).order_by(Cohort.code)):
        try:
            scheme = assessment.scheme_for(db, cohort=cohort, period=period)
        except DomainError:
            continue
        definition = assessment.scheme_definition(scheme)
        for _, indicator in definition.indicators():
            if {"shared", "share_rate"} & set(indicator.metrics()) \
                    or f"{scheme.code}:{indicator.code}" in named:
                found.append(PointsAtRisk(
                    f"{scheme.name}（{scheme.version}版）", indicator.code, indicator.name,
                    round(indicator.max_points * failing / to_share, 2), failing, to_share))
    return found
